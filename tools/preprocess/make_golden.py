#!/usr/bin/python3
"""Expected preprocessing output for real JPEGs, computed independently of GraphPipe's preprocessor:
Pillow (Debian python3-pil) decodes, NumPy (python3-numpy) resizes and normalises, in float64.

    /usr/bin/python3 tools/preprocess/make_golden.py

Writes tests/assets/golden/preprocess/<photo>-<profile>.npy (float16, the profile's layout, batch
dimension included) and prints each file's size. Deterministic: a rerun gives identical bytes.

What each profile means, written from its definition rather than from GraphPipe's code:
- decode: libjpeg's DCT scaling by 1/2, 1/4 or 1/8 (Pillow's `draft`) to the smallest size whose
  sides still cover the profile's need (Width x Height for "stretch", the resize side for "crop");
- stretch (Keras `load_img(target_size)` geometry): bilinear to Width x Height, pixel centres at +0.5;
- crop (torchvision `Resize(S)` then `CenterCrop(224)`): bilinear to shorter side S, longer side
  int(S * long / short), then the centre crop at round((resized - 224) / 2);
- bilinear taps are clamped at the edges, no antialiasing (torchvision's tensor Resize without antialias);
- value = (pixel * scale - mean[c]) / std[c] in the output channel order.
"""
import os
import sys

import numpy as np
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PHOTOS = os.path.join(REPO, "tests", "assets", "images", "photos")
OUT = os.path.join(REPO, "tests", "assets", "golden", "preprocess")

PROFILES = {
    # Keras applications.vgg16 "caffe" mode: BGR, mean subtracted, NHWC.
    "vgg": dict(size=(224, 224), order="BGR", layout="NHWC", scale=1.0,
                mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), resize="stretch"),
    # torchvision ImageNet: Resize(256) + CenterCrop(224), ToTensor (/255), Normalize; NCHW.
    "imagenet": dict(size=(224, 224), order="RGB", layout="NCHW", scale=1.0 / 255.0,
                     mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="crop", shorter=256),
}

CASES = [("sample-500x375.jpg", "vgg"), ("rocket.jpg", "imagenet")]


def decode(path, need_w, need_h):
    image = Image.open(path)
    full_w, full_h = image.size
    scale = 1
    for s in (2, 4, 8):
        if -(-full_w // s) >= min(need_w, full_w) and -(-full_h // s) >= min(need_h, full_h):
            scale = s
    if scale > 1:
        image.draft("RGB", (-(-full_w // scale), -(-full_h // scale)))
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert rgb.shape[:2] == (-(-full_h // scale), -(-full_w // scale)), (rgb.shape, scale)
    return rgb


def bilinear(src, out_w, out_h):
    """Resize src [H,W,3] to [out_h,out_w,3]: half-pixel centres, edge taps clamped."""
    h, w = src.shape[:2]

    def taps(n_out, n_in):
        pos = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, pos - lo

    y0, y1, wy = taps(out_h, h)
    x0, x1, wx = taps(out_w, w)
    wx = wx[None, :, None]
    top = src[y0][:, x0] * (1 - wx) + src[y0][:, x1] * wx
    bottom = src[y1][:, x0] * (1 - wx) + src[y1][:, x1] * wx
    wy = wy[:, None, None]
    return top * (1 - wy) + bottom * wy


def preprocess(path, p):
    out_w, out_h = p["size"]
    if p["resize"] == "stretch":
        rgb = decode(path, out_w, out_h)
        resized = bilinear(rgb, out_w, out_h)
    else:
        s = p["shorter"]
        rgb = decode(path, s, s)
        h, w = rgb.shape[:2]
        rw, rh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        resized = bilinear(rgb, rw, rh)
        left, top = int(round((rw - out_w) / 2.0)), int(round((rh - out_h) / 2.0))
        resized = resized[top:top + out_h, left:left + out_w]
    if p["order"] == "BGR":
        resized = resized[:, :, ::-1]
    values = (resized * p["scale"] - np.array(p["mean"])) / np.array(p["std"])
    if p["layout"] == "NCHW":
        values = values.transpose(2, 0, 1)
    return values[None].astype(np.float16)


def main():
    os.makedirs(OUT, exist_ok=True)
    for photo, profile in CASES:
        values = preprocess(os.path.join(PHOTOS, photo), PROFILES[profile])
        name = "%s-%s.npy" % (os.path.splitext(photo)[0], profile)
        path = os.path.join(OUT, name)
        np.save(path, np.ascontiguousarray(values))
        print("wrote %s %s (%d bytes)" % (os.path.relpath(path, REPO), list(values.shape), os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
