"""Dataloop JSON specifics: the per-annotation converters the SDK reuses, and malformed item files."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from desktop_app.errors import FormatError
from desktop_app.formats import from_dataloop_annotation, read_dataloop, to_dataloop_annotation
from desktop_app.formats.base import Annotation
from desktop_app.formats.images import rle_decode, rle_encode


def _png_uri(mask: np.ndarray, color=(10, 200, 30)) -> str:
    arr = np.zeros(mask.shape + (4,), dtype=np.uint8)
    arr[mask] = (*color, 255)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_converters_each_type():
    box = from_dataloop_annotation({"type": "box", "label": "cat", "attributes": ["occluded"],
                                    "coordinates": [{"x": 30, "y": 40, "z": 0}, {"x": 10, "y": 5, "z": 0}],
                                    "metadata": {"user": {"model": {"name": "m", "model_id": "id1",
                                                                    "confidence": 0.7}}}})
    assert (box.coordinates, box.attributes) == ([10, 5, 30, 40], {"occluded": True})
    assert (box.score, box.model_name, box.metadata["model_id"]) == (0.7, "m", "id1")
    back = to_dataloop_annotation(box)
    assert back["coordinates"][0] == {"x": 10.0, "y": 5.0, "z": 0} and back["attributes"] == ["occluded"]
    assert back["metadata"]["user"]["model"] == {"name": "m", "model_id": "id1", "confidence": 0.7}

    seg = from_dataloop_annotation({"type": "segment", "label": "a",
                                    "coordinates": [[{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 1}]]})
    assert seg.coordinates == [[[1, 2], [3, 4], [5, 1]]]
    assert from_dataloop_annotation(to_dataloop_annotation(seg)).coordinates == seg.coordinates
    pt = from_dataloop_annotation({"type": "point", "label": "a", "coordinates": {"x": 7, "y": 8, "z": 0}})
    assert pt.coordinates == [7, 8] and to_dataloop_annotation(pt)["coordinates"] == {"x": 7.0, "y": 8.0, "z": 0}
    cls = from_dataloop_annotation({"type": "class", "label": "a", "attributes": {"1": "x"}})
    assert cls.coordinates is None and to_dataloop_annotation(cls)["attributes"] == {"1": "x"}


def test_binary_png_to_rle_and_back():
    mask = np.zeros((12, 9), dtype=bool)
    mask[2:6, 3:8] = True
    a = from_dataloop_annotation({"type": "binary", "label": "m", "coordinates": _png_uri(mask)})
    assert a.coordinates == rle_encode(mask) and a.metadata["color"] == [10, 200, 30]
    uri = to_dataloop_annotation(a)["coordinates"]
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
        arr = np.asarray(im.convert("RGBA"))
    assert (arr[:, :, 3] > 127).tolist() == mask.tolist() and tuple(arr[3, 4, :3]) == (10, 200, 30)
    assert (rle_decode(from_dataloop_annotation({"type": "binary", "label": "m", "coordinates": uri}).coordinates)
            == mask).all()
    assert from_dataloop_annotation({"type": "binary", "label": "m", "coordinates": {"data": uri}}).coordinates \
        == a.coordinates


@pytest.fixture
def dl(tmp_path, make_image):
    root = tmp_path / "dl"
    make_image(root / "items" / "dir" / "a.jpg", 50, 40)

    def write(anns, **doc):
        d = {"filename": "/dir/a.jpg", "metadata": {"system": {"width": 50, "height": 40, "tags": {"train": True}}},
             "annotations": anns, **doc}
        (root / "json" / "dir").mkdir(parents=True, exist_ok=True)
        (root / "json" / "dir" / "a.json").write_text(json.dumps(d))
        return root
    return write


def test_reads_item(dl):
    b = read_dataloop(dl([{"type": "box", "label": "cat",
                           "coordinates": [{"x": 1, "y": 2, "z": 0}, {"x": 11, "y": 12, "z": 0}]}]))
    it = b.items[0]
    assert (it.name, it.subset, b.labels) == ("dir/a.jpg", "train", ["cat"])
    assert it.annotations[0].coordinates == [1, 2, 11, 12]


@pytest.mark.parametrize("ann, words", [
    ({"type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 2}]}, "two corner points"),
    ({"type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 2}, {"x": "3", "y": 4}]}, "expected a point"),
    ({"type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 2}, {"x": 1, "y": 9}]}, "negative or zero size"),
    ({"type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 2}, {"x": 90, "y": 9}]}, "outside"),
    ({"type": "ellipse", "label": "cat", "coordinates": {}}, "unsupported annotation type 'ellipse'"),
    ({"type": "box", "coordinates": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}, "label must be"),
    ({"type": "binary", "label": "m", "coordinates": "data:image/png;base64,@@@"}, "cannot be decoded"),
    ({"type": "binary", "label": "m", "coordinates": _png_uri(np.ones((5, 5), bool))}, "does not match"),
    ({"type": "segment", "label": "m", "coordinates": [[{"x": 1, "y": 2}, {"x": 3, "y": 4}]]}, "at least 3"),
    ({"type": "point", "label": "m", "coordinates": {"x": 1, "y": 2},
      "metadata": {"user": {"model": {"confidence": "high"}}}}, "confidence"),
])
def test_bad_annotations_name_entry(dl, ann, words):
    with pytest.raises(FormatError) as e:
        read_dataloop(dl([{"type": "class", "label": "ok"}, dict(ann, id="ann17")]))
    assert e.value.file.endswith("a.json") and e.value.entry == "annotation ann17" and words in str(e.value)


@pytest.mark.parametrize("doc, words", [
    ({"filename": None}, "file name must be"),
    ({"annotations": {"a": 1}}, "'annotations' must be a list"),
    ({"metadata": {"system": {"width": 50, "height": 41}}}, "declared size 50x41"),
    ({"metadata": {"system": {"tags": {"train": True, "test": True}}}}, "several subsets"),
])
def test_bad_items(dl, doc, words):
    with pytest.raises(FormatError, match=words):
        read_dataloop(dl([], **doc))


def test_invalid_json_and_missing_image(dl):
    root = dl([])
    (root / "json" / "dir" / "a.json").write_text("{\n\n oops")
    with pytest.raises(FormatError, match="invalid JSON") as e:
        read_dataloop(root)
    assert e.value.entry == "line 3"
    dl([])
    (root / "items" / "dir" / "a.jpg").unlink()
    with pytest.raises(FormatError, match="image file missing") as e:
        read_dataloop(root)
    assert e.value.file.endswith("a.jpg")


def test_duplicate_filenames(dl):
    root = dl([])
    (root / "json" / "copy.json").write_text((root / "json" / "dir" / "a.json").read_text())
    with pytest.raises(FormatError, match="duplicate file name 'dir/a.jpg'"):
        read_dataloop(root)


def test_unknown_annotation_type_to_dataloop():
    with pytest.raises(ValueError):
        to_dataloop_annotation(Annotation("cuboid", "x"))
