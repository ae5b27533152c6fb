"""export-model: TorchScript and ONNX files of a trained built-in model, checked by running them against torch."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from desktop_app.errors import UserError, ValidationError
from desktop_app.ml.models import build_model, weights_payload
from desktop_app.serving.export import (export_model, export_network, load_network, read_export_metadata,
                                        run_exported)

LABELS = ["circle", "square", "triangle", "star"]


def _trained(dl, tmp_path, package: str, base: str, arch: str, name: str):
    """A clone of a built-in model holding weights.pt in the built-in format (as training leaves it)."""
    torch.manual_seed(0)
    net, _ = build_model(arch, len(LABELS), image_size=64, pretrained=False)
    path = tmp_path / "weights.pt"
    torch.save(weights_payload(net, LABELS, {"arch": arch}), path)
    model = dl.packages.get(package_name=package).models.get(model_name=base).clone(
        model_name=name, labels=LABELS, status="trained")
    model.artifacts.upload(path)
    return model, net.eval()


@pytest.fixture(scope="module")
def resnet_files(tmp_path_factory):
    """Both formats of one resnet18 (exporting costs a few seconds each: do it once for the module)."""
    tmp = tmp_path_factory.mktemp("resnet_export")
    torch.manual_seed(0)
    net, _ = build_model("resnet18", len(LABELS), image_size=64, pretrained=False)
    torch.save(weights_payload(net, LABELS, {"arch": "resnet18"}), tmp / "weights.pt")
    model, meta = load_network(tmp / "weights.pt")
    return {fmt: export_network(model, meta, fmt, tmp / f"resnet.{fmt}", name="r18") for fmt in ("onnx", "torchscript")}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_resnet_export_matches_torch_and_carries_its_labels(resnet_files, fmt):
    res = resnet_files[fmt]
    assert res.ok and res.max_abs_diff < 1e-4, res.summary()
    assert res.outputs == ["probabilities"] and res.input_shape == [3, 3, 80, 64]  # unseen batch and height
    meta = read_export_metadata(res.path, fmt)
    labels = meta["labels"] if fmt == "torchscript" else json.loads(meta["labels"])
    assert labels == LABELS and meta["arch"] == "resnet18"
    # The file alone classifies images: probabilities that sum to one per image.
    probs = run_exported(res.path, fmt, np.random.default_rng(1).integers(0, 256, (5, 3, 64, 64)).astype(np.float32))[0]
    assert probs.shape == (5, 4) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_export_model_command_on_a_trained_catalog_model(dl, tmp_path, capsys):
    import desktop_app.cli.serve_commands  # noqa: F401  (registers export-model)
    from desktop_app.cli.main import main

    model, net = _trained(dl, tmp_path, "tinydet", "pretrained-tinydet", "tinydet", "det-v1")
    out = tmp_path / "det.onnx"
    assert main(["export-model", model.id, "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "max abs diff:" in printed and "OK" in printed
    diff = float(printed.split("max abs diff:")[1].split()[0])
    assert diff < 1e-3
    images = np.random.default_rng(2).integers(0, 256, (2, 3, 64, 96)).astype(np.float32)
    heat, dist = run_exported(out, "onnx", images)
    with torch.no_grad():
        ref_heat, ref_dist = net(torch.from_numpy(images))
    assert heat.shape == (2, 4, 64 // net.stride, 96 // net.stride)
    assert np.abs(heat - ref_heat.numpy()).max() < 1e-3 and np.abs(dist - ref_dist.numpy()).max() < 1e-3

    res = export_model(dl.default_client().catalog, model.id, "torchscript", tmp_path / "det.pt")
    assert res.ok and res.outputs == ["heatmap", "box_distances"]


def test_export_refusals(dl, tmp_path):
    catalog = dl.default_client().catalog
    untrained = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet")
    with pytest.raises(ValidationError, match="no weights.pt"):
        export_model(catalog, untrained.id, "onnx", tmp_path / "x.onnx")
    with pytest.raises(ValidationError, match="format must be one of"):
        export_model(catalog, untrained.id, "tflite", tmp_path / "x.tflite")
    torch.save({"state_dict": {}, "arch": "fasterrcnn_mobilenet_v3_large_320_fpn", "labels": LABELS},
               tmp_path / "frcnn.pt")
    with pytest.raises(ValidationError, match="not supported"):
        load_network(tmp_path / "frcnn.pt")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "plain.pt")
    with pytest.raises(ValidationError, match="not a Model Desk weights file"):
        load_network(tmp_path / "plain.pt")


class _Planted:
    """Unpickling this would run a shell command: weights_only=True must refuse it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_weights_are_read_with_weights_only(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "arch": "resnet18", "labels": LABELS,
                "extra": _Planted(marker)}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="cannot read weights"):
        load_network(tmp_path / "evil.pt")
    assert not marker.exists()
