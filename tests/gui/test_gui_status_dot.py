"""The navigator's status dot stays visible on the selected row: its own colour, ringed in white, not tinted."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QIcon  # noqa: E402

from desktop_app.gui.style import status_color, status_icon  # noqa: E402


def _pixel(icon: QIcon, mode: QIcon.Mode, x: float, y: float) -> QColor:
    img = icon.pixmap(12, 12, mode).toImage()
    sx, sy = img.width() / 12, img.height() / 12
    return img.pixelColor(int(x * sx), int(y * sy))


def test_the_selected_dot_keeps_its_colour_and_gets_a_white_ring(qtbot):
    for status in ("pre-trained", "trained", "failed"):
        icon = status_icon(status)
        want = status_color(status)
        assert _pixel(icon, QIcon.Mode.Normal, 6, 6).name() == want.name()
        assert _pixel(icon, QIcon.Mode.Selected, 6, 6).name() == want.name()     # not tinted by the highlight
        edge = _pixel(icon, QIcon.Mode.Selected, 6, 1.6)                         # on the ring
        assert min(edge.red(), edge.green(), edge.blue()) > 200, edge.name()


def test_the_selected_tree_row_draws_its_dot(window, qtbot, model_named):
    mid = model_named("pretrained-resnet")
    nav = window.navigator
    nav.select("model", mid)
    item = nav.item_for("model", mid)
    qtbot.waitUntil(item.isSelected, timeout=10_000)
    tree = nav.tree if hasattr(nav, "tree") else nav
    rect = tree.visualItemRect(item)
    shot = tree.viewport().grab(rect).toImage()
    want = status_color("pre-trained")
    near = [shot.pixelColor(x, y) for x in range(shot.width() // 3) for y in range(shot.height())]
    assert any(abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 12
               for c in near)
