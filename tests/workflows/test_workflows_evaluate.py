"""Evaluating runs the adapter's evaluate_model / evaluate (overrides included) and keeps what they return;
an evaluation keeps the IoU threshold it was scored at and re-scoring uses it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.catalog import Catalog, schema
from desktop_app.evaluation.run import rescore, score_model
from desktop_app.workflows.evaluate import CUSTOM_METHOD, evaluate_model

OVERRIDES = Path(__file__).parent / "override_package"
ORACLE = Path(__file__).parents[1] / "evaluation" / "oracle_package"
TEST = {"subset": "test"}


def _model(dl, tmp_path, entry_point, class_name, package_name):
    pkg = dl.packages.push(package_name=package_name, src_path=OVERRIDES if entry_point == "adapters.py" else ORACLE,
                           entry_point=entry_point, class_name=class_name, output_type="box")
    ds = dl.datasets.get("shapes-detection")
    model = pkg.models.create(model_name=f"{package_name}-v1", dataset_id=ds.id, labels=ds.labels,
                              project_id=dl.projects.get("Sample project").id,
                              configuration={"record": str(tmp_path / f"{package_name}.json")})
    return model, ds


def _calls(tmp_path, package_name):
    return json.loads((tmp_path / f"{package_name}.json").read_text())


def test_an_overridden_evaluate_runs_in_the_evaluate_job_and_the_evaluation_keeps_its_figures(dl, tmp_path):
    model, ds = _model(dl, tmp_path, "adapters.py", "OwnScore", "own-score")
    ex = model.evaluate(dataset=ds, filters=TEST, name="mine", iou_threshold=0.6)
    assert ex.status == "success", ex.error
    [call] = _calls(tmp_path, "own-score")
    assert call["method"] == "evaluate" and call["model_id"] == model.id and call["dataset_id"] == ds.id
    assert call["filters"] == TEST and call["kwargs"]["name"] == "mine" and call["kwargs"]["iou_threshold"] == 0.6
    n_test = ds.items.count(filters=TEST)
    ev = model.evaluations.get("mine")
    assert ev.method == CUSTOM_METHOD
    assert ev.summary == {"covered": 1.0, "items": n_test}       # what evaluate() returned, nothing else
    assert ev.results["note"] == "own scorer"
    assert ev.record.iou_threshold == 0.6 and ev.record.filter == TEST
    assert ex.output["evaluation_id"] == ev.id and ex.output["summary"] == ev.summary
    # The default evaluate_model predicted (and stored the predictions) before calling evaluate.
    cat = dl.default_client().catalog
    assert {a.item_id for a in cat.list_annotations(model_id=model.id)} == set(cat.item_ids(ds.id, **TEST))


def test_an_overridden_evaluate_model_is_called_and_its_result_kept(dl, tmp_path):
    model, ds = _model(dl, tmp_path, "adapters.py", "WrapsEvaluateModel", "wraps")
    cat = dl.default_client().catalog
    out = evaluate_model(cat, model.id, ds.id, filters=TEST, name="wrapped", iou_threshold=0.5)
    [call] = _calls(tmp_path, "wraps")
    assert call["method"] == "evaluate_model" and call["kwargs"]["name"] == "wrapped"
    ev = model.evaluations.get("wrapped")
    assert [e.name for e in model.evaluations.list()] == ["wrapped"]   # the built-in's record replaced by its own
    assert ev.method == CUSTOM_METHOD and ev.summary["wrapped"] == 1.0
    assert 0.0 < ev.summary["mAP"] <= 1.0 and out["summary"] == ev.summary


def test_an_adapter_without_overrides_predicts_then_scores_with_the_built_in(dl, tmp_path):
    model, ds = _model(dl, tmp_path, "adapter.py", "OracleBoxAdapter", "oracle")
    cat = dl.default_client().catalog
    out = evaluate_model(cat, model.id, ds.id, filters=TEST, iou_threshold=0.5)
    assert out["method"] == "coco" and out["name"] == "shapes-detection-test"
    assert out["items_per_second"] and "mAP" in out["summary"]


def test_an_evaluation_keeps_its_iou_threshold_and_re_scoring_uses_it(dl, tmp_path):
    model, ds = _model(dl, tmp_path, "adapter.py", "OracleBoxAdapter", "oracle")
    cat = dl.default_client().catalog
    strict = evaluate_model(cat, model.id, ds.id, filters=TEST, name="strict", iou_threshold=0.8,
                            conf_threshold=0.2)
    rec = cat.get_evaluation(strict["evaluation_id"])
    assert (rec.iou_threshold, rec.conf_threshold) == (0.8, 0.2)
    view = model.evaluations.get("strict")
    assert view.iou_threshold == 0.8 and view.session().iou_threshold == 0.8
    loose = score_model(cat, model.id, ds.id, filters=TEST, name="loose", iou_threshold=0.3, conf_threshold=0.2)
    assert loose["summary"]["tp"] > strict["summary"]["tp"]      # the threshold made a difference
    # Re-scoring (by id, through the SDK's view, or by name without thresholds) keeps the evaluation's own.
    again = rescore(cat, strict["evaluation_id"])
    assert again["summary"] == strict["summary"]
    assert cat.get_evaluation(again["evaluation_id"]).iou_threshold == 0.8
    view = model.evaluations.get("strict").rescore()
    assert view.iou_threshold == 0.8 and view.summary == strict["summary"]
    by_name = score_model(cat, model.id, ds.id, filters=TEST, name="strict")
    assert by_name["summary"] == strict["summary"]
    assert cat.get_evaluation(by_name["evaluation_id"]).conf_threshold == 0.2
    # Told otherwise, it scores at the new threshold and keeps that one.
    told = model.evaluations.get("strict").rescore(iou_threshold=0.3)
    assert told.iou_threshold == 0.3 and told.summary == loose["summary"]


def test_an_older_catalog_s_evaluations_read_as_scored_at_iou_0_5(tmp_path):
    path = tmp_path / "old"
    path.mkdir()
    conn = sqlite3.connect(path / "catalog.db", isolation_level=None)
    schema.migrate(conn, target=3)   # before evaluations kept their IoU threshold
    conn.execute("INSERT INTO evaluations (id, model_id, dataset_id, name, conf_threshold, created_at) "
                 "VALUES ('e1', 'm1', 'd1', 'old', 0.25, 'x')")
    conn.close()
    cat = Catalog(path)
    try:
        assert cat._db.scalar("PRAGMA user_version") == schema.SCHEMA_VERSION >= 4
        rec = cat.get_evaluation("e1")
        assert (rec.iou_threshold, rec.conf_threshold) == (0.5, 0.25)
    finally:
        cat.close()


def test_a_user_built_adapter_over_an_sdk_model_still_evaluates(dl, tmp_path):
    """Dataloop's way: Adapter(model_entity=model) with an SDK Model, then adapter.evaluate_model(...)."""
    from desktop_app.ml.adapter import load_adapter_class

    model, ds = _model(dl, tmp_path, "adapter.py", "OracleBoxAdapter", "oracle")
    cat = dl.default_client().catalog
    cls = load_adapter_class(cat, cat.get_package(model.package_id))
    adapter = cls(model_entity=model)
    out = adapter.evaluate_model(model, ds, TEST, name="by-hand", iou_threshold=0.5)
    assert out["name"] == "by-hand" and model.evaluations.get("by-hand").method == "coco"


@pytest.mark.parametrize("bad", [["not", "a", "dict"], {"summary": {"x": float("nan")}}])
def test_an_evaluate_that_returns_something_unstorable_is_refused_naming_the_adapter(bad):
    from desktop_app.errors import ValidationError
    from desktop_app.workflows.evaluate import keep_result

    with pytest.raises(ValidationError, match="Mine.evaluate"):
        keep_result(None, "m", "d", bad, name="n", filters=None, iou_threshold=0.5, conf_threshold=0.0,
                    execution_id=None, adapter="Mine")
