"""A resumed job starts over at 0% with no ETA or elapsed time: the last run's progress is stale (issue 18)."""

from desktop_app.catalog import ExecutionStatus
from desktop_app.jobs import runner
from desktop_app.sdk.views import job_row


def test_a_resumed_job_drops_its_stale_progress_and_eta(catalog, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    ex = catalog.create_execution("evaluate", input={"device": "auto"})
    catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, pid=None, progress=60.0,
                                 started_at="2020-01-01T00:00:00+00:00")
    catalog.set_execution_status(ex.id, ExecutionStatus.INTERRUPTED, message="interrupted")
    assert job_row(catalog.get_execution(ex.id)).progress == 60.0
    runner.resume_execution(catalog, ex.id, wait=False)
    row = job_row(catalog.get_execution(ex.id))
    assert row.status == ExecutionStatus.CREATED
    assert (row.progress, row.eta_s, row.elapsed_s) == (0.0, None, None)
