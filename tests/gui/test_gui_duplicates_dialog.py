"""The near-duplicates dialog over a stored feature set with injected copies: the groups and the leakage report,
the threshold, moving leaking items to train, deleting (all or none, after a confirmation naming the count)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from desktop_app.gui.dialogs.duplicates_dialog import DuplicatesDialog  # noqa: E402
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from similar_fixtures import store_vectors, trained_model  # noqa: E402

WAIT_MS = 20_000


@pytest.fixture
def planted(client):
    """The shapes dataset's vectors with two copies injected: train A ~ train B, and test T ~ train R."""
    cat = client.catalog
    ds = cat.get_dataset("shapes")
    train, test = cat.item_ids(ds.id, subset="train"), cat.item_ids(ds.id, subset="test")
    ids = cat.item_ids(ds.id)
    x = np.random.default_rng(3).normal(size=(len(ids), 32))
    row = {i: k for k, i in enumerate(ids)}
    a, b, r, t = train[0], train[1], train[2], test[0]
    x[row[b]] = x[row[a]] * 1.5 + 0.01          # a brighter, shifted copy: same direction, nearly
    x[row[t]] = x[row[r]] + 0.02
    model = trained_model(client, "embedder")
    store_vectors(cat, model.id, ids, x)
    return ds, model, dict(a=a, b=b, r=r, t=t)


@pytest.fixture
def dialog(qtbot, client, planted):
    ds, _, _ = planted
    dlg = DuplicatesDialog(client, ds.id)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.loaded, timeout=WAIT_MS):
        dlg.show()
    yield dlg
    dlg.shutdown()


def yes(monkeypatch, asked: list):
    def answer(_parent, _title, text, *a, **k):
        asked.append(text)
        return QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", answer)


def test_groups_and_leaks_found_with_thumbnails_and_distances(qtbot, client, planted, dialog):
    _, model, it = planted
    r = dialog.report
    assert r.model_id == model.id and "embedder" in dialog.status.text()
    assert sorted(g.items for g in r.groups) == sorted([sorted([it["a"], it["b"]]), sorted([it["r"], it["t"]])])
    assert [(lk.item, lk.subset, lk.twin) for lk in r.leaks] == [(it["t"], "test", it["r"])]
    assert dialog.groups.topLevelItemCount() == 2 and dialog.leaks.rowCount() == 1
    assert dialog.tabs.tabText(0) == "Near-duplicates (2)" and dialog.tabs.tabText(1) == "Leakage (1)"
    assert float(dialog.leaks.item(0, 3).text()) < 0.05
    qtbot.waitUntil(lambda: not dialog.leaks.item(0, 0).icon().isNull(), timeout=WAIT_MS)   # the thumbnails
    dialog.groups.setCurrentItem(dialog.groups.topLevelItem(0).child(0))
    shown = []
    dialog.show_items.connect(lambda ids, title, dist: shown.append((ids, title)))
    dialog.show_group()
    assert shown and sorted(shown[0][0]) in [sorted([it["a"], it["b"]]), sorted([it["r"], it["t"]])]
    assert dialog.selected_group_items() == [dialog.groups.topLevelItem(0).child(0).data(0, 256)]

    # the threshold: at 0 nothing is a copy
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.threshold.setValue(0.0)
    assert dialog.report.groups == [] and dialog.report.leaks == []
    assert dialog.tabs.tabText(1) == "Leakage (0)" and not dialog.move_all_button.isEnabled()


