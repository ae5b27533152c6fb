"""Predict… on the dataset page: the chosen model runs on the selected gallery items (a queued job in a
worker process); its predictions are stored with model_info on exactly those items and drawn as a layer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelection, QItemSelectionModel  # noqa: E402
from PySide6.QtWidgets import QInputDialog  # noqa: E402

from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))  # the brightbox package's helpers
from servehelpers import Facade, make_model, push_brightbox  # noqa: E402

WAIT_MS = 30_000


def test_predict_on_selected_items_stores_and_draws_the_predictions(qtbot, client, tmp_path, monkeypatch):
    dl = Facade(client)
    ds = client.datasets.get("shapes-detection")
    model = make_model(dl, push_brightbox(dl, tmp_path), tmp_path, dataset=ds)
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.set_dataset(ds.id)
    qtbot.waitUntil(lambda: all(page.model.row(i) is not None for i in range(4)), timeout=WAIT_MS)

    # Nothing selected: a message, no job.
    with qtbot.waitSignal(page.message, timeout=1000) as msg:
        assert page.predict_dialog() is None
    assert "Select items" in msg.args[0]

    chosen = [1, 3]
    sel = QItemSelection()
    for row in chosen:
        idx = page.model.index(row)
        sel.select(idx, idx)
    page.gallery.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    ids = page.selected_item_ids()
    assert len(ids) == 2
    offered = []
    monkeypatch.setattr(QInputDialog, "getItem",
                        lambda parent, title, label, items, *a: offered.extend(items) or (model.name, True))
    with qtbot.waitSignal(page.predictions_done, timeout=90_000) as done:
        page.predict_action.trigger()
    assert offered[0] == model.name                  # models trained on this dataset come first
    assert done.args == [model.id, "success"]

    for item_id in ids:
        preds = ds.items.get(item_id=item_id).annotations.list(model_id=model.id)
        assert sorted(a.label for a in preds) == ["bright", "frame"]
        bright = next(a for a in preds if a.label == "bright")
        assert bright.model_info == {"name": model.name, "model_id": model.id, "confidence": 0.9}
        assert not bright.is_ground_truth
    others = [page.model.row(i).item.id for i in range(4) if i not in chosen]
    assert client.catalog.list_annotations(item_ids=others, model_id=model.id) == []

    # The page re-read the rows: the gallery has the predictions to draw, and the layer toggle lists them.
    key = f"model:{model.id}"
    qtbot.waitUntil(lambda: key in page.layer_actions, timeout=WAIT_MS)
    assert page.layer_actions[key].isChecked()

    def drawn() -> bool:
        rows = [page.model.row(i) for i in chosen]
        return all(r is not None and any(a.model_id == model.id for a in r.annotations) for r in rows)
    qtbot.waitUntil(drawn, timeout=WAIT_MS)
    page.shutdown()


def test_select_all_takes_the_items_of_pages_never_loaded(qtbot, client):
    """Ctrl+A on a gallery scrolled only at its top: the selection holds every row, and the ids sent to
    Predict are every item of the query in gallery order, not just the loaded pages' ones."""
    from desktop_app.gui.itemmodels.gallery_model import GalleryFilter

    ds = client.datasets.get("shapes")
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    page.model.page_size = 16           # 1,000 items: pages beyond the first screen stay unloaded
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.set_dataset(ds.id)
    qtbot.waitUntil(lambda: page.model.ids_ready, timeout=WAIT_MS)
    page.gallery.selectAll()
    unloaded = [i for i in range(page.model.rowCount()) if page.model._peek(i) is None]
    assert unloaded, "every page got loaded; the test needs some that are not"
    everything = client.catalog.item_ids(ds.id)
    assert page.selected_item_ids() == everything and len(everything) == 1000
    page.model._ids = None              # as before the background id query has come in: read at once
    assert page.selected_item_ids() == everything

    # a filtered query, a selection of two ranges
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.model.set_filter(GalleryFilter(subset="test"))
    page.model._ids = None
    want = client.catalog.item_ids(ds.id, subset="test")
    sel = QItemSelection()
    sel.select(page.model.index(0), page.model.index(2))
    sel.select(page.model.index(100), page.model.index(101))
    page.gallery.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert page.selected_item_ids() == want[0:3] + want[100:102]
    page.shutdown()


@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="Predict of broken-v1 failed: .*corrupt")
def test_prediction_failures_land_in_the_notification_bar_once(qtbot, window, client, tmp_path, monkeypatch):
    """A prediction job that fails is reported once, with its message; one that cannot even be queued too."""
    dl = Facade(client)
    ds = client.datasets.get("shapes-detection")
    broken = make_model(dl, push_brightbox(dl, tmp_path, package_name="broken", class_name="BrokenLoad"),
                        tmp_path, name="broken-v1", dataset=ds)
    window.navigate("dataset", ds.id)
    page = window.pages.pages["dataset"]
    qtbot.waitUntil(lambda: page.model.row(0) is not None, timeout=WAIT_MS)
    notices = []
    window.hub.reported.connect(notices.append)
    with qtbot.waitSignal(page.predictions_done, timeout=90_000) as done:
        page.predict(broken.id, [page.model.row(0).item.id])
    assert done.args == [broken.id, "failed"]
    qtbot.waitUntil(lambda: len(notices) == 1, timeout=WAIT_MS)
    qtbot.wait(500)                                  # "once" is a negative: give a second report time to come
    assert len(notices) == 1 and "broken-v1 failed" in notices[0].title
    assert "weights are corrupt (on purpose)" in notices[0].message and window.notification.isVisible()

    from desktop_app.jobs import runner

    def refuse(*a, **k):
        raise runner.ValidationError("the model has no weights file")
    monkeypatch.setattr(runner, "submit_predict", refuse)
    page.predict(broken.id, [page.model.row(0).item.id])
    qtbot.waitUntil(lambda: len(notices) == 2, timeout=WAIT_MS)
    assert notices[1].title == "Could not start the prediction"
    assert "no weights file" in notices[1].message
    page.shutdown()
