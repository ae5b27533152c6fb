"""The defaults a newcomer gets must actually learn the built-in sample project (slow: real training)."""

from __future__ import annotations

import time

import pytest

from desktop_app.ml.predict import load_for_inference, predict_images
from desktop_app.ml.layout import read_layout
from desktop_app.ml.trainer import train


@pytest.mark.slow
def test_resnet18_defaults_reach_90_percent_from_random_init(layout_factory, tmp_path):
    data, _ = layout_factory(tmp_path, "classification", 1000)
    t0 = time.perf_counter()
    result = train("classification", data, tmp_path / "out", {"arch": "resnet18", "pretrained": False})
    elapsed = time.perf_counter() - t0
    print(f"resnet18 defaults: best val accuracy {result.best_metric:.3f} at epoch {result.best_epoch}, "
          f"{elapsed:.0f} s")
    assert result.best_metric > 0.90


# A small set at 96 px so that the test stays under ~30 s on two idle cores.
DET_N, DET_SIZE, DET_EPOCHS, DET_THRESHOLD = 400, 96, 8, 0.25


@pytest.mark.slow
def test_tinydet_learns_the_sample_shapes(layout_factory, tmp_path):
    data, _ = layout_factory(tmp_path, "detection", DET_N, size=DET_SIZE)
    cfg = {"arch": "tinydet", "image_size": DET_SIZE, "epochs": DET_EPOCHS, "pretrained": False}
    result = train("detection", data, tmp_path / "out", cfg)
    maps = [m["val_map50"] for m in result.history]
    print(f"tinydet val mAP@0.5 per epoch: {[round(m, 3) for m in maps]}")
    assert max(maps) > DET_THRESHOLD and max(maps) > maps[0]
    bundle = load_for_inference(result.weights_path, device="cpu")
    item = read_layout(data, "validation")[0]
    (anns,) = predict_images(bundle, [item.source], conf_threshold=0.3)
    assert all(a.type == "box" and len(a.coordinates) == 4 for a in anns)

