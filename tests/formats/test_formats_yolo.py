"""YOLO specifics: the data.yaml subset parser, layouts, and malformed label files."""

from __future__ import annotations

import pytest

from desktop_app.errors import FormatError
from desktop_app.formats import read_yolo
from desktop_app.formats.yolo import parse_yaml


def test_yaml_names_forms():
    assert parse_yaml("names: [cat, 'hot dog', \"a: b\"]\nnc: 3\n") == {"names": ["cat", "hot dog", "a: b"], "nc": 3}
    assert parse_yaml("# comment\nnames:\n  0: cat  # trailing\n  1: 'dog'\n")["names"] == {0: "cat", 1: "dog"}
    assert parse_yaml("names:\n  - cat\n  - dog # x\n")["names"] == ["cat", "dog"]
    assert parse_yaml("names: ['person', 'bicycle',\n  'hair drier']\n")["names"] == ["person", "bicycle", "hair drier"]
    assert parse_yaml("names: {0: cat, 1: dog}\npath: ../data\n") == {"names": {0: "cat", 1: "dog"}, "path": "../data"}
    assert parse_yaml("names: ['it''s', \"#1\"]")["names"] == ["it's", "#1"]


def test_yaml_errors_name_the_line():
    with pytest.raises(FormatError) as e:
        parse_yaml("nc: 2\nnames: [a, b\n", file="data.yaml")
    assert e.value.entry == "line 2"
    with pytest.raises(FormatError) as e:
        parse_yaml("nc: 2\n  stray: indent\n", file="data.yaml")
    assert e.value.entry == "line 2"


@pytest.fixture
def yolo(tmp_path, make_image):
    root = tmp_path / "yolo"
    make_image(root / "images" / "train" / "a.jpg", 100, 50)
    make_image(root / "images" / "val" / "b.png", 100, 50)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 2\nnames: ['cat', 'dog']\n")
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.5 0.1 0.5 0.5\n")
    return root


def test_reads_boxes_polygons_and_subsets(yolo):
    b = read_yolo(yolo)
    assert b.labels == ["cat", "dog"]
    a, bb = sorted(b.items, key=lambda it: it.name)
    assert (a.name, a.subset, bb.name, bb.subset) == ("a.jpg", "train", "b.png", "validation")
    assert a.annotations[0].coordinates == pytest.approx([40, 15, 60, 35])
    assert a.annotations[1].type == "segment"
    assert [v for p in a.annotations[1].coordinates[0] for v in p] == pytest.approx([10, 5, 50, 5, 50, 25])
    assert bb.annotations == []  # no label file: background image


def test_roboflow_layout_and_names_txt(tmp_path, make_image):
    root = tmp_path / "rf"
    make_image(root / "train" / "images" / "a.jpg", 40, 40)
    make_image(root / "valid" / "images" / "a.jpg", 40, 40)
    (root / "train" / "labels").mkdir(parents=True)
    (root / "train" / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5 0.9\n")
    (root / "classes.txt").write_text("cat\ndog\n")
    b = read_yolo(root)
    # the same file name in two splits keeps the split folder in the item name
    assert sorted((it.name, it.subset) for it in b.items) == [("train/a.jpg", "train"), ("valid/a.jpg", "validation")]
    ann = next(it for it in b.items if it.subset == "train").annotations[0]
    assert (ann.label, ann.score) == ("dog", 0.9)


@pytest.mark.parametrize("content, entry, words", [
    ("0 0.5 0.5 0.2 0.2\n\n2 0.5 0.5 0.1 0.1\n", "line 3", "class index 2 out of range"),
    ("0 0.5 0.5 0.2 0.2\n-1 0.5 0.5 0.1 0.1\n", "line 2", "out of range"),
    ("0 0.5 abc 0.2 0.2\n", "line 1", "non-numeric"),
    ("0 0.5 0.5 -0.2 0.2\n", "line 1", "negative or zero size"),
    ("0 0.9 0.5 0.5 0.2\n", "line 1", "outside the 100x50 image"),
    ("0 0.5 0.5 0.2\n", "line 1", "expected 'class cx cy w h'"),
    ("0.5 0.5 0.5 0.2 0.2\n", "line 1", "out of range"),
    ("0 0.1 0.1 0.5 0.1 1.5 0.5\n", "line 1", "polygon lies outside"),
    ("0 nan 0.5 0.2 0.2\n", "line 1", "non-finite"),
])
def test_bad_label_lines(yolo, content, entry, words):
    lab = yolo / "labels" / "train" / "a.txt"
    lab.write_text(content)
    with pytest.raises(FormatError) as e:
        read_yolo(yolo)
    assert e.value.file == str(lab) and e.value.entry == entry and words in str(e.value)


def test_label_file_without_image(yolo):
    (yolo / "labels" / "val" / "zzz.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(FormatError, match="image file missing") as e:
        read_yolo(yolo)
    assert e.value.file.endswith("zzz.txt")


def test_duplicate_stems(yolo, make_image):
    make_image(yolo / "images" / "train" / "a.png", 100, 50)
    with pytest.raises(FormatError, match="duplicate file name"):
        read_yolo(yolo)


def test_unreadable_image(yolo):
    (yolo / "images" / "val" / "b.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(FormatError, match="not a readable image") as e:
        read_yolo(yolo)
    assert e.value.file.endswith("b.png")


@pytest.mark.parametrize("yaml, words", [
    ("nc: 3\nnames: [cat, dog]\n", "nc is 3 but 2 names"),
    ("nc: 2\n", "'names' missing"),
    ("names: [cat, cat]\n", "duplicate class names"),
    ("names:\n  a: cat\n", "class indices"),
])
def test_bad_data_yaml(yolo, yaml, words):
    (yolo / "data.yaml").write_text(yaml)
    with pytest.raises(FormatError, match=words) as e:
        read_yolo(yolo)
    assert e.value.file.endswith("data.yaml")


def test_no_names_at_all(yolo):
    (yolo / "data.yaml").unlink()
    with pytest.raises(FormatError, match="no class names"):
        read_yolo(yolo)
    assert read_yolo(yolo, names=["cat", "dog"]).labels == ["cat", "dog"]
