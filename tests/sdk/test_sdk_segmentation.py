"""dl.Segmentation (a binary mask, Dataloop's call style) beside dl.Polygon: building, Dataloop's JSON, polygon <->
mask, uploading to an item, reading it back, and the refusals of a bad mask."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from desktop_app.errors import ValidationError


def _mask(h=10, w=12):
    m = np.zeros((h, w), np.uint8)
    m[2:5, 3:9] = 1
    m[7, 1] = 1
    return m


def _png_mask(data_uri: str) -> np.ndarray:
    raw = base64.b64decode(data_uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).getchannel("A")) > 127


@pytest.fixture
def item(dl):
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d", labels=["cat", "dog"])
    buf = io.BytesIO()
    Image.new("RGB", (12, 10)).save(buf, format="PNG")
    return ds.items.upload(local_path=buf, remote_name="x.png")


def test_segmentation_is_a_binary_mask_in_dataloops_json(dl):
    seg = dl.Segmentation(geo=_mask(), label="cat", attributes=["occluded"], color=(255, 0, 0))
    assert seg.type == dl.AnnotationType.SEGMENTATION == "binary"
    rle = seg.compact()
    assert rle["size"] == [10, 12] and isinstance(rle["counts"], str)
    j = seg.to_json()
    assert j["type"] == "binary" and j["label"] == "cat" and j["attributes"] == ["occluded"]
    assert j["coordinates"].startswith("data:image/png;base64,")
    assert (_png_mask(j["coordinates"]) == _mask().astype(bool)).all()
    assert seg.to_box().compact() == [1.0, 2.0, 9.0, 8.0]
    assert "pixels=19" in repr(seg)


def test_polygon_and_segmentation_convert_both_ways(dl):
    seg = dl.Segmentation.from_polygon([[2, 2], [10, 2], [10, 8], [2, 8]], "dog", (10, 12))
    assert seg.geo.sum() == 48 and seg.geo[2:8, 2:10].all()
    poly = dl.Polygon.from_segmentation(seg.geo, "dog")
    assert isinstance(poly, dl.Polygon) and poly.geo == [[2.0, 2.0], [10.0, 2.0], [10.0, 8.0], [2.0, 8.0]]
    two = dl.Polygon.from_segmentation(_mask(), "cat", max_instances=None)
    assert [len(p.geo) for p in two] == [4, 4]
    back = dl.Segmentation.from_polygon(two[0].geo, "cat", np.zeros((10, 12)))
    assert (back.geo == (_mask().astype(bool) & (np.arange(10)[:, None] < 6))).all()
    assert [p.label for p in dl.Segmentation(_mask(), "cat").to_polygons()] == ["cat", "cat"]


@pytest.mark.parametrize("geo, words", [
    (np.zeros((10, 12)), "Segmentation mask for 'cat' is empty"),
    (np.full((10, 12), 3), "Segmentation mask for 'cat' is not binary: it holds 3"),
    (np.ones((10, 12, 3)), "2-D"),
])
def test_bad_masks_are_refused(dl, geo, words):
    with pytest.raises(ValidationError, match=words):
        dl.Segmentation(geo=geo, label="cat")


def test_from_polygon_refuses_bad_points(dl):
    with pytest.raises(ValidationError, match="needs at least 3"):
        dl.Segmentation.from_polygon([[0, 0], [1, 1]], "cat", (10, 12))
    with pytest.raises(ValidationError, match="not two finite numbers"):
        dl.Segmentation.from_polygon([[0, 0], [1, float("nan")], [3, 3]], "cat", (10, 12))
    with pytest.raises(ValidationError, match="lies outside the 12x10 image"):
        dl.Segmentation.from_polygon([[0, 0], [40, 1], [3, 3]], "cat", (10, 12))


def test_upload_stores_the_mask_and_reads_it_back(dl, item):
    b = item.annotations.builder()
    b.add(annotation_definition=dl.Segmentation(geo=_mask(), label="cat"))
    b.add(annotation_definition=dl.Polygon([[1, 1], [6, 1], [6, 6]], label="dog"))
    anns = item.annotations.upload(b)
    seg = next(a for a in anns if a.type == "binary")
    assert (_png_mask(seg.coordinates) == _mask().astype(bool)).all()
    assert seg.to_json()["type"] == "binary"
    from desktop_app.domain import masks
    assert (masks.decode(seg.compact_coordinates) == _mask().astype(bool)).all()
    d = seg.annotation_definition
    assert isinstance(d, dl.Segmentation) and (d.geo == _mask().astype(bool)).all()


def test_a_mask_of_another_size_than_its_item_is_refused(dl, item):
    b = item.annotations.builder()
    with pytest.raises(ValidationError, match=r"mask for 'cat' is 12x10 \(h x w\) but x.png is 10x12"):
        b.add(annotation_definition=dl.Segmentation(geo=np.ones((12, 10)), label="cat"))
    assert len(b) == 0


def test_a_stored_empty_mask_reads_back_but_a_new_one_is_refused(dl):
    from desktop_app.domain import masks
    from desktop_app.domain.dataloop import definition_from

    empty = masks.encode(np.zeros((4, 5), bool))
    seg = definition_from("binary", "cat", empty)
    assert isinstance(seg, dl.Segmentation) and seg.geo.shape == (4, 5) and not seg.geo.any()
    with pytest.raises(ValidationError, match="RLE counts sum to 3 pixels, expected h\\*w = 20"):
        definition_from("binary", "cat", {"size": [4, 5], "counts": [3]})
