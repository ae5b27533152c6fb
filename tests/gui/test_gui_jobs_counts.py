"""The jobs panel and the status bar count running and queued jobs apart (issue 18)."""

from desktop_app.catalog import ExecutionStatus
from desktop_app.gui.widgets.jobs_panel import JobsPanel
from desktop_app.sdk.views import JobRow


def _row(eid, status, kind="train", settled=True):
    return JobRow(id=eid, kind=kind, status=status, model_id=None, model_name="m", progress=0.0, message="",
                  error=None, elapsed_s=None, eta_s=None, metric="", log_path=None,
                  created_at="2026-01-01T00:00:00", settled=settled)


ROWS = [_row("a", ExecutionStatus.IN_PROGRESS), _row("b", ExecutionStatus.CREATED),
        _row("c", ExecutionStatus.SUCCESS)]


def test_the_panel_counts_running_and_queued_apart(qtbot):
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_rows(ROWS)
    assert panel.summary.text() == "1 running, 1 queued"
    panel.set_rows(ROWS[1:])
    assert panel.summary.text() == "1 queued"


def test_the_status_bar_counts_running_and_queued_apart(window, qtbot):
    window._apply_jobs(ROWS, {})
    qtbot.waitUntil(lambda: window.jobs_label.text() == "1 running, 1 queued")
    window._apply_jobs([], {})
    qtbot.waitUntil(lambda: window.jobs_label.text() == "No jobs running")
