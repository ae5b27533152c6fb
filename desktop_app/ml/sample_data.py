"""The built-in sample project: coloured shapes drawn with pillow, deterministic for a seed, no download."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from desktop_app.errors import ValidationError
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry

SHAPES = ("circle", "square", "triangle", "star")
KINDS = ("classification", "detection")
_SPLIT = (("train", 0.70), ("validation", 0.15), ("test", 0.15))
_SUPERSAMPLE = 2  # draw at 2x and downsample: smooth edges at no real cost


def generate_shapes(
    out_dir: str | Path,
    kind: str = "classification",
    n: int = 1000,
    size: int | None = None,
    seed: int = 0,
) -> DatasetBundle:
    """Draw `n` shape images as PNG files into `out_dir` and return them annotated.

    classification: one shape per image (default 64 px); a `class` annotation plus a `box` and a
    `segment` for the shape. detection: 1-4 shapes per image (default 128 px), a `box` and a `segment`
    each. Items are split 70/15/15 into train/validation/test, stratified by the (first) shape's class.
    Image i depends only on (seed, i), so the first k images are the same for any n >= k.
    """
    if kind not in KINDS:
        raise ValidationError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if n < 1:
        raise ValidationError(f"n: expected at least 1 image, got {n}")
    size = int(size or (64 if kind == "classification" else 128))
    if size < 16:
        raise ValidationError(f"size: expected at least 16 px, got {size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    items: list[ImageEntry] = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        if kind == "classification":
            shapes = [SHAPES[i % len(SHAPES)]]
            image, anns = _draw_image(rng, size, shapes, min_frac=0.50, max_frac=0.90)
        else:
            count = rng.randint(1, 4)
            shapes = [rng.choice(SHAPES) for _ in range(count)]
            image, anns = _draw_image(rng, size, shapes, min_frac=0.12, max_frac=0.36)
        name = f"shapes_{i:05d}.png"
        image.save(out / name, compress_level=1)
        if kind == "classification":
            anns.insert(0, Annotation(type="class", label=shapes[0]))
        items.append(ImageEntry(source=out / name, name=name, width=size, height=size, annotations=anns))

    _assign_subsets(items, seed)
    return DatasetBundle(
        labels=list(SHAPES),
        items=items,
        info={"source": "Model Desk sample shapes", "kind": kind, "seed": seed, "size": size, "n": n},
    )


def _assign_subsets(items: list[ImageEntry], seed: int) -> None:
    """Stratified 70/15/15 split, deterministic for the seed."""
    by_class: dict[str, list[ImageEntry]] = {}
    for it in items:
        by_class.setdefault(it.annotations[0].label, []).append(it)
    rng = random.Random(f"split:{seed}")
    for group in by_class.values():
        rng.shuffle(group)
        n = len(group)
        n_train = round(n * _SPLIT[0][1])
        n_val = round(n * _SPLIT[1][1])
        for k, it in enumerate(group):
            it.subset = "train" if k < n_train else "validation" if k < n_train + n_val else "test"


def _draw_image(rng: random.Random, size: int, shapes: list[str], min_frac: float, max_frac: float):
    s = _SUPERSAMPLE
    big = size * s
    bg = _background(rng, big)
    draw = ImageDraw.Draw(bg)
    placed: list[list[float]] = []
    anns: list[Annotation] = []
    for shape in shapes:
        for _attempt in range(30):
            d = rng.uniform(min_frac, max_frac) * size          # shape diameter, final pixels
            r = d / 2
            cx = rng.uniform(r, size - r)
            cy = rng.uniform(r, size - r)
            poly = _polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi))
            box = _bounds(poly, size)
            if all(_iou(box, other) < 0.05 and not _contains(other, box) for other in placed):
                break
        else:
            continue  # no room left for this shape: draw fewer
        placed.append(box)
        colour = _contrasting_colour(rng, bg.getpixel((int(cx * s), int(cy * s))))
        draw.polygon([(x * s, y * s) for x, y in poly], fill=colour)
        ring = [[round(x, 2), round(y, 2)] for x, y in poly]
        anns.append(Annotation(type="box", label=shape, coordinates=[round(v, 2) for v in box]))
        anns.append(Annotation(type="segment", label=shape, coordinates=[ring]))
    img = bg.resize((size, size), Image.Resampling.BOX)
    arr = np.asarray(img, dtype=np.int16)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 8), arr.shape)
    arr = np.clip(arr + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr), anns


def _background(rng: random.Random, big: int) -> Image.Image:
    base = tuple(rng.randint(0, 255) for _ in range(3))
    style = rng.random()
    if style < 0.4:
        return Image.new("RGB", (big, big), base)
    other = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0.0, 1.0, big, dtype=np.float32)
    if style < 0.8:  # linear gradient, horizontal or vertical
        ramp = t[None, :, None] if rng.random() < 0.5 else t[:, None, None]
        arr = np.asarray(base, np.float32) * (1 - ramp) + other * ramp
        arr = np.broadcast_to(arr, (big, big, 3))
    else:  # soft blotches: low-resolution noise upsampled
        low = np.random.default_rng(rng.getrandbits(32)).uniform(0, 1, (4, 4, 1)).astype(np.float32)
        low_img = Image.fromarray((low[..., 0] * 255).astype(np.uint8)).resize((big, big), Image.Resampling.BICUBIC)
        m = np.asarray(low_img, np.float32)[..., None] / 255.0
        arr = np.asarray(base, np.float32) * (1 - m) + other * m
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _contrasting_colour(rng: random.Random, under: tuple[int, ...]) -> tuple[int, int, int]:
    lum_under = _luminance(under)
    best = (0, 0, 0)
    for _ in range(20):
        c = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        if abs(_luminance(c) - lum_under) > 70:
            return c
        best = c if abs(_luminance(c) - lum_under) > abs(_luminance(best) - lum_under) else best
    return (255, 255, 255) if lum_under < 128 else (0, 0, 0)


def _luminance(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "circle":
        pts = [(r, 2 * math.pi * k / 40) for k in range(40)]
    elif shape == "square":
        pts = [(r * 0.8, angle + math.pi / 4 + k * math.pi / 2) for k in range(4)]  # side ~1.13 r
    elif shape == "triangle":
        pts = [(r, angle + k * 2 * math.pi / 3) for k in range(3)]
    elif shape == "star":
        pts = [(r if k % 2 == 0 else r * 0.42, angle + k * math.pi / 5) for k in range(10)]
    else:  # pragma: no cover - guarded by SHAPES
        raise ValueError(shape)
    return [(cx + rad * math.cos(a), cy + rad * math.sin(a)) for rad, a in pts]


def _bounds(poly, size: int) -> list[float]:
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return [max(0.0, min(xs)), max(0.0, min(ys)), min(float(size), max(xs)), min(float(size), max(ys))]


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _contains(a, b) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a[2] >= b[2] and a[3] >= b[3]