def test_move_all_leaks_to_train_then_keep_one_per_group(qtbot, client, planted, dialog, monkeypatch):
    cat = client.catalog
    ds, _, it = planted
    asked: list[str] = []
    yes(monkeypatch, asked)
    dialog.target.setCurrentIndex(dialog.target.findData("train"))
    with qtbot.waitSignal(dialog.changed, timeout=WAIT_MS) as said:
        assert dialog.move_all_button.isEnabled()
        dialog.move_all_button.click()
    assert asked[-1].startswith("Move 1 item to train?") and said.args == ["Moved 1 item(s) to train"]
    assert cat.get_item(it["t"]).subset == "train"
    qtbot.waitUntil(lambda: dialog.report is not None and dialog.report.leaks == [] and not dialog._busy,
                    timeout=WAIT_MS)
    assert len(dialog.report.groups) == 2             # still copies, now both in train

    n = cat.count_items(ds.id)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT_MS):
        dialog.keep_one_button.click()
    assert asked[-1].startswith("Delete 2 items from the dataset?")
    assert cat.count_items(ds.id) == n - 2
    assert len(cat.list_items(ds.id, item_ids=[it["a"], it["b"]])) == 1
    qtbot.waitUntil(lambda: dialog.report is not None and dialog.report.groups == [] and not dialog._busy,
                    timeout=WAIT_MS)


def test_selected_leak_deleted_or_a_refused_move_changes_nothing(qtbot, client, planted, dialog, monkeypatch):
    cat = client.catalog
    ds, _, it = planted
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    dialog.leaks.selectRow(0)
    assert dialog.selected_leaks() == [it["t"]]
    assert not dialog.delete_items(dialog.selected_leaks())       # no: nothing happens
    assert cat.get_item(it["t"]).subset == "test"

    yes(monkeypatch, asked)
    assert not dialog.move_items([it["t"]], "test")              # there already: nothing asked, nothing done
    assert asked == [] and "Nothing to move" in dialog.status.text()
    dialog.move_items([it["t"], it["r"]], "no-such-subset")       # refused by the catalog: none moves
    qtbot.waitUntil(lambda: "nothing was changed" in dialog.status.text(), timeout=WAIT_MS)
    assert cat.get_item(it["t"]).subset == "test" and cat.get_item(it["r"]).subset == "train"

    n = cat.count_items(ds.id)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT_MS):
        dialog.delete_selected_button.click()
    assert asked[-1].startswith("Delete 1 item from the dataset?")
    assert cat.count_items(ds.id) == n - 1 and not cat.list_items(ds.id, item_ids=[it["t"]])


def test_no_feature_set_offers_to_embed(qtbot, client):
    ds = client.catalog.get_dataset("shapes")
    trained_model(client, "embedder-x")
    dlg = DuplicatesDialog(client, ds.id, tab="leakage")
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.loaded, timeout=WAIT_MS):
        dlg.show()
    assert dlg.tabs.currentIndex() == 1
    assert "No model has embedded" in dlg.status.text()
    assert dlg.embed_button.isVisible() and dlg.embed_button.text() == "Embed with embedder-x…"
    assert not dlg.move_all_button.isEnabled() and not dlg.keep_one_button.isEnabled()
    dlg.shutdown()


def test_the_page_opens_the_dialog_and_shows_a_group(qtbot, client, planted):
    ds, _, it = planted
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.set_dataset(ds.id)
    dlg = page.duplicates_dialog("leakage")
    with qtbot.waitSignal(dlg.loaded, timeout=WAIT_MS):
        pass
    assert page.duplicates_dialog() is dlg and dlg.tabs.currentIndex() == 0
    dlg.show_leaks()
    qtbot.waitUntil(lambda: page.showing_only and page.model.ids_ready and page.model.rowCount() == 2,
                    timeout=WAIT_MS)
    assert page.model.item_ids_of([(0, 1)]) == [it["t"], it["r"]] and "Leakage" in page.banner.text.text()
    dlg.close()
    page.shutdown()


def test_the_dataset_menu_opens_the_report_on_the_dataset_page(qtbot, window, planted):
    ds, _, _ = planted
    assert not window.duplicates_action.isEnabled() and not window.leakage_action.isEnabled()
    window.navigate("dataset", ds.id)
    page = window.pages.currentWidget()
    assert window.duplicates_action.isEnabled() and window.leakage_action.isEnabled()
    window.leakage_action.trigger()
    [dlg] = page.findChildren(DuplicatesDialog)
    with qtbot.waitSignal(dlg.loaded, timeout=WAIT_MS):
        pass
    assert dlg.tabs.currentIndex() == 1 and dlg.leaks.rowCount() == 1
    dlg.close()
