"""Round trips bundle -> write -> read for every format, and COCO -> YOLO -> COCO."""

from __future__ import annotations

import json

import pytest

from desktop_app import formats
from desktop_app.formats import (
    detect_format, read_coco, read_dataloop, read_imagefolder, read_voc, read_yolo, write_coco,
    write_coco_results, write_dataloop, write_imagefolder, write_voc, write_yolo,
)
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry


def _scores(b):
    return sorted((it.name.rsplit("/", 1)[-1], a.label, round(a.score, 6))
                  for it in b.items for a in it.annotations if a.score is not None)


def test_coco_round_trip(rich_bundle, tmp_path, assert_same):
    out = write_coco(rich_bundle, tmp_path / "coco", include_scores=True, include_classes=True)
    assert (out / "annotations.json").is_file() and (out / "images" / "sub" / "c.png").is_file()
    back = read_coco(out)
    assert back.labels == rich_bundle.labels
    assert back.info["category_ids"] == [1, 2, 3]
    # COCO has no subsets and no points
    assert_same(rich_bundle, back, types={"box", "segment", "binary", "class"}, subsets=False)
    assert _scores(back) == _scores(rich_bundle)
    crowd = [a for it in back.items for a in it.annotations if a.iscrowd]
    assert len(crowd) == 1 and crowd[0].type == "binary" and crowd[0].metadata["area"] == 250 + 20
    first = next(it for it in back.items if it.name == "a.png")
    assert next(a for a in first.annotations if a.type == "box" and a.label == "cat").attributes == {"difficult": True}
    assert detect_format(out) == "coco"


def test_coco_keeps_category_ids_and_polygon_bbox(rich_bundle, tmp_path):
    rich_bundle.info["category_ids"] = [7, 3, 11]
    out = write_coco(rich_bundle, tmp_path / "coco")
    doc = json.loads((out / "annotations.json").read_text())
    assert [c["id"] for c in doc["categories"]] == [7, 3, 11]
    seg = next(a for a in doc["annotations"] if "segmentation" in a and isinstance(a["segmentation"], list))
    assert seg["bbox"] == [5.5, 5.0, 19.5, 20.5]  # the polygon's bounds
    assert not any("bbox" not in a for a in doc["annotations"])  # class labels only when asked
    back = read_coco(out)
    assert back.labels == ["dog", "cat", "bird"]  # category id order
    assert back.info["category_ids"] == [3, 7, 11]


def test_coco_results_file(rich_bundle, tmp_path):
    gt = json.loads((write_coco(rich_bundle, tmp_path / "gt") / "annotations.json").read_text())
    res = json.loads(write_coco_results(rich_bundle, tmp_path / "res.json").read_text())
    assert len(res) == len(rich_bundle.items) - 1  # one scored box per image, none on empty.png
    ids = {im["file_name"]: im["id"] for im in gt["images"]}
    first = next(r for r in res if r["image_id"] == ids["a.png"])
    assert first == {"image_id": ids["a.png"], "category_id": 3, "bbox": [0.0, 0.0, 64.0, 48.0], "score": 0.5}
    assert write_coco_results(rich_bundle, tmp_path / "none.json", model_name="other").read_text() == "[]"


def test_yolo_round_trip(rich_bundle, tmp_path, assert_same):
    out = write_yolo(rich_bundle, tmp_path / "yolo", include_scores=True)
    assert (out / "images" / "val" / "sub" / "c.png").is_file()
    assert (out / "labels" / "val" / "sub" / "c.txt").is_file()
    assert (out / "labels" / "f.txt").is_file()  # no subset: straight under labels/
    back = read_yolo(out)
    assert back.labels == rich_bundle.labels
    # crowd masks are left out (as Ultralytics does); YOLO holds no classes or points
    assert_same(rich_bundle, back, types={"box", "segment"})
    assert _scores(back) == _scores(rich_bundle)
    assert detect_format(out) == "yolo"


def test_yolo_detect_and_segment_tasks(rich_bundle, tmp_path):
    det = read_yolo(write_yolo(rich_bundle, tmp_path / "det", task="detect"))
    assert {a.type for it in det.items for a in it.annotations} == {"box"}
    a_png = next(it for it in det.items if it.name == "a.png")
    assert [5.5, 5.0, 25.0, 25.5] in [pytest.approx(a.coordinates) for a in a_png.annotations]
    seg = read_yolo(write_yolo(rich_bundle, tmp_path / "seg", task="segment", include_crowd=True))
    assert {a.type for it in seg.items for a in it.annotations} == {"segment"}
    b_jpg = next(it for it in seg.items if it.name == "b.jpg")
    assert len(b_jpg.annotations) == 4  # the crowd mask came along as its bounding rectangle


def test_voc_round_trip_exact_ints(int_box_bundle, tmp_path, assert_same):
    out = write_voc(int_box_bundle, tmp_path / "voc")
    xml = (out / "Annotations" / "x1.xml").read_text()
    assert "<xmin>1</xmin>" in xml and "<xmax>60</xmax>" in xml  # [0, 60) is pixels 1..60 in VOC
    back = read_voc(out)
    assert back.labels == ["person", "car"]

    def same_attrs(a, b):
        assert sorted(str(x.attributes) for x in a.annotations) == sorted(str(x.attributes) for x in b.annotations)
    assert_same(int_box_bundle, back, extra=same_attrs)
    for it in back.items:
        for a in it.annotations:
            assert all(isinstance(v, float) and v == int(v) for v in a.coordinates)
    assert detect_format(out) == "voc"


