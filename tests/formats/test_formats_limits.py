"""Point 8's reproductions at the readers (a box coordinate of 10**400, a 200-megapixel mask header) end as
FormatErrors naming the file and entry; the JSON parse-cost estimate behind the stated budget is an upper bound."""

from __future__ import annotations

import base64
import json
import struct
import tracemalloc
import zlib

import pytest
from PIL import Image

from desktop_app.errors import FormatError
from desktop_app.formats import read_coco, read_dataloop
from desktop_app.formats.limits import json_parse_cost


def test_coco_and_dataloop_coordinates_of_10_to_the_400(tmp_path):
    Image.new("RGB", (32, 24)).save(tmp_path / "a.png")
    doc = {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "cat"}],
           "annotations": [{"id": 3, "image_id": 1, "category_id": 1, "bbox": [10 ** 400, 1, 2, 3]}]}
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError) as e:
        read_coco(tmp_path)
    assert e.value.file.endswith("annotations.json") and e.value.entry == "annotation id 3" and "bbox" in str(e.value)
    root = tmp_path / "dl"
    (root / "items").mkdir(parents=True)
    (root / "json").mkdir()
    Image.new("RGB", (32, 24)).save(root / "items" / "a.png")
    ann = {"id": "b", "type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 1}, {"x": 10 ** 400, "y": 5}]}
    (root / "json" / "a.json").write_text(json.dumps({"filename": "/a.png", "annotations": [ann]}))
    with pytest.raises(FormatError) as e:
        read_dataloop(root)
    assert e.value.file.endswith("a.json") and e.value.entry == "annotation b"


def test_a_dataloop_mask_declaring_200_megapixels_is_refused_before_decoding(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 10000, 8, 6, 0, 0, 0)) + chunk(
        b"IEND", b"")
    root = tmp_path / "dl"
    (root / "items").mkdir(parents=True)
    (root / "json").mkdir()
    Image.new("RGB", (32, 24)).save(root / "items" / "a.png")
    for size, words in (((32, 24), "over the 40 MP"), (None, "over the 40 MP")):
        ann = {"id": "m", "type": "binary", "label": "cat",
               "coordinates": "data:image/png;base64," + base64.b64encode(bomb).decode()}
        system = {"width": size[0], "height": size[1]} if size else {}
        (root / "json" / "a.json").write_text(json.dumps({"filename": "/a.png", "metadata": {"system": system},
                                                          "annotations": [ann]}))
        with pytest.raises(FormatError, match=words) as e:
            read_dataloop(root, check_images=size is not None)
        assert e.value.file.endswith("a.json") and e.value.entry == "annotation m"


def _parse_peak(text: str) -> int:
    tracemalloc.start()
    doc = json.loads(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert doc is not None
    return peak


@pytest.mark.parametrize("text", [
    "[" + ",".join(["{}"] * 20000) + "]",
    "[" + ",".join(["[]"] * 20000) + "]",
    "[" + ",".join(["[[[]]]"] * 20000) + "]",
    "[" + ",".join(["1.5"] * 20000) + "]",
    "[" + ",".join(["7"] * 20000) + "]",
])
def test_the_parse_cost_estimate_is_never_under_for_shapes_that_multiply_memory(text):
    assert json_parse_cost(text.encode()) >= _parse_peak(text)


@pytest.mark.parametrize("text", [
    "[" + ",".join(['{"a": [1.25, 2.5], "b": "xy"}'] * 5000) + "]",
    json.dumps({"annotations": [{"id": i, "image_id": i // 7, "category_id": 1 + i % 80, "iscrowd": 0,
                                 "bbox": [i * 1.5, 2.25, 33.5, 4.75], "area": 159.1,
                                 "segmentation": [[round(i * 0.37 % 600, 2) for _ in range(16)]]}
                                for i in range(3000)]}),
])
def test_the_parse_cost_estimate_is_close_for_annotation_files(text):
    ratio = json_parse_cost(text.encode()) / _parse_peak(text)
    assert 0.7 <= ratio <= 2.5, ratio
