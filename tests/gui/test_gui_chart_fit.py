"""Figures fit their room (issue 18): a confusion matrix of ten digits and "(no prediction)" shows every column
with its label, the PR chart's title no longer widens it past its tab, and the per-class bars' legend sits above
the tallest bar instead of on it."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QFontMetricsF  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

from desktop_app.gui.widgets.confusion_matrix import SLANTED_MAX, ConfusionPanel  # noqa: E402
from desktop_app.gui.widgets.pr_chart import ClassBars, PRChart  # noqa: E402

LABELS = [str(k) for k in range(10)] + ["(no prediction)"]


def test_a_matrix_at_its_minimum_size_shows_every_cell_and_the_last_label(qtbot):
    panel = ConfusionPanel("model", compact=True)
    qtbot.addWidget(panel)
    panel.set_matrix(LABELS, [[int(i == j) * 5 for j in range(11)] for i in range(11)])
    m = panel.matrix
    size = m.minimumSizeHint()
    m.resize(size)
    n = len(LABELS)
    last = m.cell_rect(n - 1, n - 1)
    assert last.right() <= m.width() and last.bottom() <= m.height()
    fm = QFontMetricsF(m.font_small)
    # the last column's label runs up and right at 45 degrees from the top of its column
    run = min(fm.horizontalAdvance("(no prediction)"), SLANTED_MAX) * 0.707
    assert m.cell_rect(0, n - 1).center().x() + run <= m.width() + 1
    assert m.cell_rect(0, 0).top() >= run                  # and up: the top margin holds it


def test_the_layout_gives_a_matrix_its_minimum(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    panel = ConfusionPanel("model", compact=True)
    lay.addWidget(panel)
    panel.set_matrix(LABELS, [[0] * 11 for _ in range(11)])
    host.resize(100, 100)           # asks for less than the matrix needs: the layout holds its minimum
    host.show()
    qtbot.waitExposed(host)
    assert panel.matrix.width() >= panel.matrix.minimum_for().width()


def test_the_pr_chart_fits_a_narrow_tab_and_keeps_its_caption(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    lay.setContentsMargins(0, 0, 0, 0)
    chart = PRChart("Precision-recall per class", caption="Dots: where the confidence threshold puts each class.")
    lay.addWidget(chart)
    host.resize(380, 500)
    host.show()
    qtbot.waitExposed(host)
    assert chart.plot.width() <= host.width()
    assert chart.caption.isVisible() and chart.caption.wordWrap()


def test_the_bars_legend_sits_above_the_tallest_bar(qtbot):
    bars = ClassBars("Per class")
    qtbot.addWidget(bars)
    bars.resize(600, 320)
    bars.show()
    qtbot.waitExposed(bars)
    vb = bars.plot.getViewBox()
    bars.set_values(["a", "b", "c"], {"m1": [1.0, 0.9, 1.0], "m2": [0.95, 1.0, 0.98]}, "AP")

    def settled() -> bool:
        """pyqtgraph applies a new range, and the narrower box the axis title leaves, on later events: settled
        once the view box's transform puts the range it was given onto the whole of the box as it now is."""
        shown, box = vb.childGroup.mapRectToParent(vb.viewRect()).getRect(), vb.rect().getRect()
        return all(abs(a - b) < 0.5 for a, b in zip(shown, box))
    assert not settled()    # the new range is not drawn yet: the wait below is for something
    qtbot.waitUntil(settled, timeout=5000)
    legend = bars.legend.mapRectToItem(vb.childGroup, QRectF(bars.legend.boundingRect()))
    assert legend.bottom() > 1.0 if legend.top() < legend.bottom() else legend.top() > 1.0
    assert min(legend.top(), legend.bottom()) > 1.0          # all of it above the bars' tops (1.0)
