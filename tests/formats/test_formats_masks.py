"""Masks through every format that holds them: COCO (polygons, RLE compressed and not, crowd and not), Dataloop
binary PNGs, YOLO segmentation lines (yolo-seg) and class-index PNGs (semantic); each round trip keeps masks
pixel-identical (polygons: IoU > 0.95), and the catalog's import / export reach the new formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop_app import formats
from desktop_app.domain import masks
from desktop_app.formats import (read_coco, read_dataloop, read_semantic, read_yolo_seg, write_coco, write_dataloop,
                                 write_semantic, write_yolo_seg)
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
from desktop_app.formats.semantic_png import label_map

W, H = 64, 48


def _image(path: Path, w: int = W, h: int = H, suffix_color=(90, 140, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), suffix_color).save(path)
    return path


def _blob(h, w, box):
    m = np.zeros((h, w), bool)
    l, t, r, b = box
    m[t:b, l:r] = True
    return m


def _masks_bundle(src: Path) -> DatasetBundle:
    ring = _blob(H, W, (30, 5, 50, 25))
    ring[12:18, 37:43] = False                          # a hole: COCO RLE and Dataloop PNGs keep it
    two_parts = _blob(H, W, (2, 30, 12, 44)) | _blob(H, W, (50, 35, 60, 45))
    crowd = _blob(H, W, (15, 28, 40, 46))
    items = [
        ImageEntry(_image(src / "a.png"), "a.png", W, H, "train", [
            Annotation("binary", "cat", masks.encode(ring)),
            Annotation("binary", "dog", masks.encode(two_parts)),
            Annotation("segment", "dog", [[[3.0, 3.0], [20.0, 4.5], [12.5, 20.0]]]),
        ]),
        ImageEntry(_image(src / "b.png"), "b.png", W, H, "validation", [
            Annotation("binary", "cat", masks.encode(crowd, compressed=False), iscrowd=True),
            Annotation("binary", "dog", masks.encode(_blob(H, W, (0, 0, 64, 10)))),
        ]),
    ]
    return DatasetBundle(labels=["cat", "dog"], items=items)


def _pixels(a: Annotation) -> np.ndarray:
    if a.type == "binary":
        return masks.decode(a.coordinates)
    return masks.polygon_to_mask(a.coordinates, H, W)


def _by_name(bundle):
    return {it.name: it for it in bundle.items}


@pytest.fixture
def bundle(tmp_path):
    return _masks_bundle(tmp_path / "src")


def test_coco_keeps_rle_and_polygons_exactly(bundle, tmp_path):
    back = _by_name(read_coco(write_coco(bundle, tmp_path / "coco")))
    for it in bundle.items:
        got = back[it.name].annotations
        assert [(a.type, a.label, a.iscrowd, a.coordinates) for a in got] == \
            [(a.type, a.label, a.iscrowd, a.coordinates) for a in it.annotations]
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    crowd = next(a for a in doc["annotations"] if a["iscrowd"])
    assert isinstance(crowd["segmentation"]["counts"], list)          # uncompressed, as COCO writes crowds
    assert crowd["area"] == 25 * 18 and crowd["bbox"] == [15.0, 28.0, 25.0, 18.0]


def test_coco_reads_compressed_and_uncompressed_counts_crowd_or_not(tmp_path):
    root = tmp_path / "coco"
    _image(root / "images" / "a.png")
    m = _blob(H, W, (4, 5, 20, 30))
    packed, plain = masks.encode(m), masks.encode(m, compressed=False)
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
           "categories": [{"id": 1, "name": "cat"}],
           "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": crowd, "segmentation": seg,
                            "bbox": [4, 5, 16, 25], "area": 400}
                           for i, (seg, crowd) in enumerate([(packed, 0), (plain, 0), (packed, 1), (plain, 1)])]}
    (root / "annotations.json").write_text(json.dumps(doc))
    anns = read_coco(root).items[0].annotations
    assert [a.iscrowd for a in anns] == [False, False, True, True]
    assert all((masks.decode(a.coordinates) == m).all() for a in anns)


def test_dataloop_masks_are_pixel_identical(bundle, tmp_path):
    back = _by_name(read_dataloop(write_dataloop(bundle, tmp_path / "dl")))
    for it in bundle.items:
        got = back[it.name].annotations
        assert [(a.type, a.label) for a in got] == [(a.type, a.label) for a in it.annotations]
        for a, b in zip(it.annotations, got):
            assert (_pixels(a) == _pixels(b)).all()


def test_yolo_segmentation_lines_round_trip(bundle, tmp_path):
    out = write_yolo_seg(bundle, tmp_path / "yseg", include_crowd=True)
    lines = (out / "labels" / "train" / "a.txt").read_text().splitlines()
    assert len(lines) == 4                    # the ring, the two parts of the dog mask, the polygon
    assert all(len(ln.split()) % 2 == 1 and len(ln.split()) >= 7 for ln in lines)
    assert all(0.0 <= float(v) <= 1.0 for ln in lines for v in ln.split()[1:])
    back = _by_name(read_yolo_seg(out))
    assert formats.detect_format(out) == "yolo"
    for it in bundle.items:
        got = back[it.name].annotations
        assert {a.type for a in got} == {"segment"}
        for label in ("cat", "dog"):
            want = np.zeros((H, W), bool)
            for a in it.annotations:
                if a.label == label:
                    want |= _pixels(a)
            have = np.zeros((H, W), bool)
            for a in got:
                if a.label == label:
                    have |= _pixels(a)
            if it.name == "a.png" and label == "cat":     # YOLO polygons cannot hold the hole
                want[12:18, 37:43] = True
            assert masks.iou(have, want) > 0.95 and (have == want).all(), (it.name, label)


def test_yolo_seg_simplifies_on_request(bundle, tmp_path):
    out = write_yolo_seg(bundle, tmp_path / "y", tolerance=1.0, include_crowd=True)
    back = _by_name(read_yolo_seg(out))
    crowd = masks.decode(bundle.items[1].annotations[0].coordinates)
    got = masks.polygon_to_mask(back["b.png"].annotations[0].coordinates, H, W)
    assert masks.iou(got, crowd) > 0.95


def test_semantic_pngs_round_trip_pixel_identical(bundle, tmp_path):
    bundle.items[1].metadata["ignore_mask"] = masks.encode(_blob(H, W, (60, 40, 64, 48)))
    out = write_semantic(bundle, tmp_path / "sem", background="background")
    assert (out / "classes.txt").read_text() == "background\ncat\ndog\n"
    png = out / "masks" / "train" / "a.png"
    with Image.open(png) as im:
        assert im.mode == "P" and im.size == (W, H)
        first = np.asarray(im)
    assert formats.detect_format(out) == "semantic"
    back = read_semantic(out)
    assert back.labels == ["background", "cat", "dog"] and back.info["background"] == "background"
    items = _by_name(back)
    assert items["a.png"].subset == "train" and items["b.png"].subset == "validation"
    assert "ignore_mask" in items["b.png"].metadata and "ignore_mask" not in items["a.png"].metadata
    index = {"background": 0, "cat": 1, "dog": 2}
    for it in bundle.items:
        assert (label_map(items[it.name], index, fill=0) == label_map(it, index, fill=0)).all()
    # one annotation a class present; and the second trip writes the same PNG values
    assert [a.label for a in items["a.png"].annotations] == ["cat", "dog"]
    again = write_semantic(back, tmp_path / "sem2")
    with Image.open(again / "masks" / "train" / "a.png") as im:
        assert (np.asarray(im) == first).all()
    lm = label_map(it, index, fill=0)
    assert (lm[40:48, 60:64] == 255).all()


def test_semantic_without_a_background_class_writes_uncovered_pixels_as_ignore(bundle, tmp_path):
    out = write_semantic(bundle, tmp_path / "sem", background=None)
    assert (out / "classes.txt").read_text() == "cat\ndog\n"
    with Image.open(out / "masks" / "val" / "b.png") as im:
        arr = np.asarray(im)
    assert arr[47, 0] == 255 and arr[0, 0] == 1 and arr[30, 20] == 0
    back = _by_name(read_semantic(out))
    assert [a.label for a in back["b.png"].annotations] == ["cat", "dog"]


def test_voc_segmentation_layout_with_palette_pngs(tmp_path):
    root = tmp_path / "VOC2012"
    for stem in ("2007_000032", "2007_000033"):
        _image(root / "JPEGImages" / f"{stem}.jpg")
        arr = np.zeros((H, W), np.uint8)
        arr[5:20, 5:30] = 1            # aeroplane
        arr[25:40, 30:50] = 15         # person
        arr[4, 4:31] = 255             # VOC's border of "void"
        im = Image.frombytes("P", (W, H), arr.tobytes())
        im.putpalette([v for i in range(256) for v in (i, i, i)])
        (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        im.save(root / "SegmentationClass" / f"{stem}.png")
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000033\n")
    assert formats.detect_format(root) == "semantic"
    b = read_semantic(root)
    assert len(b.labels) == 21 and b.labels[15] == "person"
    items = _by_name(b)
    assert items["2007_000032.jpg"].subset == "train" and items["2007_000033.jpg"].subset == "validation"
    a = items["2007_000032.jpg"]
    assert [x.label for x in a.annotations] == ["aeroplane", "person"]
    assert masks.area(a.annotations[0].coordinates) == 15 * 25
    assert masks.area(a.metadata["ignore_mask"]) == 27


def test_catalog_import_and_export_reach_the_mask_formats(tmp_path, bundle):
    from desktop_app.catalog import Catalog
    from desktop_app.sdk.client import Client

    client = Client(Catalog(tmp_path / "catalog"))
    try:
        project = client.projects.create(project_name="p")
        src = write_semantic(bundle, tmp_path / "sem", background="background")
        ds = project.datasets.create(dataset_name="sem")
        assert len(ds.import_from(src)) == 2                       # detected as semantic
        out = ds.export(tmp_path / "out", "semantic")
        for sub, name in (("train", "a.png"), ("val", "b.png")):
            with Image.open(src / "masks" / sub / name) as a, Image.open(out / "masks" / sub / name) as b:
                assert (np.asarray(a) == np.asarray(b)).all()
        yseg = ds.export(tmp_path / "yseg", "yolo-seg")
        assert (yseg / "labels" / "train" / "a.txt").is_file()
        ds2 = project.datasets.create(dataset_name="yseg")
        assert len(ds2.import_from(yseg, "yolo-seg")) == 2
    finally:
        client.catalog.close()
