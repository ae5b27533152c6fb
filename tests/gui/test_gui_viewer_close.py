"""The image viewer closes with one click, its counter and name are set apart; the log window has a Close button."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from desktop_app.gui.widgets.image_viewer import ViewerPanel  # noqa: E402
from desktop_app.gui.widgets.log_view import LogDialog  # noqa: E402

WAIT_MS = 30_000


def test_one_click_closes_the_viewer_it_had_the_page_alone(qtbot, client):
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    page.set_dataset(client.catalog.get_dataset("shapes-detection").id)
    # waitUntil, not waitSignal: it keeps its own clock, so a busy event loop fails the test instead of hanging it
    qtbot.waitUntil(lambda: page.model.settled and page.model.row(0) is not None, timeout=WAIT_MS)
    page.open_row(0)
    page.focus_viewer(True)                      # double-click: the viewer alone
    qtbot.waitUntil(lambda: page.viewer_panel.isVisible() and not page.gallery.isVisible(), timeout=WAIT_MS)
    close = page.viewer_panel.close_button
    qtbot.waitUntil(lambda: close.width() > 0, timeout=WAIT_MS)      # laid out
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.gallery.isVisible(), timeout=WAIT_MS)
    assert page.viewer_panel.isHidden()
    page.shutdown()


def test_counter_and_name_are_apart(qtbot):
    panel = ViewerPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    panel.set_title("8/1666.png", 0, 28)
    qtbot.waitExposed(panel)
    between = [w for w in panel.findChildren(type(panel.position)) if w.isVisible()
               and panel.position.geometry().right() < w.geometry().left() < panel.title.geometry().left()]
    assert panel.position.text() == "1 / 28" and panel.title.text() == "8/1666.png"
    assert [w.text() for w in between] == ["·"]


def test_log_window_closes_by_its_button(qtbot, tmp_path):
    log = tmp_path / "job.log"
    log.write_text("line\n")
    dlg = LogDialog("Log", log)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    buttons = [b for b in dlg.findChildren(type(dlg.close_button)) if b.text().replace("&", "") == "Close"]
    assert len(buttons) == 1 and buttons[0].isVisible()
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=WAIT_MS)
