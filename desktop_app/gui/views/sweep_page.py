"""A sweep's page: what it searches (method, space, objective), its progress, the trials (parameters, objective,
status) with the best so far highlighted, Cancel, and the trials as parallel coordinates; read again every few
seconds while it runs."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.errors import NotFoundError

from .. import leaderboard_data as lb
from ..actions import Actions
from ..itemmodels.compare_model import BEST_BG
from ..style import StatusBadge, esc, muted, status_color, title_font
from ..widgets.parallel_coords import ParallelCoordinates

POLL_MS = 2000
TRIAL_COLORS = {"queued": "created", "running": "in-progress", "succeeded": "trained", "failed": "failed",
                "canceled": "canceled", "interrupted": "interrupted", "pruned": "canceled"}


def trial_rows(state: Any) -> tuple[list[lb.Row], list[str]]:
    """The trials as leaderboard rows (params.<name> and the objective's best value) and the plotted columns."""
    sweep = state.sweep
    params = list(sweep.space)
    for t in state.trials:
        params += [p for p in t.params if p not in params]
    objective = objective_column(sweep)
    rows = []
    for t in state.trials:
        values: dict[str, Any] = {lb.param_column(p): t.params.get(p) for p in params}
        values[objective] = t.value
        values["status"] = t.status
        rows.append(lb.Row(t.model.id, t.model.name, values))
    return rows, [*(lb.param_column(p) for p in params), objective]


def objective_column(sweep: Any) -> str:
    return lb.metric_column(sweep.objective or "objective", "max" if sweep.direction == "maximize" else "min")


class SweepPage(QWidget):
    message = Signal(str)
    navigate = Signal(str, str)
    error = Signal(str, object)
    refreshed = Signal()

    def __init__(self, client: Any, actions: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.actions = Actions.for_page(client, actions, self)
        self.sweep_id: str | None = None
        self.state: Any = None
        self.rows: list[lb.Row] = []

        self.title = QLabel("Sweep")
        self.title.setFont(title_font(self.font(), 1.3))
        self.badge = StatusBadge()
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextFormat(Qt.TextFormat.RichText)
        self.subtitle.linkActivated.connect(self._link)
        muted(self.subtitle)
        self.cancel_button = QPushButton("Cancel sweep")
        self.cancel_button.setToolTip("Cancel its queued and running trials; trials that ended keep their models")
        self.cancel_button.clicked.connect(self.cancel)
        self.leaderboard_button = QPushButton("Leaderboard")
        self.leaderboard_button.setToolTip("The project's leaderboard (every model, searchable)")
        self.leaderboard_button.clicked.connect(
            lambda: self.state and self.navigate.emit("leaderboard", self.state.sweep.project_id))
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(self.leaderboard_button)
        top.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.best = QLabel()
        self.best.setTextFormat(Qt.TextFormat.RichText)
        self.best.linkActivated.connect(self._link)
        prow = QHBoxLayout()
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.best, 2)

        self.trials = QTreeWidget()
        self.trials.setRootIsDecorated(False)
        self.trials.setAlternatingRowColors(True)
        self.trials.setSortingEnabled(True)
        self.trials.sortByColumn(0, Qt.SortOrder.AscendingOrder)     # trial 1 first until a header is clicked
        self.trials.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.trials.itemDoubleClicked.connect(
            lambda item, _c: self.navigate.emit("model", item.data(0, Qt.ItemDataRole.UserRole)))
        self.trials.setToolTip("Double-click a trial to open its model")
        self.trials.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.chart = ParallelCoordinates(empty_text="Each line a trial; drag along an axis to pick trials in the "
                                                    "table.")
        self.chart.brushed.connect(self._brushed)
        self.chart.model_clicked.connect(lambda mid: self.navigate.emit("model", mid))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.trials)
        split.addWidget(self.chart)
        split.setSizes([230, 420])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addLayout(top)
        lay.addWidget(self.subtitle)
        lay.addLayout(prow)
        lay.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)

    # -- binding --------------------------------------------------------------------------
    def _sweeps(self) -> Any:
        from desktop_app.sdk.sweep import Sweeps
        return getattr(self.client, "sweeps", None) or Sweeps(self.client)

    def set_sweep(self, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        self.refresh()

    def refresh(self) -> None:
        if self.sweep_id is None:
            return
        self.state = state = self._sweeps().get(sweep_id=self.sweep_id).state
        s = state.sweep
        self.title.setText(f"Sweep {s.name}")
        self.badge.set_status(TRIAL_COLORS.get(state.status, state.status))
        self.badge.setText(state.status)
        base = ""
        if s.base_model_id:
            try:
                name = self.client.catalog.get_model(s.base_model_id).name
                base = f" of <a href='model:{s.base_model_id}'>{esc(name)}</a>"
            except NotFoundError:      # the base model was deleted: the sweep stays
                base = ""
        space = "; ".join(f"{esc(k)}: {esc(space_text(v))}" for k, v in s.space.items())
        self.subtitle.setText(f"{s.method} search{base} · {esc(s.objective or '')} ({s.direction}) · "
                              f"budget {s.budget or len(state.trials)} · {space}")
        self.progress.setMaximum(max(state.total, 1))
        self.progress.setValue(state.finished)
        self.progress.setFormat(f"{state.finished} of {state.total} trials ended")
        b = state.best
        self.best.setText(f"Best so far: <a href='model:{b.model.id}'>{esc(b.model.name)}</a>, "
                          f"{esc(s.objective or '')} = {b.value:.4g}" if b is not None
                          else "<span style='color:gray'>No trial has an objective value yet</span>")
        self.cancel_button.setEnabled(not state.done)
        self._fill_trials()
        if state.done:
            self.timer.stop()
        elif self.isVisible():
            self.timer.start()
        self.refreshed.emit()

    def _fill_trials(self) -> None:
        state = self.state
        rows, columns = trial_rows(state)
        params = [c for c in columns if c.startswith("params.")]
        objective = columns[-1]
        self.trials.setSortingEnabled(False)
        self.trials.clear()
        self.trials.setHeaderLabels(["#", "Model", *(lb.title(c) for c in params), state.sweep.objective or "objective",
                                     "Status"])
        best_id = state.best.model.id if state.best else None
        bold = QFont(self.trials.font())
        bold.setBold(True)
        for t, row in zip(state.trials, rows):
            cells = [str(t.index), t.model.name, *(lb.text(row.get(c)) for c in params), lb.text(row.get(objective)),
                     t.status]
            item = SortableItem(cells)
            item.setData(0, Qt.ItemDataRole.UserRole, t.model.id)
            item.setData(0, SortableItem.KEY, [t.index, t.model.name, *(row.get(c) for c in params),
                                               row.get(objective), t.status])
            item.setForeground(len(cells) - 1, status_color(TRIAL_COLORS.get(t.status, t.status)))
            if t.model.id == best_id:
                for c in range(len(cells)):
                    item.setBackground(c, QBrush(BEST_BG))
                    item.setFont(c, bold)
                item.setToolTip(1, "The best trial so far")
            self.trials.addTopLevelItem(item)
        self.trials.setSortingEnabled(True)
        self.rows = rows
        if [r.model_id for r in rows] != [r.model_id for r in self.chart.rows] or \
                any(a.get(c) != b.get(c) for a, b in zip(rows, self.chart.rows) for c in columns):
            self.chart.set_data(rows, columns, color_by=objective)

    def best_model_id(self) -> str | None:
        return self.state.best.model.id if self.state is not None and self.state.best else None

    def highlighted_ids(self) -> list[str]:
        """Models whose row is drawn as the best (tinted)."""
        out = []
        for k in range(self.trials.topLevelItemCount()):
            item = self.trials.topLevelItem(k)
            if item.background(0).color() == BEST_BG:
                out.append(item.data(0, Qt.ItemDataRole.UserRole))
        return out

    # -- actions --------------------------------------------------------------------------
    def cancel(self) -> bool:
        if self.sweep_id is None or not self.actions.cancel_sweep(self.sweep_id):
            return False
        self.message.emit(f"Sweep {self.state.sweep.name if self.state else ''} canceled")
        self.refresh()
        return True

    def _brushed(self, ids: set[str] | None) -> None:
        self.trials.clearSelection()
        for k in range(self.trials.topLevelItemCount()):
            item = self.trials.topLevelItem(k)
            item.setHidden(ids is not None and item.data(0, Qt.ItemDataRole.UserRole) not in ids)

    def _link(self, href: str) -> None:
        kind, _, ident = href.partition(":")
        self.navigate.emit(kind, ident)

    def _poll(self) -> None:
        if not self.isVisible():
            self.timer.stop()
            return
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001 - the sweep was deleted or the catalog closed: stop polling
            self.timer.stop()
            self.error.emit("Could not read the sweep", e)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.state is not None and not self.state.done:
            self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)
        self.timer.stop()

    def shutdown(self) -> None:
        self.timer.stop()


