"""Job rows carry the job's name (jobs.naming.display_title), made for a whole list without a read per row."""

from __future__ import annotations

from desktop_app.jobs import runner
from desktop_app.jobs.naming import TITLE_KEY, display_title
from desktop_app.sdk.views import JobRow, job_row, job_rows


def _clone(dl, name):
    shapes = dl.datasets.get("shapes")
    return dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name=name, dataset=shapes), shapes


def test_each_row_is_named_as_every_screen_names_the_job(dl, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)   # queue only: no worker
    m, shapes = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    queued = runner.submit_train(cat, m.id, wait=False, context="pipeline nightly, run 3")
    old = cat.create_execution("evaluate", model_id=m.id, input={"dataset_id": shapes.id,
                                                                 "filters": {"subset": "test"}})
    step = cat.create_execution("pipeline", input={"pipeline": "nightly", "step": "snapshot"})
    rows = {r.id: r for r in job_rows(cat, cat.list_executions())}
    assert rows[queued.id].name == "Train resnet-exp (pipeline nightly, run 3)"
    assert rows[old.id].name == "Evaluate resnet-exp on shapes/test"          # queued before names were kept
    assert rows[step.id].name == "Pipeline nightly: snapshot"
    for ex in (queued, old, step):
        assert rows[ex.id].name == display_title(cat, cat.get_execution(ex.id)) == rows[ex.id].title
    assert rows[old.id].model_name == "resnet-exp"
    # One row from its record alone: the stored name, no catalog needed; else its kind and model.
    assert job_row(cat.get_execution(queued.id)).name == "Train resnet-exp (pipeline nightly, run 3)"
    assert job_row(cat.get_execution(old.id), "resnet-exp").name == "evaluate resnet-exp"


def test_a_list_reads_each_model_and_dataset_once_not_once_per_row(dl, monkeypatch):
    m, shapes = _clone(dl, "resnet-exp")
    cat = dl.default_client().catalog
    for subset in ("train", "validation", "test") * 4:       # 12 older jobs: no stored name
        ex = cat.create_execution("evaluate", model_id=m.id, input={"dataset_id": shapes.id,
                                                                    "filters": {"subset": subset}})
        assert TITLE_KEY not in ex.input
    reads = {"get_model": 0, "get_dataset": 0, "get_execution": 0}
    for method in reads:
        real = getattr(cat, method)

        def counted(*a, _real=real, _method=method, **k):
            reads[_method] += 1
            return _real(*a, **k)
        monkeypatch.setattr(cat, method, counted)
    rows = job_rows(cat, cat.list_executions())
    assert len(rows) == 12 and {r.name for r in rows} == {f"Evaluate resnet-exp on shapes/{s}"
                                                          for s in ("train", "validation", "test")}
    assert reads == {"get_model": 0, "get_dataset": 1, "get_execution": 0}   # models: one find_models for all


def test_a_row_made_without_a_name_still_has_a_title():
    row = JobRow(id="e", kind="train", status="created", model_id=None, model_name="m", progress=0.0, message="",
                 error=None, elapsed_s=None, eta_s=None, metric="", log_path=None, created_at="2026-01-01T00:00:00")
    assert row.name == "" and row.title == "train m"
