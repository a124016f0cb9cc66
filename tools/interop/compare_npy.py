#!/usr/bin/python3
"""Compares the .npy files of two output folders (e.g. the official Python client's and
`graphpipe infer --out`'s): same names, dtypes and shapes, and the largest absolute difference.

    /usr/bin/python3 tools/interop/compare_npy.py DIR_A DIR_B
"""
import os
import sys

import numpy as np


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    a_dir, b_dir = argv[1:]
    names = sorted(f for f in os.listdir(a_dir) if f.endswith(".npy"))
    if names != sorted(f for f in os.listdir(b_dir) if f.endswith(".npy")):
        print("different outputs: %s vs %s" % (names, sorted(os.listdir(b_dir))))
        return 1
    worst = 0.0
    for name in names:
        a, b = np.load(os.path.join(a_dir, name)), np.load(os.path.join(b_dir, name))
        if a.dtype != b.dtype or a.shape != b.shape:
            print("%s: %s %s vs %s %s" % (name, a.dtype, a.shape, b.dtype, b.shape))
            return 1
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
        worst = max(worst, diff)
        print("%s: %s %s, max |a-b| = %g" % (name, a.dtype, list(a.shape), diff))
    return 0 if worst == 0.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
