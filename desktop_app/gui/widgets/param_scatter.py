"""A parameter against a metric as a scatter, a point per model coloured by a third column; dragging a rectangle
brushes (the models inside are emitted; a click clears); text parameters get evenly spaced ticks; PNG and CSV
export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGraphicsRectItem, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from .. import leaderboard_data as lb
from ..exporting import save_png, save_text
from ..style import muted
from .brush_box import BRUSH_EDGE, BRUSH_FILL, BrushViewBox
from .charts import LINE_COLORS
from .parallel_coords import colour_scale, show_colour_scale

POINT_SIZE = 11


def _combo() -> QComboBox:
    c = QComboBox()
    c.setMinimumContentsLength(16)
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return c


class ParamScatter(QWidget):
    brushed = Signal(object)          # set of model ids inside the rectangle, or None once cleared
    model_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[lb.Row] = []
        self.columns: list[str] = []
        self.x_axis: lb.Axis | None = None
        self.y_axis: lb.Axis | None = None
        self.points: dict[str, tuple[float, float]] = {}    # model id -> (x, y) as plotted
        self.brush: QRectF | None = None
        self.x_combo, self.y_combo, self.color_combo = _combo(), _combo(), _combo()
        for c in (self.x_combo, self.y_combo, self.color_combo):
            c.currentIndexChanged.connect(lambda _i: self._axes_changed())
        self.clear_button = QPushButton("Clear brushing")
        self.clear_button.clicked.connect(self.clear_brush)
        self.clear_button.setEnabled(False)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self._ask_csv)
        bar = QHBoxLayout()
        for label, combo in (("x", self.x_combo), ("y", self.y_combo), ("Colour by", self.color_combo)):
            bar.addWidget(QLabel(label))
            bar.addWidget(combo)
        hint = QLabel("Drag a rectangle to keep those models; click to clear.")
        muted(hint)
        bar.addWidget(hint, 1)
        for b in (self.clear_button, self.png_button, self.csv_button):
            bar.addWidget(b)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(None)
        self.box = BrushViewBox()
        self.plot = self.canvas.addPlot(row=0, col=0, viewBox=self.box)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.box.brushed.connect(self._brushed_rect)
        self.box.clicked.connect(lambda _p: self.clear_brush())
        self.scatter = pg.ScatterPlotItem(size=POINT_SIZE, hoverable=True)
        self.scatter.sigClicked.connect(self._point_clicked)
        self.rect_item = QGraphicsRectItem()
        self.rect_item.setPen(QPen(BRUSH_EDGE, 0))
        self.rect_item.setBrush(QBrush(BRUSH_FILL))
        self.colorbar: pg.ColorBarItem | None = None
        self.legend: pg.LegendItem | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)

    # -- data -----------------------------------------------------------------------------
    def set_data(self, rows: Sequence[lb.Row], columns: Sequence[str], *, x: str | None = None,
                 y: str | None = None, color_by: str | None = None) -> None:
        """The rows over these columns: x a parameter, y a metric, colour a third (kept when still offered)."""
        self.rows = list(rows)
        self.columns = [c for c in columns if c != "name"]
        params = [c for c in self.columns if not lb.is_metric(c)]
        metrics = [c for c in self.columns if lb.is_metric(c)]
        prefer_x = [c for c in params if c.startswith("params.")] or params or self.columns
        picks = {}
        for combo, want, fallback in ((self.x_combo, x, prefer_x[:1]), (self.y_combo, y, metrics[:1]),
                                      (self.color_combo, color_by, metrics[1:2] or prefer_x[1:2] or metrics[:1])):
            keep = want or combo.currentData()
            picks[id(combo)] = keep if keep in self.columns else (fallback[0] if fallback else
                                                                   (self.columns[0] if self.columns else None))
        for combo in (self.x_combo, self.y_combo, self.color_combo):
            combo.blockSignals(True)
            combo.clear()
            for c in self.columns:
                combo.addItem(lb.title(c), c)
            pick = picks[id(combo)]
            if pick is not None:
                combo.setCurrentIndex(self.columns.index(pick))
            combo.blockSignals(False)
        self.brush = None
        self._redraw()

    def _axes_changed(self) -> None:
        self.clear_brush()          # a rectangle drawn over other columns means nothing now
        self._redraw()

    def _redraw(self) -> None:
        self.plot.clear()
        self.points.clear()
        x, y, c = self.x_combo.currentData(), self.y_combo.currentData(), self.color_combo.currentData()
        self.x_axis = lb.axis(self.rows, x) if x else None
        self.y_axis = lb.axis(self.rows, y) if y else None
        color_axis = lb.axis(self.rows, c) if c else None
        self._show_scale(color_axis)
        if self.x_axis is None or self.y_axis is None:
            return
        colors = (colour_scale(color_axis.positions, color_axis.categorical, color_axis.categories)
                  if color_axis is not None else {})
        spots = []
        for r in self.rows:
            px, py = self.x_axis.positions.get(r.model_id), self.y_axis.positions.get(r.model_id)
            if px is None or py is None:
                continue       # a model without one of the two values is not plotted
            self.points[r.model_id] = (px, py)
            col = colors.get(r.model_id, QColor(LINE_COLORS[0]))
            spots.append({"pos": (px, py), "data": r.model_id, "brush": pg.mkBrush(col),
                          "pen": pg.mkPen(QColor(0, 0, 0, 120), width=0.8), "size": POINT_SIZE})
        self.scatter.setData(spots)
        self.scatter.setToolTip(None)
        self.plot.addItem(self.scatter)
        self.plot.addItem(self.rect_item, ignoreBounds=True)
        self.rect_item.setVisible(self.brush is not None)
        for name, ax in (("bottom", self.x_axis), ("left", self.y_axis)):
            self.plot.getAxis(name).setTicks([self._ticks(ax)])
            self.plot.setLabel(name, ax.title + (" (log)" if ax.log else ""))
        self.plot.setXRange(-0.06, 1.06, padding=0)
        self.plot.setYRange(-0.06, 1.06, padding=0)

    @staticmethod
    def _ticks(ax: lb.Axis) -> list[tuple[float, str]]:
        """Real values at evenly spaced positions (five on a numeric axis), every category on a text one."""
        if ax.categorical or ax.high == ax.low:
            return ax.tick_labels()
        out = []
        for k in range(5):
            p = k / 4
            v = 10 ** (p * (math.log10(ax.high) - math.log10(ax.low)) + math.log10(ax.low)) if ax.log else \
                ax.low + p * (ax.high - ax.low)
            out.append((p, f"{v:.3g}"))
        return out

    def _show_scale(self, ax: lb.Axis | None) -> None:
        show_colour_scale(self, ax, lambda colour: pg.ScatterPlotItem(size=POINT_SIZE, brush=pg.mkBrush(colour)))

    # -- brushing -------------------------------------------------------------------------
    def selected_ids(self) -> set[str] | None:
        if self.brush is None:
            return None
        r = self.brush
        return {m for m, (px, py) in self.points.items() if r.left() <= px <= r.right() and r.top() <= py <= r.bottom()}

    def brush_values(self, x_low: float, x_high: float, y_low: float, y_high: float) -> set[str] | None:
        """Brush the rectangle between these real values of x and y (numeric axes); the models inside are
        emitted and returned."""
        xa, xb = self.x_axis.position(x_low), self.x_axis.position(x_high)
        ya, yb = self.y_axis.position(y_low), self.y_axis.position(y_high)
        return self.brush_rect(QRectF(min(xa, xb), min(ya, yb), abs(xb - xa), abs(yb - ya)))

    def brush_rect(self, rect: QRectF) -> set[str] | None:
        pad = 1e-9
        self.brush = rect.normalized().adjusted(-pad, -pad, pad, pad)
        self.rect_item.setRect(self.brush)
        self.rect_item.setVisible(True)
        self.clear_button.setEnabled(True)
        chosen = self.selected_ids()
        self.brushed.emit(chosen)
        return chosen

    def clear_brush(self) -> None:
        had = self.brush is not None
        self.brush = None
        self.rect_item.setVisible(False)
        self.clear_button.setEnabled(False)
        if had:
            self.brushed.emit(None)

    def _brushed_rect(self, rect: QRectF) -> None:
        if rect.width() < 0.003 and rect.height() < 0.003:
            self.clear_brush()
        else:
            self.brush_rect(rect)

    def _point_clicked(self, _item, points, _ev=None) -> None:
        if len(points):
            self.model_clicked.emit(points[0].data())

    # -- export ---------------------------------------------------------------------------
    def plotted_columns(self) -> list[str]:
        return [c for c in dict.fromkeys([self.x_combo.currentData(), self.y_combo.currentData(),
                                          self.color_combo.currentData()]) if c]

    def to_csv(self) -> str:
        """The plotted models (both values present) with their x, y and colour values."""
        rows = [r for r in self.rows if r.model_id in self.points]
        return lb.to_csv(rows, self.plotted_columns())

    def export_png(self, path: Path | str) -> Path:
        return save_png(self.canvas, path)

    def export_csv(self, path: Path | str) -> Path:
        return save_text(path, self.to_csv())

    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the chart as PNG", "scatter.png", "PNG images (*.png)")
        if path:
            self.export_png(path)

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plotted values as CSV", "scatter.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)
