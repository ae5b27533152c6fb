"""Dataloop's annotation calls a script makes with only the import changed (issue 18): metadata, to_json's
metadata.system.model / source / creator, ann.label = ...; ann.update(), and dl.Polyline refused clearly."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from desktop_app.errors import ValidationError


@pytest.fixture
def item(dl):
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d", labels=["cat", "dog"])
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PNG")
    return ds.items.upload(local_path=buf, remote_name="x.png")


def test_metadata_and_to_json_of_a_prediction_and_of_ground_truth(dl, item):
    model = dl.models.get(model_name="pretrained-resnet")
    b = item.annotations.builder()
    b.add(annotation_definition=dl.Box(1, 2, 5, 6, label="cat"))
    b.add(annotation_definition=dl.Box(0, 0, 4, 4, label="dog"),
          model_info={"name": model.name, "model_id": model.id, "confidence": 0.8})
    gt, pred = sorted(item.annotations.upload(b), key=lambda a: a.is_ground_truth)[::-1]
    assert gt.metadata["system"]["automated"] is False and "model" not in gt.metadata["system"]
    j = pred.to_json()
    assert j["metadata"]["system"]["model"] == {"name": model.name, "model_id": model.id, "confidence": 0.8}
    assert j["metadata"]["user"]["model"]["name"] == model.name and j["metadata"]["system"]["automated"] is True
    assert j["source"] == "model" and j["creator"] == "sdk" and j["createdAt"]
    g = gt.to_json()
    assert g["source"] == "sdk" and g["creator"] == "sdk" and g["label"] == "cat"
    assert g["coordinates"] == [{"x": 1.0, "y": 2.0, "z": 0}, {"x": 5.0, "y": 6.0, "z": 0}]


def test_assign_label_then_update(dl, item):
    b = item.annotations.builder()
    b.add(annotation_definition=dl.Classification(label="cat"))
    (ann,) = b.upload()
    ann.label = "dog"
    assert ann.label == "dog" and item.annotations.get(ann.id).label == "cat"   # the snapshot, until update()
    ann.update()
    assert item.annotations.get(ann.id).label == "dog" and ann.label == "dog"
    ann.label = "cat"
    ann.refresh()
    assert ann.label == "dog"
    with pytest.raises(ValidationError, match="non-empty"):
        ann.label = ""


def test_polyline_is_refused_saying_what_to_use(dl):
    with pytest.raises(ValidationError, match="polyline annotations are not supported.*dl.Polygon"):
        dl.Polyline(geo=[[0, 0], [1, 1]], label="road")
