"""Resume never stays disabled with no reason: its tooltip says why (issue 18)."""

from dataclasses import replace

from desktop_app.catalog import ExecutionStatus
from desktop_app.gui.widgets.jobs_panel import JobsPanel
from desktop_app.sdk.views import JobRow


def _row(eid, status, kind="train", settled=True):
    return JobRow(id=eid, kind=kind, status=status, model_id=None, model_name="m", progress=0.0, message="",
                  error=None, elapsed_s=None, eta_s=None, metric="", log_path=None,
                  created_at="2026-01-01T00:00:00", settled=settled)


def test_resume_says_why_it_waits_and_enables_once_the_worker_is_gone(qtbot):
    panel = JobsPanel()
    qtbot.addWidget(panel)
    exiting = _row("a", ExecutionStatus.CANCELED, settled=False)
    panel.set_rows([exiting])
    panel.select("a")
    assert not panel.resume_button.isEnabled()
    assert "worker process has exited" in panel.resume_button.toolTip()
    panel.set_rows([replace(exiting, settled=True)])
    assert panel.resume_button.isEnabled()
    assert "last checkpoint" in panel.resume_button.toolTip()
    panel.set_rows([_row("e", ExecutionStatus.FAILED, kind="evaluate")])
    panel.select("e")
    assert not panel.resume_button.isEnabled() and "Only training jobs" in panel.resume_button.toolTip()
