"""Metric charts (pyqtgraph): one plot per figure, a line per legend, EMA smoothing, log axis, export.

Samples arrive from a MetricsPoller; they are grouped by `sdk.views.SeriesSet` and redrawn at most
a few times a second, one changed figure per event-loop turn. Building a pyqtgraph plot costs 30-60 ms,
so plots come from a small pool filled while the page is idle and are recycled between models: nothing
that heavy happens while metrics stream in.

A run of millions of points stays interactive: the lines are reduced per pixel column to its min and max
(pyqtgraph's 'peak' downsampling, redone as the view zooms) and only the visible x range is drawn; the series
themselves, and so the CSV export, keep every point. Sorting, smoothing and the log axes work on numpy arrays.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGraphicsItem, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QSlider, QVBoxLayout, QWidget)

from desktop_app.sdk.views import SeriesSet

from ..exporting import save_png, save_text
from ..style import is_dark, muted

LINE_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
               "#9c755f", "#bab0ac")
REDRAW_MS = 250      # at most four redraws a second however fast samples stream in
COLUMNS = 2
PLOT_HEIGHT = 240
POOL = 6             # spare plots kept ready (a training run of the built-in packages draws five figures)
POOL_FILL_MS = 80    # one spare per tick, so filling the pool never stalls the window for long
FRAME_X_HEADROOM = 0.25   # the sticky view runs a quarter of the steps ahead of the data ...
FRAME_Y_HEADROOM = 0.08   # ... and a little above and below it
FRAME_REFIT = 0.4         # refit when the data fills less than this share of the frame's height
LEFT_AXIS_PX = 52    # room for labels like "0.0125" or "12,000"
UNNAMED = "value"    # the legend of a metric logged without a split (see ml.adapter, sdk.model)
DEBIAS_EXP = 40.0       # e**-40 < 2**-53
EMA_BLOCK_EXP = 300.0   # ln of the largest factor a smoothing block scales by (e**300: far from float overflow)
STEP_MS = 40         # between two figures' redraws: longer than a frame, so each is painted on its own


class ChartsPanel(QWidget):
    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model_id: str | None = None
        self.series = SeriesSet()
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[tuple[str, str], tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        # The last raw value of each line, as a dot: a one-point series is seen, and smoothing never hides
        # where a run ended (the smoothed line lags behind the last values).
        self.ends: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._frames: dict[str, tuple[pg.PlotDataItem, tuple | None]] = {}
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw_step)
        # One figure per frame: painting a plot takes 10-20 ms, all of them in one paint would stall. (With a
        # 0 ms step several figures changed before Qt's next update request and were painted together.)
        self._step = QTimer(self)
        self._step.setSingleShot(True)
        self._step.setInterval(STEP_MS)
        self._step.timeout.connect(self._redraw_step)
        self._spares: list[pg.PlotWidget] = []
        self._pool_timer = QTimer(self)
        self._pool_timer.setInterval(POOL_FILL_MS)
        self._pool_timer.timeout.connect(self._fill_pool)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(50)
        self.smoothing.setFixedWidth(160)
        self.smoothing.valueChanged.connect(self._restyle_all)
        self.smoothing_label = QLabel()
        self.smoothing_label.setMinimumWidth(32)
        bar.addWidget(self.smoothing)
        bar.addWidget(self.smoothing_label)
        self.log_x = QCheckBox("Log x")
        self.log_x.setToolTip("A logarithmic step axis (points at step 0 or below are left out)")
        self.log_x.toggled.connect(self._restyle_all)
        bar.addWidget(self.log_x)
        self.log_y = QCheckBox("Log y")
        self.log_y.toggled.connect(self._restyle_all)
        bar.addWidget(self.log_y)
        bar.addStretch(1)
        self.count_label = QLabel()
        muted(self.count_label)
        bar.addWidget(self.count_label)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self._ask_csv)
        bar.addWidget(self.png_button)
        bar.addWidget(self.csv_button)
        lay.addLayout(bar)

        self.empty = QLabel("No metrics yet. They appear here live while the model trains, or as soon as a "
                            "script logs them (model.log_run(), dl.PlotSample).")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        muted(self.empty)
        lay.addWidget(self.empty)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        # a scroll bar appearing with the third row of charts would narrow, and repaint, every chart
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.canvas = QWidget()
        self.grid = QGridLayout(self.canvas)
        self.grid.setContentsMargins(0, 0, 0, 0)
        for col in range(COLUMNS):
            self.grid.setColumnStretch(col, 1)
        self.scroll.setWidget(self.canvas)
        lay.addWidget(self.scroll, 1)
        self._update_labels()

    # -- data -----------------------------------------------------------------------------
    @property
    def weight(self) -> float:
        return self.smoothing.value() / 100.0

    def set_model(self, model_id: str | None) -> None:
        if model_id == self.model_id:
            return
        self.model_id = model_id
        self.series.clear()
        for w in self.plots.values():
            self.grid.removeWidget(w)
            self._recycle(w)
        self.plots.clear()
        self.curves.clear()
        self.ends.clear()
        self._frames.clear()
        self._dirty.clear()
        self._step.stop()
        self._update_labels()
        self._pool_timer.start()

    def add_samples(self, model_id: str, samples: list) -> None:
        if model_id != self.model_id:
            return
        changed = self.series.add(samples)
        if changed:
            self._dirty |= {f for f, _ in changed}
            if not self._timer.isActive() and not self._step.isActive():
                self._timer.start()

    def figures_shown(self) -> dict[str, dict[str, int]]:
        """What is drawn: figure -> legend -> number of points (for tests and the status text)."""
        out: dict[str, dict[str, int]] = {}
        for (figure, legend), (_, smooth) in self.curves.items():
            xs = smooth.xData
            out.setdefault(figure, {})[legend] = 0 if xs is None else len(xs)
        return out

    # -- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        """Bring every chart up to date now (export, tests); live updates go through _redraw_step."""
        dirty, self._dirty = self._dirty, set()
        for figure in sorted(dirty):
            self._draw_figure(figure)
        self._update_labels()
        self.redrawn.emit()

    def _redraw_step(self) -> None:
        if not self._dirty:
            return
        figure = min(self._dirty)
        if figure in self.plots:
            self._dirty.discard(figure)
            self._draw_figure(figure)
        else:   # a new chart is shown (empty) in this step and drawn in the next: two short stalls, not one long
            self._plot(figure)
        self._update_labels()
        if self._dirty:
            self._step.start()
        else:
            self.redrawn.emit()

    def _draw_figure(self, figure: str) -> None:
        plot = self._plot(figure)
        xs_all, ys_all = [], []
        for legend in self.series.legends(figure):
            raw, smooth = self._curves(plot, figure, legend)
            xs, ys = sorted_by_x(self.series.series(figure, legend))
            smoothed = ema_array(ys, self.weight)
            if self.log_y.isChecked():
                ys, smoothed = _positive_or_nan(ys), _positive_or_nan(smoothed)
            if self.log_x.isChecked():
                xs = _positive_or_nan(xs)
            for item in (raw, smooth):   # clipping needs x in order: NaNs (log x of steps <= 0) would break it
                item.setClipToView(not self.log_x.isChecked())
            raw.setData(xs, ys, connect="finite")
            smooth.setData(xs, smoothed, connect="finite")
            end = self.ends[(figure, legend)]
            last = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
            if last.size:
                k = int(last[-1])
                end.setData([xs[k]], [ys[k]])
                end.setToolTip(f"{legend}: {ys[k]:.6g} at step {xs[k]:g} (last value, not smoothed)")
            else:
                end.setData([], [])
            raw.setVisible(self.weight > 0)
            xs_all += [xs, xs]
            ys_all += [ys, smoothed]
        legend_box = plot.getPlotItem().legend
        if legend_box is not None:
            # A metric logged without a split ("lr") has one line named "value": the title names it already, and
            # the box only covered the start of its line.
            legend_box.setVisible(self.series.legends(figure) != [UNNAMED])
        self._fit_frame(plot, figure, xs_all, ys_all)
        # pyqtgraph fits the view and moves its contents lazily, inside the next paint, and the moved items
        # then ask for a second paint: do both now so the figure is painted once
        plot.getViewBox().prepareForPaint()

    def _fit_frame(self, plot: pg.PlotWidget, figure: str, xs_all: list, ys_all: list) -> None:
        """A sticky auto-range: an invisible two-point item spans the data with headroom, and pyqtgraph's
        auto-range fits that. The view (and the axes, whose ticks and labels are the costly part of a
        paint) then change only when the data leaves the frame, not with every new point. Zooming and the
        "A" button behave as pyqtgraph's always do."""
        item, old = self._frames.get(figure, (None, None))
        if item is None:
            item = plot.plot(pen=pg.mkPen(0, 0, 0, 0))   # transparent, no legend entry
        frame = None
        if not self.log_y.isChecked() and not self.log_x.isChecked() and xs_all:
            x = np.concatenate([np.asarray(v, np.float64) for v in xs_all])
            y = np.concatenate([np.asarray(v, np.float64) for v in ys_all])
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                x0, x1 = float(x[ok].min()), float(x[ok].max())
                y0, y1 = float(y[ok].min()), float(y[ok].max())
                frame = old
                if (old is None or x0 < old[0] or x1 > old[1] or y0 < old[2] or y1 > old[3]
                        or (y1 - y0) < FRAME_REFIT * (old[3] - old[2])):
                    if x1 - x0 < 1.0:       # one step so far: centre it, do not pin it to the left edge
                        x0, x1 = x0 - 0.5, x1 + 0.5
                    dx = max(x1 - x0, 1.0)
                    dy = (y1 - y0) or max(abs(y1), 1e-12)
                    frame = (x0, x1 + FRAME_X_HEADROOM * dx, y0 - FRAME_Y_HEADROOM * dy, y1 + FRAME_Y_HEADROOM * dy)
        if frame != old or old is None:
            if frame is None:
                item.setData([], [])
            else:
                item.setData([frame[0], frame[1]], [frame[2], frame[3]])
            whole_step_ticks(plot, xs_all, frame[:2] if frame is not None else None)
        self._frames[figure] = (item, frame)

    def _plot(self, figure: str) -> pg.PlotWidget:
        plot = self.plots.get(figure)
        if plot is None:
            plot = self._spares.pop() if self._spares else self._new_plot()
            plot.setObjectName(f"plot_{figure}")
            plot.setTitle(figure, color=self._fg())
            plot.setLogMode(self.log_x.isChecked(), self.log_y.isChecked())
            self.plots[figure] = plot
            self._relayout()
            plot.show()  # the pool refills on the next model or page visit, not while metrics stream in
        return plot

    def _new_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(self.canvas)
        plot.hide()
        plot.setFixedHeight(PLOT_HEIGHT)  # a new chart must not resize (and repaint) the others
        self._theme(plot)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setLabel("bottom", "step")
        plot.setTitle(" ")   # the title row keeps its height, so naming the chart later does not relayout it
        for axis in ("left", "bottom"):   # no "(x1e-3)" rescaling: it relayouts the axis on every range change
            plot.getAxis(axis).enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(LEFT_AXIS_PX)   # tick labels growing ("0.9" -> "0.95") would relayout
        for axis in ("left", "bottom"):   # axes (ticks, labels, grid) kept as pixmaps: with the sticky frame
            plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)   # they rarely change
        # Top left, on a see-through background: the newest values (the end of each line, at the right) stay
        # uncovered whichever way a metric goes.
        plot.addLegend(offset=(10, 10), brush=pg.mkBrush(128, 128, 128, 40))
        return plot

    def _fill_pool(self) -> None:
        if len(self._spares) >= POOL or not self.isVisible():
            self._pool_timer.stop()
            return
        self._spares.append(self._new_plot())

    def _recycle(self, plot: pg.PlotWidget) -> None:
        plot.hide()
        item = plot.getPlotItem()
        item.clear()
        if item.legend is not None:
            item.legend.clear()
        plot.setTitle(" ")
        plot.enableAutoRange()
        if len(self._spares) < POOL:
            self._spares.append(plot)
        else:
            plot.deleteLater()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._pool_timer.start()

    def _curves(self, plot: pg.PlotWidget, figure: str, legend: str):
        key = (figure, legend)
        pair = self.curves.get(key)
        if pair is None:
            # A legend keeps the colour it got first, however many lines join the plot later.
            k = sum(1 for f, _ in self.curves if f == figure)
            color = QColor(LINE_COLORS[k % len(LINE_COLORS)])
            faint = QColor(color)
            faint.setAlpha(70)
            raw = plot.plot(pen=pg.mkPen(faint, width=1))
            smooth = plot.plot(pen=pg.mkPen(color, width=2), name=legend)
            for item in (raw, smooth):   # min and max per pixel column, of the visible x range only
                item.setDownsampling(auto=True, method="peak")
                item.setClipToView(True)
            self.ends[key] = plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=color,
                                       symbolPen=pg.mkPen(color))
            pair = self.curves[key] = (raw, smooth)
        return pair

    def _relayout(self) -> None:
        # in order of appearance: a new figure joins at the end, so the charts already drawn never move
        # (a moved chart is repainted whole, all of them at once when one lands before them)
        figures = list(self.plots)
        for k, figure in enumerate(figures):
            w = self.plots[figure]
            pos = (k // COLUMNS, k % COLUMNS)
            idx = self.grid.indexOf(w)
            if idx < 0 or self.grid.getItemPosition(idx)[:2] != pos:
                self.grid.removeWidget(w)
                self.grid.addWidget(w, *pos)
        rows = (len(figures) + COLUMNS - 1) // COLUMNS
        for r in range(rows + 2):
            self.grid.setRowStretch(r, 1 if r == rows else 0)  # spare height below the charts

    def _fg(self) -> str:
        return "#d0d0d0" if is_dark(self) else "#303030"

    def _theme(self, plot: pg.PlotWidget) -> None:
        fg = self._fg()
        plot.setBackground(self.palette().color(self.backgroundRole()))
        for axis in ("left", "bottom"):
            ax = plot.getAxis(axis)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
        title = plot.getPlotItem().titleLabel
        if title.text:
            title.setText(title.text, color=fg)

    def _restyle_all(self, *_: object) -> None:
        for plot in self.plots.values():
            plot.setLogMode(self.log_x.isChecked(), self.log_y.isChecked())
        self._dirty |= set(self.series.figures())
        self._update_labels()
        if not self._timer.isActive() and not self._step.isActive():
            self._timer.start()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        from PySide6.QtCore import QEvent
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light / dark
            for plot in [*self.plots.values(), *self._spares]:
                self._theme(plot)
        super().changeEvent(event)

    def _update_labels(self) -> None:
        self.smoothing_label.setText(f"{self.weight:.2f}")
        n = len(self.series)
        self.count_label.setText(f"{len(self.series.figures())} charts, {n} points" if n else "")
        has = bool(self.plots)
        self.empty.setVisible(not has)
        self.scroll.setVisible(has)
        self.png_button.setEnabled(has)
        self.csv_button.setEnabled(has)

    # -- export ---------------------------------------------------------------------------
    def export_png(self, path: Path | str) -> Path:
        self.redraw()
        return save_png(self.canvas, path)

    def export_csv(self, path: Path | str) -> Path:
        return save_text(path, self.series.to_csv())

    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts as PNG", "metrics.png", "PNG images (*.png)")
        if path:
            self.export_png(path)

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics as CSV", "metrics.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(path)


def sorted_by_x(series) -> tuple[np.ndarray, np.ndarray]:
    """A series' points as float64 arrays ordered by x (stable), as Series.sorted_by_x orders its lists: a
    resumed run that logs an x again draws no zigzag."""
    xs = np.asarray(series.xs, np.float64)
    ys = np.asarray(series.ys, np.float64)
    if xs.size > 1 and not (xs[1:] >= xs[:-1]).all():
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    return xs, ys


def ema_array(ys: np.ndarray, weight: float) -> np.ndarray:
    """sdk.views.ema (TensorBoard's debiased EMA, non-finite values passed through) over a numpy array, without a
    Python step per point: in blocks short enough that weight ** -block stays finite, each point is
    weight ** j * (carry + cumsum(weight ** -i * value)). (scipy's lfilter would do it too, but importing
    scipy.signal took seconds on the GUI thread.)"""
    if weight <= 0:
        return ys
    out = ys.copy()
    ok = np.isfinite(ys)
    v = ys[ok]
    n = v.size
    if not n:
        return out
    block = min(n, max(1, int(EMA_BLOCK_EXP / -math.log(weight))))
    j = np.arange(block, dtype=np.float64)
    grow, shrink = weight ** -j, weight ** j
    s = np.empty(n)
    carry = 0.0
    for start in range(0, n, block):
        chunk = v[start:start + block]
        m = chunk.size
        s[start:start + m] = shrink[:m] * (weight * carry + (1.0 - weight) * np.cumsum(grow[:m] * chunk))
        carry = s[start + m - 1]
    # the debiasing divisor 1 - weight ** k is 1.0 in float64 once weight ** k < 2 ** -53: only the start needs it
    head = min(n, int(DEBIAS_EXP / -math.log(weight)) + 1)
    s[:head] /= 1.0 - weight ** np.arange(1, head + 1, dtype=np.float64)
    out[ok] = s
    return out


def _positive_or_nan(values: np.ndarray) -> np.ndarray:
    """sdk.views.positive_or_nan over an array: values <= 0 (and NaN) become NaN, a gap on a log axis."""
    with np.errstate(invalid="ignore"):
        return np.where(values > 0, values, np.nan)


def whole_step_ticks(plot: pg.PlotWidget, xs_all: list, x_range: tuple[float, float] | None) -> None:
    """Ticks on whole steps only while the x range is a few steps wide (one point: 25.6, 25.8 … 26.6 named steps
    that cannot be); pyqtgraph's own spacing otherwise."""
    axis = plot.getAxis("bottom")
    x = np.concatenate([np.asarray(v, np.float64) for v in xs_all]) if xs_all else np.empty(0)
    x = x[np.isfinite(x)]
    narrow = x_range is not None and x.size and x_range[1] - x_range[0] < 5 and np.all(x == np.round(x))
    if narrow:
        axis.setTickSpacing(1, 1)
    else:
        axis.setTickSpacing()
