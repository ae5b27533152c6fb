"""tinyinst through the training loop: a short run on a tiny shapes-segmentation set logs the mask metrics and its
weights predict `binary` RLE masks at each image's size, best first; Mask R-CNN's one-step run the same way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.domain import masks
from desktop_app.ml.callbacks import MetricsRecorder
from desktop_app.ml.layout import write_layout
from desktop_app.ml.predict import load_for_inference, predict_images
from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
from desktop_app.ml.trainer import train


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("inst")
    bundle = generate_shapes_segmentation(root / "images", n=16, size=64, seed=1)
    subsets: dict = {}
    for item in bundle.items:
        subsets.setdefault(item.subset, []).append(item)
    return write_layout(root / "data", subsets, bundle.labels), bundle


def _check_predictions(result, bundle, name):
    model = load_for_inference(result.weights_path, "cpu", model_name=name)
    assert model.task == "instance_segmentation"
    image = Image.open(bundle.items[0].source).resize((72, 40))
    (anns,) = predict_images(model, [image], conf_threshold=0.0)
    assert anns, f"{name} predicted no mask"
    scores = [a.score for a in anns]
    assert scores == sorted(scores, reverse=True)
    for a in anns:
        assert a.type == "binary" and a.label in bundle.labels and a.model_name == name
        m = masks.decode(a.coordinates)
        assert m.shape == (40, 72) and m.any()
    return anns


def test_tinyinst_trains_logs_mask_map_and_predicts_masks(tiny, tmp_path, one_thread):
    data, bundle = tiny
    rec = MetricsRecorder()
    config = {"arch": "tinyinst", "image_size": 64, "batch_size": 4, "epochs": 1, "pretrained": False,
              "num_workers": 0, "device": "cpu"}
    result = train("instance_segmentation", data, tmp_path / "out", config, [rec])
    assert result.status == "completed" and result.monitor == "val_mask_map50"
    (metrics,) = rec.metrics
    for key in ("val_mask_map50", "val_mask_map", "val_map50", "val_loss"):
        assert np.isfinite(metrics[key]), key
    assert 0.0 <= metrics["val_mask_map"] <= metrics["val_mask_map50"] <= 1.0
    _check_predictions(result, bundle, "tinyinst-x")


def test_maskrcnn_trains_a_step_and_predicts_masks(tiny, tmp_path, one_thread):
    data, bundle = tiny
    config = {"arch": "maskrcnn_resnet50_fpn", "image_size": 64, "batch_size": 2, "epochs": 1, "pretrained": False,
              "num_workers": 0, "device": "cpu"}
    result = train("instance_segmentation", data, tmp_path / "out", config)
    assert result.status == "completed" and result.global_step >= 1
    assert {"val_mask_map50", "val_mask_map", "val_map50"} <= set(result.history[0])
    _check_predictions(result, bundle, "maskrcnn-x")
