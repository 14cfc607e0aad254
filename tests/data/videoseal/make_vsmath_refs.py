#!/usr/bin/python3
"""Reference outputs for the sealite_vsmath tests (resize, JND, blend).

Run with Debian's python3-torch 1.13.1 (the version the VideoSeal fixtures were
made with), from the repository root:

    /usr/bin/python3 tests/data/videoseal/make_vsmath_refs.py

Writes tests/data/videoseal/vsmath/*.npy and cases.json. Inputs are either the
repository's tests/data/media/img_270x476.png (u8 / 255, as the pipeline does)
or a procedural pattern the C++ tests regenerate bit-exactly (see `pattern`),
so only outputs are stored; large outputs keep every `row_stride`-th row (plus
the last one) to stay small. torch runs with 2 intra-op threads, like the
fixtures (the JND's pow depends on torch's per-thread chunking).
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vsmath")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
torch.set_num_threads(2)


def lowbias32(x):
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def pattern(shape, seed, signed=False):
    """float32 values: unsigned in [0,1) on a 2^-24 grid, signed in [-1,1) on a 2^-23 grid."""
    n = int(np.prod(shape))
    idx = np.arange(n, dtype=np.uint32)
    h = lowbias32(idx * np.uint32(0x9E3779B9) + np.uint32(seed)) >> np.uint32(8)
    if signed:
        v = h.astype(np.float32) * np.float32(2.0**-23) - np.float32(1.0)
    else:
        v = h.astype(np.float32) * np.float32(2.0**-24)
    return v.reshape(shape)


def image270():
    """u8 / 255 as NCHW the natural way: a permuted (channels-last) tensor."""
    u8 = np.asarray(Image.open(os.path.join(REPO, "tests/data/media/img_270x476.png")).convert("RGB"))
    return torch.from_numpy(u8.copy()).permute(2, 0, 1)[None].float() / 255.0


def kept_rows(h, stride):
    rows = list(range(0, h, stride))
    if rows[-1] != h - 1:
        rows.append(h - 1)
    return rows


def jnd_1_1(imgs):
    """videoseal.modules.jnd.JND(in_channels=1, out_channels=1).heatmaps, same torch ops."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    ky = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]).view(1, 1, 3, 3)
    kl = torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 2.0, 2.0, 1.0], [1.0, 2.0, 0.0, 2.0, 1.0],
                       [1.0, 2.0, 2.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]]).view(1, 1, 5, 5)
    imgs = 255 * imgs
    rgbs = torch.tensor([0.299, 0.587, 0.114])
    lum = rgbs[0] * imgs[..., 0:1, :, :] + rgbs[1] * imgs[..., 1:2, :, :] + rgbs[2] * imgs[..., 2:3, :, :]
    la = F.conv2d(lum, kl, padding=2) / 32
    m = la <= 127
    la[m] = 17 * (1 - torch.sqrt(la[m] / 127 + 1e-5))
    la[~m] = 3 / 128 * (la[~m] - 127) + 3
    la = 1.0 * la
    gx = F.conv2d(lum, kx, padding=1)
    gy = F.conv2d(lum, ky, padding=1)
    cm = torch.sqrt(gx**2 + gy**2)
    cm = 16 * cm**2.4 / (cm**2 + 26**2)
    cm = 0.117 * cm
    h = torch.clamp_min(la + cm - 0.3 * torch.minimum(la, cm), 0)
    return h / 255


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []

    def save(name, arr, meta, row_stride=0):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if row_stride:
            arr = np.ascontiguousarray(arr[..., kept_rows(arr.shape[-2], row_stride), :])
        np.save(os.path.join(OUT, name + ".npy"), arr)
        meta = dict(meta, name=name, file="vsmath/" + name + ".npy", row_stride=row_stride)
        cases.append(meta)

    # ---- resize: (name, input, channels, in_h, in_w, out_h, out_w, antialias, row_stride[, layout])
    # layout: torch memory format of the input tensor ("contiguous" NCHW or "channels_last");
    # it changes torch's antialias=False arithmetic (see src/videoseal/resize.h).
    img = image270()
    resize_cases = [
        ("img270_to_256_aa", "image270", 3, 270, 476, 256, 256, True, 12),
        ("img270_to_256_noaa", "image270", 3, 270, 476, 256, 256, False, 16, "channels_last"),
        ("img270_to_256_noaa_nchw", "image270", 3, 270, 476, 256, 256, False, 32, "contiguous"),
        ("p20x30_to_47x33_noaa_cl10", "unsigned:32", 10, 20, 30, 47, 33, False, 0, "channels_last"),
        ("p20x30_to_11x13_noaa_cl10", "unsigned:33", 10, 20, 30, 11, 13, False, 0, "channels_last"),
        ("res256_to_270x476_aa", "signed:11", 1, 256, 256, 270, 476, True, 9),
        ("p1080p_to_256_aa", "unsigned:12", 1, 1080, 1920, 256, 256, True, 8),
        ("res256_to_1080p_aa", "signed:13", 1, 256, 256, 1080, 1920, True, 180),
        ("p45x79_to_256_aa", "unsigned:14", 2, 45, 79, 256, 256, True, 16),
        ("p256_to_45x79_aa", "unsigned:15", 1, 256, 256, 45, 79, True, 0),
        ("p45x79_to_256_noaa_1ch", "unsigned:16", 1, 45, 79, 256, 256, False, 16),
        ("p256_to_45x79_noaa_1ch", "unsigned:17", 1, 256, 256, 45, 79, False, 0),
        ("p256_to_45x79_noaa_3ch", "unsigned:18", 3, 256, 256, 45, 79, False, 0),
        ("p17x33_to_9x5_aa", "unsigned:19", 3, 17, 33, 9, 5, True, 0),
        ("p17x33_to_9x5_noaa", "unsigned:20", 3, 17, 33, 9, 5, False, 0),
        ("p1x300_to_1x17_aa", "unsigned:21", 2, 1, 300, 1, 17, True, 0),
        ("p300x1_to_7x1_aa", "unsigned:22", 2, 300, 1, 7, 1, True, 0),
        ("p1x7_to_256_aa", "unsigned:23", 1, 1, 7, 256, 256, True, 32),
        ("p1x7_to_256_noaa", "unsigned:24", 3, 1, 7, 256, 256, False, 32),
        ("p301x199_to_256_aa", "unsigned:25", 2, 301, 199, 256, 256, True, 16),
        ("p255x257_to_256_aa", "unsigned:26", 1, 255, 257, 256, 256, True, 16),
        ("p100x100_to_100x37_aa", "unsigned:27", 1, 100, 100, 100, 37, True, 0),
        ("p37x100_to_100x100_aa", "unsigned:28", 1, 37, 100, 100, 100, True, 4),
        ("p7x5_to_300x200_aa", "unsigned:29", 1, 7, 5, 300, 200, True, 20),
        ("p2x3_to_3x2_aa", "unsigned:30", 3, 2, 3, 3, 2, True, 0),
        ("p1000x3_to_7x1000_aa", "unsigned:31", 1, 1000, 3, 7, 1000, True, 0),
    ]
    for name, src, c, ih, iw, oh, ow, aa, stride, *layout in resize_cases:
        if src == "image270":
            x = img
            layout = layout[0] if layout else "channels_last"
        else:
            kind, seed = src.split(":")
            x = torch.from_numpy(pattern((1, c, ih, iw), int(seed), signed=(kind == "signed")))
            layout = layout[0] if layout else "contiguous"
        x = x.contiguous(memory_format=torch.channels_last if layout == "channels_last" else torch.contiguous_format)
        y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False, antialias=aa)
        save(name, y.contiguous().numpy()[0], dict(kind="resize", input=src, channels=c, in_h=ih, in_w=iw, out_h=oh,
                                                   out_w=ow, antialias=aa, layout=layout), stride)

    # ---- JND jnd_1_1 heatmap (H x W)
    jnd_cases = [
        ("jnd_img270", "image270", 270, 476, 8),
        ("jnd_p45x79", "unsigned:40", 45, 79, 0),
        ("jnd_p181x263", "unsigned:41", 181, 263, 6),  # > 32768 pixels: two torch chunks
        ("jnd_p7x5", "unsigned:42", 7, 5, 0),
        ("jnd_p2x3", "unsigned:43", 2, 3, 0),
        ("jnd_p1x1", "unsigned:44", 1, 1, 0),
        ("jnd_p1x40", "unsigned:45", 1, 40, 0),
    ]
    for name, src, h, w, stride in jnd_cases:
        x = img if src == "image270" else torch.from_numpy(pattern((1, 3, h, w), int(src.split(":")[1])))
        y = jnd_1_1(x).contiguous().numpy()[0, 0]
        save(name, y, dict(kind="jnd", input=src, height=h, width=w), stride)

    # ---- JND over a batch of frames in one call (video): torch's pow path
    # depends on the element's position in the whole (N,1,H,W) tensor
    # (3x95x116 = 33060 > 32768 elements: two torch chunks, split inside frame 1)
    for name, n, h, w, seed, stride in [("jndbatch_3x45x79", 3, 45, 79, 46, 0), ("jndbatch_3x95x116", 3, 95, 116, 47, 2)]:
        x = torch.from_numpy(pattern((n, 3, h, w), seed))
        y = jnd_1_1(x).contiguous().numpy()[:, 0]
        save(name, y, dict(kind="jnd_batch", input=f"unsigned:{seed}", frames=n, height=h, width=w), stride)

    # ---- blend: clamp(scaling_i * img + scaling_w * residual, 0, 1)
    for name, rc, si, sw in [("blend_1ch", 1, 1.0, 0.2), ("blend_3ch", 3, 1.0, 0.2), ("blend_scaled", 1, 0.75, 1.5)]:
        x = torch.from_numpy(pattern((1, 3, 17, 23), 50))
        r = torch.from_numpy(pattern((1, rc, 17, 23), 51, signed=True))
        y = torch.clamp(si * x + sw * r, 0, 1).numpy()[0]
        save(name, y, dict(kind="blend", input="unsigned:50", residual="signed:51", residual_channels=rc,
                           height=17, width=23, scaling_i=si, scaling_w=sw))

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": cases}, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, c["name"] + ".npy")) for c in cases)
    print(f"{len(cases)} cases, {total} bytes")


if __name__ == "__main__":
    main()
