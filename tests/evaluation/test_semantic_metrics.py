"""Semantic segmentation metrics (evaluation.semantic) against a plain numpy confusion-matrix reference written
here: random label maps, absent classes (NaN, left out of the means), the ignore index, accumulation."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation import semantic


def reference(pairs, n, ignore=255):
    """The textbook way: a confusion matrix by a double loop over classes, IoU = TP / (TP + FP + FN)."""
    cm = np.zeros((n, n), dtype=np.int64)
    for gt, pred in pairs:
        keep = gt != ignore
        for i in range(n):
            for j in range(n):
                cm[i, j] += int(np.sum((gt[keep] == i) & (pred[keep] == j)))
    iou, acc = [], []
    for k in range(n):
        tp = cm[k, k]
        fp = cm[:, k].sum() - tp
        fn = cm[k, :].sum() - tp
        iou.append(tp / (tp + fp + fn) if tp + fp + fn else np.nan)
        acc.append(tp / cm[k, :].sum() if cm[k, :].sum() else np.nan)
    iou, acc = np.array(iou, float), np.array(acc, float)
    return cm, iou, acc, np.nanmean(iou), np.trace(cm) / cm.sum(), np.nanmean(acc)


def _pairs(rng, n_images, n, absent=(), ignore_frac=0.1):
    pairs = []
    for _ in range(n_images):
        h, w = (int(v) for v in rng.integers(5, 40, 2))
        classes = [c for c in range(n) if c not in absent]
        gt = rng.choice(classes, size=(h, w))
        pred = np.where(rng.random((h, w)) < 0.6, gt, rng.choice(classes, size=(h, w)))
        gt[rng.random((h, w)) < ignore_frac] = 255
        pairs.append((gt.astype(np.uint8), pred.astype(np.uint8)))
    return pairs


@pytest.mark.parametrize("seed, n, absent", [(0, 2, ()), (1, 5, ()), (2, 7, (3,)), (3, 10, (0, 9)), (4, 21, (4, 5, 6))])
def test_metrics_equal_the_numpy_reference(seed, n, absent):
    rng = np.random.default_rng(seed)
    pairs = _pairs(rng, 6, n, absent)
    cm, iou, acc, miou, pa, macc = reference(pairs, n)
    r = semantic.evaluate(pairs, n)
    assert (r.matrix == cm).all() and r.matrix.dtype == np.int64
    np.testing.assert_allclose(r.iou, iou, equal_nan=True)
    np.testing.assert_allclose(r.accuracy, acc, equal_nan=True)
    assert r.miou == pytest.approx(miou) and r.pixel_accuracy == pytest.approx(pa)
    assert r.mean_accuracy == pytest.approx(macc)
    for k in absent:   # neither in the ground truth nor predicted: NaN, left out of the mean
        assert np.isnan(r.iou[k]) and np.isnan(r.accuracy[k])
    assert r.miou == pytest.approx(np.mean([v for v in r.iou if not np.isnan(v)]))


def test_a_class_predicted_but_never_true_counts_as_zero_iou():
    gt = np.array([[0, 0], [1, 1]], np.uint8)
    pred = np.array([[0, 2], [1, 1]], np.uint8)
    r = semantic.evaluate([(gt, pred)], 3, ["bg", "cat", "dog"])
    assert r.iou.tolist()[:2] == [0.5, 1.0] and r.iou[2] == 0.0
    assert np.isnan(r.accuracy[2]) and r.mean_accuracy == pytest.approx(0.75)
    assert r.miou == pytest.approx(0.5) and r.pixel_accuracy == pytest.approx(0.75)
    d = r.to_dict()
    assert d["per_class"]["dog"] == {"iou": 0.0, "accuracy": None, "pixels": 0}
    assert d["confusion"] == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]   # rows ground truth, columns prediction


def test_accumulating_image_by_image_equals_one_big_image():
    rng = np.random.default_rng(9)
    pairs = _pairs(rng, 5, 4)
    acc = semantic.SemanticAccumulator(4)
    for g, p in pairs:
        acc.add(g, p)
    flat_g = np.concatenate([g.ravel() for g, _ in pairs])
    flat_p = np.concatenate([p.ravel() for _, p in pairs])
    whole = semantic.evaluate([(flat_g, flat_p)], 4)
    assert (acc.result().matrix == whole.matrix).all() and acc.images == 5


def test_ignore_pixels_are_left_out_and_everything_ignored_gives_nan():
    gt = np.full((3, 3), 255, np.uint8)
    r = semantic.evaluate([(gt, np.zeros((3, 3), np.uint8))], 2)
    assert r.matrix.sum() == 0 and np.isnan(r.miou) and np.isnan(r.pixel_accuracy)


def test_bad_inputs_are_refused_naming_the_image():
    with pytest.raises(ValidationError, match="image 0: prediction is \\(2, 3\\) but the ground truth is \\(3, 2\\)"):
        semantic.evaluate([(np.zeros((3, 2), int), np.zeros((2, 3), int))], 2)
    with pytest.raises(ValidationError, match="ground truth holds class index 7, outside 0..1"):
        semantic.evaluate([(np.full((2, 2), 7), np.zeros((2, 2), int))], 2)
    with pytest.raises(ValidationError, match="prediction holds class index 255"):
        semantic.evaluate([(np.zeros((2, 2), int), np.full((2, 2), 255))], 2)
    with pytest.raises(ValidationError, match="3 labels for 2 classes"):
        semantic.SemanticAccumulator(2, ["a", "b", "c"])
