"""The split dialog: its preview is what the catalog assigns; applying it tags the items and refreshes counts."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.dialogs.split_dialog import (SplitDialog, preview_split, split_percentages,  # noqa: E402
                                                  split_problem)
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def detection(client):
    return client.catalog.get_dataset("shapes-detection")


def test_preview_matches_the_catalog_rounding(client, detection):
    for pct in ({"train": 70, "validation": 15, "test": 15}, {"train": 33, "validation": 33, "test": 34},
                {"train": 50, "test": 50}, {"validation": 100}):
        assert preview_split(1000, pct) == client.catalog.split_subsets(detection.id, pct, seed=1)
    assert preview_split(7, {"train": 33, "validation": 33, "test": 34}) == {"train": 2, "validation": 2, "test": 3}


def test_percentages_leave_out_empty_subsets_and_must_add_up():
    assert split_percentages({"train": 80, "validation": 0, "test": 20}) == {"train": 80, "test": 20}
    assert split_problem({"train": 80, "test": 10}) == "the shares add up to 90 %, not 100 %"
    assert split_problem({}) is not None
    assert split_problem({"train": 100}) is None


def test_split_dialog_assigns_subsets(qtbot, client, detection):
    dlg = SplitDialog(client.catalog, detection.id)
    qtbot.addWidget(dlg)
    dlg.set_percentages({"train": 60, "validation": 25, "test": 15})
    dlg.seed.setValue(7)
    expected = dlg.preview()
    assert expected == {"train": 600, "validation": 250, "test": 150}
    assert dlg.previews["validation"].text() == "250 items"
    with qtbot.waitSignal(dlg.split_done, timeout=WAIT_MS) as blocker:
        dlg.ok_button.click()
    assert blocker.args == [expected]
    assert client.catalog.subset_counts(detection.id) == expected
    before = client.catalog.item_ids(detection.id, subset="test")
    client.catalog.split_subsets(detection.id, {"train": 60, "validation": 25, "test": 15}, seed=7)
    assert client.catalog.item_ids(detection.id, subset="test") == before     # the seed was used


def test_bad_shares_disable_the_split_button(qtbot, client, detection):
    dlg = SplitDialog(client.catalog, detection.id)
    qtbot.addWidget(dlg)
    dlg.set_percentages({"train": 50, "validation": 10, "test": 10})
    assert not dlg.ok_button.isEnabled() and "70 %" in dlg.message.text()
    dlg.set_percentages({"train": 90, "validation": 10, "test": 0})
    assert dlg.ok_button.isEnabled() and dlg.previews["test"].text() == "0 items"


def test_only_items_without_a_subset(qtbot, client, detection):
    ids = client.catalog.item_ids(detection.id)[:40]
    client.catalog.set_subset(ids, None)
    dlg = SplitDialog(client.catalog, detection.id)
    qtbot.addWidget(dlg)
    dlg.only_missing.setChecked(True)
    dlg.set_percentages({"train": 50, "validation": 50, "test": 0})
    assert dlg.preview() == {"train": 20, "validation": 20}
    before = client.catalog.subset_counts(detection.id)
    with qtbot.waitSignal(dlg.split_done, timeout=WAIT_MS):
        dlg.ok_button.click()
    after = client.catalog.subset_counts(detection.id)
    assert "none" not in after
    assert after["train"] == before["train"] + 20 and after["test"] == before["test"]


def test_page_split_refreshes_the_counts(qtbot, client, detection):
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignals([page.model.query_done, page.summary_loaded], timeout=WAIT_MS):
        page.set_dataset(detection.id)
    dlg = page.split_dialog()
    dlg.set_percentages({"train": 80, "validation": 10, "test": 10})
    with qtbot.waitSignal(page.summary_loaded, timeout=WAIT_MS):
        dlg.ok_button.click()
    texts = [page.filters.subsets.item(i).text() for i in range(page.filters.subsets.count())]
    assert "Train  (800)" in texts and "Test  (100)" in texts
    page.shutdown()
