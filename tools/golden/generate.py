#!/usr/bin/python3
"""Write the golden GraphPipe fixtures (python-*.bin) with Debian's Python
flatbuffers, an implementation independent of our C# writer.

Usage: /usr/bin/python3 tools/golden/generate.py [OUTDIR]
"""
import os
import sys

sys.dont_write_bytecode = True  # keep tools/golden free of __pycache__
import spec

spec.load_schema()
from graphpipe import (Error, InferRequest, InferResponse, IOMetadata,
                       MetadataRequest, MetadataResponse, Request, Tensor)
import flatbuffers


def offsets(b, offs):
    # Vectors are built back to front, so prepend in reverse order.
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def strings(b, items):
    # CreateString accepts bytes as-is (length prefix + bytes + NUL).
    return offsets(b, [b.CreateString(s) for s in items])


def int64s(b, items):
    b.StartVector(8, len(items), 8)
    for v in reversed(items):
        b.PrependInt64(v)
    return b.EndVector()


def tensor(b, t):
    shape = int64s(b, t["shape"])
    data = None if t["data"] is None else b.CreateByteVector(t["data"])
    svals = None if t["strings"] is None else strings(b, t["strings"])
    Tensor.Start(b)
    Tensor.AddType(b, t["type"])
    Tensor.AddShape(b, shape)
    if data is not None:
        Tensor.AddData(b, data)
    if svals is not None:
        Tensor.AddStringVal(b, svals)
    return Tensor.End(b)


def request(b, r):
    if r["req_type"] == spec.REQ_INFER:
        q = r["req"]
        config = b.CreateString(q["config"])
        names = strings(b, q["input_names"])
        tensors = offsets(b, [tensor(b, t) for t in q["input_tensors"]])
        outs = strings(b, q["output_names"])
        InferRequest.Start(b)
        InferRequest.AddConfig(b, config)
        InferRequest.AddInputNames(b, names)
        InferRequest.AddInputTensors(b, tensors)
        InferRequest.AddOutputNames(b, outs)
        body = InferRequest.End(b)
    else:
        MetadataRequest.Start(b)
        body = MetadataRequest.End(b)
    Request.Start(b)
    Request.AddReqType(b, r["req_type"])
    Request.AddReq(b, body)
    return Request.End(b)


def infer_response(b, r):
    tensors = offsets(b, [tensor(b, t) for t in r["output_tensors"]])
    errs = []
    for e in r["errors"]:
        msg = b.CreateString(e["message"])
        Error.Start(b)
        Error.AddCode(b, e["code"])
        Error.AddMessage(b, msg)
        errs.append(Error.End(b))
    errors = offsets(b, errs)
    InferResponse.Start(b)
    InferResponse.AddOutputTensors(b, tensors)
    InferResponse.AddErrors(b, errors)
    return InferResponse.End(b)


def io_metadata(b, m):
    name, desc = b.CreateString(m["name"]), b.CreateString(m["description"])
    shape = int64s(b, m["shape"])
    IOMetadata.Start(b)
    IOMetadata.AddName(b, name)
    IOMetadata.AddDescription(b, desc)
    IOMetadata.AddShape(b, shape)
    IOMetadata.AddType(b, m["type"])
    return IOMetadata.End(b)


def metadata_response(b, r):
    strs = {k: b.CreateString(r[k]) for k in ("name", "version", "server", "description")}
    inputs = offsets(b, [io_metadata(b, m) for m in r["inputs"]])
    outputs = offsets(b, [io_metadata(b, m) for m in r["outputs"]])
    MetadataResponse.Start(b)
    MetadataResponse.AddName(b, strs["name"])
    MetadataResponse.AddVersion(b, strs["version"])
    MetadataResponse.AddServer(b, strs["server"])
    MetadataResponse.AddDescription(b, strs["description"])
    MetadataResponse.AddInputs(b, inputs)
    MetadataResponse.AddOutputs(b, outputs)
    return MetadataResponse.End(b)


BUILDERS = {"Request": request, "InferResponse": infer_response,
            "MetadataResponse": metadata_response}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        spec.ROOT, "tests", "GraphPipe.UnitTests", "Golden")
    os.makedirs(out, exist_ok=True)
    for stem, (root, content) in spec.FIXTURES.items():
        b = flatbuffers.Builder(256)
        b.Finish(BUILDERS[root](b, content))  # no file identifier: GraphPipe has none
        path = os.path.join(out, f"python-{stem}.bin")
        with open(path, "wb") as f:
            f.write(b.Output())
        print(f"wrote {path} ({len(b.Output())} bytes, {len(b.vtables)} vtables)")


if __name__ == "__main__":
    main()
