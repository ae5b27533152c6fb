"""Every job is named for what it does, to which model, on which data, and who queued it (issue 18)."""

from desktop_app.catalog import ExecutionStatus
from desktop_app.jobs import runner
from desktop_app.jobs.naming import TITLE_KEY, display_title, job_title, pipeline_context


def _clone(dl, name):
    shapes = dl.datasets.get("shapes")
    return dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name=name, dataset=shapes), shapes


def test_a_training_job_is_named_after_its_model(dl, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)   # queue only: no worker
    m, _ = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    ex = runner.submit_train(cat, m.id, wait=False)
    assert ex.input[TITLE_KEY] == "Train resnet-exp" and display_title(cat, ex) == "Train resnet-exp"
    assert ex.message == "queued"
    cat.set_execution_status(ex.id, ExecutionStatus.INTERRUPTED)
    again = runner.resume_execution(cat, ex.id, wait=False)          # a resumed job keeps its name
    assert display_title(cat, again) == "Train resnet-exp"


def test_a_pipelines_jobs_say_which_pipeline_and_run(dl, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    m, shapes = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    ex = runner.submit_train(cat, m.id, wait=False, context=pipeline_context("nightly", 3))
    assert display_title(cat, ex) == "Train resnet-exp (pipeline nightly, run 3)"
    ev = runner._queue(cat, "evaluate", model_id=m.id, input={"dataset_id": shapes.id, "filters": {"item_ids": [1, 2]}},
                       context="pipeline nightly, run 3, champion")
    assert display_title(cat, ev) == "Evaluate resnet-exp on shapes, 2 items (pipeline nightly, run 3, champion)"


def test_evaluations_and_predictions_name_their_data(dl):
    m, shapes = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    assert job_title(cat, "evaluate", m.id, {"dataset_id": shapes.id, "filters": {"subset": "test"}}) == \
        "Evaluate resnet-exp on shapes/test"
    assert job_title(cat, "evaluate", m.id, {"dataset_id": shapes.id, "filters": {}}) == "Evaluate resnet-exp on shapes"
    assert job_title(cat, "predict", m.id, {"item_ids": [4, 5, 6], "dataset_id": None}) == \
        "Predict with resnet-exp on 3 items"
    assert job_title(cat, "deploy", m.id, {}) == "Deploy resnet-exp"
    assert job_title(cat, "embed", m.id, {"dataset_ids": [shapes.id], "filters": {"subset": "train"}}) == \
        "Embed with resnet-exp on shapes/train"
    assert job_title(cat, "embed", m.id, {"item_ids": [1, 2]}) == "Embed with resnet-exp on 2 items"


def test_a_job_queued_before_names_were_kept_gets_one_from_its_record(dl):
    m, shapes = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    old = cat.create_execution("evaluate", model_id=m.id, input={"dataset_id": shapes.id,
                                                                 "filters": {"subset": "validation"}})
    assert display_title(cat, old) == "Evaluate resnet-exp on shapes/validation"
    step = cat.create_execution("pipeline", input={"pipeline": "nightly", "step": "snapshot"})
    assert display_title(cat, step) == "Pipeline nightly: snapshot"       # not just "pipeline"
    assert job_title(cat, "train", "deleted-id", {}) == "Train deleted-id"     # a model deleted since


def test_the_job_list_names_each_job(dl, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    m, _ = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    ex = runner.submit_train(cat, m.id, wait=False, context="pipeline nightly, run 3")
    row = next(r for r in runner.status_summary(cat) if r["id"] == ex.id)
    assert row["name"] == "Train resnet-exp (pipeline nightly, run 3)" and row["kind"] == "train"
