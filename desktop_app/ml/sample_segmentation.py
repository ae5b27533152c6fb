"""The sample project's `shapes-segmentation` set: the sample shapes with a mask (or a polygon) per shape."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from desktop_app.domain import masks
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.errors import ValidationError
from desktop_app.ml.sample_data import SHAPES, _assign_subsets, _draw_image

FORMS = ("mask", "polygon")


def generate_shapes_segmentation(out_dir: str | Path, n: int = 200, size: int = 96, seed: int = 0,
                                 form: str = "mask") -> DatasetBundle:
    """Draw ``n`` images of 1-4 shapes (circle, square, triangle, star) as PNG files into ``out_dir`` and return
    them with one annotation a shape: its ``binary`` mask (``form='mask'``: the pixels it shows, a later shape
    drawn over an earlier one taking its pixels) or its ``segment`` polygon (``form='polygon'``). Split
    70/15/15 like the other sample sets. Image i depends only on (seed, i). For the semantic form (one
    class-index PNG an image, 0 = background), write the bundle with formats.semantic_png.write_semantic
    (background="background")."""
    if form not in FORMS:
        raise ValidationError(f"form: expected one of {', '.join(FORMS)}, got {form!r}")
    if n < 1:
        raise ValidationError(f"n: expected at least 1 image, got {n}")
    if size < 16:
        raise ValidationError(f"size: expected at least 16 px, got {size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items: list[ImageEntry] = []
    for i in range(n):
        rng = random.Random(f"segmentation:{seed}:{i}")
        shapes = [rng.choice(SHAPES) for _ in range(rng.randint(1, 4))]
        image, drawn = _draw_image(rng, size, shapes, min_frac=0.15, max_frac=0.40)
        polys = [a for a in drawn if a.type == "segment"]
        anns: list[Annotation] = []
        if form == "polygon":
            anns = [Annotation("segment", a.label, a.coordinates) for a in polys]
        else:
            covered = np.zeros((size, size), dtype=bool)
            shown = []
            for a in reversed(polys):   # drawn in order: a later shape hides what it covers
                m = masks.polygon_to_mask(a.coordinates, size, size) & ~covered
                covered |= m
                shown.append((a.label, m))
            anns = [Annotation("binary", label, masks.encode(m)) for label, m in reversed(shown) if m.any()]
        if not anns:   # no shape placed (the first always has room): nothing to learn from this image
            continue
        name = f"shapes_seg_{i:05d}.png"
        image.save(out / name, compress_level=1)
        items.append(ImageEntry(source=out / name, name=name, width=size, height=size, annotations=anns))
    _assign_subsets(items, seed)
    return DatasetBundle(labels=list(SHAPES), items=items,
                         info={"source": "Model Desk sample shapes", "kind": "segmentation", "form": form,
                               "seed": seed, "size": size, "n": n})
