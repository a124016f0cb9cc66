#!/usr/bin/python3
"""The .npy interop fixtures: NumPy (Debian python3-numpy) writes arrays we must read, and reads arrays we wrote.

    /usr/bin/python3 tools/interop/npy_fixtures.py generate   # writes tests/GraphPipe.UnitTests/Golden/numpy/numpy-*.npy
    /usr/bin/python3 tools/interop/npy_fixtures.py verify DIR # checks DIR/ours-*.npy (written by the C# test) against SPEC

Both directions use SPEC below; tests/GraphPipe.UnitTests/Cli/NpyInteropTests.cs states the same values in C#.
`generate` is deterministic (same NumPy version, same bytes).
"""
import os
import sys

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "GraphPipe.UnitTests", "Golden", "numpy")

# name -> array. Strings: NumPy writes bytes as |S (NUL-padded), text as <U (UTF-32); we write strings as |S.
SPEC = {
    "f4": np.array([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]], dtype="<f4"),
    "f8": np.array([1.0 / 3.0, -2.5e300, 0.0], dtype="<f8"),
    "f2": np.array([1.5, -0.25, 65504.0], dtype="<f2"),
    "i8": np.array([[1, -2], [2 ** 40, -(2 ** 62)]], dtype="<i8"),
    "i4": np.array(7, dtype="<i4"),
    "i2": np.array([-32768, 0, 32767], dtype="<i2"),
    "i1": np.array([-128, 5], dtype="|i1"),
    "u1": np.array([0, 255, 1, 128], dtype="|u1"),
    "u2": np.array([65535, 2], dtype="<u2"),
    "u4": np.array([4294967295, 3], dtype="<u4"),
    "u8": np.array([18446744073709551615, 4], dtype="<u8"),
    "bytes": np.array([b"cat", b"", b"tiger"], dtype="|S5"),
    "empty": np.zeros((0, 3), dtype="<f4"),
}

# Only NumPy writes these (we never write <U): read as UTF-8 strings.
NUMPY_ONLY = {
    "text": np.array([["h\u00e9llo", "\u00fc"], ["", "\u732b"]], dtype="<U5"),
}


def generate():
    os.makedirs(OUT, exist_ok=True)
    for name, array in {**SPEC, **NUMPY_ONLY}.items():
        path = os.path.join(OUT, "numpy-%s.npy" % name)
        np.save(path, array)
        print("wrote %s %s %s" % (os.path.relpath(path, REPO), array.dtype.str, list(array.shape)))
    return 0


def verify(directory):
    failures = 0
    for name, expected in SPEC.items():
        path = os.path.join(directory, "ours-%s.npy" % name)
        try:
            got = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - report any reader failure as a mismatch
            print("FAIL %s: numpy cannot load it: %s" % (name, e))
            failures += 1
            continue
        if got.dtype != expected.dtype or got.shape != expected.shape:
            print("FAIL %s: %s %s, expected %s %s" % (name, got.dtype.str, got.shape, expected.dtype.str, expected.shape))
            failures += 1
        elif got.tobytes() != expected.tobytes():
            print("FAIL %s: values %r, expected %r" % (name, got.tolist(), expected.tolist()))
            failures += 1
        else:
            print("ok %s %s %s" % (name, got.dtype.str, list(got.shape)))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "generate":
        return generate()
    if len(argv) == 3 and argv[1] == "verify":
        return verify(argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
