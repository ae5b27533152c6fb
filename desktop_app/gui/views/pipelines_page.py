"""The pipelines page: a project's pipelines and New pipeline…; for the chosen one its definition (editable,
the gate as typed fields), the run timeline with a chip per step, the chosen run's decision and figures, Run now,
Rollback and Compare.

Everything is read by desktop_app.pipelines.timeline on the task pool; runs, rollbacks and saves go through
the window's actions (a run to a detached runner process); the page re-reads itself every few seconds while it
is on screen.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QSplitter, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.domain.status import ExecutionStatus, PipelineRunStatus, PipelineStatus, StepStatus

from ..actions import Actions
from ..style import ERROR_STYLE, StatusBadge, badge_stylesheet, muted, title_font
from ..widgets.gate_editor import GateEditor
from ..widgets.step_chips import ChipsRole, StepChipsDelegate, chip_color
from ..workers import TaskRunner

log = logging.getLogger("desktop_app.gui")

ID_ROLE = Qt.ItemDataRole.UserRole
RUN_COLUMNS = ("#", "Started", "Trigger", "Steps", "Outcome", "Challenger", "Figures", "Took")
FIGURE_COLUMNS = ("Figure", "Champion", "Challenger", "Δ", "Result")
HISTORY_COLUMNS = ("Champion", "Since", "Set by", "Why")
_STEPS = RUN_COLUMNS.index("Steps")


def _fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


class PipelinesPage(QWidget):
    navigate = Signal(str, str)
    message = Signal(str)
    loaded = Signal()                        # a fresh read was applied (tests wait on it)
    run_started = Signal(str)                # run id
    rolled_back = Signal(object)             # the rollback's result dict
    created = Signal(str)                    # a pipeline made with the New pipeline dialog (its id)

    REFRESH_MS = 2000

    def __init__(self, client: Any, parent: QWidget | None = None, *, actions: Any = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.project_id: str | None = None
        self.pipeline_id: str | None = None
        self.rows: list[dict] = []
        self.view: Any = None                # timeline.PipelineView of the chosen pipeline
        self.decisions: dict[str, Any] = {}  # run id -> timeline.DecisionView
        self.tasks = TaskRunner(self)
        self.actions = Actions.for_page(client, actions, self, self.tasks)
        self._generation = 0
        self._loading = False
        self._shut = False
        self.dialog: Any = None              # the New pipeline dialog while it is open
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(self.REFRESH_MS)
        self.timer.timeout.connect(self._tick)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        head = QHBoxLayout()
        self.title = QLabel("Pipelines")
        self.title.setFont(title_font(self.font()))
        head.addWidget(self.title)
        head.addSpacing(16)
        self.list = QComboBox()                # the project's pipelines
        self.list.setObjectName("pipelinesList")
        self.list.setMinimumWidth(200)
        self.list.currentIndexChanged.connect(self._on_pipeline_chosen)
        head.addWidget(self.list, 0, Qt.AlignmentFlag.AlignVCenter)
        self.badge = StatusBadge()
        head.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        head.addStretch(1)
        self.new_button = QPushButton("New pipeline…")
        self.new_button.setToolTip("Create a pipeline that retrains a champion model and promotes what beats it")
        self.new_button.clicked.connect(self.new_pipeline)
        head.addWidget(self.new_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.run_button = QPushButton("Run now")
        self.run_button.setToolTip("Start a run in the background (a detached process: it goes on if the app closes)")
        self.run_button.clicked.connect(self.run_now)
        self.compare_button = QPushButton("Compare champion ↔ challenger")
        self.compare_button.setToolTip("Open the compare page for the selected run's champion and challenger")
        self.compare_button.clicked.connect(self.open_compare)
        for b in (self.run_button, self.compare_button):
            head.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addLayout(head)

        self.body = right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self._definition_box(), 1)
        top.addWidget(self._history_box(), 1)
        rl.addLayout(top)
        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.addWidget(self._runs_box())
        self.vsplit.addWidget(self._decision_box())
        self.vsplit.setStretchFactor(0, 1)
        self.vsplit.setStretchFactor(1, 1)
        rl.addWidget(self.vsplit, 1)
        lay.addWidget(right, 1)
        lay.addWidget(self._empty_state(), 1, Qt.AlignmentFlag.AlignTop)  # takes the body's room, under the title
        self._update_buttons()

    def _empty_state(self) -> QWidget:
        self.empty = QWidget()
        v = QVBoxLayout(self.empty)
        v.setContentsMargins(0, 12, 0, 0)
        text = QLabel("This project has no pipelines yet. A pipeline retrains a champion model when reviewed "
                      "annotations arrive (or on a schedule), tests the challenger against it on the same items "
                      "and promotes it only if it passes the gate.")
        text.setWordWrap(True)
        v.addWidget(text)
        self.empty_new_button = QPushButton("New pipeline…")
        self.empty_new_button.clicked.connect(self.new_pipeline)
        v.addWidget(self.empty_new_button, 0, Qt.AlignmentFlag.AlignLeft)
        code = QLabel("From a script: dl.pipelines.create('nightly', champion=model, trigger='annotations:50'); "
                      "from the command line: desktop-app pipelines create …")
        code.setWordWrap(True)
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        muted(code)
        v.addWidget(code)
        self.empty.hide()
        return self.empty

    def _definition_box(self) -> QGroupBox:
        box = QGroupBox("Definition")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(3)
        self.fields: dict[str, QLabel] = {}
        for key in ("Champion", "Dataset", "Services"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(key, label)
        self.trigger_edit = QLineEdit()
        self.trigger_edit.setPlaceholderText("manual | annotations:50 | schedule:6h")
        self.enabled_check = QCheckBox("enabled")
        tr = QHBoxLayout()
        tr.addWidget(self.trigger_edit, 1)
        tr.addWidget(self.enabled_check)
        form.addRow("Trigger", tr)
        self.due_label = QLabel()
        self.due_label.setWordWrap(True)
        muted(self.due_label)
        form.addRow("", self.due_label)
        self.training_edit = QLineEdit()
        self.training_edit.setPlaceholderText('challenger overrides, JSON: {"epochs": 5}')
        form.addRow("Overrides", self.training_edit)
        self.gate_editor = GateEditor()
        self.gate_editor.changed.connect(self._check_gate)
        form.addRow("Gate", self.gate_editor)
        save = QHBoxLayout()
        self.save_button = QPushButton("Save changes")
        self.save_button.clicked.connect(self.save_definition)
        self.form_error = QLabel()
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet(ERROR_STYLE)
        save.addWidget(self.save_button)
        save.addWidget(self.form_error, 1)
        form.addRow("", save)
        return box

    def _history_box(self) -> QGroupBox:
        box = QGroupBox("Champion history")
        v = QVBoxLayout(box)
        self.history = QTreeWidget()
        self.history.setHeaderLabels(HISTORY_COLUMNS)
        self.history.setRootIsDecorated(False)
        self.history.setUniformRowHeights(True)
        for col, width in enumerate((140, 110, 130)):
            self.history.setColumnWidth(col, width)
        self.history.currentItemChanged.connect(lambda *_: self._update_buttons())
        v.addWidget(self.history)
        self.rollback_button = QPushButton("Roll back to the selected champion…")
        self.rollback_button.clicked.connect(self.rollback_selected)
        v.addWidget(self.rollback_button)
        return box

    def _runs_box(self) -> QGroupBox:
        box = QGroupBox("Runs")
        v = QVBoxLayout(box)
        self.runs = QTreeWidget()
        self.runs.setObjectName("pipelineRuns")
        self.runs.setHeaderLabels(RUN_COLUMNS)
        self.runs.setRootIsDecorated(False)
        self.runs.setUniformRowHeights(True)
        self.runs.setAlternatingRowColors(True)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs.setItemDelegateForColumn(_STEPS, StepChipsDelegate(self.runs))
        for col, width in enumerate((30, 120, 64, 360, 86, 130, 190)):
            self.runs.setColumnWidth(col, width)
        self.runs.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.runs.currentItemChanged.connect(lambda *_: self._show_decision())
        v.addWidget(self.runs)
        return box

    def _decision_box(self) -> QGroupBox:
        box = QGroupBox("Decision")
        v = QVBoxLayout(box)
        self.headline = QLabel()
        f = self.headline.font()
        f.setBold(True)
        self.headline.setFont(f)
        v.addWidget(self.headline)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.reasons)
        self.figures = QTreeWidget()
        self.figures.setHeaderLabels(FIGURE_COLUMNS)
        self.figures.setRootIsDecorated(False)
        self.figures.setUniformRowHeights(True)
        for col, width in enumerate((260, 90, 90, 90)):
            self.figures.setColumnWidth(col, width)
        v.addWidget(self.figures, 1)
        return box

    # -- binding --------------------------------------------------------------------------
    def set_project(self, project_id: str) -> None:
        if project_id != self.project_id:
            self.pipeline_id = None
            self.view = None
        self.project_id = project_id
        self.title.setText(f"Pipelines — {self.catalog.get_project(project_id).name}")
        self.reload()

    def select_pipeline(self, pipeline_id: str) -> None:
        self.pipeline_id = pipeline_id
        self.reload()

    def reload(self) -> None:
        """Read the pipelines list and the chosen pipeline's view on the task pool; applied when done."""
        if self.project_id is None or self._shut:
            return
        from desktop_app.pipelines.timeline import decision_view, pipeline_view, project_pipelines
        self._generation += 1
        gen, cat, project_id, wanted = self._generation, self.catalog, self.project_id, self.pipeline_id
        self._loading = True

        def read() -> tuple:
            rows = project_pipelines(cat, project_id)
            pid = wanted if any(r["id"] == wanted for r in rows) else (rows[0]["id"] if rows else None)
            view = pipeline_view(cat, pid) if pid else None
            decisions = {r.id: decision_view(cat, r.id) for r in view.runs} if view else {}
            return rows, view, decisions

        def failed(e: BaseException) -> None:
            self._loading = False
            log.warning("reading pipelines failed: %s", e)
            self.message.emit(f"Reading pipelines failed: {e}")
        self.tasks.submit(read, lambda result: self._apply(gen, *result), failed)

    def _apply(self, gen: int, rows: list[dict], view: Any, decisions: dict) -> None:
        self._loading = False
        if gen != self._generation or self._shut:
            return
        self._set_list(rows)
        self.empty.setVisible(not rows)
        self.body.setVisible(bool(rows))
        self.list.setVisible(bool(rows))
        changed = view != self.view
        form_changed = view is None or self.view is None or view.id != self.view.id or view.form != self.view.form
        self.view, self.decisions = view, decisions
        self.pipeline_id = view.id if view else None
        if changed:
            self._show_view(form_changed)
        self._update_buttons()
        self.loaded.emit()

    def _set_list(self, rows: list[dict]) -> None:
        self.rows = rows
        self.list.blockSignals(True)
        try:
            if [self.list.itemData(k) for k in range(self.list.count())] != [r["id"] for r in rows]:
                self.list.clear()
                for r in rows:
                    self.list.addItem(r["name"], r["id"])
            for k, r in enumerate(rows):
                self.list.setItemText(k, r["name"] + ("  (running)" if r["status"] == PipelineStatus.RUNNING else ""))
                self.list.setItemData(k, f"champion {r['champion']}; trigger {r['trigger']}; {r['runs']} run(s); "
                                         f"last {r['last_status'] or '—'}", Qt.ItemDataRole.ToolTipRole)
                if r["id"] == self.pipeline_id or (self.pipeline_id is None and k == 0):
                    self.list.setCurrentIndex(k)
        finally:
            self.list.blockSignals(False)

    def _show_view(self, form_changed: bool) -> None:
        v = self.view
        if v is None:
            self.runs.clear()
            self.history.clear()
            self.figures.clear()
            return
        self.badge.set_status(v.status)
        if v.status == PipelineStatus.RUNNING:
            self.badge.setStyleSheet(badge_stylesheet(ExecutionStatus.IN_PROGRESS))   # a running job's colour
        lines = dict(v.definition)
        for key, label in self.fields.items():
            label.setText(lines.get(key, ""))
        self.due_label.setText(lines.get("Due", ""))
        if form_changed:
            self.trigger_edit.setText(v.form["trigger"])
            self.training_edit.setText(v.form["training"])
            self.gate_editor.set_kind(v.form["gate_kind"])
            self.gate_editor.set_texts(v.form["gate"])
            self.gate_editor.set_errors({})
            self.enabled_check.setChecked(bool(v.form["enabled"]))
            self.form_error.clear()
        self._show_history(v.history)
        self._show_runs(v.runs)

    def _show_history(self, history: list[dict]) -> None:
        """Alias moves, newest first; the row to roll back to stays chosen (default: the latest earlier one)."""
        keep = self.history.currentItem().data(0, ID_ROLE) if self.history.currentItem() else None
        current = history[0]["model_id"] if history else None
        self.history.clear()
        items = []
        for h in history:
            item = QTreeWidgetItem([h["model"] + ("  (current)" if h["current"] else ""), h["set_at"], h["set_by"],
                                    h["reason"]])
            item.setData(0, ID_ROLE, h["model_id"])
            item.setData(1, ID_ROLE, h["model"])
            item.setToolTip(3, h["reason"])
            if h["current"]:
                f = item.font(0)
                f.setBold(True)
                item.setFont(0, f)
            self.history.addTopLevelItem(item)
            items.append(item)
        earlier = [it for it in items if it.data(0, ID_ROLE) != current]
        pick = next((it for it in earlier if it.data(0, ID_ROLE) == keep), earlier[0] if earlier else None)
        if pick is not None:
            self.history.setCurrentItem(pick)
        for col in range(3):
            self.history.resizeColumnToContents(col)

    def _show_runs(self, runs: list) -> None:
        keep = self.selected_run_id()
        self.runs.clear()
        for r in runs:
            outcome = r.status
            item = QTreeWidgetItem([str(r.number), r.created, r.trigger, "", outcome, r.challenger, r.score_text,
                                    f"{r.seconds:.0f} s" if r.seconds is not None else ""])
            item.setData(0, ID_ROLE, r.id)
            item.setData(_STEPS, ChipsRole, [(c.label, c.status) for c in r.chips])
            item.setToolTip(_STEPS, "\n".join(f"{c.step}: {c.status}" for c in r.chips))
            item.setForeground(4, chip_color(outcome))
            f = item.font(4)
            f.setBold(True)
            item.setFont(4, f)
            if r.error:
                item.setToolTip(4, r.error)
            self.runs.addTopLevelItem(item)
        target = next((k for k, r in enumerate(runs) if r.id == keep), 0)
        self.runs.resizeColumnToContents(_STEPS)
        if runs:
            self.runs.setCurrentItem(self.runs.topLevelItem(target))
        self._show_decision()

    def _show_decision(self) -> None:
        d = self.decisions.get(self.selected_run_id() or "")
        self.figures.clear()
        if d is None:
            self.headline.setText("No run yet" if self.view is not None and not self.view.runs else "")
            self.reasons.setText("")
            self._update_buttons()
            return
        self.headline.setText(f"Run: {d.headline}  —  champion {d.champion or '—'}, challenger "
                              f"{d.challenger or '—'}")
        marked = d.status in (PipelineRunStatus.PROMOTED, PipelineRunStatus.FAILED)
        self.headline.setStyleSheet(f"color: {chip_color(d.status).name()}" if marked else "")
        reasons = list(d.reasons) + ([f"error: {d.error}"] if d.error else [])
        self.reasons.setText("\n".join(f"• {r}" for r in reasons))
        for fig in d.figures:
            result = "" if fig.passed is None else ("pass" if fig.passed else "fail")
            item = QTreeWidgetItem([fig.name, _fmt(fig.champion), _fmt(fig.challenger),
                                    "" if fig.delta is None else f"{fig.delta:+.3f}", result])
            if fig.passed is not None:
                item.setForeground(4, chip_color(StepStatus.SUCCESS if fig.passed else StepStatus.FAILED))
            if fig.note:
                item.setToolTip(0, fig.note)
            for col in (1, 2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.figures.addTopLevelItem(item)
        self._update_buttons()

    def selected_run_id(self) -> str | None:
        item = self.runs.currentItem()
        return item.data(0, ID_ROLE) if item is not None else None

    def selected_decision(self) -> Any:
        return self.decisions.get(self.selected_run_id() or "")

    def _update_buttons(self) -> None:
        v = self.view
        writable = not self.catalog.read_only
        self.run_button.setEnabled(v is not None and v.status != PipelineStatus.RUNNING and writable)
        d = self.selected_decision()
        self.compare_button.setEnabled(bool(d and d.champion_id and d.challenger_id))
        h = self.history.currentItem()
        self.rollback_button.setEnabled(writable and v is not None and h is not None
                                        and h.data(0, ID_ROLE) != v.champion_id)
        self.save_button.setEnabled(writable and v is not None)
        for b in (self.new_button, self.empty_new_button):
            b.setEnabled(writable and self.project_id is not None)

    def _on_pipeline_chosen(self, index: int) -> None:
        pid = self.list.itemData(index) if index >= 0 else None
        if pid is not None and pid != self.pipeline_id:
            self.pipeline_id = pid
            self.reload()

    # -- refresh while on screen ----------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.timer.stop()
        super().hideEvent(event)

    def _tick(self) -> None:
        if not self._loading and self.isVisible():
            self.reload()

    def shutdown(self) -> None:
        if self._shut:
            return
        self._shut = True
        self.timer.stop()
        self.tasks.wait(30_000)

    # -- actions --------------------------------------------------------------------------
    def run_now(self) -> None:
        """Start a run in a detached runner process; the timeline follows it."""
        if self.pipeline_id is None:
            return
        pid = self.pipeline_id
        self.run_button.setEnabled(False)

        def done(rec: Any) -> None:
            self.message.emit(f"Pipeline run {rec.details.get('number', '')} started")
            self.reload()
            self.run_started.emit(rec.id)

        def failed(e: BaseException) -> None:
            self.message.emit(f"Could not start the run: {e}")
            QMessageBox.warning(self, "Could not start the run", str(e))
            self.reload()
        self.actions.run_pipeline(pid, done, failed, tasks=self.tasks)

    def open_compare(self) -> None:
        d = self.selected_decision()
        if d is not None and d.champion_id and d.challenger_id:
            self.navigate.emit("compare", f"{d.champion_id},{d.challenger_id}")

    def save_definition(self) -> bool:
        """Trigger / overrides / gate / enabled -> Pipeline.update (checked as at creation)."""
        if self.pipeline_id is None:
            return False
        from desktop_app.pipelines.timeline import parse_form
        if self._check_gate():
            self.form_error.setText("Fix the marked gate fields")
            return False
        try:
            fields = parse_form(self.trigger_edit.text(), self.training_edit.text(), self.gate_editor.texts(),
                                self.enabled_check.isChecked())
            self.actions.save_pipeline(self.pipeline_id, fields)
        except Exception as e:  # noqa: BLE001 - shown beside the form
            self.form_error.setText(str(e))
            return False
        self.form_error.clear()
        self.message.emit("Pipeline saved")
        self.view = None                      # re-read the form from what was stored
        self.reload()
        return True

    def _check_gate(self) -> dict[str, str]:
        """GateSpec's message under each gate field that does not pass (as it is typed)."""
        from desktop_app.pipelines.draft import gate_errors
        kind = self.gate_editor.kind
        errors = gate_errors(kind.method, self.gate_editor.texts()) if kind is not None else {}
        self.gate_editor.set_errors(errors)
        return errors

    def new_pipeline(self) -> None:
        """The New pipeline dialog (window-modal); the page lists and selects what it creates."""
        from ..dialogs.pipeline_dialog import PipelineDialog
        if self.project_id is None:
            return
        self.dialog = PipelineDialog(self.client, self.project_id, self, actions=self.actions)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.created.connect(self._on_created)
        self.dialog.finished.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog.open()

    def _on_created(self, pipeline: Any) -> None:
        self.message.emit(f"Pipeline {pipeline.name} created")
        self.view = None
        self.select_pipeline(pipeline.id)
        self.created.emit(pipeline.id)

    def rollback_selected(self) -> None:
        item = self.history.currentItem()
        if item is None or self.view is None or self.pipeline_id is None:
            return
        model_id = item.data(0, ID_ROLE)
        name = item.data(1, ID_ROLE)
        answer = QMessageBox.question(
            self, "Roll back the champion",
            f"Make {name} the champion of {self.view.name} again?\n\nIt replaces {self.view.champion}; running "
            f"services of the champion move to it, and the audit history records the change.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        pid = self.pipeline_id
        self.rollback_button.setEnabled(False)

        def done(result: dict) -> None:
            self.message.emit(f"The champion is {name} again")
            self.reload()
            self.rolled_back.emit(result)

        def failed(e: BaseException) -> None:
            QMessageBox.warning(self, "Could not roll back", str(e))
            self.reload()
        self.actions.rollback_pipeline(pid, model_id, f"rolled back to {name} in the app", done, failed,
                                       tasks=self.tasks)
