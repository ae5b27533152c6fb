"""The sweep page over a sweep row and trial models made directly in the catalog (no training): progress, the
trials with their parameters, objective and status, the best so far highlighted, the trials' parallel
coordinates, Cancel, and the ways there (the leaderboard's Sweeps menu, a trial's model page)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.catalog.sweeps import queries  # noqa: E402
from desktop_app.gui.views.sweep_page import SweepPage, trial_rows  # noqa: E402

GRID = [(0.001, 16), (0.001, 32), (0.01, 16), (0.01, 32)]
ACCURACY = {0: [0.5, 0.62], 1: [0.55, 0.81], 2: [0.4, 0.58]}     # trial 4 is still queued: no value


def make_sweep(client) -> tuple:
    """A 2 x 2 grid sweep of pretrained-resnet: trials 1-2 succeeded, 3 running, 4 queued; trial 2 best (0.81)."""
    cat = client.catalog
    base = cat.find_models(name="pretrained-resnet")[0]
    space = {"learning_rate": {"type": "choice", "values": [0.001, 0.01]},
             "batch_size": {"type": "choice", "values": [16, 32]}}
    sweep = queries(cat).create(project_id=base.project_id, name="lr-grid", base_model_id=base.id, method="grid",
                                space=space, objective="validation/accuracy", direction="maximize", budget=4)
    models = []
    for k, (lr, bs) in enumerate(GRID):
        params = {"learning_rate": lr, "batch_size": bs}
        m = cat.create_model(f"lr-grid-{k + 1}", project_id=base.project_id, package_id=base.package_id,
                             configuration={**base.configuration, **params}, labels=base.labels,
                             metadata={"sweep": {"id": sweep.id, "name": sweep.name, "trial": k + 1,
                                                 "params": params}}, parent_id=base.id)
        queries(cat).set_model_sweep(m.id, sweep.id)
        ex = cat.create_execution("train", model_id=m.id)
        if k < 3:
            cat.set_execution_status(ex.id, "in-progress", pid=os.getpid())
        if k < 2:
            cat.set_execution_status(ex.id, "success")
        for e, acc in enumerate(ACCURACY.get(k, [])):
            cat.add_metric_samples(m.id, [{"figure": "accuracy", "legend": "validation", "x": e + 1, "y": acc,
                                           "epoch": e + 1}])
        models.append(m)
    return sweep, models


@pytest.fixture
def page(qtbot, client):
    p = SweepPage(client)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    return p


def test_progress_trials_and_the_best_highlighted(qtbot, client, page):
    sweep, models = make_sweep(client)
    page.set_sweep(sweep.id)
    assert page.title.text() == "Sweep lr-grid"
    assert page.progress.value() == 2 and page.progress.maximum() == 4
    assert page.progress.text() == "2 of 4 trials ended"
    assert page.best_model_id() == models[1].id and page.highlighted_ids() == [models[1].id]
    assert "lr-grid-2" in page.best.text() and "0.81" in page.best.text()
    header = [page.trials.headerItem().text(c) for c in range(page.trials.columnCount())]
    assert header == ["#", "Model", "learning_rate", "batch_size", "validation/accuracy", "Status"]
    rows = {page.trials.topLevelItem(k).text(1): [page.trials.topLevelItem(k).text(c) for c in range(6)]
            for k in range(4)}
    assert rows["lr-grid-2"] == ["2", "lr-grid-2", "0.001", "32", "0.81", "succeeded"]
    assert rows["lr-grid-3"][4:] == ["0.58", "running"]      # its best value so far, while it runs
    assert rows["lr-grid-4"][4:] == ["", "queued"]
    assert len(page.chart.lines) == 4 and page.chart.columns[-1] == "max(metrics.`validation/accuracy`)"
    assert page.chart.color_by.currentData() == "max(metrics.`validation/accuracy`)"
    assert page.cancel_button.isEnabled() and page.timer.isActive()   # read again while it runs
    page.chart.set_brush("params.batch_size", 32, 32)                # brushing hides the other trials
    shown = [page.trials.topLevelItem(k).text(1) for k in range(4) if not page.trials.topLevelItem(k).isHidden()]
    assert sorted(shown) == ["lr-grid-2", "lr-grid-4"]


def test_trial_rows_sort_numbers_as_numbers(qtbot, client, page):
    sweep, _models = make_sweep(client)
    page.set_sweep(sweep.id)
    from PySide6.QtCore import Qt
    page.trials.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    order = [page.trials.topLevelItem(k).text(1) for k in range(4)]
    assert order == ["lr-grid-2", "lr-grid-1", "lr-grid-3", "lr-grid-4"]     # no value last
    page.trials.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert [page.trials.topLevelItem(k).text(1) for k in range(4)][-1] == "lr-grid-4"


def test_cancel_ends_the_sweep(qtbot, client, page, monkeypatch):
    import desktop_app.workflows.sweeps as sweeps
    monkeypatch.setattr(sweeps.scheduler, "ensure_scheduler", lambda home: None)   # no scheduler process
    sweep, models = make_sweep(client)
    page.set_sweep(sweep.id)
    assert page.cancel()
    assert page.state.status == "canceled" and page.badge.text() == "canceled"
    assert not page.cancel_button.isEnabled() and not page.timer.isActive()
    cat = client.catalog
    jobs = {m.id: cat.list_executions(model_id=m.id)[0] for m in models}
    assert jobs[models[3].id].cancel_requested and jobs[models[2].id].cancel_requested
    rows, columns = trial_rows(page.state)
    assert [r.name for r in rows] == ["lr-grid-1", "lr-grid-2", "lr-grid-3", "lr-grid-4"]


def test_reached_from_the_leaderboard_and_a_trial_model_page(qtbot, client, window, monkeypatch):
    sweep, models = make_sweep(client)
    window.refresh_tree()
    assert window.navigate("model", models[0].id)
    marks = window.pages.model_page.marks
    assert "lr-grid" in marks.origin.text()
    marks.origin.linkActivated.emit(f"sweep:{sweep.id}")
    page = window.pages.currentWidget()
    assert isinstance(page, SweepPage) and page.sweep_id == sweep.id
    page.leaderboard_button.click()
    lb = window.pages.currentWidget()
    assert type(lb).__name__ == "LeaderboardPage" and lb.project_id == sweep.project_id
    lb._fill_sweeps_menu()
    entries = [a for a in lb.sweeps_menu.actions() if a.text().startswith("lr-grid")]
    assert entries
    entries[0].trigger()
    assert window.pages.currentWidget() is page


def test_a_projects_sweeps_are_listed_in_the_navigator_and_open_their_page(qtbot, client, window):
    assert window.navigator.item_for("group", f"{client.catalog.list_projects()[0].id}/sweeps") is None   # none yet
    sweep, _models = make_sweep(client)
    window.refresh_tree()
    item = window.navigator.item_for("sweep", sweep.id)
    assert item is not None and item.text(0) == "lr-grid" and item.parent().text(0) == "Sweeps (1)"
    window.navigator.setCurrentItem(item)
    qtbot.waitUntil(lambda: isinstance(window.pages.currentWidget(), SweepPage))
    assert window.pages.currentWidget().sweep_id == sweep.id
