"""Built-in models with weights of their own for the embedding tests: random weights, written as training writes
them (weights.pt in the built-in format), so no test trains."""

from __future__ import annotations

from pathlib import Path

import torch

from desktop_app.ml.models import build_model, weights_payload


def upload_weights(model, folder: Path, *, seed: int = 0, image_size: int = 32) -> None:
    """Give `model` (an SDK resnet18 model) new random weights: its artifacts, so its weights sha, change."""
    torch.manual_seed(seed)
    net, _ = build_model("resnet18", len(model.labels), image_size=image_size, pretrained=False)
    path = Path(folder) / f"weights-{seed}" / "weights.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights_payload(net, list(model.labels), {"arch": "resnet18"}), path)
    model.artifacts.upload(path, artifact_name="weights.pt")


def resnet_with_weights(dl, folder: Path, name: str = "embedder", *, seed: int = 0):
    """(a trained-looking resnet18 clone on the sample 'shapes' dataset, that dataset)."""
    ds = dl.datasets.get("shapes")
    model = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet").clone(
        model_name=name, dataset=ds, status="trained")
    upload_weights(model, folder, seed=seed)
    return model, ds
