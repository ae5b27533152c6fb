"""Evaluation charts (pyqtgraph): precision-recall curves with a marker at the current threshold, and
per-class bars (AP, F1, ...) grouped by model."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..exporting import save_png
from ..style import is_dark, muted
from .charts import LINE_COLORS


def series_color(k: int) -> QColor:
    return QColor(LINE_COLORS[k % len(LINE_COLORS)])


class _Chart(QWidget):
    """A plot with a short title and, under it, an optional caption that wraps (a long pyqtgraph title does
    not wrap: it widened the plot past its tab and the right of the chart was cut off)."""

    def __init__(self, title: str, parent: QWidget | None = None, caption: str = ""):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumWidth(200)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        self.caption = QLabel(caption)
        self.caption.setWordWrap(True)
        muted(self.caption)
        self.caption.setVisible(bool(caption))
        lay.addWidget(self.caption)
        fg = "#d0d0d0" if is_dark(self) else "#303030"
        self.plot.setBackground(self.palette().color(self.backgroundRole()))
        for axis in ("left", "bottom"):
            ax = self.plot.getAxis(axis)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self._fg = fg
        self.plot.setTitle(title, color=fg)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.plot.setMenuEnabled(False)

    def set_title(self, title: str) -> None:
        """A new title in the chart's own colour (masks: 'per class (masks)')."""
        self.plot.setTitle(title, color=self._fg)

    def title_text(self) -> str:
        return self.plot.getPlotItem().titleLabel.text

    def export_png(self, path: Path | str) -> Path:
        return save_png(self, path)


class PRChart(_Chart):
    """Precision against recall, one line per series (a class, or a model), optional current-threshold dots."""

    def __init__(self, title: str = "Precision-recall", parent: QWidget | None = None, caption: str = ""):
        super().__init__(title, parent, caption)
        self.plot.setLabel("bottom", "recall")
        self.plot.setLabel("left", "precision")
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1.02, padding=0.02)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.markers = pg.ScatterPlotItem(size=10, pen=pg.mkPen("w", width=1.2))
        self.plot.addItem(self.markers)
        self.colors: dict[str, QColor] = {}

    def set_curves(self, curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                   colors: Mapping[str, QColor] | None = None) -> None:
        """name -> (recall, precision). Lines are reused when the names stay the same (live updates)."""
        if list(curves) != list(self.curves):
            for item in self.curves.values():
                self.plot.removeItem(item)
            self.legend.clear()
            self.curves = {}
            for k, name in enumerate(curves):
                color = (colors or {}).get(name) or series_color(k)
                self.colors[name] = QColor(color)
                self.curves[name] = self.plot.plot(pen=pg.mkPen(color, width=2), name=name)
        for name, (r, p) in curves.items():
            self.curves[name].setData(np.asarray(r, np.float64), np.asarray(p, np.float64), connect="finite")

    def set_markers(self, points: Mapping[str, tuple[float, float] | None]) -> None:
        spots = [{"pos": pt, "brush": pg.mkBrush(self.colors.get(name, QColor("white")))}
                 for name, pt in points.items() if pt is not None]
        self.markers.setData(spots)

    def curve_names(self) -> list[str]:
        return list(self.curves)


class ClassBars(_Chart):
    """One group of bars per class, a bar per series (model); NaN draws no bar."""

    def __init__(self, title: str = "Per class", parent: QWidget | None = None):
        super().__init__(title, parent)
        self.bars: list[pg.BarGraphItem] = []
        self.values: dict[str, list[float]] = {}
        self.labels: list[str] = []
        self.plot.setYRange(0, 1.0, padding=0.02)

    def set_values(self, labels: Sequence[str], values: Mapping[str, Sequence[float]], metric: str = "",
                   colors: Mapping[str, QColor] | None = None) -> None:
        for b in self.bars:
            self.plot.removeItem(b)
        self.legend.clear()
        self.bars = []
        self.values = {k: list(v) for k, v in values.items()}
        self.labels = list(labels)
        n = max(1, len(values))
        width = 0.8 / n
        top = 0.0
        for k, (name, vals) in enumerate(values.items()):
            xs = [i - 0.4 + width * (k + 0.5) for i, v in enumerate(vals) if not math.isnan(v)]
            hs = [v for v in vals if not math.isnan(v)]
            top = max([top, *hs])
            color = (colors or {}).get(name) or series_color(k)
            bar = pg.BarGraphItem(x=xs, height=hs, width=width * 0.92, brush=pg.mkBrush(color), pen=pg.mkPen(None),
                                  name=name)
            self.plot.addItem(bar)            # named, so the plot's legend lists it (once)
            self.bars.append(bar)
        ax = self.plot.getAxis("bottom")
        ax.setTicks([[(i, lb) for i, lb in enumerate(labels)]])
        self.plot.setLabel("left", metric)
        self.plot.setXRange(-0.6, len(labels) - 0.4, padding=0)
        # The legend is one row of up to four models; the range leaves its height free above the tallest bar
        # so it never covers a bar (refit when the chart is resized).
        self.legend.setColumnCount(min(4, n))
        self._peak = max(1.0, top)
        self._fit_range()

    def _fit_range(self) -> None:
        peak = getattr(self, "_peak", None)
        if peak is None:
            return
        vb_height = self.plot.getViewBox().height() or 200.0
        legend = (self.legend.boundingRect().height() + 16) if self.values else 0.0
        free = min(0.6, legend / vb_height)
        self.plot.setYRange(0, peak * 1.03 / (1.0 - free), padding=0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit_range)        # once the plot inside has its new size