def space_text(spec: Any) -> str:
    """A parameter's search space in a few words: [0.001, 0.01] or loguniform 1e-4..1e-1."""
    if isinstance(spec, dict):
        if "values" in spec:
            return "[" + ", ".join(lb.text(v) for v in spec["values"]) + "]"
        kind = spec.get("type") or spec.get("kind") or spec.get("distribution") or ""
        low, high = spec.get("low"), spec.get("high")
        if low is not None and high is not None:
            return f"{kind} {lb.text(low)}..{lb.text(high)}".strip()
        return ", ".join(f"{k}={lb.text(v)}" for k, v in spec.items())
    if isinstance(spec, (list, tuple)):
        return "[" + ", ".join(lb.text(v) for v in spec) + "]"
    return lb.text(spec)


class SortableItem(QTreeWidgetItem):
    """Sorts by the raw values (numbers as numbers, missing last), not by the shown text."""

    KEY = Qt.ItemDataRole.UserRole + 1

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else 0
        a = (self.data(0, self.KEY) or [])[col:col + 1]
        b = (other.data(0, self.KEY) or [])[col:col + 1]
        va, vb = (a[0] if a else None), (b[0] if b else None)
        if lb.missing(va) or lb.missing(vb):
            descending = tree is not None and tree.header().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
            return (not lb.missing(va)) != descending if lb.missing(va) != lb.missing(vb) else False
        return lb.sort_key(va) < lb.sort_key(vb)
