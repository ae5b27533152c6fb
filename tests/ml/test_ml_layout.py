from __future__ import annotations

import json
import os

import pytest

from desktop_app.errors import ValidationError
from desktop_app.formats.base import Annotation, ImageEntry
from desktop_app.ml.layout import list_subsets, read_labels, read_layout, write_layout


def _entries(tmp_path):
    (tmp_path / "src").mkdir()
    out = []
    for i, name in enumerate(["a.png", "deep/b.png"]):
        src = tmp_path / "src" / f"{i}.png"
        src.write_bytes(b"fake image bytes %d" % i)
        out.append(ImageEntry(source=src, name=name, width=10, height=8, annotations=[
            Annotation("class", "cat"),
            Annotation("box", "dog", [1.0, 2.0, 5.5, 7.0], attributes={"occluded": True}),
            Annotation("segment", "dog", [[[1, 2], [5, 2], [5, 7]]], iscrowd=True),
        ]))
    return out


def test_round_trip(tmp_path):
    entries = _entries(tmp_path)
    root = write_layout(tmp_path / "data", {"train": entries, "validation": entries[:1]}, ["cat", "dog"])
    assert read_labels(root) == ["cat", "dog"]
    assert list_subsets(root) == ["train", "validation"]
    back = read_layout(root, "train")
    assert [e.name for e in back] == ["a.png", "deep/b.png"]
    for orig, got in zip(entries, back):
        assert got.subset == "train" and (got.width, got.height) == (10, 8)
        assert got.source == root / "train" / "items" / orig.name
        assert got.source.read_bytes() == orig.source.read_bytes()
        assert [(a.type, a.label, a.coordinates, a.attributes, a.iscrowd) for a in got.annotations] == \
               [(a.type, a.label, a.coordinates, a.attributes, a.iscrowd) for a in orig.annotations]
    item_json = json.loads((root / "train" / "json" / "deep" / "b.png.json").read_text())
    # the per-item file is Dataloop's item JSON: a Dataloop adapter reads it unchanged
    assert item_json["filename"] == "/deep/b.png" and item_json["name"] == "b.png"
    assert item_json["metadata"]["system"] == {"width": 10, "height": 8, "tags": {"train": True}}
    assert item_json["annotations"][1]["coordinates"] == [{"x": 1.0, "y": 2.0, "z": 0}, {"x": 5.5, "y": 7.0, "z": 0}]
    # without the one-file fast path, the per-item files give the same
    (root / "train" / "annotations.json").unlink()
    slow = read_layout(root, "train")
    assert [(e.name, len(e.annotations)) for e in slow] == [(e.name, len(e.annotations)) for e in back]
    assert [[(a.type, a.label, a.coordinates) for a in e.annotations] for e in slow] == \
           [[(a.type, a.label, a.coordinates) for a in e.annotations] for e in back]
    assert [(e.width, e.height) for e in slow] == [(10, 8), (10, 8)]
    assert read_layout(root, "test") == []


def test_copies_when_symlinks_fail(tmp_path, monkeypatch):
    def no_links(*a, **k):
        raise OSError("no symlink privilege")

    monkeypatch.setattr(os, "symlink", no_links)
    root = write_layout(tmp_path / "data", {"train": _entries(tmp_path)}, ["cat", "dog"])
    item = root / "train" / "items" / "a.png"
    assert item.exists() and not item.is_symlink()


def test_rejects_escaping_names(tmp_path):
    bad = ImageEntry(source=None, name="../evil.png")
    with pytest.raises(ValidationError, match="item name"):
        write_layout(tmp_path / "d", {"train": [bad]}, [])
