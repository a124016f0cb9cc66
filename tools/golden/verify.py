#!/usr/bin/python3
"""Check GraphPipe buffers field by field against the golden content in
spec.py, reading them with Debian's Python flatbuffers (independent of our
C# reader).

Usage: /usr/bin/python3 tools/golden/verify.py DIR         # checks DIR/ours-*.bin
       /usr/bin/python3 tools/golden/verify.py --self DIR  # checks DIR/python-*.bin
Prints "ok NAME" or "FAIL NAME: reason" per file; exits 1 on any failure.
"""
import os
import sys

sys.dont_write_bytecode = True  # keep tools/golden free of __pycache__
import spec

spec.load_schema()
from graphpipe import InferRequest, InferResponse, MetadataResponse, Request
import flatbuffers.encode
import flatbuffers.packer
import flatbuffers.table

# Python flatbuffers does no verification: struct.unpack_from accepts negative
# offsets and slices truncate silently. Wrap the two primitives every accessor
# goes through so a bad offset, misaligned scalar or unterminated string fails.
_get = flatbuffers.encode.Get


def checked_get(ptype, buf, head):
    if not 0 <= head <= len(buf) - ptype.size:
        raise ValueError(f"read of {ptype.size} bytes at {head} outside buffer ({len(buf)} bytes)")
    if head % ptype.size:
        raise ValueError(f"misaligned {ptype.size}-byte scalar at {head}")
    return _get(ptype, buf, head)


def checked_string(self, off):
    start = off + checked_get(flatbuffers.packer.uoffset, self.Bytes, off)
    n = checked_get(flatbuffers.packer.uoffset, self.Bytes, start)
    end = start + 4 + n
    if end >= len(self.Bytes) or self.Bytes[end] != 0:
        raise ValueError(f"string at {start} (len {n}) not NUL-terminated inside buffer")
    return bytes(self.Bytes[start + 4:end])


flatbuffers.encode.Get = checked_get
flatbuffers.table.Table.String = checked_string


def vec(obj, name):
    """Vector field as a list, or None when the field is absent."""
    if getattr(obj, name + "IsNone")():
        return None
    get = getattr(obj, name)
    return [get(i) for i in range(getattr(obj, name + "Length")())]


def tensor(t):
    data = vec(t, "Data")
    return dict(type=t.Type(), shape=vec(t, "Shape"),
                data=None if data is None else bytes(data), strings=vec(t, "StringVal"))


def request(buf):
    r = Request.Request.GetRootAs(buf, 0)
    body = r.Req()
    if body is None:
        return dict(req_type=r.ReqType(), req=None)
    if r.ReqType() != spec.REQ_INFER:
        return dict(req_type=r.ReqType(), req={})  # MetadataRequest has no fields
    q = InferRequest.InferRequest()
    q.Init(body.Bytes, body.Pos)
    tensors = vec(q, "InputTensors")
    return dict(req_type=r.ReqType(), req=dict(
        config=q.Config(), input_names=vec(q, "InputNames"),
        input_tensors=None if tensors is None else [tensor(t) for t in tensors],
        output_names=vec(q, "OutputNames")))


def infer_response(buf):
    r = InferResponse.InferResponse.GetRootAs(buf, 0)
    tensors, errors = vec(r, "OutputTensors"), vec(r, "Errors")
    return dict(
        output_tensors=None if tensors is None else [tensor(t) for t in tensors],
        errors=None if errors is None else [dict(code=e.Code(), message=e.Message()) for e in errors])


def metadata_response(buf):
    r = MetadataResponse.MetadataResponse.GetRootAs(buf, 0)

    def ios(name):
        items = vec(r, name)
        return None if items is None else [
            dict(name=m.Name(), description=m.Description(), shape=vec(m, "Shape"), type=m.Type())
            for m in items]
    return dict(name=r.Name(), version=r.Version(), server=r.Server(),
                description=r.Description(), inputs=ios("Inputs"), outputs=ios("Outputs"))


DECODERS = {"Request": request, "InferResponse": infer_response,
            "MetadataResponse": metadata_response}


def diff(exp, act, path):
    """First difference as a message, or None. Expected None = unset (absent or
    empty accepted); expected [] or b"" = must be present."""
    if exp is None:
        return None if not act else f"{path}: expected unset, got {act!r}"
    if act is None:
        return f"{path}: absent, expected {exp!r}"
    if isinstance(exp, dict):
        return next((d for k in exp if (d := diff(exp[k], act[k], f"{path}.{k}"))), None)
    if isinstance(exp, list):
        if len(exp) != len(act):
            return f"{path}: {len(act)} elements, expected {len(exp)}"
        return next((d for i, (e, a) in enumerate(zip(exp, act))
                     if (d := diff(e, a, f"{path}[{i}]"))), None)
    return None if exp == act else f"{path}: got {act!r}, expected {exp!r}"


def main():
    args = sys.argv[1:]
    prefix = "python" if args[:1] == ["--self"] else "ours"
    args = args[1:] if prefix == "python" else args
    if len(args) != 1:
        sys.exit(__doc__)
    failed = False
    for stem, (root, expected) in spec.FIXTURES.items():
        name = f"{prefix}-{stem}.bin"
        path = os.path.join(args[0], name)
        try:
            with open(path, "rb") as f:
                buf = bytearray(f.read())
            problem = diff(expected, DECODERS[root](buf), root)
        except FileNotFoundError:
            problem = "missing"
        except Exception as e:  # malformed buffer: report, don't crash
            problem = f"unreadable: {type(e).__name__}: {e}"
        failed |= problem is not None
        print(f"FAIL {name}: {problem}" if problem else f"ok {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
