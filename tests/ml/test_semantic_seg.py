"""The semantic segmenters: tinyseg learns the sample masks from random initialisation (mIoU well above a constant
predictor's), LRASPP trains a step and predicts; predictions are binary RLE masks at each image's size."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.domain import masks
from desktop_app.ml.layout import write_layout
from desktop_app.ml.predict import load_for_inference, predict_images
from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
from desktop_app.ml.trainer import train


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine two threads wait on each other (4x slower steps, measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _layout(root, n, size, seed=0):
    bundle = generate_shapes_segmentation(root / "images", n=n, size=size, seed=seed)
    subsets: dict = {}
    for item in bundle.items:
        subsets.setdefault(item.subset, []).append(item)
    return write_layout(root / "data", subsets, bundle.labels), bundle


def _constant_miou(data_path) -> float:
    """The mIoU of predicting background everywhere (the majority class): what 'chance' is here."""
    from desktop_app.evaluation.semantic import evaluate
    from desktop_app.ml.data import SemanticSegmentationDataset
    from desktop_app.ml.layout import read_labels, read_layout

    labels = read_labels(data_path)
    ds = SemanticSegmentationDataset(read_layout(data_path, "validation"), labels, 48, train=False)
    pairs = [(t.numpy(), np.zeros_like(t.numpy())) for _, t, _ in (ds[i] for i in range(len(ds)))]
    return evaluate(pairs, len(labels) + 1).miou


TINYSEG = {"arch": "tinyseg", "image_size": 48, "batch_size": 8, "epochs": 20, "learning_rate": 1e-2,
           "pretrained": False, "num_workers": 0, "device": "cpu", "augment_color_jitter": False}


def test_tinyseg_learns_the_sample_masks_from_random_init(tmp_path, one_thread):
    data, _ = _layout(tmp_path, n=600, size=96)
    t0 = time.perf_counter()
    result = train("semantic_segmentation", data, tmp_path / "out", dict(TINYSEG))
    seconds = time.perf_counter() - t0
    chance = _constant_miou(data)
    best = result.best_metric
    print(f"tinyseg: validation mIoU {best:.3f} (constant predictor {chance:.3f}) after {result.epochs_completed} "
          f"epochs, {result.global_step} steps, in {seconds:.1f} s; pixel accuracy "
          f"{result.history[result.best_epoch]['val_pixel_accuracy']:.3f}")
    assert result.status == "completed" and result.monitor == "val_miou"
    assert {"val_miou", "val_pixel_accuracy", "val_loss", "train_loss"} <= set(result.history[-1])
    assert chance < 0.3
    assert best > 0.6, f"validation mIoU {best:.3f} after {seconds:.0f} s"


def test_lraspp_trains_a_step_and_predicts_masks_at_the_image_size(tmp_path, one_thread):
    data, bundle = _layout(tmp_path, n=10, size=48)
    config = {"arch": "lraspp_mobilenet_v3_large", "image_size": 64, "batch_size": 4, "epochs": 1,
              "pretrained": False, "num_workers": 0, "device": "cpu"}
    result = train("semantic_segmentation", data, tmp_path / "out", config)
    assert result.status == "completed" and result.global_step >= 1 and result.weights_path is not None
    assert 0.0 <= result.best_metric <= 1.0
    bundle_ = load_for_inference(result.weights_path, "cpu", model_name="lraspp-x")
    assert bundle_.task == "semantic_segmentation" and bundle_.model.feature_size == 960
    image = Image.open(bundle.items[0].source).resize((80, 50))
    out = predict_images(bundle_, [image, np.asarray(image)], conf_threshold=0.5)
    assert len(out) == 2
    for anns in out:
        covered = np.zeros((50, 80), bool)
        for a in anns:
            m = masks.decode(a.coordinates)
            assert a.type == "binary" and a.label in bundle.labels and a.model_name == "lraspp-x"
            assert m.shape == (50, 80) and m.any() and not (m & covered).any() and 0.0 < a.score <= 1.0
            covered |= m
    from desktop_app.ml.embedding import embed_images
    assert embed_images(bundle_, [image]).shape == (1, 960)


def test_a_trained_tinyseg_predicts_one_mask_a_class_at_the_image_size(tmp_path, one_thread):
    """An epoch's model read back from its weights file: masks at the image's size (48 px, trained at 32)."""
    data, bundle = _layout(tmp_path, n=40, size=48)
    result = train("semantic_segmentation", data, tmp_path / "out", {**TINYSEG, "epochs": 1, "image_size": 32})
    model = load_for_inference(result.weights_path, "cpu")
    item = bundle.items[0]
    anns = predict_images(model, [item.source])[0]
    assert all(masks.decode(a.coordinates).shape == (48, 48) for a in anns)
    assert len({a.label for a in anns}) == len(anns)             # one annotation a class
