"""Train from the window: a job runs in a worker process to the end, the charts get its points; cancel,
resume, failures, and metrics logged by a separate script appearing live."""

from __future__ import annotations

import math

import pytest

from desktop_app.catalog import Catalog
from desktop_app.sdk import PlotSample

JOB_TIMEOUT_MS = 120_000


def _job_row(window, model_id):
    rows = [r for r in window.jobs.rows.values() if r.model_id == model_id]
    return rows[0] if rows else None


def test_train_from_the_gui_runs_to_the_end_and_the_chart_gets_its_points(window, qtbot, client, centroid_model):
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    page.train_button.click()
    assert page.tabs.currentWidget() is page.charts  # training switches to the live charts
    assert not page.train_button.isEnabled()
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id) is not None, timeout=10_000)
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id).status == "success", timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.charts.figures_shown().get("loss", {}).get("train") == 3, timeout=10_000)
    assert page.charts.series.series("loss", "train").ys == pytest.approx([1.0, 0.5, 1 / 3])
    qtbot.waitUntil(lambda: page.badge.text() == "trained", timeout=10_000)
    assert window.navigator.item_for("model", centroid_model.id).text(1) == "trained"
    assert [page.artifacts.topLevelItem(i).text(0) for i in range(page.artifacts.topLevelItemCount())] \
        == ["centroids.json"]
    row = _job_row(window, centroid_model.id)
    assert row.progress == 100 and "loss" in row.metric
    assert page.executions.topLevelItemCount() == 1
    page.executions.setCurrentItem(page.executions.topLevelItem(0))
    qtbot.waitUntil(lambda: "training model centroid-v1" in page.log.toPlainText(), timeout=5000)
    # The jobs panel opens the same log in its own window.
    window.jobs.select(row.id)
    window.jobs.log_button.click()
    dlg = window.dialogs[-1]
    assert "training model centroid-v1" in dlg.view.toPlainText()
    dlg.close()


def test_cancel_and_resume_from_the_jobs_panel(window, qtbot, client, centroid_model):
    centroid_model.configuration.update({"epochs": 60, "sleep": 0.5})
    centroid_model.update()
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    page.train_button.click()
    qtbot.waitUntil(lambda: bool((r := _job_row(window, centroid_model.id)) and r.status == "in-progress"
                                 and r.metric), timeout=JOB_TIMEOUT_MS)
    row = _job_row(window, centroid_model.id)
    assert row.eta_s is None or row.eta_s > 0
    window.jobs.select(row.id)
    assert window.jobs.cancel_button.isEnabled() and not window.jobs.resume_button.isEnabled()
    window.jobs.cancel_button.click()
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id).status == "canceled", timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.resume_button.isEnabled(), timeout=10_000)
    assert page.train_button.isEnabled() and not page.cancel_button.isEnabled()
    assert client.catalog.get_model(centroid_model.id).status == "created"  # restored, not failed
    assert window.notification.isHidden()  # a cancel is not an error
    # Resume from the panel, then cancel from the model page.
    window.jobs.select(row.id)
    window.jobs.resume_button.click()
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id).status == "in-progress", timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.cancel_button.isEnabled(), timeout=10_000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id).status == "canceled", timeout=JOB_TIMEOUT_MS)


@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="Train of centroid-v1 failed: .*on purpose")
def test_a_failing_job_reports_its_error_with_the_log(window, qtbot, client, centroid_model):
    centroid_model.configuration["fail"] = True
    centroid_model.update()
    window.navigate("model", centroid_model.id)
    window.pages.model_page.train_button.click()
    bar = window.notification
    qtbot.waitUntil(bar.isVisible, timeout=JOB_TIMEOUT_MS)
    assert "centroid-v1" in bar.label.text() and "failed on purpose" in bar.label.text()
    bar.show_details()
    assert "Traceback" in bar.details_dialog.text.toPlainText()
    bar.details_dialog.close()
    qtbot.waitUntil(lambda: window.pages.model_page.badge.text() == "failed", timeout=10_000)


SCRIPT = """
import sys
import desktop_app.sdk as dl
model = dl.use_catalog(sys.argv[1]).models.get(model_id=sys.argv[2])
with model.log_run() as run:
    for step in range(5):
        run.log(step, **{"train/loss": 1.0 / (step + 1), "val/accuracy": step / 5})
"""


