"""A semantic segmentation model ("semantic" output) scored from its stored masks: the pixel confusion matrix,
mIoU, per-class IoU and accuracies equal a plain numpy reference on random label maps (ground truth painted in
order, polygons too, ignore masks left out); the review lists items worst first, and regressions between two
models are the items whose classes fall under the IoU threshold."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop_app.catalog import Catalog
from desktop_app.domain import masks as dm
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.errors import ValidationError
from desktop_app.evaluation.run import score_model
from desktop_app.evaluation.store import EvaluationView

LABELS = ["road", "car", "tree"]
C = len(LABELS) + 1


def _blocky(rng, h, w):
    """A random label map of blocks 0..3 (block size 4..10 px)."""
    s = int(rng.integers(4, 11))
    small = rng.integers(0, C, size=(h // s + 1, w // s + 1))
    return np.kron(small, np.ones((s, s), np.int64))[:h, :w].astype(np.uint8)


def _as_masks(label_map, score=None):
    return [Annotation(type="binary", label=LABELS[k - 1], coordinates=dm.encode(label_map == k), score=score)
            for k in range(1, C) if (label_map == k).any()]


@pytest.fixture
def semantic_set(tmp_path):
    rng = np.random.default_rng(3)
    cat = Catalog(tmp_path / "cat")
    project = cat.create_project("p")
    ds = cat.create_dataset(project.id, "streets", labels=LABELS)
    entries, truth, preds_a, preds_b = [], [], [], []
    for n in range(24):
        h, w = int(rng.integers(20, 50)), int(rng.integers(20, 50))
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (w, h)).save(path)
        gt = _blocky(rng, h, w).astype(np.int64)
        anns = _as_masks(gt)
        if n % 3 == 0:        # a polygon painted over the masks (a later annotation wins)
            x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
            ring = [[x0, y0], [x0 + w // 3, y0], [x0 + w // 3, y0 + h // 3], [x0, y0 + h // 3]]
            anns.append(Annotation(type="segment", label="tree", coordinates=[ring]))
            gt[dm.polygon_to_mask([ring], h, w)] = 3
        meta = {}
        if n % 4 == 1:        # pixels nobody scores
            ignore = np.zeros((h, w), bool)
            ignore[: h // 4, :] = True
            meta["ignore_mask"] = dm.encode(ignore)
            gt[ignore] = 255
        noisy = np.where(rng.random((h, w)) < (0.05 if n % 2 else 0.3), rng.integers(0, C, (h, w)), gt)
        pa = np.where(gt == 255, _blocky(rng, h, w), noisy).astype(np.uint8)
        pb = pa.copy()
        if n in (2, 5, 7):                           # model b ruins a few items
            pb[:] = 1
        entries.append(ImageEntry(source=path, name=path.name, width=w, height=h, annotations=anns, metadata=meta))
        truth.append(gt)
        preds_a.append(pa)
        preds_b.append(pb)
    ids = cat.import_bundle(ds.id, DatasetBundle(labels=LABELS, items=entries))
    package = cat.create_package("sem", project_id=project.id, output_type="semantic")
    models = []
    for name, preds in (("sem-a", preds_a), ("sem-b", preds_b)):
        m = cat.create_model(name, project_id=project.id, package_id=package.id, labels=LABELS,
                             output_type="semantic")
        cat.replace_predictions(m.id, m.name, {i: _as_masks(p, 0.9) for i, p in zip(ids, preds)}, ds.id)
        models.append(m)
    yield cat, ds, models, ids, truth, [preds_a, preds_b]
    cat.close()


def _reference(truth, preds):
    """Confusion matrix IoU the plain numpy way."""
    m = np.zeros((C, C), np.int64)
    per_item = []
    for g, p in zip(truth, preds):
        keep = g != 255
        one = np.bincount(g[keep] * C + p[keep].astype(np.int64), minlength=C * C).reshape(C, C)
        m += one
        tp = np.diag(one)
        union = one.sum(0) + one.sum(1) - tp
        iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
        per_item.append(iou)
    tp = np.diag(m)
    union = m.sum(0) + m.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    acc = np.where(m.sum(1) > 0, tp / np.maximum(m.sum(1), 1), np.nan)
    return m, iou, acc, np.array(per_item)


def test_semantic_figures_equal_a_numpy_confusion_matrix_reference(semantic_set):
    cat, ds, (a, _), ids, truth, (preds_a, _) = semantic_set
    out = score_model(cat, a.id, ds.id)
    assert out["method"] == "semantic"
    rec = cat.get_evaluation(out["evaluation_id"])
    r = rec.results
    m, iou, acc, _ = _reference(truth, preds_a)
    assert r["confusion"]["labels"] == ["background", *LABELS]
    assert r["confusion"]["matrix"] == m.tolist()
    assert r["summary"]["miou"] == pytest.approx(np.nanmean(iou), abs=1e-12)
    assert r["summary"]["pixel_accuracy"] == pytest.approx(np.trace(m) / m.sum(), abs=1e-12)
    assert r["summary"]["mean_accuracy"] == pytest.approx(np.nanmean(acc), abs=1e-12)
    for k, lb in enumerate(["background", *LABELS]):
        assert r["per_class"][lb]["iou"] == pytest.approx(iou[k], abs=1e-12)
        assert r["per_class"][lb]["accuracy"] == pytest.approx(acc[k], abs=1e-12)
    assert 0.4 < r["summary"]["miou"] < 1.0
    # the figures sit beside the training curves, and no threshold changes them
    view = EvaluationView(cat, rec)
    assert view.at_thresholds(iou_threshold=0.9)["summary"] == r["summary"]
    with pytest.raises(ValidationError, match="no instances; worst_items"):
        view.instances("fp")


def test_semantic_review_lists_items_worst_first_and_regressions_compare_two_models(semantic_set):
    cat, ds, (a, b), ids, truth, (preds_a, preds_b) = semantic_set
    va = EvaluationView(cat, cat.get_evaluation(score_model(cat, a.id, ds.id)["evaluation_id"]))
    vb = EvaluationView(cat, cat.get_evaluation(score_model(cat, b.id, ds.id)["evaluation_id"]))
    _, _, _, per_item = _reference(truth, preds_a)
    miou = np.nanmean(per_item, axis=1)
    rows = va.worst_items()
    assert [r["item_id"] for r in rows] == [ids[k] for k in np.argsort(miou, kind="stable")]
    assert [r["miou"] for r in rows] == pytest.approx(np.sort(miou).tolist(), abs=1e-12)
    assert rows[0]["miou"] <= rows[-1]["miou"] and rows[0]["item_id"] in [ids[k] for k in range(0, 24, 2)]
    car = va.worst_items(label="car", limit=3)
    k_car = per_item[:, 2]
    want = [ids[k] for k in np.argsort(np.where(np.isnan(k_car), np.inf, k_car), kind="stable")[:3]]
    assert [r["item_id"] for r in car] == want and all(r["iou"] == r["per_class"]["car"] for r in car)
    first = rows[0]
    assert first["below"] == [lb for lb, v in first["per_class"].items() if v < 0.5]
    # regressions: items b gets wrong (a class under the IoU threshold) that a got right
    _, _, _, per_b = _reference(truth, preds_b)
    wrong_a = (np.nan_to_num(per_item, nan=1.0) < 0.5).sum(1)
    wrong_b = (np.nan_to_num(per_b, nan=1.0) < 0.5).sum(1)
    want = sorted((ids[k] for k in range(24) if wrong_b[k] and not wrong_a[k]),
                  key=lambda i: (-wrong_b[ids.index(i)], i))
    assert want and vb.regressions(va) == want
    assert set(want) <= {ids[2], ids[5], ids[7]}
    # a stricter threshold counts more mistakes
    loose = sum(va.review().item_errors().values())
    va.review().update(iou_threshold=0.95)
    assert loose < sum(va.review().item_errors().values())


def test_semantic_refusals_name_the_item(semantic_set, tmp_path):
    from desktop_app.evaluation.semantic_scoring import SemanticItems
    cat, ds, (a, _), ids, _, _ = semantic_set
    rec = cat.get_evaluation(score_model(cat, a.id, ds.id)["evaluation_id"])
    data = cat.store.path(rec.cache_sha).read_bytes()
    assert SemanticItems.from_npz(data).item_ids.tolist() == ids
    import io
    z = dict(np.load(io.BytesIO(data)))
    z["inter"] = z["union"] + 1
    buf = io.BytesIO()
    np.savez(buf, **z)
    with pytest.raises(ValidationError, match="evaluation 'x'.*larger than its union"):
        SemanticItems.from_npz(buf.getvalue(), where="evaluation 'x'")
    it = cat.get_item(ids[3])
    cat.update_item(it.id, metadata={"ignore_mask": {"size": [1, 1], "counts": "0"}})
    with pytest.raises(ValidationError, match=f"item {it.id}: metadata 'ignore_mask'.*does not match"):
        score_model(cat, a.id, ds.id)
