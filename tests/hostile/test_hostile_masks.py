"""Bad masks and polygons through every importer that reads them (COCO, Dataloop, YOLO segmentation, class-index
PNGs) and the SDK: each is refused with a FormatError / ValidationError naming the file, the annotation and what is
wrong (wrong size, empty, non-binary, over the pixel limit, RLE counts not summing to h*w, polygons with under 3
points, NaN or outside the image, unknown class indices), and nothing is written; the good set then imports."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop_app.domain import masks
from desktop_app.errors import FormatError, ValidationError

W, H = 32, 24


def _png(path: Path, arr_or_size, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(arr_or_size, tuple):
        Image.new(mode, arr_or_size, 0).save(path)
    else:
        Image.fromarray(arr_or_size).save(path)
    return path


def _good_mask() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[4:12, 5:20] = True
    return m


# -- COCO ------------------------------------------------------------------------------------------------

def _coco(root: Path, segmentation=None, **ann) -> Path:
    _png(root / "images" / "a.png", (W, H))
    a = {"id": 5, "image_id": 1, "category_id": 1, "bbox": [5, 4, 15, 8], "area": 120, "iscrowd": 0,
         "segmentation": masks.encode(_good_mask()) if segmentation is None else segmentation, **ann}
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
           "categories": [{"id": 1, "name": "cat"}], "annotations": [a]}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


def _counts(runs):
    return {"size": [H, W], "counts": runs}


# -- Dataloop --------------------------------------------------------------------------------------------

def _dataloop(root: Path, alpha: np.ndarray | None = None) -> Path:
    _png(root / "items" / "a.png", (W, H))
    a = np.zeros((H, W), np.uint8) if alpha is None else alpha
    if alpha is None:
        a[_good_mask()] = 255
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 3] = a
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    doc = {"filename": "/a.png", "metadata": {"system": {"width": W, "height": H}},
           "annotations": [{"id": "m1", "type": "binary", "label": "cat",
                            "coordinates": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}]}
    (root / "json").mkdir(parents=True, exist_ok=True)
    (root / "json" / "a.png.json").write_text(json.dumps(doc))
    return root


# -- YOLO segmentation ------------------------------------------------------------------------------------

def _yolo_seg(root: Path, line: str = "0 0.1 0.1 0.5 0.1 0.5 0.6 0.1 0.6\n") -> Path:
    _png(root / "images" / "train" / "a.png", (W, H))
    (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "train" / "a.txt").write_text(line)
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [cat]\n")
    return root


# -- class-index PNGs -------------------------------------------------------------------------------------

def _semantic(root: Path, arr: np.ndarray | None = None, mode: str | None = None) -> Path:
    _png(root / "images" / "a.png", (W, H))
    if arr is None:
        arr = np.zeros((H, W), np.uint8)
        arr[_good_mask()] = 1
    p = root / "masks" / "a.png"
    p.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(arr)
    (im.convert(mode) if mode else im).save(p)
    (root / "classes.txt").write_text("background\ncat\n")
    return root


def _huge_mask(root: Path) -> Path:
    return _coco(root, segmentation={"size": [20_000, 20_000], "counts": [400_000_000]})


GOOD = {"coco": lambda r: _coco(r), "dataloop": lambda r: _dataloop(r), "yolo-seg": lambda r: _yolo_seg(r),
        "semantic": lambda r: _semantic(r)}

CASES = [
    ("coco RLE counts not summing to h*w", "coco", lambda r: _coco(r, _counts([10, 20, 30])),
     ("annotations.json", "annotation id 5"), f"RLE counts cover 60 pixels, expected {H * W}"),
    ("coco empty mask", "coco", lambda r: _coco(r, _counts([H * W])), ("annotations.json", "annotation id 5"),
     "mask is empty"),
    ("coco empty compressed mask", "coco", lambda r: _coco(r, masks.encode(np.zeros((H, W), bool))),
     ("annotations.json", "annotation id 5"), "mask is empty"),
    ("coco crowd mask of another size", "coco",
     lambda r: _coco(r, masks.encode(np.ones((10, 10), bool), compressed=False), iscrowd=1),
     ("annotations.json", "annotation id 5"), f"mask size 10x10 (h x w) does not match the {H}x{W} image"),
    ("coco mask over the pixel limit", "coco", _huge_mask, ("annotations.json", "annotation id 5"),
     "over the 200 MP limit"),
    ("coco bad counts string", "coco", lambda r: _coco(r, _counts("~~~\x01")), ("annotations.json", "annotation id 5"),
     "bad RLE counts"),
    ("coco polygon of 2 points", "coco", lambda r: _coco(r, [[1, 1, 5, 5]]), ("annotations.json", "annotation id 5"),
     "polygon must be an even list of at least 6 numbers"),
    ("coco polygon with NaN", "coco", lambda r: _coco(r, [[1, 1, float("nan"), 5, 9, 9]]),
     ("annotations.json", "annotation id 5"), "polygon must be an even list of at least 6 numbers"),
    ("coco polygon outside the image", "coco", lambda r: _coco(r, [[1, 1, 300, 5, 9, 9]]),
     ("annotations.json", "annotation id 5"), f"polygon lies outside the {W}x{H} image"),
    ("dataloop empty mask", "dataloop", lambda r: _dataloop(r, np.zeros((H, W), np.uint8)),
     ("a.png.json", "annotation m1"), "mask is empty"),
    ("yolo-seg NaN point", "yolo-seg", lambda r: _yolo_seg(r, "0 0.1 0.1 nan 0.1 0.5 0.6\n"), ("a.txt", "line 1"),
     "non-finite"),
    ("yolo-seg point outside the image", "yolo-seg", lambda r: _yolo_seg(r, "0 0.1 0.1 3.5 0.1 0.5 0.6\n"),
     ("a.txt", "line 1"), f"polygon lies outside the {W}x{H} image"),
    ("semantic unknown class index", "semantic",
     lambda r: _semantic(r, np.where(_good_mask(), 7, 0).astype(np.uint8)), ("a.png", "image a.png"),
     "unknown class index 7 at pixel (x=5, y=4) (120 pixels); the class list has 2 classes"),
    ("semantic PNG of another size", "semantic", lambda r: _semantic(r, np.zeros((10, 10), np.uint8)),
     ("a.png", "image a.png"), f"label PNG is 10x10 but its image is {W}x{H}"),
    ("semantic colour PNG", "semantic", lambda r: _semantic(r, np.zeros((H, W), np.uint8), mode="RGB"),
     ("a.png", "image a.png"), "must have one channel (mode L or P), got RGB"),
]


@pytest.mark.parametrize("fmt, build, where, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_mask_is_refused_and_nothing_is_written(snapshot, lab, fmt, build, where, words):
    client, project, sets = lab
    ds = project.datasets.create(dataset_name="target")
    before = snapshot(client)
    with pytest.raises(FormatError) as e:
        ds.import_from(build(sets / "bad"), fmt)
    file_end, entry = where
    assert e.value.file and e.value.file.endswith(file_end), (e.value.file, str(e.value))
    assert e.value.entry and entry in e.value.entry, (e.value.entry, str(e.value))
    assert words in str(e.value) and file_end in str(e.value), str(e.value)
    assert snapshot(client) == before
    assert len(ds.import_from(GOOD[fmt](sets / "good"), fmt)) == 1
    assert client.catalog.count_items(ds.id) == 1


def test_semantic_image_without_its_png_is_refused(snapshot, lab):
    client, project, sets = lab
    ds = project.datasets.create(dataset_name="target")
    root = _semantic(sets / "bad")
    _png(root / "images" / "b.png", (W, H))
    before = snapshot(client)
    with pytest.raises(FormatError, match="no label PNG under masks/ for this image") as e:
        ds.import_from(root, "semantic")
    assert e.value.file.endswith("b.png") and snapshot(client) == before


@pytest.mark.parametrize("geo, words", [
    (np.where(_good_mask(), 2, 0), "not binary: it holds 2"),
    (np.zeros((H, W)), "is empty"),
    (np.ones((H + 1, W)), f"is {H + 1}x{W} (h x w) but a.png is {H}x{W}"),
])
def test_sdk_refuses_a_bad_segmentation_and_writes_nothing(snapshot, lab, geo, words):
    import desktop_app.sdk as dl

    client, project, sets = lab
    ds = project.datasets.create(dataset_name="target")
    item = ds.items.upload(local_path=str(_png(sets / "a.png", (W, H))))
    before = snapshot(client)
    with pytest.raises(ValidationError) as e:
        b = item.annotations.builder()
        b.add(annotation_definition=dl.Segmentation(geo=geo, label="cat"))
        item.annotations.upload(b)
    assert words in str(e.value) and "'cat'" in str(e.value)
    assert snapshot(client) == before
