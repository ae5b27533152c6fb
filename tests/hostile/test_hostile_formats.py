"""Hostile dataset files through every importer (COCO, YOLO, VOC, Dataloop), and hostile hyper-parameters.

Each case starts from a small valid set, spoils one thing (a number too big for a float, NaN, a wrong type,
a decompression-bomb header, a truncated or non-UTF-8 file, bad JSON, a wrong label id, a file over its limit,
a bad YOLO line, an XML entity declaration) and asserts: the app's FormatError, a message naming the file and
the entry / field, that nothing was written (catalog rows and store files), and that the good set then imports.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats import limits


def _png_bytes(w: int, h: int, mode: str = "RGB", color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), color if mode != "RGBA" else color + (255,)).save(buf, "PNG")
    return buf.getvalue()


def _png_header(w: int, h: int) -> bytes:
    """A PNG that declares w x h pixels and holds none (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) + chunk(b"IEND", b"")


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# -- the valid sets ---------------------------------------------------------------------------------------

def coco_doc() -> dict:
    return {"images": [{"id": 1, "file_name": "a.png", "width": 32, "height": 24}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 8], "area": 80,
                             "iscrowd": 0}]}


def make_coco(root: Path, doc: dict | None = None, text: bytes | str | None = None) -> Path:
    _write(root / "images" / "a.png", _png_bytes(32, 24))
    _write(root / "annotations.json", text if text is not None else json.dumps(doc or coco_doc()))
    return root


def dataloop_doc(mask: bytes | None = None) -> dict:
    anns = [{"type": "box", "label": "cat", "coordinates": [{"x": 2, "y": 3}, {"x": 12, "y": 11}], "id": "b1"}]
    if mask is not None:
        anns.append({"type": "binary", "label": "cat", "id": "m1",
                     "coordinates": "data:image/png;base64," + base64.b64encode(mask).decode()})
    return {"filename": "/a.png", "metadata": {"system": {"width": 32, "height": 24}}, "annotations": anns}


def make_dataloop(root: Path, doc: dict | None = None) -> Path:
    _write(root / "items" / "a.png", _png_bytes(32, 24))
    _write(root / "json" / "a.png.json", json.dumps(doc or dataloop_doc()))
    return root


def make_yolo(root: Path, labels: bytes | str = "0 0.5 0.5 0.25 0.5\n",
              yaml: bytes | str = "names: [cat, dog]\n") -> Path:
    _write(root / "images" / "train" / "a.png", _png_bytes(32, 24))
    _write(root / "labels" / "train" / "a.txt", labels)
    _write(root / "data.yaml", yaml)
    return root


VOC = """<?xml version="1.0"?>{doctype}
<annotation><filename>a.png</filename><size><width>32</width><height>24</height><depth>3</depth></size>
<object><name>{name}</name><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>{xmax}</xmax><ymax>11</ymax></bndbox></object>
</annotation>
"""


def make_voc(root: Path, xml: str | bytes | None = None) -> Path:
    _write(root / "JPEGImages" / "a.png", _png_bytes(32, 24))
    _write(root / "Annotations" / "a.xml", xml if xml is not None else VOC.format(doctype="", name="cat", xmax=12))
    return root


GOOD = {"coco": make_coco, "dataloop": make_dataloop, "yolo": make_yolo, "voc": make_voc}

# -- the hostile cases: (name, format, builder(root) -> root, (file ends with, entry contains), words) ------------

