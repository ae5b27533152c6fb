"""Parameters against metrics as parallel coordinates: one vertical axis per column (normalised, its real min
and max or its categories written on it), a polyline per model coloured by a chosen metric (a colour bar, or a
legend for text values); dragging a range on an axis brushes (the models through every range are emitted, a
click on the axis clears it); PNG and CSV export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGraphicsRectItem, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from .. import leaderboard_data as lb
from ..exporting import save_png, save_text
from ..style import esc, is_dark, muted
from .brush_box import BRUSH_EDGE, BRUSH_FILL, BrushViewBox
from .charts import LINE_COLORS

COLORMAP = "viridis"
FADED = QColor(150, 150, 150, 45)
AXIS_HALF_WIDTH = 0.07      # a brush's half width, in axis spacings
PICK_DISTANCE = 0.35        # how near an axis a drag must start to brush it


def colour_scale(values: dict[str, float | None], categorical: bool, categories: Sequence[str] = ()
                 ) -> dict[str, QColor]:
    """model id -> colour: a position (0..1) through the colour map, or a palette colour per category."""
    cmap = pg.colormap.get(COLORMAP)
    out = {}
    for mid, p in values.items():
        if p is None:
            out[mid] = QColor(140, 140, 140)
        elif categorical:
            k = int(round(p * max(len(categories) - 1, 0))) if len(categories) > 1 else 0
            out[mid] = QColor(LINE_COLORS[k % len(LINE_COLORS)])
        else:
            out[mid] = cmap.map(float(p), mode="qcolor")
    return out


def colour_bar(ax: lb.Axis) -> pg.ColorBarItem:
    """The colour map's bar labelled with the axis's real values (their log10 on a log axis)."""
    low, high = (ax.low, ax.high) if not ax.log else (math.log10(ax.low), math.log10(ax.high))
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return pg.ColorBarItem(values=(low, high), colorMap=pg.colormap.get(COLORMAP), interactive=False, width=14,
                           label=f"log10 {ax.title}" if ax.log else ax.title)


def show_colour_scale(chart: Any, ax: lb.Axis | None, sample: Callable[[str], Any]) -> None:
    """The colour key of `chart` (a widget with .canvas, .colorbar, .legend) for the column `ax` colours by: a
    colour bar for numbers, a legend of the values for text (`sample(colour)` draws each entry's mark), beside the
    axes, never over them; the previous key removed, none for None."""
    if chart.colorbar is not None:
        chart.canvas.removeItem(chart.colorbar)
        chart.colorbar = None
    if chart.legend is not None:
        chart.canvas.removeItem(chart.legend)
        chart.legend = None
    if ax is None:
        return
    if not ax.categorical:
        chart.colorbar = colour_bar(ax)
        chart.canvas.addItem(chart.colorbar, row=0, col=1)
        return
    chart.legend = pg.LegendItem(labelTextColor="#d0d0d0" if is_dark(chart) else "#303030")
    chart.canvas.addItem(chart.legend, row=0, col=1)
    chart.legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    chart.canvas.ci.layout.setAlignment(chart.legend, Qt.AlignmentFlag.AlignTop)
    for k, cat in enumerate(ax.categories):
        chart.legend.addItem(sample(LINE_COLORS[k % len(LINE_COLORS)]), f"{ax.title} = {cat}")


class ParallelCoordinates(QWidget):
    brushed = Signal(object)          # set of model ids within every brushed range, or None once cleared
    model_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, empty_text: str = ""):
        super().__init__(parent)
        self.rows: list[lb.Row] = []
        self.columns: list[str] = []
        self.axes: list[lb.Axis] = []
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.colors: dict[str, QColor] = {}
        self.ranges: dict[int, tuple[float, float]] = {}     # axis index -> (low, high) positions
        self._brush_items: dict[int, QGraphicsRectItem] = {}
        self._labels: list[pg.TextItem] = []
        self.color_by = QComboBox()
        self.color_by.setMinimumContentsLength(18)
        self.color_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.color_by.currentIndexChanged.connect(lambda _i: self._recolor())
        self.clear_button = QPushButton("Clear brushing")
        self.clear_button.clicked.connect(self.clear_brush)
        self.clear_button.setEnabled(False)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self._ask_csv)
        self.hint = QLabel(empty_text or "Drag along an axis to keep the models in that range; click the axis "
                                         "to clear it.")
        muted(self.hint)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Colour by"))
        bar.addWidget(self.color_by)
        bar.addWidget(self.hint, 1)
        for b in (self.clear_button, self.png_button, self.csv_button):
            bar.addWidget(b)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(None)
        self.box = BrushViewBox()
        self.plot = self.canvas.addPlot(row=0, col=0, viewBox=self.box)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.box.brushed.connect(self._brushed_rect)
        self.box.clicked.connect(self._clicked)
        self.colorbar: pg.ColorBarItem | None = None
        self.legend: pg.LegendItem | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)

    # -- data -----------------------------------------------------------------------------
    def set_data(self, rows: Sequence[lb.Row], columns: Sequence[str], color_by: str | None = None) -> None:
        """Draw the rows over these columns (brushes are cleared); colour by `color_by` (a column, kept when the
        combo already offers it)."""
        self.rows = list(rows)
        self.columns = [c for c in columns if c != "name"]
        keep = color_by or self.color_by.currentData()
        self.color_by.blockSignals(True)
        self.color_by.clear()
        for c in self.columns:
            self.color_by.addItem(lb.title(c), c)
        metrics = [c for c in self.columns if lb.is_metric(c)]
        pick = keep if keep in self.columns else (metrics[0] if metrics else (self.columns[-1] if self.columns
                                                                               else None))
        if pick is not None:
            self.color_by.setCurrentIndex(self.columns.index(pick))
        self.color_by.blockSignals(False)
        self.ranges.clear()
        self._redraw()

    def _redraw(self) -> None:
        self.plot.clear()
        self.box.addItem(self.box.rubber, ignoreBounds=True)   # clear() took it off
        self.lines.clear()
        self._brush_items.clear()
        self._labels = []
        self.axes = [lb.axis(self.rows, c) for c in self.columns]
        n = len(self.axes)
        fg = QColor("#d0d0d0") if is_dark(self) else QColor("#303030")
        for i, ax in enumerate(self.axes):
            self.plot.addItem(pg.PlotDataItem([i, i], [0, 1], pen=pg.mkPen(fg, width=1.5)))
            self._text(ax.title + (" (log)" if ax.log else ""), i, 1.06, (0.5, 1.0), fg, bold=True)
            for pos, label in ax.tick_labels():
                self._text(label, i + 0.03, pos, (0.0, 0.5), fg)
                self.plot.addItem(pg.PlotDataItem([i - 0.02, i], [pos, pos], pen=pg.mkPen(fg, width=1)))
        xs = np.arange(n, dtype=float)
        for r in self.rows:
            ys = np.array([np.nan if ax.positions.get(r.model_id) is None else ax.positions[r.model_id]
                           for ax in self.axes], dtype=float)
            item = pg.PlotDataItem(xs, ys, connect="finite")
            item.setCurveClickable(True, width=6)
            item.sigClicked.connect(lambda _it, _ev=None, mid=r.model_id: self.model_clicked.emit(mid))
            item.setToolTip(r.name)
            self.plot.addItem(item)
            self.lines[r.model_id] = item
        self.plot.setXRange(-0.45, max(n - 1, 0) + 0.6, padding=0)
        self.plot.setYRange(-0.06, 1.14, padding=0)
        self._recolor()

    def _text(self, label: str, x: float, y: float, anchor: tuple, color: QColor, bold: bool = False) -> None:
        html = f"<b>{esc(label)}</b>" if bold else esc(label)
        t = pg.TextItem(html=f"<span style='color:{color.name()}'>{html}</span>", anchor=anchor)
        t.setPos(x, y)
        self.plot.addItem(t)
        self._labels.append(t)

    def _recolor(self) -> None:
        column = self.color_by.currentData()
        ax = next((a for a in self.axes if a.column == column), None)
        if ax is None:
            self.colors = {r.model_id: QColor(LINE_COLORS[0]) for r in self.rows}
        else:
            self.colors = colour_scale(ax.positions, ax.categorical, ax.categories)
        self._show_scale(ax)
        self._apply_pens()

    def _show_scale(self, ax: lb.Axis | None) -> None:
        show_colour_scale(self, ax, lambda colour: pg.PlotDataItem([0, 1], [0, 0], pen=pg.mkPen(colour, width=3)))

    def _apply_pens(self) -> None:
        chosen = self.selected_ids()
        for mid, item in self.lines.items():
            if chosen is not None and mid not in chosen:
                item.setPen(pg.mkPen(FADED, width=1))
                item.setZValue(0)
            else:
                item.setPen(pg.mkPen(self.colors.get(mid, QColor(LINE_COLORS[0])), width=2))
                item.setZValue(10)

    # -- brushing -------------------------------------------------------------------------
    def selected_ids(self) -> set[str] | None:
        """Models within every brushed range; None while nothing is brushed."""
        if not self.ranges:
            return None
        ids = {r.model_id for r in self.rows}
        for i, (lo, hi) in self.ranges.items():
            ids = {m for m in ids if lb.in_range(self.axes[i], m, lo, hi)}
        return ids

    def set_brush(self, column: str, low: float | str, high: float | str | None = None) -> set[str] | None:
        """Brush one axis between two real values (numbers; for a text axis, category names: `high` defaults to
        `low`); the models within every brush are emitted and returned."""
        i = self.columns.index(column)
        ax = self.axes[i]
        if ax.categorical:
            high = low if high is None else high
            a, b = (lb._spread(ax.categories.index(str(v)), len(ax.categories)) for v in (low, high))
        else:
            a, b = (ax.position(float(v)) for v in (low, high))
        return self._set_range(i, min(a, b), max(a, b))

    def clear_brush(self) -> None:
        had = bool(self.ranges)
        self.ranges.clear()
        for item in self._brush_items.values():
            self.plot.removeItem(item)
        self._brush_items.clear()
        self._apply_pens()
        self.clear_button.setEnabled(False)
        if had:
            self.brushed.emit(None)

    def _set_range(self, i: int, lo: float, hi: float) -> set[str] | None:
        lo, hi = max(0.0, min(lo, 1.0)), max(0.0, min(hi, 1.0))    # a range past the axis ends at its ends
        self.ranges[i] = (lo, hi)
        item = self._brush_items.get(i)
        if item is None:
            item = self._brush_items[i] = QGraphicsRectItem()
            item.setPen(QPen(BRUSH_EDGE, 0))
            item.setBrush(QBrush(BRUSH_FILL))
            item.setZValue(20)
            self.plot.addItem(item, ignoreBounds=True)
        pad = 0.01
        item.setRect(QRectF(i - AXIS_HALF_WIDTH, lo - pad, 2 * AXIS_HALF_WIDTH, hi - lo + 2 * pad))
        self.clear_button.setEnabled(True)
        self._apply_pens()
        chosen = self.selected_ids()
        self.brushed.emit(chosen)
        return chosen

    def _clear_axis(self, i: int) -> None:
        if i in self.ranges:
            del self.ranges[i]
            self.plot.removeItem(self._brush_items.pop(i))
            self._apply_pens()
            self.clear_button.setEnabled(bool(self.ranges))
            self.brushed.emit(self.selected_ids())

    def _nearest_axis(self, x: float) -> int | None:
        if not self.axes:
            return None
        i = int(round(x))
        return i if 0 <= i < len(self.axes) and abs(x - i) <= PICK_DISTANCE else None

    def _brushed_rect(self, rect: QRectF) -> None:
        i = self._nearest_axis(rect.center().x())
        if i is None:
            return
        lo, hi = max(rect.top(), 0.0), min(rect.bottom(), 1.0)
        if hi - lo < 0.005:
            self._clear_axis(i)
        else:
            self._set_range(i, lo, hi)

    def _clicked(self, point: QPointF) -> None:
        i = self._nearest_axis(point.x())
        if i is not None:
            self._clear_axis(i)

    # -- export ---------------------------------------------------------------------------
    def to_csv(self) -> str:
        return lb.to_csv(self.rows, self.columns)

    def export_png(self, path: Path | str) -> Path:
        return save_png(self.canvas, path)

    def export_csv(self, path: Path | str) -> Path:
        return save_text(path, self.to_csv())

    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the chart as PNG", "parallel_coordinates.png",
                                              "PNG images (*.png)")
        if path:
            self.export_png(path)

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plotted values as CSV", "parallel_coordinates.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)
