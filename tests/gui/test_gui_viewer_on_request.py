"""The image viewer opens only when the user asks (click, Enter, double-click), never after an import or a split."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def page(qtbot, client):
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    with qtbot.waitSignals([page.model.query_done, page.summary_loaded], timeout=WAIT_MS):
        page.set_dataset(client.catalog.get_dataset("shapes-detection").id)
    yield page
    page.shutdown()


def test_split_leaves_the_viewer_closed(qtbot, page):
    dlg = page.split_dialog()
    qtbot.waitExposed(dlg)
    dlg.set_percentages({"train": 80, "validation": 10, "test": 10})
    with qtbot.waitSignal(page.summary_loaded, timeout=WAIT_MS):
        dlg.ok_button.click()
    if _alive(dlg):
        dlg.close()
    # The gallery takes the focus back when the dialog closes (Qt then makes its first thumbnail current).
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=WAIT_MS)
    page.gallery.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
    qtbot.waitUntil(lambda: page.gallery.hasFocus(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=WAIT_MS)
    assert page.viewer_panel.isHidden()


def test_focus_alone_does_not_open_the_viewer(qtbot, page):
    page.filters.setFocus(Qt.FocusReason.OtherFocusReason)
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=WAIT_MS)
    page.gallery.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: page.gallery.hasFocus(), timeout=WAIT_MS)
    assert page.viewer_panel.isHidden()


def test_a_click_on_a_thumbnail_opens_it(qtbot, page):
    qtbot.waitUntil(lambda: page.model.row(0) is not None, timeout=WAIT_MS)
    rect = page.gallery.visualRect(page.model.index(0))
    qtbot.mouseClick(page.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: page.viewer_panel.isVisible(), timeout=WAIT_MS)
    assert page.current_item() is not None


def _alive(w) -> bool:
    from shiboken6 import isValid
    return isValid(w)
