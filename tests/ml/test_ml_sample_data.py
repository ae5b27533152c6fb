from __future__ import annotations

from collections import Counter

import pytest

from desktop_app.errors import ValidationError
from desktop_app.ml.sample_data import SHAPES, generate_shapes


def _summary(bundle):
    return [(it.name, it.subset, [(a.type, a.label, a.coordinates) for a in it.annotations]) for it in bundle.items]


def test_same_seed_same_images_and_annotations(tmp_path):
    a = generate_shapes(tmp_path / "a", n=24, seed=3)
    b = generate_shapes(tmp_path / "b", n=24, seed=3)
    c = generate_shapes(tmp_path / "c", n=24, seed=4)
    assert _summary(a) == _summary(b)
    assert all(x.source.read_bytes() == y.source.read_bytes() for x, y in zip(a.items, b.items))
    assert _summary(a) != _summary(c)


def test_prefix_is_stable_whatever_n(tmp_path):
    small = generate_shapes(tmp_path / "s", n=8, seed=1)
    large = generate_shapes(tmp_path / "l", n=16, seed=1)
    assert [x.source.read_bytes() for x in small.items] == [x.source.read_bytes() for x in large.items[:8]]


def test_classification_items(tmp_path):
    bundle = generate_shapes(tmp_path, n=40, size=48)
    assert bundle.labels == list(SHAPES)
    counts = Counter(it.subset for it in bundle.items)
    assert counts["train"] == 28 and counts["validation"] + counts["test"] == 12
    for it in bundle.items:
        assert it.source.exists() and (it.width, it.height) == (48, 48)
        types = [a.type for a in it.annotations]
        assert types == ["class", "box", "segment"]
        assert len({a.label for a in it.annotations}) == 1
        left, top, right, bottom = it.annotations[1].coordinates
        assert 0 <= left < right <= 48 and 0 <= top < bottom <= 48
        ring = it.annotations[2].coordinates[0]
        assert len(ring) >= 3 and all(len(p) == 2 for p in ring)


def test_detection_items(tmp_path):
    bundle = generate_shapes(tmp_path, kind="detection", n=30)
    per_image = [sum(a.type == "box" for a in it.annotations) for it in bundle.items]
    assert min(per_image) >= 1 and max(per_image) <= 4 and len(set(per_image)) > 1
    assert all(it.width == 128 for it in bundle.items)
    assert {it.subset for it in bundle.items} == {"train", "validation", "test"}
    for it in bundle.items:
        assert [a.type for a in it.annotations] == ["box", "segment"] * (len(it.annotations) // 2)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="kind"):
        generate_shapes(tmp_path, kind="segmentation")
    with pytest.raises(ValidationError, match="n:"):
        generate_shapes(tmp_path, n=0)
