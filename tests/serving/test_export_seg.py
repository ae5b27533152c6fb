"""Export of the segmentation archs: each file run (onnxruntime / torch.jit.load) and compared with torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from desktop_app.errors import ValidationError
from desktop_app.ml.models import build_model, weights_payload
from desktop_app.serving.export import (MASKRCNN_OUTPUTS, TINYINST_OUTPUTS, export_network, load_network,
                                        read_export_metadata, run_exported)

LABELS = ["circle", "square", "triangle", "star"]


def _network(tmp_path, arch: str, size: int = 64):
    """(TaskModel, metadata) as export_model gets them: through a weights file in the built-in format."""
    torch.manual_seed(0)
    net, _ = build_model(arch, len(LABELS), image_size=size, pretrained=False)
    torch.save(weights_payload(net, LABELS, {"arch": arch}), tmp_path / f"{arch}.pt")
    return load_network(tmp_path / f"{arch}.pt")


def _images(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.float32)


@pytest.mark.parametrize("arch", ["tinyseg", "lraspp_mobilenet_v3_large"])
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_semantic_export_answers_class_probabilities_per_pixel(tmp_path, arch, fmt):
    model, meta = _network(tmp_path, arch)
    res = export_network(model, meta, fmt, tmp_path / f"{arch}.{fmt}", name="seg")
    assert res.ok and res.max_abs_diff < 1e-4, res.summary()
    assert res.outputs == ["probabilities"] and res.input_shape == [3, 3, 80, 64]
    meta_out = read_export_metadata(res.path, fmt)
    assert meta_out["arch"] == arch and meta_out["task"] == "semantic_segmentation"
    # Another size again: background + 4 labels per pixel, summing to one, as the network answers.
    images = _images(1, (2, 3, 48, 72))
    (probs,) = run_exported(res.path, fmt, images)
    assert probs.shape == (2, 1 + len(LABELS), 48, 72) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        ref = model.predict(torch.from_numpy(images)).numpy()
    assert np.abs(probs - ref).max() < 1e-4
    assert (probs.argmax(1) == ref.argmax(1)).mean() > 0.999


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_tinyinst_export_answers_its_raw_heads(tmp_path, fmt):
    model, meta = _network(tmp_path, "tinyinst")
    res = export_network(model, meta, fmt, tmp_path / f"inst.{fmt}")
    assert res.ok and res.max_abs_diff < 1e-3, res.summary()
    assert res.outputs == TINYINST_OUTPUTS == ["heatmap", "box_distances", "mask_coefficients", "prototypes"]
    images = _images(2, (2, 3, 64, 96))
    heat, dist, coef, protos = run_exported(res.path, fmt, images)
    assert heat.shape == (2, 4, 8, 12) and dist.shape == (2, 4, 8, 12)
    assert coef.shape == (2, 12, 8, 12) and protos.shape == (2, 12, 16, 24)
    with torch.no_grad():
        ref = model(torch.from_numpy(images))
    for got, want in zip((heat, dist, coef, protos), ref):
        assert np.abs(got - want.numpy()).max() < 1e-3
    # The file's heads decode to the model's own predictions (masks included).
    with torch.no_grad():
        from_file = model._decode_masks(tuple(torch.from_numpy(a) for a in (heat, dist, coef, protos)), 0.0, (64, 96))
        direct = model.predict(torch.from_numpy(images), 0.0)
    assert torch.allclose(from_file[0]["masks"], direct[0]["masks"], atol=1e-3)


def test_maskrcnn_exports_as_torchscript_and_refuses_onnx_saying_why(tmp_path):
    model, meta = _network(tmp_path, "maskrcnn_resnet50_fpn", size=128)
    with pytest.raises(ValidationError, match="cannot be exported to ONNX.*torchscript"):
        export_network(model, meta, "onnx", tmp_path / "mrcnn.onnx")
    assert not (tmp_path / "mrcnn.onnx").exists()
    res = export_network(model, meta, "torchscript", tmp_path / "mrcnn.pt", check_batch=2)
    assert res.ok and res.max_abs_diff < 1e-3, res.summary()
    assert res.outputs == MASKRCNN_OUTPUTS
    assert json.loads(json.dumps(read_export_metadata(res.path, "torchscript")))["labels"] == LABELS
    images = _images(3, (2, 3, 128, 128))
    boxes, scores, labels, masks, index = run_exported(res.path, "torchscript", images)
    with torch.no_grad():
        preds = model.predict(torch.from_numpy(images), 0.0)
    assert len(scores) == sum(len(p["scores"]) for p in preds) > 0   # random weights still find boxes at 0.01
    assert boxes.shape == (len(scores), 4) and masks.shape == (len(scores), 128, 128)
    assert set(index.tolist()) <= {0, 1} and labels.min() >= 0 and labels.max() < len(LABELS)
    first = index == 0
    assert np.abs(scores[first] - preds[0]["scores"].numpy()).max() < 1e-4
    assert np.abs(masks[first] - preds[0]["masks"].numpy()).max() < 1e-4
