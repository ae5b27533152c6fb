"""The compare page: two or more models side by side. Chosen metrics as overlaid curves (a colour per
model) on step, epoch or wall time; their final and best values with the best per row highlighted; the
configuration differences; evaluations of one dataset side by side (figures, per-class bars, PR curves,
confusion matrices) and, for two models, the way into reviewing their images side by side. Segmentation
evaluations compare by their own figures: mask AP for instance masks, mIoU and pixel confusion for semantic."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QMenu, QPushButton, QScrollArea, QSlider, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from desktop_app.evaluation import compare
from desktop_app.sdk.views import ema, positive_or_nan

from ..exporting import save_png
from ..leaderboard_data import headline_rank
from ..segmentation_figures import KIND_WORDS, SEMANTIC_CLASS_METRICS, SEMANTIC_STATS, evaluation_kind, figure_title
from ..style import esc, is_dark, muted, title_font
from ..widgets.charts import LINE_COLORS, whole_step_ticks
from ..widgets.compare_table import CompareTableView
from ..widgets.config_diff import ConfigDiffView
from ..widgets.confusion_matrix import ConfusionPanel
from ..widgets.pr_chart import ClassBars, PRChart

PLOT_HEIGHT = 250
MAX_DEFAULT_METRICS = 6
X_TITLES = {"step": "step", "epoch": "epoch", "wall_time": "wall time (s since the model's first sample)"}


def model_color(k: int) -> QColor:
    return QColor(LINE_COLORS[k % len(LINE_COLORS)])


def default_metrics(keys: list[str]) -> list[str]:
    """Validation curves first, then training ones; evaluation points and plain values last."""
    def rank(k: str) -> tuple:
        return (k.startswith("eval/"), "/" not in k, not k.startswith("validation/"), headline_rank(k),
                "batch" in k, k)
    return sorted(keys, key=rank)[:MAX_DEFAULT_METRICS]


class ComparePage(QWidget):
    message = Signal(str)
    navigate = Signal(str, str)
    redrawn = Signal()

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.model_ids: list[str] = []
        self.names: dict[str, str] = {}
        self.colors: dict[str, QColor] = {}
        self.curves: dict[str, dict[str, compare.Curve]] = {}
        self.plots: dict[str, pg.PlotWidget] = {}
        self.groups: list[compare.EvaluationGroup] = []

        self.title = QLabel("Compare models")
        self.title.setFont(title_font(self.font(), 1.3))
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.linkActivated.connect(lambda href: self.navigate.emit("model", href))
        head = QVBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.legend)

        # metrics picker
        self.metric_list = QListWidget()
        self.metric_list.itemChanged.connect(lambda _it: self._metrics_changed())
        pick = QWidget()
        pl = QVBoxLayout(pick)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(QLabel("Metrics"))
        pl.addWidget(self.metric_list, 1)
        row = QHBoxLayout()
        for text, on in (("All", True), ("None", False)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, on=on: self.check_all(on))
            row.addWidget(b)
        pl.addLayout(row)

        # curves
        self.x_axis = QComboBox()
        for key in compare.X_AXES:
            self.x_axis.addItem(X_TITLES[key].split(" (")[0], key)
        self.x_axis.currentIndexChanged.connect(lambda _i: self.redraw_curves())
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(0)
        self.smoothing.setFixedWidth(140)
        self.smoothing.valueChanged.connect(lambda _v: self.redraw_curves())
        self.smoothing_label = QLabel()
        self.log_y = QCheckBox("Log y axis")
        self.log_y.toggled.connect(lambda _on: self.redraw_curves())
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(self._ask_png)
        cbar = QHBoxLayout()
        cbar.addWidget(QLabel("x axis"))
        cbar.addWidget(self.x_axis)
        cbar.addSpacing(12)
        cbar.addWidget(QLabel("Smoothing"))
        cbar.addWidget(self.smoothing)
        cbar.addWidget(self.smoothing_label)
        cbar.addWidget(self.log_y)
        cbar.addStretch(1)
        cbar.addWidget(self.png_button)
        self.canvas = QWidget()
        self.grid = QGridLayout(self.canvas)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.canvas)
        self.no_curves = QLabel("None of these models logged metrics yet (train them, or log with model.log_run()).")
        muted(self.no_curves)
        curves_tab = QWidget()
        cl = QVBoxLayout(curves_tab)
        cl.addLayout(cbar)
        cl.addWidget(self.no_curves)
        cl.addWidget(self.scroll, 1)

        self.table = CompareTableView(csv_name="comparison.csv")
        self.config = ConfigDiffView()
        self.eval_tab = self._evaluation_tab()

        self.tabs = QTabWidget()
        self.tabs.addTab(curves_tab, "Curves")
        self.tabs.addTab(self.table, "Final and best")
        self.tabs.addTab(self.config, "Configuration")
        self.tabs.addTab(self.eval_tab, "Evaluation")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(pick)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([230, 1100])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addLayout(head)
        lay.addWidget(split, 1)

    def _evaluation_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Evaluated on"))
        self.group_box = QComboBox()
        self.group_box.currentIndexChanged.connect(lambda _i: self.show_group())
        bar.addWidget(self.group_box, 1)
        self.review_button = QPushButton("Review images side by side…")
        self.review_button.setToolTip("The same image in two panes; regressions: what the second model gets "
                                      "wrong that the first got right")
        self.review_button.clicked.connect(lambda _checked=False: self.open_review())
        bar.addWidget(self.review_button)
        self.eval_png = QPushButton("Export PNG…")
        self.eval_png.clicked.connect(lambda: self._ask_png(self.eval_content, "evaluation.png"))
        bar.addWidget(self.eval_png)
        lay.addLayout(bar)
        self.kinds_note = QLabel()           # evaluations of one dataset that score different things
        self.kinds_note.setWordWrap(True)
        muted(self.kinds_note)
        self.kinds_note.hide()
        lay.addWidget(self.kinds_note)
        self.no_eval = QLabel("No dataset evaluated by two of these models yet: evaluate them on the same "
                              "dataset (and subset) to compare their results here.")
        self.no_eval.setWordWrap(True)
        muted(self.no_eval)
        lay.addWidget(self.no_eval)
        self.eval_content = QWidget()
        el = QGridLayout(self.eval_content)
        el.setContentsMargins(0, 0, 0, 0)
        self.eval_table = CompareTableView("Evaluation figures at each evaluation's own confidence threshold; "
                                           "the best per row highlighted.", "evaluation.csv")
        self.class_metric = QComboBox()
        self.class_metric.currentIndexChanged.connect(lambda _i: self._draw_bars())
        self.bars = ClassBars("Per class")
        self.pr_class = QComboBox()
        self.pr_class.currentIndexChanged.connect(lambda _i: self._draw_pr())
        self.pr = PRChart("Precision-recall (IoU .50)")
        bars_box = QWidget()
        bl = QVBoxLayout(bars_box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.class_metric)
        bl.addWidget(self.bars, 1)
        pr_box = self.pr_box = QWidget()
        prl = QVBoxLayout(pr_box)
        prl.setContentsMargins(0, 0, 0, 0)
        prl.addWidget(self.pr_class)
        prl.addWidget(self.pr, 1)
        self.matrices = QWidget()
        self.matrices_layout = QHBoxLayout(self.matrices)
        self.matrices_layout.setContentsMargins(0, 0, 0, 0)
        self.hide_diagonal = QCheckBox("Hide the diagonal")
        self.hide_diagonal.toggled.connect(
            lambda on: [m.matrix.set_hide_diagonal(on) for m in self.matrix_panels])
        self.matrix_panels: list[ConfusionPanel] = []
        el.addWidget(self.eval_table, 0, 0)
        el.addWidget(bars_box, 0, 1)
        el.addWidget(pr_box, 1, 0)
        mbox = QWidget()
        ml = QVBoxLayout(mbox)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.hide_diagonal)
        # Each matrix keeps the room its classes need (ten digits and "(no prediction)" were cut after
        # class 8): side by side, scrolled when the page is narrower.
        self.matrices_scroll = QScrollArea()
        self.matrices_scroll.setWidgetResizable(True)
        self.matrices_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.matrices_scroll.setWidget(self.matrices)
        ml.addWidget(self.matrices_scroll, 1)
        el.addWidget(mbox, 1, 1)
        el.setRowStretch(0, 1)
        el.setRowStretch(1, 1)
        el.setColumnStretch(0, 1)
        el.setColumnStretch(1, 1)
        lay.addWidget(self.eval_content, 1)
        return w

    # -- binding ----------------------------------------------------------------------------
    def set_models(self, ident: str | list[str]) -> None:
        ids = [x for x in (ident.split(",") if isinstance(ident, str) else ident) if x]
        models = [self.catalog.get_model(i) for i in ids]
        self.model_ids = [m.id for m in models]
        projects = {m.project_id: self.catalog.get_project(m.project_id).name for m in models if m.project_id}
        self.names = compare.column_names([(m.id, m.name, projects.get(m.project_id, "no project")) for m in models])
        self.colors = {mid: model_color(k) for k, mid in enumerate(self.model_ids)}
        self.title.setText(f"Compare {len(models)} models")
        self.legend.setText("  ".join(
            f"<a href='{m.id}' style='color:{self.colors[m.id].name()}; text-decoration:none;'>■ <b>"
            f"{esc(self.names[m.id])}</b></a> <span style='color:gray'>({m.status})</span>" for m in models))
        self.curves = compare.load_curves(self.catalog, self.model_ids)
        keys = compare.metric_keys(self.catalog, self.model_ids)
        chosen = set(default_metrics(keys))
        self.metric_list.blockSignals(True)
        self.metric_list.clear()
        for k in keys:
            it = QListWidgetItem(k)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if k in chosen else Qt.CheckState.Unchecked)
            have = sum(1 for mid in self.model_ids if k in self.curves[mid])
            it.setToolTip(f"{k}: logged by {have} of {len(self.model_ids)} models")
            self.metric_list.addItem(it)
        self.metric_list.blockSignals(False)
        self.config.set_configs({self.names[m.id]: m.configuration for m in models})
        self._metrics_changed()
        self._fill_groups()

    def refresh(self) -> None:
        if self.model_ids:
            self.set_models(list(self.model_ids))

    def chosen_metrics(self) -> list[str]:
        return [self.metric_list.item(i).text() for i in range(self.metric_list.count())
                if self.metric_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_chosen_metrics(self, keys: list[str]) -> None:
        self.metric_list.blockSignals(True)
        for i in range(self.metric_list.count()):
            it = self.metric_list.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.text() in keys else Qt.CheckState.Unchecked)
        self.metric_list.blockSignals(False)
        self._metrics_changed()

    def check_all(self, on: bool) -> None:
        self.set_chosen_metrics([self.metric_list.item(i).text() for i in range(self.metric_list.count())]
                                if on else [])

    def _metrics_changed(self) -> None:
        keys = self.chosen_metrics()
        self.table.set_table(compare.metrics_table(self.curves, keys, self.model_ids, self.names))
        self.redraw_curves()

    # -- curves -----------------------------------------------------------------------------
    @property
    def axis(self) -> str:
        return self.x_axis.currentData()

    def redraw_curves(self) -> None:
        keys = self.chosen_metrics()
        weight = self.smoothing.value() / 100.0
        self.smoothing_label.setText(f"{weight:.2f}")
        for key in [k for k in self.plots if k not in keys]:
            w = self.plots.pop(key)
            self.grid.removeWidget(w)
            w.hide()                      # gone now, not at the next event-loop turn
            w.deleteLater()
        for k, key in enumerate(keys):
            plot = self.plots.get(key)
            if plot is None:
                plot = self.plots[key] = self._new_plot(key)
            pos = (k // 2, k % 2)
            idx = self.grid.indexOf(plot)
            if idx < 0 or self.grid.getItemPosition(idx)[:2] != pos:
                self.grid.removeWidget(plot)
                self.grid.addWidget(plot, *pos)
            self._draw_plot(plot, key, weight)
        rows = (len(keys) + 1) // 2
        for r in range(rows + 2):
            self.grid.setRowStretch(r, 1 if r == rows else 0)
        has = any(self.curves.get(m) for m in self.model_ids)
        self.no_curves.setVisible(not has)
        self.scroll.setVisible(has)
        self.redrawn.emit()

    def _new_plot(self, key: str) -> pg.PlotWidget:
        fg = "#d0d0d0" if is_dark(self) else "#303030"
        plot = pg.PlotWidget(self.canvas)
        plot.setFixedHeight(PLOT_HEIGHT)
        plot.setBackground(self.palette().color(self.backgroundRole()))
        for axis in ("left", "bottom"):
            ax = plot.getAxis(axis)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setTitle(key, color=fg)
        # The models' names in a row under the chart, not over it: a box in a corner covered the lines that run
        # there (a rising accuracy, the top right), and the exported PNG still says which line is which.
        legend = pg.LegendItem(colCount=8, labelTextColor=fg)
        plot.getPlotItem().layout.addItem(legend, 4, 1)
        plot.chart_legend = legend
        plot.setObjectName(f"compare_{key}")
        return plot

    def _draw_plot(self, plot: pg.PlotWidget, key: str, weight: float) -> None:
        item = plot.getPlotItem()
        item.clear()
        plot.chart_legend.clear()
        plot.setLogMode(False, self.log_y.isChecked())
        plot.setLabel("bottom", X_TITLES[self.axis])
        drawn: list = []
        for mid in self.model_ids:
            c = self.curves.get(mid, {}).get(key)
            if c is None:
                continue
            t0 = compare.model_start(self.curves[mid]) if self.axis == "wall_time" else None
            xs, ys = c.points(self.axis, t0)
            smooth = ema(ys, weight) if weight > 0 else ys
            if self.log_y.isChecked():
                ys, smooth = positive_or_nan(ys), positive_or_nan(smooth)
            color = self.colors[mid]
            if weight > 0:
                faint = QColor(color)
                faint.setAlpha(70)
                plot.plot(xs, ys, pen=pg.mkPen(faint, width=1), connect="finite")
            symbol = "o" if len(xs) <= 2 else None    # a single evaluation point still shows
            line = plot.plot(xs, smooth, pen=pg.mkPen(color, width=2), name=self.names[mid], connect="finite",
                             symbol=symbol, symbolBrush=color, symbolSize=6)
            plot.chart_legend.addItem(line, self.names[mid])
            drawn.append(xs)
        whole_step_ticks(plot, drawn, _span(drawn))

    def drawn_lines(self, key: str) -> dict[str, int]:
        """model name -> number of points drawn for a metric (tests, status)."""
        plot = self.plots.get(key)
        if plot is None:
            return {}
        out = {}
        for it in plot.getPlotItem().listDataItems():
            if it.name():
                xs = it.xData
                out[it.name()] = 0 if xs is None else len(xs)
        return out

    # -- evaluations ------------------------------------------------------------------------
    def _fill_groups(self) -> None:
        self.groups = compare.common_evaluations(self.catalog, self.model_ids)
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for g in self.groups:
            ds = self.catalog.get_dataset(g.dataset_id)
            flt = ", ".join(f"{k} {v}" for k, v in g.filter.items()) or "all items"
            self.group_box.addItem(f"{ds.name} ({flt}) · {len(g.records)} models", g.dataset_id)
        self.group_box.blockSignals(False)
        has = bool(self.groups)
        self.no_eval.setVisible(not has)
        self.eval_content.setVisible(has)
        self.group_box.setEnabled(has)
        self.eval_png.setEnabled(has)
        self.show_group()

    @property
    def group(self) -> compare.EvaluationGroup | None:
        k = self.group_box.currentIndex()
        return self.groups[k] if 0 <= k < len(self.groups) else None

    def _group_results(self) -> dict[str, dict]:
        g = self.group
        if g is None:
            return {}
        return {self.names[mid]: g.records[mid].results for mid in self.model_ids if mid in g.records}

    def group_kinds(self) -> list[str]:
        """What the group's evaluations score ('boxes', 'masks', 'semantic', 'classification'), in model order."""
        g = self.group
        if g is None:
            return []
        return [evaluation_kind(g.records[mid].method, g.records[mid].results) for mid in self.model_ids
                if mid in g.records]

    @property
    def group_kind(self) -> str:
        """The group's one kind, or 'mixed' when its evaluations score different things."""
        kinds = set(self.group_kinds())
        return kinds.pop() if len(kinds) == 1 else "mixed" if kinds else ""

    def review_refusal(self) -> str:
        """Why the group's images cannot be reviewed side by side ('' when they can): mistakes are counted the
        same way only between evaluations of one kind (regressions compare them)."""
        kinds = self.group_kinds()
        if len(set(kinds)) > 1:
            words = " and ".join(sorted({KIND_WORDS.get(k, k) for k in kinds}))
            return (f"These evaluations score different things ({words}): their mistakes do not compare, so "
                    f"there are no regressions to list. Compare models evaluated the same way.")
        return ""

    def review_pairs(self) -> list[tuple[str, str, str]]:
        """(menu text, baseline evaluation id, candidate evaluation id) for every ordered pair of models in the
        group: regressions are what the candidate gets wrong that the baseline got right."""
        g = self.group
        if g is None:
            return []
        mids = [mid for mid in self.model_ids if mid in g.records]
        return [(f"{self.names[b]} against {self.names[a]}", g.records[a].id, g.records[b].id)
                for a in mids for b in mids if a != b]

    def _review_menu(self) -> None:
        """Two models: the button opens them. More: it offers each pair (baseline first)."""
        pairs = self.review_pairs()
        old = self.review_button.menu()
        self.review_button.setMenu(None)
        if old is not None:
            old.deleteLater()
        refusal = self.review_refusal()
        self.review_button.setEnabled(bool(pairs) and not refusal)
        self.review_button.setToolTip(refusal or "The same image in two panes; regressions: what the second model "
                                                 "gets wrong that the first got right")
        if len(pairs) <= 2:
            self.review_button.setText("Review images side by side…")
            return
        self.review_button.setText("Review images side by side")
        menu = QMenu(self.review_button)
        for text, a, b in pairs:
            menu.addAction(text).triggered.connect(lambda _c=False, a=a, b=b: self.open_review((a, b)))
        self.review_button.setMenu(menu)

    def show_group(self) -> None:
        g = self.group
        self._review_menu()
        if g is None:
            return
        results = self._group_results()
        kind = self.group_kind
        refusal = self.review_refusal()
        self.kinds_note.setText(refusal)
        self.kinds_note.setVisible(bool(refusal))
        table = compare.evaluation_table(results, self._stats(results) if kind == "semantic" else None)
        for row in table.rows:               # 'mask mAP', 'mIoU': what the figures measure
            row.name = figure_title(kind, row.name)
        self.eval_table.set_table(table)
        first = next(iter(results.values()))
        metrics = compare.per_class_metrics(first)
        if kind == "semantic":               # pixels per class is a count, not a score to compare
            metrics = [m for m in SEMANTIC_CLASS_METRICS if m in metrics]
        self.class_metric.blockSignals(True)
        self.class_metric.clear()
        for m in metrics:
            self.class_metric.addItem(f"per class: {figure_title(kind, m)}", m)
        self.class_metric.blockSignals(False)
        self.pr_box.setVisible(kind != "semantic")      # pixels have no precision-recall curve
        labels = list(first.get("per_class", {}))
        self.pr_class.blockSignals(True)
        self.pr_class.clear()
        for lb in labels:
            self.pr_class.addItem(f"PR curve: {lb}", lb)
        self.pr_class.blockSignals(False)
        self._draw_bars()
        self._draw_pr()
        self._draw_matrices(results)

    @staticmethod
    def _stats(results: dict[str, dict]) -> list[str]:
        """A semantic group's figures in the order the evaluation page shows them, then any others."""
        present = {k for r in results.values() for k, v in r.get("summary", {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return [k for k in SEMANTIC_STATS if k in present] + sorted(present - set(SEMANTIC_STATS))

    def _model_colors(self) -> dict[str, QColor]:
        return {self.names[mid]: self.colors[mid] for mid in self.model_ids}

    def _draw_bars(self) -> None:
        results = self._group_results()
        metric = self.class_metric.currentData()
        if not results or not metric:
            return
        labels, values = compare.per_class_values(results, metric)
        self.bars.set_values(labels, values, figure_title(self.group_kind, metric), self._model_colors())

    def _draw_pr(self) -> None:
        results = self._group_results()
        lb = self.pr_class.currentData()
        if not results or lb is None:
            return
        curves = {}
        for name, r in results.items():
            if r.get("method") == "coco":
                c = r.get("pr_curves", {}).get(lb)
                if c:
                    p = [v if v >= 0 else math.nan for v in c["precision_50"]]
                    curves[name] = (c["recall"], p)
            else:
                c = (r.get("curves") or {}).get(lb)
                if c:
                    curves[name] = (c["recall"], [math.nan if v is None else v for v in c["precision"]])
        suffix = {"masks": " (mask IoU .50)", "boxes": " (IoU .50)"}.get(self.group_kind, "")
        self.pr.set_title(f"Precision-recall: {lb}{suffix}")
        self.pr.set_curves(curves, self._model_colors())

    def _draw_matrices(self, results: dict[str, dict]) -> None:
        for p in self.matrix_panels:
            self.matrices_layout.removeWidget(p)
            p.deleteLater()
        self.matrix_panels = []
        g = self.group
        for mid in self.model_ids:
            if mid not in g.records:
                continue
            panel = ConfusionPanel(self.names[mid], compact=True)
            rec = g.records[mid]
            conf = rec.results.get("confusion", {})
            panel.set_matrix(conf.get("labels", []), conf.get("matrix", []))
            panel.matrix.set_hide_diagonal(self.hide_diagonal.isChecked())
            if evaluation_kind(rec.method, rec.results) == "semantic":
                panel.set_unit("pixels")     # row shares of each class's pixels; nothing to list in a cell
                panel.matrix.setToolTip("Each row: where that class's pixels went (hover a cell for its count)")
            else:
                panel.matrix.setToolTip("Click a cell to open this evaluation with the cell's instances listed")
            panel.cell_clicked.connect(lambda i, j, eid=rec.id: self._open_cell(eid, i, j))
            self.matrices_layout.addWidget(panel, 1)
            self.matrix_panels.append(panel)

    def _open_cell(self, evaluation_id: str, row: int, col: int) -> None:
        self.navigate.emit("evaluation", f"{evaluation_id}@{row},{col}")

    def open_review(self, pair: tuple[str, str] | None = None) -> None:
        """Both evaluations in the review page's two panes: `pair` (baseline, candidate), else the first two."""
        refusal = self.review_refusal()
        if refusal:
            self.message.emit(refusal)
            return
        if pair is None:
            pairs = self.review_pairs()
            if not pairs:
                return
            pair = pairs[0][1:]
        self.navigate.emit("review", ",".join(pair))

    # -- export -----------------------------------------------------------------------------
    def export_png(self, path: Path | str, widget: QWidget | None = None) -> Path:
        target = widget or (self.canvas if self.tabs.currentIndex() == 0 else self.tabs.currentWidget())
        return save_png(target, path)

    def _ask_png(self, widget: QWidget | None = None, name: str = "curves.png") -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as PNG", name, "PNG images (*.png)")
        if path:
            self.export_png(path, widget if isinstance(widget, QWidget) else self.canvas)


def _span(xs_all: list) -> tuple[float, float] | None:
    """The x extent of the points drawn, ±0.5 around a single step as pyqtgraph frames it (None: no point)."""
    x = np.concatenate([np.asarray(v, np.float64) for v in xs_all]) if xs_all else np.empty(0)
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    lo, hi = float(x.min()), float(x.max())
    return (lo - 0.5, hi + 0.5) if hi - lo < 1 else (lo, hi)
