"""Near-duplicates and leakage on generated images with injected augmented copies (crop, flip, jitter, JPEG).

The vectors: no pretrained weights are on this machine (no torch hub cache, none shipped in resources/) and a
randomly initialised CNN is neither flip-invariant nor discriminative on these images (measured: its pooled features
put distinct images closer than cropped copies), so the embedding here is a fixed image descriptor, computed
offline: a soft colour-layout histogram. Each image at 48 x 48 in an opponent colour space (luminance standardised
per image, both chroma axes divided by their joint spread, which cancels brightness, contrast and saturation
changes), 8 x 6 x 6 Gaussian-weighted bins, one histogram per horizontal band (3 bands: a horizontal flip leaves it
unchanged, a 10 % crop moves little mass between bands), square-rooted (Hellinger) for the cosine. It stands where
the model's pooled features would: the code under test only sees float32 vectors and item ids.

Measured on 400 distinct images (seed 0): copies at cosine distance 0 (flip) to 0.079 (95 % under 0.041), the
closest two distinct images at 0.072; the default threshold (0.05) sits between.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from desktop_app.evaluation.similarity import (DEFAULT_DUPLICATE_THRESHOLD, leakage, near_duplicate_groups,
                                               near_duplicate_pairs)
from colour_layout import SIZE, describe, make_image

KINDS = ("crop", "flip", "jitter", "jpeg")


def augment(im: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    if kind == "crop":                         # 85-93 % of the side, anywhere, resized back
        w = int(SIZE * rng.uniform(0.85, 0.93))
        x0, y0 = (int(v) for v in rng.integers(0, SIZE - w + 1, 2))
        return im.crop((x0, y0, x0 + w, y0 + w)).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    if kind == "flip":
        return ImageOps.mirror(im)
    if kind == "jitter":                       # brightness, contrast +-25 %, saturation +-30 %
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.75, 1.25))
        im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.75, 1.25))
        return ImageEnhance.Color(im).enhance(rng.uniform(0.7, 1.3))
    buf = io.BytesIO()                         # JPEG recompression at quality 20-50
    im.save(buf, "JPEG", quality=int(rng.integers(20, 50)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


@pytest.fixture(scope="module")
def injected():
    """400 distinct images and 120 copies (30 of each kind) of random originals, some with two copies; item ids
    are shuffled so a copy is never next to its original. Returns (vectors, ids, true groups by id, copies as
    (original id, copy id, kind))."""
    rng = np.random.default_rng(0)
    images = [make_image(rng) for _ in range(400)]
    groups: dict[int, set[int]] = {}
    copies = []
    for n in range(120):
        src = int(rng.integers(0, 400))
        images.append(augment(images[src], KINDS[n % 4], rng))
        groups.setdefault(src, {src}).add(len(images) - 1)
        copies.append((src, len(images) - 1, KINDS[n % 4]))
    ids = rng.permutation(len(images)) + 1000
    vectors = np.stack([describe(im) for im in images])
    truth = [{int(ids[m]) for m in g} for g in groups.values()]
    return vectors, ids, truth, [(int(ids[a]), int(ids[b]), kind) for a, b, kind in copies]


def _pairs(groups) -> set[tuple[int, int]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(sorted(g), 2)}


def test_injected_copies_are_found_with_precision_and_recall_at_least_095(injected):
    vectors, ids, truth, _ = injected
    found = near_duplicate_groups(vectors, ids, DEFAULT_DUPLICATE_THRESHOLD)
    got, want = _pairs(g.items for g in found), _pairs(truth)
    tp = len(got & want)
    precision, recall = tp / max(1, len(got)), tp / len(want)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, len(got), len(want))
    # each group lists its ids ascending, the pairs that joined it, and the largest of their distances
    for g in found:
        assert g.items == sorted(g.items) and len(g.items) >= 2
        assert g.max_distance == max(d for _, _, d in g.pairs) <= DEFAULT_DUPLICATE_THRESHOLD
        assert {a for a, b, _ in g.pairs} | {b for a, b, _ in g.pairs} == set(g.items)


def test_every_kind_of_copy_is_closer_than_any_two_distinct_images(injected):
    """The separation the threshold relies on: no two distinct images under it, and at least 90 % of each kind of
    copy (crop, flip, jitter, JPEG) within it of its original."""
    vectors, ids, truth, copies = injected
    i, j, d = near_duplicate_pairs(vectors, 0.5)
    dist = {(int(ids[a]), int(ids[b])): float(x) for a, b, x in zip(i, j, d)}
    dist |= {(b, a): x for (a, b), x in dist.items()}
    want = _pairs(truth)
    false_close = min(x for p, x in dist.items() if p[0] < p[1] and p not in want)
    assert false_close > DEFAULT_DUPLICATE_THRESHOLD
    for kind in KINDS:
        got = [dist.get((a, b), 1.0) for a, b, k in copies if k == kind]
        within = sum(x <= DEFAULT_DUPLICATE_THRESHOLD for x in got) / len(got)
        assert within >= 0.9, (kind, within, sorted(got)[-5:], false_close)


def test_threshold_zero_finds_only_exact_copies_and_groups_chain(injected):
    vectors = np.array([[1, 0], [1, 0], [0.99, 0.141], [0.97, 0.243], [0, 1]], np.float32)
    # 0-1 identical, 0-2 0.0099 apart, 2-3 0.0054, 0-3 0.03: single linkage joins 0-3 at 0.015 through 2
    assert [g.items for g in near_duplicate_groups(vectors, threshold=0.0)] == [[0, 1]]
    groups = near_duplicate_groups(vectors, [10, 11, 12, 13, 14], threshold=0.015)
    assert [g.items for g in groups] == [[10, 11, 12, 13]]
    assert 0.0098 < groups[0].max_distance < 0.0100
    assert (10, 13) not in {(a, b) for a, b, _ in groups[0].pairs}
    assert near_duplicate_groups(np.zeros((0, 4), np.float32)) == []


def test_small_blocks_find_the_same_pairs(injected):
    vectors, ids, _, _ = injected
    a = near_duplicate_pairs(vectors, 0.08)
    b = near_duplicate_pairs(vectors, 0.08, block_bytes=4096)   # two rows a block
    assert all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2]))
    np.testing.assert_allclose(a[2], b[2], atol=1e-5)


def test_leakage_lists_held_out_items_with_a_twin_in_train(injected):
    vectors, ids, truth, _ = injected
    rng = np.random.default_rng(1)
    subsets = list(rng.choice(["train", "validation", "test", None], size=len(ids), p=[0.7, 0.1, 0.1, 0.1]))
    subset_of = dict(zip(ids.tolist(), subsets))
    report = leakage(vectors, ids, subsets)
    # expected: held-out members of a true group that has a train member (recall >= 0.95 as above)
    want = {m for g in truth for m in g if subset_of[m] in ("validation", "test")
            and any(subset_of[o] == "train" for o in g if o != m)}
    got = {leak.item for leak in report}
    assert len(got & want) >= 0.95 * len(want) and len(got - want) <= 0.05 * max(1, len(got))
    assert want, "the draw should leak something"
    for leak in report:
        assert subset_of[leak.item] == leak.subset in ("validation", "test")
        assert subset_of[leak.twin] == "train" and 0 <= leak.distance <= DEFAULT_DUPLICATE_THRESHOLD
    assert [x.distance for x in report] == sorted(x.distance for x in report)
    # nothing in train, or nothing held out: no leak
    assert leakage(vectors, ids, ["train"] * len(ids)) == []
    assert leakage(vectors[:3], ids[:3], ["test", "validation", None]) == []
