#!/usr/bin/env python3
"""Generates the small checkpoints used by tests/checkpoint (outputs are committed).

Run from anywhere with a python3 that has torch (Debian: /usr/bin/python3 with
python3-torch): `python3 make_test_checkpoints.py [fixture_dir]`. fixture_dir
defaults to ../shared/fixtures/videoseal/chunky next to the checkout; it is only
needed for chunky_checksums.txt.

Tensor values follow one formula so the C++ test can recompute them:
    value(i, seed) = ((i + seed) % 17 - 8) / 4      (i = C-order element index)
Every value is a multiple of 1/4 in [-2, 2], exact in float16 and bfloat16.
"""
import argparse
import collections
import json
import os
import struct
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def pattern(shape, seed, dtype):
    n = 1
    for d in shape:
        n *= d
    vals = [((i + seed) % 17 - 8) / 4 for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).reshape(shape).to(dtype)


def out(name):
    return os.path.join(HERE, name)


def half_checkpoint():
    """VideoSeal layout, float16, with views, an int64 buffer and extra top-level keys."""
    base = pattern((3, 5), 1, torch.float16)
    sd = collections.OrderedDict()
    sd["conv.weight"] = pattern((4, 3, 2, 2), 0, torch.float16)
    sd["conv.bias"] = pattern((4,), 7, torch.float16)
    sd["base"] = base
    sd["base_t"] = base.t()          # same storage, strides (1, 5)
    sd["base_row1"] = base[1]        # same storage, offset 5
    sd["bn.num_batches_tracked"] = torch.tensor(42, dtype=torch.int64)
    sd["scalar"] = torch.tensor(1.5, dtype=torch.float16)
    optim_state = {"state": {0: {"exp_avg": torch.full((7,), 3.0)}},
                   "param_groups": [{"lr": 0.1, "params": [0], "betas": (0.9, 0.999)}]}
    ckpt = {"model": sd,
            "args": argparse.Namespace(nbits=16, name="tiny", scales=[1.0, 2.0], flags={"a"}),
            "optimizer": optim_state,
            "epoch": 3}
    torch.save(ckpt, out("half.pth"))

    # The same archive re-written with deflated entries (torch itself stores them).
    with zipfile.ZipFile(out("half.pth")) as src, \
            zipfile.ZipFile(out("half_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    # ... and without the optimizer's storage: loading must not need it.
    with zipfile.ZipFile(out("half.pth")) as src:
        for name in src.namelist():
            if name.endswith("/data.pkl"):
                prefix = name[: -len("data.pkl")]
        # The optimizer tensor is pickled after the model, so its storage key is the largest.
        keys = sorted(int(n[len(prefix + "data/"):]) for n in src.namelist()
                      if n.startswith(prefix + "data/"))
        optim_key = str(keys[-1])
        with zipfile.ZipFile(out("half_no_optimizer_storage.pth"), "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                if info.filename != prefix + "data/" + optim_key:
                    dst.writestr(info.filename, src.read(info.filename))
    # Sanity: torch itself reads what we expect.
    back = torch.load(out("half.pth"))
    assert back["model"]["base_t"].stride() == (1, 5)
    assert back["model"]["base_row1"].storage_offset() == 5


def bfloat16_checkpoint():
    """A bare state dict (no 'model' wrapper) of bfloat16 tensors."""
    sd = collections.OrderedDict()
    sd["linear.weight"] = pattern((6, 4), 3, torch.bfloat16)
    sd["linear.bias"] = pattern((6,), 5, torch.bfloat16)
    sd["norm.weight"] = pattern((2, 1, 1), 11, torch.bfloat16)
    torch.save(sd, out("bfloat16.pth"))


def proto4_checkpoint():
    """float32 state dict pickled with protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)."""
    sd = collections.OrderedDict()
    sd["w"] = pattern((2, 3), 2, torch.float32)
    sd["b"] = pattern((3,), 4, torch.float32)
    torch.save({"state_dict": sd, "note": "protocol 4"}, out("proto4.pth"), pickle_protocol=4)


def safetensors_file():
    """Written by hand (the safetensors package is not needed): one tensor per dtype."""
    tensors = [  # name, dtype tag, torch dtype, shape, seed
        ("a.f32", "F32", torch.float32, (2, 3), 0),
        ("b.f16", "F16", torch.float16, (3, 2), 1),
        ("c.bf16", "BF16", torch.bfloat16, (4,), 2),
        ("d.f64", "F64", torch.float64, (2, 2), 3),
        ("e.i64", "I64", torch.int64, (3,), 0),
        ("f.u8", "U8", torch.uint8, (5,), 0),
        ("g.bool", "BOOL", torch.bool, (2,), 0),
    ]
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, tag, dtype, shape, seed in tensors:
        if dtype in (torch.int64, torch.uint8):
            t = torch.arange(1, 1 + torch.Size(shape).numel(), dtype=dtype).reshape(shape)
        elif dtype == torch.bool:
            t = torch.tensor([True, False])
        else:
            t = pattern(shape, seed, dtype)
        raw = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": tag, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    with open(out("mixed.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def chunky_checksums(fixture_dir):
    """Per-key float64 sum and sum of |x| of the copied fixture, to check every value."""
    sd = torch.load(os.path.join(fixture_dir, "checkpoint.pth"), map_location="cpu")["model"]
    with open(out("chunky_checksums.txt"), "w") as f:
        for k, v in sd.items():
            x = v.to(torch.float32).to(torch.float64)
            f.write(f"{k}\t{x.sum().item():.17g}\t{x.abs().sum().item():.17g}\n")


def main():
    default = os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures", "videoseal", "chunky")
    fixture_dir = sys.argv[1] if len(sys.argv) > 1 else default
    half_checkpoint()
    bfloat16_checkpoint()
    proto4_checkpoint()
    safetensors_file()
    if os.path.isdir(fixture_dir):
        chunky_checksums(fixture_dir)
    else:
        print(f"skipping chunky_checksums.txt ({fixture_dir} not found)")


if __name__ == "__main__":
    main()
