from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.ml.errors import TrainingError
from desktop_app.ml.layout import read_layout
from desktop_app.ml.models import build_model, find_pretrained_weights, torchvision_filenames
from desktop_app.ml.predict import load_for_inference, predict_images
from desktop_app.ml.trainer import train



@pytest.fixture
def cls_weights(cls_layout, tmp_path, fast):
    return train("classification", cls_layout, tmp_path, {**fast, "epochs": 1}).weights_path


def test_classification_predictions(cls_layout, cls_weights):
    bundle = load_for_inference(cls_weights, device="cpu", model_name="shapes-v1")
    assert bundle.labels == ["circle", "square", "triangle", "star"] and bundle.task == "classification"
    items = read_layout(cls_layout, "validation")[:3]
    images = [Image.open(items[0].source), np.asarray(Image.open(items[1].source)),
              np.asarray(Image.open(items[2].source).convert("L")), items[0].source]
    out = predict_images(bundle, images, batch_size=3)
    assert len(out) == 4
    for anns in out:
        assert len(anns) == 1
        a = anns[0]
        assert a.type == "class" and a.coordinates is None and a.label in bundle.labels
        assert a.model_name == "shapes-v1"
        scores = a.metadata["scores"]
        assert len(scores) == 4 and sum(scores) == pytest.approx(1.0, abs=1e-4)
        assert a.score == pytest.approx(max(scores), abs=1e-5)
    assert predict_images(bundle, []) == []


def test_detection_train_and_predict(det_layout, tmp_path):
    cfg = {"arch": "tinydet", "image_size": 64, "batch_size": 8, "epochs": 1, "pretrained": False,
           "num_workers": 0, "device": "cpu"}
    result = train("detection", det_layout, tmp_path, cfg)
    assert result.status == "completed"
    assert {"val_map50", "val_map", "val_loss", "train_loss"} <= set(result.history[0])
    bundle = load_for_inference(result.weights_path, device="cpu")
    img = Image.open(read_layout(det_layout, "validation")[0].source).resize((96, 80))
    (anns,) = predict_images(bundle, [img], conf_threshold=0.0)
    assert anns, "an untrained detector still returns its top peaks at threshold 0"
    scores = [a.score for a in anns]
    assert scores == sorted(scores, reverse=True)
    for a in anns:
        left, top, right, bottom = a.coordinates
        assert a.type == "box" and a.label in bundle.labels
        assert 0 <= left < right <= 96 and 0 <= top < bottom <= 80


def test_torchvision_detector_builds_and_steps():
    model, message = build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 3, image_size=128, pretrained=False)
    images = torch.randint(0, 255, (2, 3, 128, 128), dtype=torch.uint8)
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 50.0, 60.0]]), "labels": torch.tensor([2])},
               {"boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.int64)}]
    model.train()
    loss = model(images, targets)
    loss.backward()
    loss_eval, preds = model.evaluate(images, targets)
    assert torch.isfinite(loss_eval) and len(preds) == 2 and set(preds[0]) == {"boxes", "scores", "labels"}
    assert "random initialisation" in message


def test_pretrained_lookup_is_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model, message = build_model("resnet18", 4, pretrained=True)
    assert find_pretrained_weights("resnet18") is None
    assert "never downloads" in message and "random initialisation" in message
    # a torchvision file in the hub cache is found and loaded, except the 1000-class head
    import torchvision

    donor = torchvision.models.resnet18(weights=None)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    path = tmp_path / "hub" / "checkpoints" / torchvision_filenames("resnet18")[0]
    torch.save(donor.state_dict(), path)
    assert find_pretrained_weights("resnet18") == path
    model, message = build_model("resnet18", 4, pretrained=True)
    assert "pretrained weights" in message and str(path) in message
    assert torch.equal(model.net.conv1.weight, donor.conv1.weight)
    assert model.net.fc.weight.shape == (4, 512)
    with pytest.raises(TrainingError, match="pretrained_path"):
        build_model("resnet18", 4, pretrained_path=tmp_path / "nope.pt")


def test_an_architecture_without_published_weights_says_so_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _, message = build_model("tinydet", 3, image_size=64, pretrained=True)
    assert message == "tinydet has no published pretrained weights, so it starts from random initialisation."
