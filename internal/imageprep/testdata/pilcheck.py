"""Compare imageprep's resize and crop with PIL's, as torchvision does it.

Usage: PILCHECK_DIR=/tmp go test -tags pilcheck -run TestPILDump . && python3 testdata/pilcheck.py /tmp
Needs Pillow and NumPy (Debian: python3-pil python3-numpy). PIL rounds to
8 bits after each pass, so differences up to 1 are expected.
"""
import sys

import numpy as np
from PIL import Image

d = sys.argv[1]
for name in ["square", "wide", "small"]:
    im = Image.open(f"{d}/pil_{name}.png").convert("RGB")
    w, h = im.size
    nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    r = im.resize((nw, nh), Image.BILINEAR)  # Antialiased in Pillow >= 7.
    left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
    want = np.asarray(r.crop((left, top, left + 224, top + 224))).astype(np.float32).transpose(2, 0, 1)
    got = np.fromfile(f"{d}/pil_{name}.f32", dtype="<f4").reshape(3, 224, 224)
    diff = np.abs(want - got)
    print(f"{name} {w}x{h} -> {nw}x{nh}: max |diff| {diff.max():.3f}, mean |diff| {diff.mean():.3f}")