def test_metrics_logged_by_a_script_appear_without_a_restart(window, qtbot, client, centroid_model, tmp_path):
    import subprocess
    import sys

    from desktop_app.errors import UserError
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    assert page.charts.empty.isVisibleTo(page.charts)
    # The user's own training script: another process, its own catalog connection.
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(client.catalog.home), centroid_model.id],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60_000)   # the window keeps running meanwhile
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate(timeout=30)[0]   # reaps it and closes its pipe
    assert proc.returncode == 0, out
    qtbot.waitUntil(lambda: page.charts.figures_shown() == {"loss": {"train": 5}, "accuracy": {"val": 5}},
                    timeout=10_000)
    # ... and from this process too, through a second catalog object
    other = Catalog(client.catalog.home)
    try:
        from desktop_app.sdk import Client
        script_model = Client(other, bootstrap=False).models.get(model_id=centroid_model.id)
        with script_model.log_run() as run:
            run.log(5, **{"train/loss": 0.1})
        qtbot.waitUntil(lambda: page.charts.figures_shown()["loss"]["train"] == 6, timeout=10_000)
    finally:
        other.close()
    charts = page.charts
    charts.log_y.setChecked(True)
    charts.smoothing.setValue(0)
    charts.redraw()
    raw, smooth = charts.curves[("loss", "train")]
    assert list(smooth.yData) == pytest.approx([1, 0.5, 1 / 3, 0.25, 0.2, 0.1])
    assert not raw.isVisible()  # without smoothing only one line is drawn
    charts.log_x.setChecked(True)
    charts.redraw()
    xs = list(smooth.xData)
    assert math.isnan(xs[0]) and xs[1:] == [1, 2, 3, 4, 5]          # step 0 has no place on a log axis
    assert charts.plots["loss"].getPlotItem().getAxis("bottom").logMode
    charts.log_x.setChecked(False)
    charts.redraw()
    assert list(smooth.xData) == [0, 1, 2, 3, 4, 5]
    png = charts.export_png(tmp_path / "m.png")
    assert png.stat().st_size > 1000
    csv = charts.export_csv(tmp_path / "m.csv").read_text().splitlines()
    assert csv[0] == "figure,legend,x,y" and len(csv) == 12
    for bad in (charts.export_png, charts.export_csv):   # a message for the notification bar, not a crash
        with pytest.raises(UserError, match="no-such-folder does not exist"):
            bad(tmp_path / "no-such-folder" / "m.x")
    assert not [p for p in tmp_path.rglob("*.part")]                                        # nothing half-made


def test_charts_pick_up_where_they_left_after_another_page(window, qtbot, client, centroid_model):
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    client.models.get(model_id=centroid_model.id).metrics.create(
        [PlotSample("loss", "train", x, 1 / (x + 1)) for x in range(3)])
    qtbot.waitUntil(lambda: page.charts.figures_shown().get("loss", {}).get("train") == 3, timeout=10_000)
    window.navigate("project", client.sample_project.id)
    assert window.poller.model_id is None  # nothing polled while no chart is on screen
    with client.models.get(model_id=centroid_model.id).log_run() as run:
        run.log(3, **{"train/loss": 0.2})
    window.navigate("model", centroid_model.id)
    qtbot.waitUntil(lambda: page.charts.figures_shown()["loss"]["train"] == 4, timeout=10_000)
    assert page.charts.series.series("loss", "train").xs == [0, 1, 2, 3]


def test_charts_follow_a_light_dark_switch(qtbot, qapp):
    from PySide6.QtGui import QColor, QPalette

    from desktop_app.catalog.records import MetricSample
    from desktop_app.gui.widgets.charts import ChartsPanel
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.set_model("m")
    panel.add_samples("m", [MetricSample(id=1, model_id="m", figure="loss", legend="train", x=0, y=1)])
    panel.redraw()
    plot = panel.plots["loss"]
    old = qapp.palette()
    dark = QPalette(old)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#e8eaed"))
    try:
        qapp.setPalette(dark)
        qtbot.waitUntil(lambda: plot.backgroundBrush().color().name() == "#202124", timeout=3000)
    finally:
        qapp.setPalette(old)


def test_the_jobs_panel_ends_a_job_whose_worker_and_scheduler_died(window, qtbot, client, centroid_model):
    import os
    import signal

    from desktop_app.catalog.lock import FileLock
    from desktop_app.jobs.scheduler import LOCK_NAME, pid_alive
    centroid_model.configuration.update({"epochs": 600, "sleep": 0.1})
    centroid_model.update()
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    page.train_button.click()
    qtbot.waitUntil(lambda: bool((r := _job_row(window, centroid_model.id)) and r.status == "in-progress"
                                 and r.metric), timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.badge.text() == "training", timeout=10_000)
    worker = client.catalog.get_execution(_job_row(window, centroid_model.id).id).pid
    scheduler = FileLock(client.catalog.home / LOCK_NAME).holder_pid()
    os.kill(scheduler, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    qtbot.waitUntil(lambda: not pid_alive(worker) and not pid_alive(scheduler), timeout=10_000)
    qtbot.waitUntil(lambda: _job_row(window, centroid_model.id).status == "interrupted", timeout=10_000)
    qtbot.waitUntil(lambda: page.badge.text() == "created", timeout=10_000)   # as before the job, not 'failed'
    assert client.catalog.get_model(centroid_model.id).status == "created"
    assert "worker process" in client.catalog.get_execution(_job_row(window, centroid_model.id).id).error
    job_id = _job_row(window, centroid_model.id).id
    qtbot.waitUntil(lambda: (window.jobs.select(job_id), window.jobs.resume_button.isEnabled())[1], timeout=10_000)
