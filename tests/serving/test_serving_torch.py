"""A trained built-in torch classifier (weights.pt in the built-in format) served over HTTP, as predicted in-process."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import torch

from desktop_app.ml.models import build_model, weights_payload

pytest.importorskip("desktop_app.ml.predict", reason="the built-in inference module is not there yet")

LABELS = ["circle", "square", "triangle", "star"]


def test_trained_resnet_served_matches_in_process_predictions(dl, tmp_path):
    torch.manual_seed(0)
    net, _ = build_model("resnet18", len(LABELS), image_size=64, pretrained=False)
    torch.save(weights_payload(net, LABELS, {"arch": "resnet18", "image_size": 64}), tmp_path / "weights.pt")
    base = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet")
    model = base.clone(model_name="r18-served", labels=LABELS, status="trained",
                       configuration={"conf_threshold": 0.0, "device": "cpu"})
    model.artifacts.upload(tmp_path / "weights.pt")
    item = base.dataset.items.list(limit=1)[0]
    data = item.local_path.read_bytes()
    from PIL import Image
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    local = model.package.build(model_entity=model).predict([rgb])[0]
    expected = sorted((a.label, round(float(a.score), 4)) for a in local)
    assert expected and all(label in LABELS for label, _ in expected)

    service = model.deploy()
    try:
        assert model.status == "deployed"
        r = httpx.post(f"{service.url}/predictions/{model.name}", content=data, timeout=60.0)
        assert r.status_code == 200, r.text
        got = sorted((a["label"], round(a["metadata"]["user"]["model"]["confidence"], 4)) for a in r.json())
        assert got == expected
        assert all(a["type"] == "class" for a in r.json())
    finally:
        service.stop()
    assert model.refresh().status == "trained"
