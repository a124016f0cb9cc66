#!/usr/bin/python3
"""Build the tiny ONNX models used by GraphPipe tests.

Run from the repository root with Debian's python3-onnx:

    /usr/bin/python3 tools/onnx/make_test_models.py

Writes into tests/assets/models/. Every model uses opset 13 (default domain)
and ir_version 8, which Microsoft.ML.OnnxRuntime 1.31 accepts. Output is
deterministic: running the script twice produces byte-identical files.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8
MAX_BYTES = 20 * 1024

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "assets", "models")


def vi(name, elem_type, shape):
    """Value info; string entries in shape become dim_param, ints dim_value."""
    return helper.make_tensor_value_info(name, elem_type, shape)


def save(graph, file_name):
    model = helper.make_model(
        graph,
        producer_name="graphpipe-make_test_models",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT_DIR, file_name)
    data = model.SerializeToString()
    if len(data) >= MAX_BYTES:
        raise SystemExit(f"{file_name} is {len(data)} bytes, limit {MAX_BYTES}")
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({len(data)} bytes)")


def add_mul():
    # y = x * 2 + 1
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["x_times_2"], name="mul"),
            helper.make_node("Add", ["x_times_2", "one"], ["y"], name="add"),
        ],
        "add_mul",
        [vi("x", TensorProto.FLOAT, ["N", 4])],
        [vi("y", TensorProto.FLOAT, ["N", 4])],
        initializer=[two, one],
    )
    save(graph, "add_mul.onnx")


def multi_io():
    # sum = a + b ; prod = a * b ; kx2 = k * 2 (int64). Output order: sum, prod, kx2.
    two = numpy_helper.from_array(np.array(2, dtype=np.int64), "two_i64")
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
            helper.make_node("Mul", ["a", "b"], ["prod"], name="mul"),
            helper.make_node("Mul", ["k", "two_i64"], ["kx2"], name="mul_k"),
        ],
        "multi_io",
        [
            vi("a", TensorProto.FLOAT, ["N", 3]),
            vi("b", TensorProto.FLOAT, ["N", 3]),
            vi("k", TensorProto.INT64, ["N", 1]),
        ],
        [
            vi("sum", TensorProto.FLOAT, ["N", 3]),
            vi("prod", TensorProto.FLOAT, ["N", 3]),
            vi("kx2", TensorProto.INT64, ["N", 1]),
        ],
        initializer=[two],
    )
    save(graph, "multi_io.onnx")


def strings():
    # same = Identity(text); upper = StringNormalizer(text, UPPER, case sensitive).
    # ORT's CPU StringNormalizer accepts 1-D [C] (or [1, C]); no stopwords are
    # configured, so the output keeps shape [C].
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["text"], ["same"], name="identity"),
            helper.make_node(
                "StringNormalizer",
                ["text"],
                ["upper"],
                name="upper",
                case_change_action="UPPER",
                is_case_sensitive=1,
                # ORT defaults to en_US.UTF-8, which minimal images lack; C.UTF-8 is always there.
                locale="C.UTF-8",
            ),
        ],
        "strings",
        [vi("text", TensorProto.STRING, ["N"])],
        [
            vi("same", TensorProto.STRING, ["N"]),
            vi("upper", TensorProto.STRING, ["N"]),
        ],
    )
    save(graph, "strings.onnx")


def vgg_like_weights():
    """Deterministic weights, recomputable independently (e.g. from C#):

        W[c][j] = ((j * 7 + c * 13) % 17 - 8) / 100.0   c in 0..2, j in 0..999  (float32)
        b[j]    = (j % 5) / 10.0                                                (float32)

    Forward pass for input X [N,224,224,3] (NHWC):
        m[n][c]   = mean over h,w of X[n][h][w][c]                 (ReduceMean axes=[1,2], keepdims=0)
        z[n][j]   = sum_c m[n][c] * W[c][j] + b[j]                 (MatMul + Add)
        probs[n]  = softmax(z[n]) over j                           (Softmax axis=1)
    """
    c = np.arange(3, dtype=np.int64).reshape(3, 1)
    j = np.arange(1000, dtype=np.int64).reshape(1, 1000)
    w = (((j * 7 + c * 13) % 17 - 8) / 100.0).astype(np.float32)
    b = ((np.arange(1000, dtype=np.int64) % 5) / 10.0).astype(np.float32)
    return w, b


def vgg_like():
    w, b = vgg_like_weights()
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["gap"], name="gap", axes=[1, 2], keepdims=0),
            helper.make_node("MatMul", ["gap", "W"], ["logits_nobias"], name="matmul"),
            helper.make_node("Add", ["logits_nobias", "b"], ["logits"], name="bias"),
            helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
        ],
        "vgg_like",
        [vi("input", TensorProto.FLOAT, ["N", 224, 224, 3])],
        [vi("probs", TensorProto.FLOAT, ["N", 1000])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    save(graph, "vgg_like.onnx")


def fixed_batch():
    # y = Relu(x), fixed shape [1,4] (for shape-mismatch tests).
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        "fixed_batch",
        [vi("x", TensorProto.FLOAT, [1, 4])],
        [vi("y", TensorProto.FLOAT, [1, 4])],
    )
    save(graph, "fixed_batch.onnx")


def fixed_batch_pair():
    # s = a + b, every input and output fixed at [1,3] (a two-input batch-1 model: rows must agree).
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"], name="add")],
        "fixed_batch_pair",
        [vi("a", TensorProto.FLOAT, [1, 3]), vi("b", TensorProto.FLOAT, [1, 3])],
        [vi("s", TensorProto.FLOAT, [1, 3])],
    )
    save(graph, "fixed_batch_pair.onnx")


def fixed_batch_mixed():
    # Batch-1 inputs of different row sizes: a float32 [1,3] (12 bytes a row), k int64 [1,1] (8 bytes a row).
    # s = a + Cast(k, float) (broadcast over the 3 columns); kx3 = k * 3. A row split that takes every
    # input's row size from input 0 reads k at the wrong offsets.
    three = numpy_helper.from_array(np.array(3, dtype=np.int64), "three_i64")
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["k"], ["k_f"], name="cast_k", to=TensorProto.FLOAT),
            helper.make_node("Add", ["a", "k_f"], ["s"], name="add"),
            helper.make_node("Mul", ["k", "three_i64"], ["kx3"], name="mul_k"),
        ],
        "fixed_batch_mixed",
        [vi("a", TensorProto.FLOAT, [1, 3]), vi("k", TensorProto.INT64, [1, 1])],
        [vi("s", TensorProto.FLOAT, [1, 3]), vi("kx3", TensorProto.INT64, [1, 1])],
        initializer=[three],
    )
    save(graph, "fixed_batch_mixed.onnx")


def types():
    # Identity per element type: u8 -> u8_out, f64 -> f64_out, f16 -> f16_out, i32 -> i32_out.
    specs = [
        ("u8", TensorProto.UINT8),
        ("f64", TensorProto.DOUBLE),
        ("f16", TensorProto.FLOAT16),
        ("i32", TensorProto.INT32),
    ]
    graph = helper.make_graph(
        [helper.make_node("Identity", [n], [n + "_out"], name="id_" + n) for n, _ in specs],
        "types",
        [vi(n, t, ["N", 2]) for n, t in specs],
        [vi(n + "_out", t, ["N", 2]) for n, t in specs],
    )
    save(graph, "types.onnx")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    add_mul()
    multi_io()
    strings()
    vgg_like()
    fixed_batch()
    fixed_batch_pair()
    fixed_batch_mixed()
    types()
    return 0


if __name__ == "__main__":
    sys.exit(main())
