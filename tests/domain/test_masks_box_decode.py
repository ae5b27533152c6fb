"""domain.masks.decode_box / rle_bbox: a box's pixels and a mask's box read from the runs equal the full decode
cropped (random masks, boxes on the edges, outside, empty, masks empty and full, uncompressed counts)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.domain import masks


def _random_masks(n: int = 60):
    rng = np.random.default_rng(11)
    for k in range(n):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        kind = k % 5
        if kind == 0:
            m = rng.random((h, w)) < 0.3                          # noise: many short runs
        elif kind == 1:
            yy, xx = np.mgrid[0:h, 0:w]
            m = ((yy - rng.uniform(0, h)) / max(1, h / 3)) ** 2 + ((xx - rng.uniform(0, w)) / max(1, w / 3)) ** 2 < 1
        elif kind == 2:
            m = np.zeros((h, w), bool)
            m[int(rng.integers(0, h)):, int(rng.integers(0, w)):] = True   # touches the bottom-right edges
        elif kind == 3:
            m = np.ones((h, w), bool) if k % 2 else np.zeros((h, w), bool)
        else:
            m = np.zeros((h, w), bool)
            m[0, 0] = m[-1, -1] = True                              # the first and the last pixel
        yield m


def _boxes(rng, h: int, w: int):
    yield [0, 0, w, h]
    yield [0, 0, 0, 0]                                       # empty
    yield [w, h, w, h]                                       # empty, at the far corner
    yield [-5, -5, w + 5, h + 5]                             # reaching outside: clipped to the mask
    yield [w - 1, h - 1, w, h]                               # the last pixel
    yield [0.4, 0.6, 1.2, 1.1]                               # fractional: rounded outwards
    for _ in range(6):
        l, r = sorted(int(v) for v in rng.integers(0, w + 1, 2))
        t, b = sorted(int(v) for v in rng.integers(0, h + 1, 2))
        yield [l, t, r, b]


def _expected(m: np.ndarray, box) -> np.ndarray:
    h, w = m.shape
    l, t = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    r, b = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return m[t:max(t, b), l:max(l, r)]


@pytest.mark.parametrize("compressed", [True, False])
def test_decode_box_equals_the_full_decode_cropped(compressed):
    rng = np.random.default_rng(3)
    n = 0
    for m in _random_masks():
        rle = masks.encode(m, compressed=compressed)
        full = masks.decode(rle)
        assert np.array_equal(full, m)
        for box in _boxes(rng, *m.shape):
            got = masks.decode_box(rle, box)
            want = _expected(full, box)
            assert got.dtype == bool and got.shape == want.shape, (m.shape, box, got.shape, want.shape)
            assert np.array_equal(got, want), (m.shape, box)
            n += 1
    assert n > 500


def test_rle_bbox_equals_the_bbox_of_the_decoded_mask():
    for m in _random_masks(120):
        assert masks.rle_bbox(masks.encode(m)) == masks.bbox(m)
    assert masks.rle_bbox(masks.encode(np.zeros((4, 5), bool))) is None
    tall = np.zeros((10, 3), bool)
    tall[8:, 0] = tall[:2, 1] = True                         # one run over two columns: rows 8..9 and 0..1
    assert masks.rle_bbox(masks.encode(tall)) == [0.0, 0.0, 2.0, 10.0]


def test_damaged_counts_are_refused_as_decode_refuses_them():
    with pytest.raises(ValueError, match="cover 5 pixels"):
        masks.decode_box({"size": [2, 3], "counts": [2, 3]}, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="negative"):
        masks.rle_bbox({"size": [2, 3], "counts": [7, -1]})


def test_a_box_of_a_large_mask():
    """A box of a 3000 x 4000 mask, and its last pixel, read right."""
    h, w = 3000, 4000
    m = np.zeros((h, w), bool)
    m[1000:1020, 2000:2030] = True
    m[2999, 3999] = True
    rle = masks.encode(m)
    got = masks.decode_box(rle, [1990, 995, 2040, 1030])
    assert got.shape == (35, 50) and got.sum() == 600 and got[5:25, 10:40].all()
    assert masks.decode_box(rle, [3999, 2999, 4000, 3000]).tolist() == [[True]]
    assert masks.rle_bbox(rle) == [2000.0, 1000.0, 4000.0, 3000.0]


def test_counts_array_reads_a_string_as_counts_of_does():
    rng = np.random.default_rng(5)
    for k in range(200):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        m = rng.random((h, w)) < rng.random()
        rle = masks.encode(m)
        got = masks.counts_array(rle)
        assert got.dtype == np.int64 and got.tolist() == masks.counts_of(rle), k
        assert masks.counts_array(masks.encode(m, compressed=False)).tolist() == masks.counts_of(rle)
    big = np.zeros((3000, 4000), bool)
    big[::7, ::5] = True                                       # large counts and large deltas both ways
    big[1000:2500, 300:3900] = True
    rle = masks.encode(big)
    assert masks.counts_array(rle).tolist() == masks.counts_of(rle)
    assert masks.counts_array({"counts": rle["counts"].encode("ascii")}).tolist() == masks.counts_of(rle)
    for bad in ("a!", "\x7f", "é", "0" + chr(48 + 0x20)):       # a bad character, not ASCII, cut inside a number
        with pytest.raises(ValueError):
            masks.counts_of({"counts": bad})
        with pytest.raises(ValueError):
            masks.counts_array({"counts": bad})
    assert masks.counts_array({"counts": ""}).size == 0
