#!/usr/bin/python3
"""Metadata and inference from a GraphPipe client nobody here wrote: the official Python client
(oracle/graphpipe-py, not vendored here; put its checkout on PYTHONPATH). Needs numpy, requests
and flatbuffers (Debian: python3-numpy python3-requests python3-flatbuffers).

    graphpipe serve onnx --model .../models/resnet18/ResNet18.onnx --listen 127.0.0.1:9000 &
    PYTHONPATH=/path/to/graphpipe-py /usr/bin/python3 tools/interop/python_client_model.py \
        http://127.0.0.1:9000 input.npy OUT_DIR

Prints the model's metadata as the Python client reads it, sends input.npy as the default input,
and saves every default output to OUT_DIR/NAME.npy, so the figures can be compared with those of
`graphpipe infer URL input.npy --out DIR` (tools/interop/compare_npy.py).
"""
import os
import sys

import numpy as np
from graphpipe import convert, remote


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    url, input_path, out_dir = argv[1:]
    meta = remote.metadata(url)
    print("name=%s version=%s server=%s" % (meta.Name().decode(), meta.Version().decode(), meta.Server().decode()))
    for kind, count, item in (("input", meta.InputsLength(), meta.Inputs), ("output", meta.OutputsLength(), meta.Outputs)):
        for i in range(count):
            io = item(i)
            print("  %s %s %s %s" % (kind, io.Name().decode(), np.dtype(convert.t_to_np[io.Type()]).name,
                                     io.ShapeAsNumpy().tolist()))
    names = remote.get_output_names(url)
    outputs = remote.execute_multi(url, [np.load(input_path)], None, names)
    os.makedirs(out_dir, exist_ok=True)
    for name, value in zip(names, outputs):
        np.save(os.path.join(out_dir, name + ".npy"), value)
        print("  %s: %s %s, first values %s" % (name, value.dtype, list(value.shape), value.ravel()[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
