"""The sample `shapes-segmentation` set (ml/sample_segmentation.py): deterministic, one mask or polygon a shape,
masks that match their polygons and never overlap, and its class-index PNG form."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from desktop_app.domain import masks
from desktop_app.formats.semantic_png import read_semantic, write_semantic
from desktop_app.ml.sample_data import SHAPES
from desktop_app.ml.sample_segmentation import generate_shapes_segmentation


def test_masks_are_deterministic_disjoint_and_match_the_polygons(tmp_path):
    t0 = time.perf_counter()
    a = generate_shapes_segmentation(tmp_path / "a", n=24, size=64, seed=3)
    took = time.perf_counter() - t0
    b = generate_shapes_segmentation(tmp_path / "b", n=12, size=64, seed=3)
    p = generate_shapes_segmentation(tmp_path / "p", n=24, size=64, seed=3, form="polygon")
    assert took < 5, took
    assert a.labels == list(SHAPES) and a.info["kind"] == "segmentation"
    # image i depends on (seed, i) only
    for x, y in zip(a.items[:12], b.items):
        assert x.name == y.name and [an.coordinates for an in x.annotations] == [an.coordinates for an in y.annotations]
        assert (tmp_path / "a" / x.name).read_bytes() == (tmp_path / "b" / y.name).read_bytes()
    assert {it.subset for it in a.items} <= {"train", "validation", "test"}
    for it, ip in zip(a.items, p.items):
        assert all(an.type == "binary" for an in it.annotations) and all(an.type == "segment" for an in ip.annotations)
        assert 1 <= len(it.annotations) <= 4 and len(it.annotations) <= len(ip.annotations)
        with Image.open(it.source) as im:
            assert im.size == (64, 64)
        covered = np.zeros((64, 64), int)
        drawn = np.zeros((64, 64), bool)
        for an in it.annotations:
            assert masks.rle_problem(an.coordinates, 64, 64) is None
            covered += masks.decode(an.coordinates)
        for an in ip.annotations:
            drawn |= masks.polygon_to_mask(an.coordinates, 64, 64)
        assert covered.max() == 1                      # a later shape hides what it covers
        assert (covered.astype(bool) == drawn).all()   # together the masks are the polygons' pixels


def test_class_index_png_form(tmp_path):
    bundle = generate_shapes_segmentation(tmp_path / "src", n=8, size=48, seed=1)
    out = write_semantic(bundle, tmp_path / "sem", background="background")
    assert (out / "classes.txt").read_text().split() == ["background", *SHAPES]
    back = read_semantic(out)
    index = {lab: i for i, lab in enumerate(back.labels)}
    for it, again in zip(bundle.items, sorted(back.items, key=lambda x: x.name)):
        sub = {"train": "train", "validation": "val", "test": "test"}[it.subset]
        with Image.open(out / "masks" / sub / it.name) as im:
            arr = np.asarray(im)
        want = np.zeros((48, 48), np.uint8)
        for an in it.annotations:
            want[masks.decode(an.coordinates)] = index[an.label]
        assert (arr == want).all()
        assert {an.label for an in again.annotations} == {an.label for an in it.annotations}