BILLION_LAUGHS = ('\n<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")


def _coco_with(**changes):
    def build(root: Path) -> Path:
        doc = coco_doc()
        doc["annotations"][0].update(changes)
        return make_coco(root, doc)
    return build


def _deep_json(root: Path) -> Path:
    return make_coco(root, text="[" * 100_000 + "]" * 100_000)


def _truncated_json(root: Path) -> Path:
    return make_coco(root, text=json.dumps(coco_doc())[:-17])


def _latin1_json(root: Path) -> Path:
    return make_coco(root, text=json.dumps(coco_doc()).replace('"cat"', '"chat\\u00e9"').encode("ascii")
                     .replace(b"\\u00e9", b"\xe9"))


def _surrogate_label(root: Path) -> Path:
    doc = coco_doc()
    doc["categories"][0]["name"] = "\ud800"
    return make_coco(root, doc)


def _dataloop_bomb_mask(root: Path) -> Path:
    return make_dataloop(root, dataloop_doc(mask=_png_header(20_000, 10_000)))   # 200 megapixels declared


def _dataloop_mask_other_size(root: Path) -> Path:
    return make_dataloop(root, dataloop_doc(mask=_png_bytes(7, 9, "RGBA")))


def _dataloop_overflow(root: Path) -> Path:
    doc = dataloop_doc()
    doc["annotations"][0]["coordinates"][1]["x"] = 10 ** 400
    return make_dataloop(root, doc)


def _dataloop_metadata_type(root: Path) -> Path:
    doc = dataloop_doc()
    doc["annotations"][0]["metadata"] = {"user": 5}
    return make_dataloop(root, doc)


def _image_bomb_header(root: Path) -> Path:
    make_coco(root)
    _write(root / "images" / "a.png", _png_header(50_000, 50_000))
    return root


def _image_truncated(root: Path) -> Path:
    make_coco(root)
    data = (root / "images" / "a.png").read_bytes()
    _write(root / "images" / "a.png", data[:len(data) - 20])
    return root


CASES = [
    ("coco bbox 10**400", "coco", _coco_with(bbox=[10 ** 400, 3, 10, 8]), ("annotations.json", "annotation id 5"),
     "bbox must be"),
    ("coco area 10**400", "coco", _coco_with(area=10 ** 400), ("annotations.json", "annotation id 5"), "area"),
    ("coco NaN bbox", "coco", _coco_with(bbox=[float("nan"), 3, 10, 8]), ("annotations.json", "annotation id 5"),
     "bbox must be"),
    ("coco strings and bools for numbers", "coco", _coco_with(bbox=["2", True, 10, 8]),
     ("annotations.json", "annotation id 5"), "bbox must be"),
    ("coco negative size", "coco", _coco_with(bbox=[2, 3, -10, 8]), ("annotations.json", "annotation id 5"),
     "negative"),
    ("coco unknown label id", "coco", _coco_with(category_id=42), ("annotations.json", "annotation id 5"),
     "unknown category id 42"),
    ("coco label id of the wrong type", "coco", _coco_with(category_id=[1]), ("annotations.json", "annotation id 5"),
     "unknown category id [1]"),
    ("coco lone surrogate label", "coco", _surrogate_label, ("annotations.json", "category id 1"), "surrogate"),
    ("coco truncated JSON", "coco", _truncated_json, ("annotations.json", "line 1"), "invalid JSON"),
    ("coco non-UTF-8 JSON", "coco", _latin1_json, ("annotations.json", "line 1"), "not UTF-8"),
    ("coco JSON nested 100,000 deep", "coco", _deep_json, ("annotations.json", None), "nested too deeply"),
    ("dataloop 200-megapixel mask header", "dataloop", _dataloop_bomb_mask, ("a.png.json", "annotation m1"),
     "mask"),
    ("dataloop mask of another size", "dataloop", _dataloop_mask_other_size, ("a.png.json", "annotation m1"),
     "does not match"),
    ("dataloop box corner 10**400", "dataloop", _dataloop_overflow, ("a.png.json", "annotation b1"),
     "expected a point"),
    ("dataloop metadata.user of the wrong type", "dataloop", _dataloop_metadata_type,
     ("a.png.json", "annotation b1"), "user must be an object"),
    ("yolo non-numeric value", "yolo", lambda r: make_yolo(r, "0 0.5 abc 0.25 0.5\n"), ("a.txt", "line 1"),
     "non-numeric"),
    ("yolo class id out of range", "yolo", lambda r: make_yolo(r, "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.25 0.5\n"),
     ("a.txt", "line 2"), "class index 7 out of range"),
    ("yolo NaN and inf", "yolo", lambda r: make_yolo(r, "0 nan 0.5 inf 0.5\n"), ("a.txt", "line 1"), "non-finite"),
    ("yolo non-UTF-8 data.yaml", "yolo", lambda r: make_yolo(r, yaml=b"names: [chat\xe9, dog]\n"),
     ("data.yaml", "line 1"), "not UTF-8"),
    ("voc billion laughs", "voc", lambda r: make_voc(r, VOC.format(doctype=BILLION_LAUGHS, name="&lol9;", xmax=12)),
     ("a.xml", "line 2"), "DOCTYPE"),
    ("voc internal entity", "voc",
     lambda r: make_voc(r, VOC.format(doctype='\n<!DOCTYPE a [<!ENTITY c "cat">]>', name="&c;", xmax=12)),
     ("a.xml", "line 2"), "DOCTYPE"),
    ("voc coordinate 1e400", "voc", lambda r: make_voc(r, VOC.format(doctype="", name="cat", xmax="1e400")),
     ("a.xml", "object 1"), "box must be 4 finite numbers"),
    ("voc truncated XML", "voc", lambda r: make_voc(r, VOC.format(doctype="", name="cat", xmax=12)[:-20]),
     ("a.xml", "line"), "invalid XML"),
    ("image declaring 50000 x 50000", "coco", _image_bomb_header, ("a.png", "image id 1"), "megapixels"),
    ("truncated PNG", "coco", _image_truncated, ("a.png", "a.png"), "damaged or truncated"),
]


@pytest.mark.parametrize("fmt, build, where, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_is_refused_and_nothing_is_written(snapshot, lab, fmt, build, where, words):
    client, project, sets = lab
    ds = project.datasets.create(dataset_name="target")
    before = snapshot(client)
    with pytest.raises(FormatError) as e:
        ds.import_from(build(sets / "bad"), fmt)
    file_end, entry = where
    assert e.value.file and e.value.file.endswith(file_end), (e.value.file, str(e.value))
    if entry is not None:
        assert e.value.entry and entry in e.value.entry, (e.value.entry, str(e.value))
    assert words in str(e.value) and file_end in str(e.value)
    assert snapshot(client) == before
    # The next good import works.
    assert len(ds.import_from(GOOD[fmt](sets / "good"), fmt)) == 1
    assert client.catalog.count_items(ds.id) == 1


@pytest.mark.parametrize("fmt, limit, build, file_end", [
    ("coco", "JSON_PARSE_BUDGET", lambda r: make_coco(r), "annotations.json"),
    ("yolo", "MAX_TEXT_FILE_BYTES", lambda r: make_yolo(r, "0 0.5 0.5 0.25 0.5\n" * 100), "a.txt"),
    ("voc", "MAX_XML_BYTES", lambda r: make_voc(r), "a.xml"),
    ("dataloop", "MAX_ITEM_FILE_BYTES", lambda r: make_dataloop(r), "a.png.json"),
])
def test_a_file_over_its_stated_limit_is_refused(snapshot, lab, monkeypatch, fmt, limit, build, file_end):
    client, project, sets = lab
    ds = project.datasets.create(dataset_name="target")
    root = build(sets / "big")
    monkeypatch.setattr(limits, limit, 100)   # these small files stand in for ones over the real limit
    before = snapshot(client)
    with pytest.raises(FormatError, match="limit|budget") as e:
        ds.import_from(root, fmt)
    assert e.value.file.endswith(file_end) and snapshot(client) == before
    monkeypatch.undo()
    assert len(ds.import_from(root, fmt)) == 1


@pytest.mark.parametrize("configuration, words", [
    ({"image_siz": 32}, "image_siz: unknown hyper-parameter of package 'resnet'; did you mean 'image_size'"),
    ({"learning_rate": float("nan")}, "learning_rate: expected a finite number"),
    ({"epochs": 10 ** 400}, "epochs:"),
    ({7: 1}, "hyper-parameter names must be strings"),
])
def test_hostile_hyper_parameters_are_refused(snapshot, lab, configuration, words):
    client, project, _ = lab
    src = client.packages.get("resnet").models.get("pretrained-resnet")
    before = snapshot(client)
    with pytest.raises(ValidationError) as e:
        src.clone(model_name="typo", project_id=project.id, configuration=configuration)
    assert words in str(e.value)
    assert snapshot(client) == before
    ok = src.clone(model_name="fine", project_id=project.id, configuration={"image_size": 32})
    assert ok.configuration["image_size"] == 32
