"""Masks as data (domain.masks): COCO RLE against pycocotools, polygon <-> mask round trips on generated shapes,
and the checks that name what is wrong with a bad mask or polygon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop_app.domain import masks
from desktop_app.errors import ValidationError

mu = pytest.importorskip("pycocotools.mask")


def _shape_polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[list[float]]:
    if kind == "circle":
        pts = [(r, 2 * math.pi * k / 48) for k in range(48)]
    elif kind == "square":
        pts = [(r, angle + math.pi / 4 + k * math.pi / 2) for k in range(4)]
    elif kind == "triangle":
        pts = [(r, angle + k * 2 * math.pi / 3) for k in range(3)]
    else:  # star
        pts = [(r if k % 2 == 0 else r * 0.45, angle + k * math.pi / 5) for k in range(10)]
    return [[cx + rad * math.cos(a), cy + rad * math.sin(a)] for rad, a in pts]


def _generated_shapes(n: int = 40):
    rng = np.random.default_rng(7)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(40, 160, 2))
        r = float(rng.uniform(8, min(h, w) / 2 - 1))
        cx, cy = float(rng.uniform(r, w - r)), float(rng.uniform(r, h - r))
        kind = ("circle", "square", "triangle", "star")[i % 4]
        yield kind, h, w, _shape_polygon(kind, cx, cy, r, float(rng.uniform(0, 2 * math.pi)))


# -- RLE --------------------------------------------------------------------------------------------------

def test_rle_encode_is_pycocotools_and_decodes_back():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        m = rng.random((h, w)) < rng.random()
        ours = masks.encode(m)
        theirs = mu.encode(np.asfortranarray(m.astype(np.uint8)))
        assert ours == {"size": [h, w], "counts": theirs["counts"].decode("ascii")}
        assert (masks.decode(ours) == m).all()
        plain = masks.encode(m, compressed=False)
        assert isinstance(plain["counts"], list) and (masks.decode(plain) == m).all()
        assert masks.area(ours) == masks.area(plain) == int(m.sum())
        # pycocotools compresses our uncompressed counts to our string
        assert mu.frPyObjects(plain, h, w)["counts"].decode("ascii") == ours["counts"]


def test_bbox_is_in_pixel_corner_space():
    m = np.zeros((10, 12), bool)
    m[2:5, 3:9] = True
    assert masks.bbox(m) == [3.0, 2.0, 9.0, 5.0]
    assert masks.bbox(np.zeros((3, 3), bool)) is None


# -- polygon <-> mask -------------------------------------------------------------------------------------

def test_rasterising_agrees_with_pycocotools_on_shapes():
    for kind, h, w, poly in _generated_shapes(20):
        ours = masks.polygon_to_mask([poly], h, w)
        rle = mu.frPyObjects([[v for p in poly for v in p]], h, w)[0]
        theirs = masks.decode({"size": [h, w], "counts": rle["counts"].decode("ascii")})
        assert masks.iou(ours, theirs) > 0.9, kind


def test_polygon_area_matches_its_mask():
    for kind, h, w, poly in _generated_shapes(20):
        m = masks.polygon_to_mask([poly], h, w)
        assert abs(m.sum() - abs(masks.polygon_area(poly))) <= 0.1 * m.sum() + 4, kind


def test_traced_polygons_give_back_the_same_pixels():
    for kind, h, w, poly in _generated_shapes():
        m = masks.polygon_to_mask([poly], h, w)
        rings = masks.mask_to_polygons(m)
        # a sharp tip may leave a pixel touching the rest only at a corner: its own ring
        assert rings and all(len(p) == 2 for r in rings for p in r)
        assert all(masks.polygon_area(r) > 0 for r in rings)          # clockwise on screen
        assert (masks.polygon_to_mask(rings, h, w) == m).all(), kind


def test_polygon_mask_polygon_round_trip_iou_over_095():
    for kind, h, w, poly in _generated_shapes():
        m = masks.polygon_to_mask([poly], h, w)
        assert masks.iou(masks.polygon_to_mask(masks.mask_to_polygons(m), h, w), m) == 1.0
        for tol in (0.5, 1.0):   # simplified: a pixel's worth off the outline at most
            rings = masks.mask_to_polygons(m, tolerance=tol)
            back = masks.polygon_to_mask(rings, h, w)
            # IoU on pixels is coarse for small shapes (a 10 x 10 shape is a third outline)
            assert masks.iou(back, m) > (0.95 if m.sum() >= 400 else 0.85), (kind, tol, int(m.sum()))
        simple = masks.mask_to_polygons(m, tolerance=1.0)[0]
        assert len(simple) <= len(masks.mask_to_polygons(m)[0])


def test_random_blobs_without_holes_trace_exactly():
    rng = np.random.default_rng(3)
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(5, 60, 2))
        m = rng.random((h, w)) < 0.5
        # the union of the traced outer rings is the mask with its holes filled: never less than the mask
        back = masks.polygon_to_mask(masks.mask_to_polygons(m), h, w)
        assert (back | m == back).all()


def test_parts_touching_at_a_corner_are_separate_and_holes_are_not_kept():
    m = np.zeros((6, 6), bool)
    m[1, 1] = m[2, 2] = True
    rings = masks.mask_to_polygons(m)
    assert sorted(rings) == [[[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0]],
                             [[2.0, 2.0], [3.0, 2.0], [3.0, 3.0], [2.0, 3.0]]]
    frame = np.zeros((7, 7), bool)
    frame[1:6, 1:6] = True
    frame[3, 3] = False
    rings = masks.mask_to_polygons(frame)
    assert rings == [[[1.0, 1.0], [6.0, 1.0], [6.0, 6.0], [1.0, 6.0]]]
    assert masks.mask_to_polygons(np.zeros((4, 4), bool)) == []
    big_small = np.zeros((20, 20), bool)
    big_small[1:10, 1:10] = big_small[15:17, 15:17] = True
    assert len(masks.mask_to_polygons(big_small, max_instances=1)) == 1
    assert len(masks.mask_to_polygons(big_small, min_area=5)) == 1


def test_mask_on_the_image_border_traces_to_the_border():
    m = np.ones((5, 7), bool)
    assert masks.mask_to_polygons(m) == [[[0.0, 0.0], [7.0, 0.0], [7.0, 5.0], [0.0, 5.0]]]


# -- checks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("geo, words", [
    (np.array([[0, 1], [2, 1]]), "not binary: it holds 2"),
    (np.array([[0.0, 0.5], [1.0, 1.0]]), "not binary: it holds 0.5"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN"),
    (np.zeros((4, 4)), "empty"),
    (np.ones((2, 3, 3)), "2-D"),
    (np.array([["a", "b"]]), "dtype"),
])
def test_as_mask_says_what_is_wrong(geo, words):
    with pytest.raises(ValidationError, match=words):
        masks.as_mask(geo, what="the mask")


def test_as_mask_accepts_bool_01_and_0_255_and_checks_the_size(monkeypatch):
    assert masks.as_mask(np.array([[0, 255]], np.uint8)).tolist() == [[False, True]]
    assert masks.as_mask(np.array([[False, True]])).tolist() == [[False, True]]
    with pytest.raises(ValidationError, match=r"is 1x2 \(h x w\) but the image is 2x1"):
        masks.as_mask(np.array([[0, 1]]), shape=(2, 1))
    monkeypatch.setattr(masks, "MAX_MASK_PIXELS", 10)
    with pytest.raises(ValidationError, match="over the 0 MP limit"):
        masks.as_mask(np.ones((4, 4)))


@pytest.mark.parametrize("rle, size, words", [
    ({"size": [4, 4], "counts": [3, 5, 7]}, (4, 4), "sum to 15 pixels, expected h\\*w = 16"),
    ({"size": [4, 4], "counts": [16]}, (4, 4), "empty"),
    ({"size": [4, 4], "counts": [0, 16]}, (5, 4), "does not match the 4x5 image"),
    ({"size": [4, 4], "counts": [3, -1, 14]}, (4, 4), "negative"),
    ({"size": [4, 4], "counts": "\x7f\x7f"}, (4, 4), "bad character"),
    ({"size": [4, 4], "counts": 12}, (4, 4), "counts must be a string or a list"),
    ({"size": [4], "counts": [16]}, (4, 4), "needs {'size': \\[h, w\\]"),
    ({"size": [30000, 30000], "counts": [900000000]}, None, "over the 200 MP limit"),
])
def test_rle_problem_names_the_fault(rle, size, words):
    w, h = size if size else (None, None)
    problem = masks.rle_problem(rle, w, h)
    assert problem is not None
    import re
    assert re.search(words, problem), problem
    assert masks.rle_problem({"size": [4, 4], "counts": [16]}, 4, 4, allow_empty=True) is None


@pytest.mark.parametrize("rings, words", [
    ([[[0, 0], [1, 1]]], "has 2 points; a polygon needs at least 3"),
    ([[[0, 0], [1, float("nan")], [2, 2]]], "point 1 is not two finite numbers"),
    ([[[0, 0], [1, 1], [50, 2]]], r"point 2 \(50, 2\) lies outside the 10x10 image"),
    ([], "non-empty list"),
])
def test_polygon_problem_names_the_fault(rings, words):
    import re
    problem = masks.polygon_problem(rings, 10, 10)
    assert problem and re.search(words, problem), problem
    assert masks.polygon_problem([[[0, 0], [10, 0], [10, 10]]], 10, 10) is None


def test_long_outlines_trace_and_simplify_quickly():
    import time

    comb = np.zeros((40, 1200), bool)
    comb[:10, :] = True
    comb[10:38, ::2] = True                      # 600 teeth: an outline of ~35,000 pixel edges
    t0 = time.perf_counter()
    exact = masks.mask_to_polygons(comb)
    simple = masks.mask_to_polygons(comb, tolerance=0.5)
    assert time.perf_counter() - t0 < 5
    assert len(exact) == 1 and (masks.polygon_to_mask(exact, 40, 1200) == comb).all()
    assert masks.iou(masks.polygon_to_mask(simple, 40, 1200), comb) > 0.95


def test_label_map_paints_in_order_and_ignore_last():
    a = np.zeros((6, 8), bool)
    a[1:5, 1:5] = True
    ignore = np.zeros((6, 8), bool)
    ignore[0, :] = True
    lm = masks.label_map([(1, "binary", masks.encode(a)), (2, "segment", [[[3, 0], [8, 0], [8, 6], [3, 6]]])],
                         6, 8, fill=0, ignore=masks.encode(ignore))
    assert lm.dtype == np.uint8 and (lm[0] == 255).all()
    assert lm[2, 1] == 1 and lm[2, 3] == 2 and lm[5, 0] == 0
    with pytest.raises(ValueError, match="does not match the 5x8 image"):
        masks.label_map([(1, "binary", masks.encode(a))], 5, 8)
    with pytest.raises(ValueError, match="not 'box'"):
        masks.label_map([(1, "box", [0, 0, 1, 1])], 6, 8)
