"""Jobs in the window say one thing everywhere (issue 18): a queued job reads "queued" on the model's Executions
tab as in the jobs panel (the SDK's "created" in the tooltip); the panel shows the last batch loss beside the
epoch's mean; after a cancel the model page says the model can be resumed, and how."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


@pytest.fixture
def no_scheduler(monkeypatch):
    """Jobs made by hand stay as the test puts them: no scheduler starts them, none is marked interrupted."""
    from desktop_app.jobs import scheduler
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda *a, **k: None)
    monkeypatch.setattr(scheduler, "mark_interrupted", lambda *a, **k: False)


def _panel_item(window, execution_id):
    return window.jobs.items.get(execution_id)


def test_a_queued_job_reads_queued_on_the_model_page_as_in_the_jobs_panel(window, qtbot, client, centroid_model,
                                                                           no_scheduler):
    cat = client.catalog
    ex = cat.create_execution("train", model_id=centroid_model.id, project_id=centroid_model.project_id)
    cat.set_model_status(centroid_model.id, "pending")
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    qtbot.waitUntil(lambda: _panel_item(window, ex.id) is not None, timeout=10_000)
    page.refresh()
    row = page.executions.topLevelItem(0)
    panel = _panel_item(window, ex.id)
    assert row.text(2) == panel.text(1) == "queued"                 # was "created" on the page, "queued" below
    assert "'created'" in row.toolTip(2) and "SDK" in row.toolTip(2)
    assert row.toolTip(2) == panel.toolTip(1)
    nav = window.navigator.item_for("model", centroid_model.id)
    qtbot.waitUntil(lambda: nav.text(1) == "pending", timeout=10_000)
    assert "queued" in nav.toolTip(1)                               # the model's word, the job's beside it


def test_the_jobs_panel_shows_the_last_batch_loss_beside_the_epoch_mean(window, qtbot, client, centroid_model,
                                                                        no_scheduler):
    cat = client.catalog
    ex = cat.create_execution("train", model_id=centroid_model.id, project_id=centroid_model.project_id)
    cat.set_execution_status(ex.id, "in-progress")
    rows = [{"figure": "loss", "legend": "train", "x": 10.0, "y": 0.5, "epoch": 1.0},
            {"figure": "accuracy", "legend": "validation", "x": 10.0, "y": 0.75, "epoch": 1.0},
            {"figure": "loss", "legend": "train_batch", "x": 20.0, "y": 0.375, "epoch": 2.0}]
    cat.add_metric_samples(centroid_model.id, rows, execution_id=ex.id)
    qtbot.waitUntil(lambda: _panel_item(window, ex.id) is not None and bool(_panel_item(window, ex.id).text(5)),
                    timeout=10_000)
    text = _panel_item(window, ex.id).text(5)
    assert text == "epoch loss 0.5 · last batch 0.375 · validation/accuracy 0.75"
    # the first epoch: a batch loss only
    from desktop_app.gui.job_metric import training_metric
    from desktop_app.catalog.records import MetricSample
    batch = MetricSample(id=1, model_id="m", figure="loss", legend="train_batch", x=3.0, y=0.9, epoch=0.3)
    assert training_metric({("loss", "train_batch"): batch}) == "batch loss 0.9"
    lr = MetricSample(id=2, model_id="m", figure="lr", legend="value", x=3.0, y=0.01, epoch=0.3)
    assert training_metric({("lr", "value"): lr}) == "lr 0.01"      # no loss logged: as before


def test_after_a_cancel_the_model_page_says_it_can_be_resumed_and_how(window, qtbot, client, centroid_model,
                                                                      no_scheduler, monkeypatch):
    cat = client.catalog
    ex = cat.create_execution("train", model_id=centroid_model.id, project_id=centroid_model.project_id)
    cat.set_execution_status(ex.id, "in-progress")
    cat.update_execution(ex.id, progress=40.0)
    cat.set_execution_status(ex.id, "canceled")
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    assert page.note.isVisible()
    note = page.note.text()
    assert "was canceled at 40%" in note and "can be resumed" in note
    assert "Resume" in note and "Model ▸ Resume training" in note
    assert page.resume_button.isEnabled()
    assert window.resume_action.isEnabled() and window.resume_action.text() == "&Resume training"
    resumed = []
    monkeypatch.setattr(window.actions, "resume", lambda eid: resumed.append(eid))
    window.resume_action.trigger()
    assert resumed == [ex.id]
    # a model with nothing to resume: the status bar says so, nothing is queued
    other = client.models.get("pretrained-resnet")
    window.navigate("model", other.id)
    assert not page.note.text().startswith("Its training")
    window.resume_action.trigger()
    assert resumed == [ex.id] and "Nothing to resume" in window.statusBar().currentMessage()


def test_the_watcher_rows_carry_each_jobs_name(window, qtbot, client, centroid_model, no_scheduler):
    """JobRow.name is the one name: the window reads it from the watcher's rows (no titles of its own)."""
    from desktop_app.jobs.naming import display_title
    cat = client.catalog
    ex = cat.create_execution("train", model_id=centroid_model.id, project_id=centroid_model.project_id)
    qtbot.waitUntil(lambda: ex.id in window.jobs.rows, timeout=10_000)
    row = window.jobs.rows[ex.id]
    assert row.name == display_title(cat, cat.get_execution(ex.id)) == "Train centroid-v1"   # was "train centroid-v1"
    assert window.jobs.items[ex.id].text(0) == row.name == window.jobs.title(row)
    assert not hasattr(window, "_job_titles")
