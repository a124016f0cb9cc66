#!/usr/bin/python3
"""Hybrid sequencing from a GraphPipe client nobody here wrote: the official Python client
(oracle/graphpipe-py, not vendored here; put its checkout on PYTHONPATH). Needs numpy, requests
and flatbuffers (Debian: python3-numpy python3-requests python3-flatbuffers).

    PYTHONPATH=/path/to/graphpipe-py /usr/bin/python3 tools/interop/python_client_hybrid.py \
        http://127.0.0.1:9002 http://127.0.0.1:9011 http://127.0.0.1:8000/0001-pullover.png ...

Posts the image URLs as a string tensor to the downloader with the (server-sequenced)
preprocessor's URL as config, the plain-URL config of the original GraphPipe pipelines, and
prints the labels and scores the model at the end of the chain returns.
"""
import sys

import numpy as np
from graphpipe import remote


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    downloader, preprocessor, urls = argv[1], argv[2], argv[3:]
    meta = remote.metadata(downloader)
    print("downloader metadata: name=%s inputs=%s" % (
        meta.Name().decode(), [meta.Inputs(i).Name().decode() for i in range(meta.InputsLength())]))
    labels, scores = remote.execute_multi(
        downloader, [np.array([u.encode() for u in urls])], None,
        ["top_labels", "top_scores"], config=preprocessor)
    for url, row_labels, row_scores in zip(urls, labels, scores):
        top = ", ".join("%s %.3f" % (l.decode(), s) for l, s in zip(row_labels, row_scores))
        print("%s -> %s" % (url, top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
