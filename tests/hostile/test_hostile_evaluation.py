"""Hostile evaluation inputs: thresholds out of range / NaN / text, unknown evaluations, datasets and subsets,
a model without weights, and a user's classifier returning malformed predictions.

Each case asserts the app's own error, a message naming the field (and the item, for a prediction), that
nothing was written (catalog rows and store files, `snapshot`), and that the next good call works."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.evaluation.run import score_model
from desktop_app.workflows.evaluate import evaluate_model
from desktop_app.evaluation.store import EvaluationView

MALFORMED = Path(__file__).resolve().parent / "malformed_package"
ORACLE = Path(__file__).resolve().parents[1] / "evaluation" / "oracle_package"


@pytest.fixture
def lab(client, snapshot):
    """A classifier (answers the truth, one item of four wrong) and a box model, each with a stored evaluation."""
    from desktop_app.formats.base import Annotation
    cat = client.catalog
    ds = client.datasets.get("shapes")
    labels = list(ds.labels)
    pkg = client.packages.push(package_name="malformed", src_path=MALFORMED, entry_point="adapter.py",
                               class_name="MalformedAdapter", output_type="class")
    clf = pkg.models.create(model_name="clf", dataset_id=ds.id, labels=labels, project_id=client.sample_project.id)
    preds = {}
    for k, item_id in enumerate(cat.item_ids(ds.id, subset="test")):
        true = cat.list_annotations(item_ids=[item_id], ground_truth=True, types=["class"])[0].label
        label = true if k % 4 else labels[(labels.index(true) + 1) % len(labels)]
        preds[item_id] = [Annotation(type="class", label=label, score=0.5 + (k % 5) / 10)]
    cat.replace_predictions(clf.id, clf.name, preds, ds.id)
    cls_ev = EvaluationView(cat, cat.get_evaluation(score_model(cat, clf.id, ds.id, filters={"subset": "test"},
                                                                name="cls")["evaluation_id"]))
    oracle = client.packages.push(package_name="oracle", src_path=ORACLE, entry_point="adapter.py",
                                  class_name="OracleBoxAdapter", output_type="box")
    det_ds = client.datasets.get("shapes-detection")
    box = oracle.models.create(model_name="boxes", dataset_id=det_ds.id, labels=det_ds.labels,
                               project_id=client.sample_project.id)
    out = evaluate_model(cat, box.id, det_ds.id, filters={"subset": "test"}, name="det")
    det_ev = EvaluationView(cat, cat.get_evaluation(out["evaluation_id"]))
    return {"snap": snapshot, "client": client, "cat": cat, "shapes": ds, "clf": clf, "cls": cls_ev, "det": det_ev,
            "box": box, "det_ds": det_ds}


def _refused(lab, call, error, *words):
    """`call` raises `error` whose message holds every word; the catalog is as it was."""
    before = lab["snap"](lab["cat"])
    with pytest.raises(error) as e:
        call()
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert lab["snap"](lab["cat"]) == before
    return e.value


BAD_THRESHOLDS = [
    ({"score_threshold": -0.1}, "score_threshold"), ({"score_threshold": 1.5}, "score_threshold"),
    ({"score_threshold": math.nan}, "score_threshold"), ({"score_threshold": "0.5"}, "score_threshold"),
    ({"score_threshold": True}, "score_threshold"), ({"score_threshold": [0.5]}, "score_threshold"),
    ({"score_threshold": {"hexagon": 0.5}}, "'hexagon'"),
    ({"score_threshold": {"circle": 2.0}}, "score_threshold['circle']"),
    ({"score_threshold": {"circle": math.nan}}, "score_threshold['circle']"),
    ({"iou_threshold": 0.0}, "iou_threshold"), ({"iou_threshold": math.inf}, "iou_threshold"),
    ({"iou_threshold": "high"}, "iou_threshold"),
]


@pytest.mark.parametrize("method", ["cls", "det"])
@pytest.mark.parametrize("kwargs, field", BAD_THRESHOLDS, ids=[f"{k}={v!r}" for (kw, _) in BAD_THRESHOLDS
                                                                  for k, v in kw.items()])
def test_at_thresholds_refuses_bad_thresholds(lab, method, kwargs, field):
    ev = lab[method]
    good, rows = ev.at_thresholds(score_threshold=0.7), ev.instances("all")
    _refused(lab, lambda: ev.at_thresholds(**kwargs), ValidationError, field)
    _refused(lab, lambda: ev.instances("all", **kwargs), ValidationError, field)
    assert ev.at_thresholds(score_threshold=0.7) == good           # the next good call, unchanged
    assert ev.instances("all") == rows                              # the review kept its thresholds


BAD_INSTANCE_QUERIES = [
    ({"min_score": math.nan}, "min_score"), ({"max_score": "1"}, "max_score"), ({"max_iou": 1.01}, "max_iou"),
    ({"limit": -1}, "limit"), ({"limit": "3"}, "limit"), ({"kind": "gt"}, "kind"), ({"kind": 5}, "kind"),
    ({"label": "hexagon"}, "label 'hexagon'"), ({"sort": "size"}, "sort"),
    ({"score_threshold": math.nan}, "score_threshold"), ({"score_threshold": "high"}, "score_threshold"),
]


@pytest.mark.parametrize("method", ["cls", "det"])
@pytest.mark.parametrize("kwargs, field", BAD_INSTANCE_QUERIES, ids=[f"{k}={v!r}" for (kw, _) in BAD_INSTANCE_QUERIES
                                                                    for k, v in kw.items()])
def test_instances_refuses_bad_queries(lab, method, kwargs, field):
    ev = lab[method]
    good = ev.instances("errors", score_threshold=0.6)
    _refused(lab, lambda: ev.instances(**kwargs), ValidationError, field)
    assert ev.instances("errors") == good and len(good) > 0


def test_an_unknown_evaluation_name(lab):
    clf = lab["clf"]
    _refused(lab, lambda: clf.evaluations.get("cls-typo"), NotFoundError, "'cls-typo'", "'clf'", "cls")
    assert clf.evaluations.get("cls").summary["accuracy"] > 0


def test_evaluating_a_model_without_weights(lab):
    client = lab["client"]
    clone = client.models.get("pretrained-resnet").clone(model_name="weightless")
    _refused(lab, lambda: clone.evaluate(dataset=lab["shapes"], filters={"subset": "test"}), ValidationError,
             "'weightless'", "weights.pt")
    _refused(lab, lambda: clone.predict(item_ids=[1]), ValidationError, "'weightless'", "weights.pt")
    ex = lab["box"].evaluate(dataset=lab["det_ds"], filters={"subset": "validation"}, name="val")
    assert ex.status == "success"


@pytest.mark.parametrize("target, error, words", [
    ({"dataset_id": "no-such-dataset"}, NotFoundError, ("no-such-dataset",)),
    ({"filters": {"subset": "holdout"}}, ValidationError, ("selects no items", "holdout")),
    ({"filters": {"label": "hexagon"}}, ValidationError, ("selects no items", "hexagon")),
])
def test_evaluating_on_an_unknown_dataset_or_an_empty_selection(lab, target, error, words):
    box = lab["box"]
    kwargs = {"dataset_id": lab["det_ds"].id, **target}
    _refused(lab, lambda: box.evaluate(**kwargs), error, *words)
    assert box.evaluate(dataset_id=lab["det_ds"].id, filters={"subset": "test"}, name="det").status == "success"


@pytest.mark.parametrize("kind, field", [
    ("wrong type", "predict returned dict"),
    ("list of dicts", "a prediction is a dict"),
    ("unknown label", "prediction label 'hexagon'"),
    ("nan confidence", "'confidence' nan"),
    ("text confidence", "'confidence' must be a number"),
    ("confidence above 1", "'confidence' 3.5"),
    ("nan score vector", "metadata['scores']"),
])
def test_a_classifier_returning_malformed_predictions(lab, kind, field):
    """Refused before anything is stored, naming the item and the field: never NaN figures or a traceback."""
    cat, clf, ds = lab["cat"], lab["clf"], lab["shapes"]
    test_ids = cat.item_ids(ds.id, subset="test")
    victim = test_ids[7]
    cat.update_model(clf.id, configuration={"malformed": kind, "victim": victim, "batch_size": 1})
    before_preds = sorted((a.item_id, a.label, a.score) for a in cat.list_annotations(model_id=clf.id))
    err = _refused(lab, lambda: evaluate_model(cat, clf.id, ds.id, filters={"subset": "test"}, name="cls",
                                               batch_size=4), ValidationError, f"item {victim}", field)
    assert "Traceback" not in str(err)
    assert sorted((a.item_id, a.label, a.score) for a in cat.list_annotations(model_id=clf.id)) == before_preds
    assert lab["cls"].summary == EvaluationView(cat, cat.find_evaluation(clf.id, "cls")).summary
    # the next good call: the same model, well-behaved again
    cat.update_model(clf.id, configuration={"batch_size": 1})
    out = evaluate_model(cat, clf.id, ds.id, filters={"subset": "test"}, name="cls", batch_size=4)
    assert out["summary"]["accuracy"] == 1.0 and all(math.isfinite(v) for v in out["summary"].values())


def test_a_malformed_prediction_through_the_job_fails_the_job_with_the_item_and_field(lab):
    cat, clf, ds = lab["cat"], lab["clf"], lab["shapes"]
    victim = cat.item_ids(ds.id, subset="test")[3]
    cat.update_model(clf.id, configuration={"malformed": "nan confidence", "victim": victim, "batch_size": 1})
    before = lab["snap"](cat)
    ex = lab["client"].models.get(model_id=clf.id).evaluate(dataset=ds, filters={"subset": "test"}, name="cls")
    assert ex.status == "failed"
    assert ex.error.startswith("ValidationError: ") and f"item {victim}" in ex.error and "'confidence' nan" in ex.error
    after = lab["snap"](cat)
    assert after["store"] == before["store"]
    assert {t: n for t, n in after["rows"].items() if t not in ("executions", "metrics")} == \
        {t: n for t, n in before["rows"].items() if t not in ("executions", "metrics")}
    cat.update_model(clf.id, configuration={"batch_size": 1})
    assert lab["client"].models.get(model_id=clf.id).evaluate(dataset=ds, filters={"subset": "test"},
                                                              name="cls").status == "success"
