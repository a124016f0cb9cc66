"""Shared by generate.py and verify.py: the logical content of every golden
fixture, plus a loader that generates the Python flatbuffers code from
schema/graphpipe.fbs at run time (generated code is never committed).

Conventions in the expected values below:
  * strings are bytes (GraphPipe strings are raw bytes, not necessarily UTF-8);
  * None means "field not set" (absent or empty both accepted by verify.py);
  * [] / b"" mean "present but empty" (verify.py requires the field present).
"""
import atexit
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "schema", "graphpipe.fbs")

# graphpipe.Type values (checked against the generated enum in load_schema).
FLOAT32, INT64, STRING = 10, 8, 12
# graphpipe.Req union tags.
REQ_INFER, REQ_METADATA = 1, 2


def load_schema():
    """Run flatc --python into a temp dir and put it on sys.path."""
    out = tempfile.mkdtemp(prefix="graphpipe-py-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["flatc", "--python", "-o", out, SCHEMA], check=True)
    sys.path.insert(0, out)
    from graphpipe import Type, Req
    assert (Type.Type.Float32, Type.Type.Int64, Type.Type.String) == (FLOAT32, INT64, STRING)
    assert (Req.Req.InferRequest, Req.Req.MetadataRequest) == (REQ_INFER, REQ_METADATA)


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def tensor(type, shape, data=None, strings=None):
    return dict(type=type, shape=shape, data=data, strings=strings)


def io(name, description, shape, type):
    return dict(name=name, description=description, shape=shape, type=type)


INFER_REQUEST = dict(req_type=REQ_INFER, req=dict(
    config=b"http://127.0.0.1:9001/next",
    input_names=[b"images", b"labels"],
    input_tensors=[
        # 1e-3 is not exact in float32; -0.0 must keep its sign bit.
        tensor(FLOAT32, [2, 3], data=f32(0.5, -1.25, 3.0, 1e-3, 65504.0, -0.0)),
        # Third element: arbitrary bytes incl. 0xff and an embedded NUL.
        tensor(STRING, [3], strings=[b"cat", b"", bytes([0xFF, 0x00, 0xD8, 0x01])]),
    ],
    output_names=[b"probs"],
))

METADATA_REQUEST = dict(req_type=REQ_METADATA, req={})

INFER_RESPONSE = dict(
    output_tensors=[
        tensor(FLOAT32, [2, 2], data=f32(1, 2, 3, 4)),
        tensor(INT64, [], data=struct.pack("<q", 42)),  # scalar: shape vector present, empty
        tensor(STRING, [2], strings=[b"tabby cat", b"tiger"]),
    ],
    errors=[],
)

INFER_RESPONSE_ERROR = dict(
    output_tensors=[],
    errors=[dict(code=3, message=b"input 'x': expected float32")],
)

METADATA_RESPONSE = dict(
    name=b"resnet18", version=b"1.0", server=b"graphpipe-py-golden",
    description=b"golden fixture",
    inputs=[io(b"input", b"images", [-1, 3, 224, 224], FLOAT32)],
    outputs=[io(b"probs", b"", [-1, 1000], FLOAT32),
             io(b"labels", b"top-k", [-1, 5], STRING)],
)

# file stem -> (root table type, expected content)
FIXTURES = {
    "infer-request": ("Request", INFER_REQUEST),
    "metadata-request": ("Request", METADATA_REQUEST),
    "infer-response": ("InferResponse", INFER_RESPONSE),
    "infer-response-error": ("InferResponse", INFER_RESPONSE_ERROR),
    "metadata-response": ("MetadataResponse", METADATA_RESPONSE),
}
