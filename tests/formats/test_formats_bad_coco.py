"""Malformed COCO input: every problem is a FormatError naming the file and the entry."""

from __future__ import annotations

import json

import pytest

from desktop_app.errors import FormatError
from desktop_app.formats import read_coco


@pytest.fixture
def coco(tmp_path, make_image):
    root = tmp_path / "coco"
    for n in ("a.png", "b.png"):
        make_image(root / "images" / n, 64, 48)
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48},
                   {"id": 2, "file_name": "b.png", "width": 64, "height": 48}],
        "annotations": [{"id": 16, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "iscrowd": 0},
                        {"id": 17, "image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 20], "iscrowd": 0}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }

    def write(mutate=None):
        d = json.loads(json.dumps(doc))
        if mutate:
            mutate(d)
        (root / "annotations.json").write_text(json.dumps(d))
        return root
    return write


def _err(path, **kw) -> FormatError:
    with pytest.raises(FormatError) as e:
        read_coco(path, **kw)
    return e.value


def test_valid_base_reads(coco):
    b = read_coco(coco())
    assert [len(it.annotations) for it in b.items] == [1, 1]


def test_invalid_json_names_line(coco):
    root = coco()
    (root / "annotations.json").write_text('{"images": [\n{"id": 1,,}]}')
    e = _err(root)
    assert e.file.endswith("annotations.json") and e.entry == "line 2"


@pytest.mark.parametrize("mutate, entry, words", [
    (lambda d: d.pop("images"), None, "'images' must be a list"),
    (lambda d: d.update(annotations={"a": 1}), None, "'annotations' must be a list"),
    (lambda d: d["annotations"][1].update(category_id=99), "annotation id 17", "unknown category id 99"),
    (lambda d: d["annotations"][1].update(image_id=42), "annotation id 17", "unknown image id 42"),
    (lambda d: d["annotations"][1].pop("image_id"), "annotation id 17", "image_id"),
    (lambda d: d["annotations"][1].update(bbox="5,5,20,20"), "annotation id 17", "bbox must be"),
    (lambda d: d["annotations"][1].update(bbox=[5, 5, -3, 20]), "annotation id 17", "negative or zero size"),
    (lambda d: d["annotations"][1].update(bbox=[50, 5, 40, 20]), "annotation id 17", "outside the 64x48 image"),
    (lambda d: d["annotations"][1].update(segmentation=[[1, 2, 3, 4, 5]]), "annotation id 17", "polygon"),
    (lambda d: d["annotations"][1].update(segmentation={"size": [48, 64], "counts": [5, 10]}),
     "annotation id 17", "RLE counts cover 15 pixels"),
    (lambda d: d["annotations"][1].update(segmentation={"size": [10, 10], "counts": [100]}),
     "annotation id 17", "does not match"),
    (lambda d: d["annotations"][1].update(score="high"), "annotation id 17", "score"),
    (lambda d: d["annotations"][1].update(id=16), "annotation id 16", "duplicate annotation id"),
    (lambda d: d["images"][1].update(file_name="a.png"), "image id 2", "duplicate file name"),
    (lambda d: d["images"][1].update(file_name="../x.png"), "image id 2", "inside the dataset"),
    (lambda d: d["images"][1].update(width="64"), "image id 2", "width/height"),
    (lambda d: d["images"][1].update(width=100), "image id 2", "declared size 100x48"),
    (lambda d: d["images"].append({"id": 1, "file_name": "c.png"}), "image id 1", "duplicate image id"),
    (lambda d: d["categories"].append({"id": 3, "name": "cat"}), "category id 3", "duplicate category name"),
    (lambda d: d["categories"].append({"id": "x", "name": "eel"}), "category #2", "integer 'id'"),
])
def test_bad_coco(coco, mutate, entry, words):
    e = _err(coco(mutate))
    assert e.file.endswith(".json") or e.file.endswith(".png")
    assert e.entry == entry
    assert words in str(e)


def test_box_within_tolerance_is_accepted(coco):
    b = read_coco(coco(lambda d: d["annotations"][1].update(bbox=[-1.5, 5, 65, 20])))
    assert b.items[1].annotations[0].coordinates[0] == -1.5


def test_missing_image_file_named(coco):
    root = coco()
    (root / "images" / "b.png").unlink()
    e = _err(root)
    assert e.file.endswith("b.png") and e.entry == "image id 2" and "missing" in str(e)
    # without image checks the same file reads (sizes come from the JSON)
    assert len(read_coco(root, check_images=False).items) == 2


def test_unreadable_image_named(coco):
    root = coco()
    (root / "images" / "b.png").write_bytes(b"not an image at all")
    e = _err(root)
    assert e.file.endswith("b.png") and "not a readable image" in str(e)


def test_image_level_class_extension_and_images_dir(coco, tmp_path):
    root = coco(lambda d: d["annotations"].append({"id": 18, "image_id": 1, "category_id": 2}))
    moved = tmp_path / "elsewhere"
    (root / "images").rename(moved)
    b = read_coco(root / "annotations.json", images_dir=moved)
    assert [(a.type, a.label) for a in b.items[0].annotations] == [("box", "cat"), ("class", "dog")]
    assert b.items[0].source == moved / "a.png"
