"""Generated scenes and a fixed colour-layout descriptor for near-duplicate tests and their screenshots.

No pretrained weights are on this machine and a randomly initialised CNN is neither flip-invariant nor
discriminative on these images, so tests/evaluation/test_near_duplicates.py (see its docstring for the measurements)
and tools/screenshots_issue14_similar.py stand this descriptor where a model's pooled features would be: a soft
colour-layout histogram (opponent colours normalised per image, 8 x 6 x 6 Gaussian bins per horizontal band,
square-rooted for the cosine).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SIZE = 96


def make_image(rng: np.random.Generator) -> Image.Image:
    """A two-colour gradient with 3-6 random ellipses, rectangles and triangles of random colours."""
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    im = Image.fromarray((a * (1 - t[..., None]) + b * t[..., None]).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = (int(v) for v in rng.integers(-10, SIZE - 20, 2))
        w, h = (int(v) for v in rng.integers(20, 60, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.polygon([tuple(int(v) for v in rng.integers(0, SIZE, 2)) for _ in range(3)], fill=colour)
    return im


def _soft_bins(v: np.ndarray, lo: float, hi: float, n: int, sigma: float) -> np.ndarray:
    centres = np.linspace(lo, hi, n, dtype=np.float32)
    return np.exp(-0.5 * ((v.reshape(-1, 1) - centres) / sigma) ** 2)


def describe(im: Image.Image, side: int = 48, bands: int = 3) -> np.ndarray:
    """The soft colour-layout histogram (see the module docstring): 3 x 288 float32."""
    a = np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BOX), np.float32)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    lum, c1, c2 = (r + g + b) / 3, r - g, (r + g) / 2 - b
    lum = (lum - lum.mean()) / (lum.std() + 1e-3)
    spread = np.sqrt((c1 ** 2 + c2 ** 2).mean()) + 1e-3
    c1, c2 = (c1 - c1.mean()) / spread, (c2 - c2.mean()) / spread
    wl, w1, w2 = _soft_bins(lum, -2, 2, 8, 0.4), _soft_bins(c1, -2, 2, 6, 0.5), _soft_bins(c2, -2, 2, 6, 0.5)
    band = np.arange(side * side) // side * bands // side
    h = np.concatenate([np.einsum("pi,pj,pk->ijk", wl[band == q], w1[band == q], w2[band == q]).ravel()
                        for q in range(bands)])
    return np.sqrt(h / h.sum()).astype(np.float32)