def test_voc_writes_polygons_as_boxes(rich_bundle, tmp_path):
    back = read_voc(write_voc(rich_bundle, tmp_path / "voc"))
    a_png = next(it for it in back.items if it.name == "a.png")
    assert sorted(a.coordinates for a in a_png.annotations) == [[0, 0, 64, 48], [1, 2, 21, 31], [5, 5, 25, 26]]


def test_imagefolder_round_trip(src_dir, tmp_path, make_image, assert_same):
    items = []
    for i, (name, label, subset) in enumerate([("cat/1.png", "cat", "train"), ("2.jpg", "dog", "train"),
                                               ("cat/3.png", "cat", "validation"), ("4.png", "dog", "test")]):
        src = make_image(src_dir / f"{i}.png", 20, 10)
        items.append(ImageEntry(src, name, 20, 10, subset, [Annotation("class", label)]))
    bundle = DatasetBundle(labels=["cat", "dog"], items=items)
    out = write_imagefolder(bundle, tmp_path / "if")
    assert (out / "train" / "dog" / "2.jpg").is_file() and (out / "val" / "cat" / "3.png").is_file()
    back = read_imagefolder(out)
    assert back.labels == ["cat", "dog"]
    assert_same(bundle, back, names=False)
    assert sorted(it.name for it in back.items) == ["cat/1.png", "cat/3.png", "dog/2.jpg", "dog/4.png"]
    assert detect_format(out) == "imagefolder"


def test_imagefolder_flat_and_duplicate_names_across_splits(tmp_path, make_image):
    make_image(tmp_path / "flat" / "cat" / "a.png")
    make_image(tmp_path / "flat" / "dog" / "b.png")
    (tmp_path / "flat" / "empty_class").mkdir()
    flat = read_imagefolder(tmp_path / "flat")
    assert flat.labels == ["cat", "dog", "empty_class"] and {it.subset for it in flat.items} == {None}
    make_image(tmp_path / "split" / "train" / "cat" / "a.png")
    make_image(tmp_path / "split" / "val" / "cat" / "a.png")
    split = read_imagefolder(tmp_path / "split")
    assert sorted(it.name for it in split.items) == ["train/cat/a.png", "val/cat/a.png"]
    assert sorted(it.subset for it in split.items) == ["train", "validation"]


def test_dataloop_round_trip(rich_bundle, tmp_path, assert_same):
    out = write_dataloop(rich_bundle, tmp_path / "dl")
    assert (out / "items" / "sub" / "c.png").is_file() and (out / "json" / "sub" / "c.png.json").is_file()
    back = read_dataloop(out)
    assert back.labels == rich_bundle.labels

    def same_extras(a, b):
        def k(x):
            return (x.type, x.label, str(sorted(x.attributes.items())), x.score, x.model_name)
        assert sorted(map(k, a.annotations)) == sorted(map(k, b.annotations))
    assert_same(rich_bundle, back, extra=same_extras)
    assert detect_format(out) == "dataloop"


def test_registry_read_write(int_box_bundle, tmp_path):
    for fmt in ("coco", "yolo", "voc", "dataloop"):
        out = formats.write(fmt, int_box_bundle, tmp_path / fmt)
        back = formats.read(fmt, out)
        assert sorted(it.name for it in back.items) == sorted(it.name for it in int_box_bundle.items), fmt
        assert set(back.labels) == {"person", "car"}


def test_coco_to_yolo_to_coco_keeps_boxes_and_labels(tmp_path, make_image):
    root = tmp_path / "coco"
    images = [{"id": 10 + i, "file_name": f"img{i}.jpg", "width": 100, "height": 80} for i in range(3)]
    for im in images:
        make_image(root / "images" / im["file_name"], 100, 80)
    anns = [
        {"id": 1, "image_id": 10, "category_id": 5, "bbox": [10.5, 20.25, 30, 40], "area": 1200, "iscrowd": 0},
        {"id": 2, "image_id": 10, "category_id": 9, "bbox": [0, 0, 100, 80], "iscrowd": 0},
        {"id": 3, "image_id": 11, "category_id": 9, "bbox": [12, 14, 20, 30], "iscrowd": 0,
         "segmentation": [[12, 14, 32, 14, 32, 44, 12, 44]]},
        {"id": 4, "image_id": 12, "category_id": 5, "bbox": [99, 79, 1, 1], "iscrowd": 0},
    ]
    cats = [{"id": 9, "name": "truck"}, {"id": 5, "name": "car"}]
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    first = read_coco(root)
    assert first.labels == ["car", "truck"]
    mid = read_yolo(write_yolo(first, tmp_path / "yolo"))
    final = json.loads((write_coco(mid, tmp_path / "coco2") / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in final["categories"]}
    files = {im["id"]: im["file_name"] for im in final["images"]}
    got = sorted((files[a["image_id"]], names[a["category_id"]], *[round(v, 6) for v in a["bbox"]])
                 for a in final["annotations"])
    old_names = {c["id"]: c["name"] for c in cats}
    want = sorted((f"img{a['image_id'] - 10}.jpg", old_names[a["category_id"]], *map(float, a["bbox"])) for a in anns)
    assert got == want
