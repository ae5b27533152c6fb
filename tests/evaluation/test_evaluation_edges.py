"""Classification figures at the edges, against scikit-learn: thresholds from 0 to above every score,
items without a prediction, and a custom classifier that reports only Dataloop's model_info confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.evaluation.classification import evaluate_classification
from desktop_app.evaluation.run import score_model
from desktop_app.workflows.evaluate import evaluate_model
from desktop_app.evaluation.store import EvaluationView

sklearn = pytest.importorskip("sklearn")
from digits import LABELS, digits_dataset, digits_model, sklearn_at, stored_predictions  # noqa: E402
from sklearn.metrics import (average_precision_score, precision_recall_fscore_support,  # noqa: E402
                             roc_auc_score, top_k_accuracy_score)

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_package"
AVERAGES = ("macro_precision", "macro_recall", "macro_f1", "weighted_precision", "weighted_recall", "weighted_f1")


@pytest.fixture
def digits(client, tmp_path):
    return digits_dataset(client, tmp_path)


def _view(client, out) -> EvaluationView:
    return EvaluationView(client.catalog, client.catalog.get_evaluation(out["evaluation_id"]))


def _thresholds(p) -> list[float]:
    top = float(p["score"].max())
    assert top < 0.995
    return [0.0, 0.5, float(np.median(p["score"])), 0.96, top, 0.995, 1.0]   # 0.995: above every score


def _check_against_sklearn(ev: EvaluationView, p: dict, thr: float) -> dict:
    at = ev.at_thresholds(score_threshold=thr)
    sk = sklearn_at(p, thr)
    s = at["summary"]
    assert s["accuracy"] == pytest.approx(sk["accuracy"], abs=1e-12), thr
    for key in AVERAGES:
        assert s[key] == pytest.approx(sk[key], abs=1e-12), (thr, key)
    assert list(at["per_class"]) == LABELS          # the dataset's classes, no "(no prediction)" class
    for c, row in sk["per_class"].items():
        for key, value in row.items():
            assert at["per_class"][c][key] == pytest.approx(value, abs=1e-12), (thr, c, key)
    assert at["confusion"]["labels"] == LABELS + ["(no prediction)"]
    assert at["confusion"]["matrix"] == sk["confusion"].tolist()
    assert (s["tp"], s["fp"], s["fn"]) == (sk["tp"], sk["fp"], sk["fn"])
    # per class: a wrong class is an FP of the class predicted and an FN of the true class
    for key in ("tp", "fp", "fn"):
        assert sum(r[key] for r in at["per_class"].values()) == s[key]
    # the instances the error gallery lists count the same
    rows = ev.instances("all", score_threshold=thr)
    assert {k: sum(r["kind"] == k for r in rows) for k in ("tp", "fp", "fn")} == \
        {"tp": sk["tp"], "fp": sk["fp"], "fn": sk["fn"]}
    return at


def test_figures_at_every_threshold_match_sklearn_over_the_dataset_classes(client, digits, tmp_path):
    model = digits_model(client, digits, tmp_path, vector=True)
    ev = _view(client, evaluate_model(client.catalog, model.id, digits.id, name="digits"))
    p = stored_predictions(client.catalog, model.id, digits.id)
    assert len(p["item_ids"]) == 597 and 0.7 < ev.summary["accuracy"] < 0.95
    for thr in _thresholds(p):
        at = _check_against_sklearn(ev, p, thr)
        if thr > p["score"].max():
            assert at["summary"]["accuracy"] == 0.0 and at["summary"]["fp"] == 0
            assert at["summary"]["fn"] == 597
    # The stored figures (every threshold): top-k and the curves from the score vectors.
    stored = ev.summary
    sk0 = sklearn_at(p, 0.0)
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"):
        assert stored[key] == pytest.approx(sk0[key], abs=1e-12), key
    assert stored["top3_accuracy"] == pytest.approx(top_k_accuracy_score(p["true"], p["vectors"], k=3,
                                                                         labels=list(range(10))), abs=1e-12)
    for c in range(10):
        row = ev.per_class[str(c)]
        assert row["ap"] == pytest.approx(average_precision_score(p["true"] == c, p["vectors"][:, c]), abs=1e-12)
        assert row["roc_auc"] == pytest.approx(roc_auc_score(p["true"] == c, p["vectors"][:, c]), abs=1e-12)


def test_items_without_a_prediction_miss_their_class_and_are_no_class(client, digits, tmp_path):
    model = digits_model(client, digits, tmp_path)
    evaluate_model(client.catalog, model.id, digits.id, name="all")
    cat = client.catalog
    p = stored_predictions(cat, model.id, digits.id)
    dropped = p["item_ids"][::7]
    for a in cat.list_annotations(item_ids=dropped, model_id=model.id):
        cat.delete_annotation(a.id)
    ev = _view(client, score_model(cat, model.id, digits.id, name="some missing"))
    y_pred = np.where(np.isin(p["item_ids"], dropped), -1, p["pred"])
    for avg in ("macro", "weighted"):
        pr, rc, f1, _ = precision_recall_fscore_support(p["true"], y_pred, labels=list(range(10)), average=avg,
                                                        zero_division=0)
        assert ev.summary[f"{avg}_f1"] == pytest.approx(f1, abs=1e-12)
        if avg == "macro":
            assert (ev.summary["macro_precision"], ev.summary["macro_recall"]) == \
                (pytest.approx(pr, abs=1e-12), pytest.approx(rc, abs=1e-12))
    assert "(no prediction)" not in ev.per_class
    assert ev.results["confusion"]["labels"][-1] == "(no prediction)"
    missing = dict(p, pred=y_pred, score=np.where(y_pred < 0, 0.0, p["score"]))
    for thr in (0.0, 0.7, 1.0):
        _check_against_sklearn(ev, missing, thr)


@pytest.mark.parametrize("seed", range(5))
def test_evaluate_classification_abstentions_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, C = 300, 6
    y_true = rng.integers(0, C - 1, n)            # the last class never occurs in the truth ...
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, C, n))
    y_pred[rng.random(n) < 0.15] = -1             # ... and some items get no prediction
    r = evaluate_classification(y_true, y_pred, labels=list("abcdef"))
    present = sorted(set(y_true.tolist()) | set(y_pred[y_pred >= 0].tolist()))   # sklearn's default labels
    for avg in ("macro", "weighted"):
        want = precision_recall_fscore_support(y_true, y_pred, labels=present, average=avg, zero_division=0)
        got = getattr(r, avg)
        assert (got["precision"], got["recall"], got["f1"]) == tuple(pytest.approx(v, abs=1e-12) for v in want[:3])
    per = precision_recall_fscore_support(y_true, y_pred, labels=list(range(C)), average=None, zero_division=0)
    np.testing.assert_allclose(np.stack([r.precision, r.recall, r.f1]), np.stack(per[:3]), atol=1e-12)
    assert r.accuracy == pytest.approx(float(np.mean(y_true == y_pred)))
    assert r.labels[-1] == "(no prediction)" and len(r.per_class()) == C


def test_a_classifier_reporting_only_model_info_confidence(client, digits, tmp_path):
    """The Dataloop way (model_info={'confidence': ...}, no metadata['scores']): the confidence is the score,
    so instances, thresholds and sweeps work; there is no top-k or PR curve without a vector."""
    model = digits_model(client, digits, tmp_path, name="confidence-only")
    execution = model.evaluate(dataset=digits, name="digits")          # through the job queue, as a user would
    assert execution.status == "success", execution.logs()
    ev = model.evaluations.get("digits")
    p = stored_predictions(client.catalog, model.id, digits.id)
    assert p["vectors"] is None and np.isfinite(p["score"]).all()
    assert "top3_accuracy" not in ev.summary and "ap" not in ev.per_class["3"]
    at0 = _check_against_sklearn(ev, p, 0.0)
    assert at0["summary"]["accuracy"] == pytest.approx(ev.summary["accuracy"]) and ev.summary["accuracy"] > 0.7
    rows = ev.instances("tp", score_threshold=0.0)
    assert rows and all(r["score"] is not None and r["label"] == r["true_label"] for r in rows)
    by_item = dict(zip(p["item_ids"], p["score"]))
    assert all(r["score"] == pytest.approx(by_item[r["item_id"]]) for r in rows)
    _check_against_sklearn(ev, p, 0.9)
    sweeps = ev.review().pr_sweeps()
    assert set(sweeps) == set(LABELS) and all(sw["recall"].shape[0] > 1 for sw in sweeps.values())


def test_the_example_package_evaluates_with_its_confidences(dl):
    """resources/example_package reports model_info confidence only; its figures agree at every threshold."""
    pytest.importorskip("torch")
    pkg = dl.packages.push(package_name="small-cnn", src_path=EXAMPLE, entry_point="adapter.py",
                           class_name="SmallCNNAdapter", default_configuration={"image_size": 16})
    ds = dl.datasets.get("shapes")
    model = pkg.models.create(model_name="cnn", dataset_id=ds.id, labels=ds.labels,
                              project_id=dl.projects.get("Sample project").id)
    cat = dl.default_client().catalog
    ev = _view(dl.default_client(), evaluate_model(cat, model.id, ds.id, filters={"subset": "test"}, name="t"))
    items = ev.results["items"]
    assert all(s is not None and 0 < s <= 1 for s in items["score"])
    at0 = ev.at_thresholds(score_threshold=0.0)
    assert at0["summary"]["accuracy"] == pytest.approx(ev.summary["accuracy"])
    assert at0["summary"]["macro_f1"] == pytest.approx(ev.summary["macro_f1"])
    rows = ev.instances("all", score_threshold=0.0)
    assert sum(r["kind"] == "tp" for r in rows) == round(ev.summary["accuracy"] * len(items["item_ids"]))
    assert all(r["score"] is not None for r in rows if r["kind"] in ("tp", "fp"))
    mid = float(np.median(items["score"]))
    y_true = np.array([ds.labels.index(t) for t in items["true"]])
    y_pred = np.array([ds.labels.index(q) if s >= mid else -1 for q, s in zip(items["pred"], items["score"])])
    want = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(ds.labels))), average="macro",
                                           zero_division=0)
    assert ev.at_thresholds(score_threshold=mid)["summary"]["macro_f1"] == pytest.approx(want[2], abs=1e-12)


def test_an_evaluation_scored_before_annotation_ids_were_kept_still_tags_its_annotations(client, digits, tmp_path):
    """Older classification evaluations kept no annotation ids: review finds the same ones the scorer picked, so
    the review viewer colours a right prediction TP (it drew every prediction as an FP)."""
    cat = client.catalog
    model = digits_model(client, digits, tmp_path)
    ev = _view(client, evaluate_model(cat, model.id, digits.id, name="old"))
    new = ev.review()
    tags_new = {i: new.item_tags(i) for i in ev.results["items"]["item_ids"][:40]}
    results = dict(ev.results)
    results["items"] = {k: v for k, v in results["items"].items() if k not in ("true_id", "pred_id")}
    cat.update_evaluation(ev.id, results=results)
    old = EvaluationView(cat, cat.get_evaluation(ev.id)).review()
    assert {i: old.item_tags(i) for i in tags_new} == tags_new
    kinds = [k for t in tags_new.values() for k in t.values()]
    assert {"tp", "gt"} <= set(kinds) and len(kinds) == 80       # a prediction and a ground truth per item
