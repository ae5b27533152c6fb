"""The jobs panel names each job for what it does and says "queued" for a waiting one; the model page says
"interrupted, can resume" as the jobs side does (issue 18)."""

import os

import pytest

from desktop_app.catalog import ExecutionStatus
from desktop_app.gui.widgets.jobs_panel import COLUMNS, JobsPanel
from desktop_app.sdk.views import JobRow

WAIT_MS = 20_000


def _row(eid, status, kind="train"):
    return JobRow(id=eid, kind=kind, status=status, model_id=None, model_name="m", progress=0.0,
                  message="queued: waiting for a free CPU slot (1 ahead)", error=None, elapsed_s=None, eta_s=None,
                  metric="", log_path=None, created_at="2026-01-01T00:00:00")


def test_a_queued_job_reads_queued_not_created(qtbot):
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_rows([_row("a", ExecutionStatus.IN_PROGRESS), _row("b", ExecutionStatus.CREATED)])
    assert panel.items["b"].text(1) == "queued"
    assert panel.items["b"].text(COLUMNS.index("Message")) == "queued: waiting for a free CPU slot (1 ahead)"
    assert panel.items["a"].text(1) == "in-progress"
    assert panel.summary.text() == "1 running, 1 queued"


@pytest.fixture
def queue_only(monkeypatch):
    """Jobs stay queued: no scheduler is started (the window's watcher would start one too)."""
    from desktop_app.jobs import runner, scheduler
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda home: None)


def test_the_window_names_jobs_for_what_they_do(window, qtbot, client, centroid_model, queue_only):
    cat = client.catalog
    step = cat.create_execution("pipeline", input={"pipeline": "nightly", "run_number": 3, "step": "train"})
    cat.set_execution_status(step.id, ExecutionStatus.IN_PROGRESS, pid=os.getpid())
    ex = window.actions.train(centroid_model.id)
    qtbot.waitUntil(lambda: ex.id in window.jobs.items and step.id in window.jobs.items, timeout=WAIT_MS)
    train = window.jobs.items[ex.id]
    assert (train.text(0), train.text(1)) == ("Train centroid-v1", "queued")
    assert window.jobs.items[step.id].text(0) == "Pipeline nightly, run 3: train"     # not just "pipeline"
    qtbot.waitUntil(lambda: window.jobs_label.text() == "1 running, 1 queued", timeout=WAIT_MS)
    window.jobs.select(ex.id)
    window.jobs.log_button.click()
    assert window.dialogs[-1].windowTitle() == f"Log: Train centroid-v1 ({ex.id})"
    window.dialogs[-1].close()


def test_the_model_page_says_interrupted_can_resume(window, qtbot, client, centroid_model, queue_only):
    cat = client.catalog
    ex = cat.create_execution("train", model_id=centroid_model.id, input={"previous_status": "created"})
    cat.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
    cat.set_execution_status(ex.id, ExecutionStatus.INTERRUPTED, message="interrupted, can resume")
    assert window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    qtbot.waitUntil(lambda: page.badge.text() == "interrupted, can resume", timeout=WAIT_MS)
    assert "Resume" in page.badge.toolTip() and page.resume_button.isEnabled()
    from desktop_app.jobs.scheduler import INTERRUPTED_MESSAGE
    assert page.badge.text() == INTERRUPTED_MESSAGE                                # the jobs side's words
    # Once resumed (queued again) the badge follows the model's own status.
    window.actions.resume(ex.id)
    qtbot.waitUntil(lambda: page.badge.text() == "pending", timeout=WAIT_MS)
