"""The model page: details, status, lineage, aliases / tags / notes, configuration form, labels, artifacts,
executions, charts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QScrollArea, QSplitter, QTabWidget, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from desktop_app.domain.status import ExecutionStatus, ModelStatus
from desktop_app.sdk import views
from desktop_app.sdk.evaluate_form import why_not_evaluable

from .. import pretrained
from ..style import StatusBadge, esc, muted, status_color, status_icon, title_font
from ..widgets.charts import ChartsPanel
from ..widgets.config_form import ConfigForm
from ..widgets.jobs_panel import status_tip, status_word
from ..widgets.log_view import LogView
from ..widgets.model_marks import ModelMarks
from ..workers import TaskRunner
from .model_export import ModelExporter

# The jobs panel's words for such a job (jobs.scheduler.INTERRUPTED_MESSAGE; views reach jobs only through actions).
INTERRUPTED_MESSAGE = "interrupted, can resume"
JOB_NOUNS = {"train": "training", "evaluate": "evaluation", "predict": "prediction"}


class ModelPage(QWidget):
    clone_requested = Signal(str)            # model id
    evaluate_requested = Signal(str)         # model id
    navigate = Signal(str, str)              # kind, id

    def __init__(self, client: Any, actions: Any, poller: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.actions = actions
        self.poller = poller
        self.details: views.ModelDetails | None = None
        self.model_id: str | None = None
        self._jobs_sig: tuple | None = None
        self._eval_ids: set[str] | None = None   # this model's evaluations at the last fill (None: another model)
        self.package_version: str | None = None  # the version of its package's code the model is on
        self.package_versions: list[str] = []    # every version the package has, oldest first

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addLayout(self._header())
        lay.addWidget(self.note)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._overview_tab(), "Overview")
        self.tabs.addTab(self._config_tab(), "Configuration")
        self.tabs.addTab(self._executions_tab(), "Executions")
        self.charts = ChartsPanel()
        self.tabs.addTab(self.charts, "Metrics")
        lay.addWidget(self.tabs, 1)
        poller.samples.connect(self.charts.add_samples)

    # -- layout ---------------------------------------------------------------------------
    def _header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        left = QVBoxLayout()
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setFont(title_font(self.font()))
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = StatusBadge()
        top.addWidget(self.title)
        top.addWidget(self.badge)
        top.addStretch(1)
        left.addLayout(top)
        self.subtitle = QLabel()
        muted(self.subtitle)
        left.addWidget(self.subtitle)
        # Why Evaluate… is off, and whether a pre-trained built-in's weights are on this computer: in words, not
        # only in a disabled button's tooltip.
        self.note = QLabel()        # under the whole header (its full width): one or two lines
        self.note.setWordWrap(True)
        muted(self.note)
        self.note.hide()
        self._weights: pretrained.LocalWeights | None = None
        self._interrupted: Any = None           # its last training job, when interrupted and resumable
        self._evaluate_reason: str | None = None
        self._tasks = TaskRunner(self)
        row.addLayout(left, 1)
        self.clone_button = QPushButton("Clone…")
        self.evaluate_button = QPushButton("Evaluate…")
        self.exporter = ModelExporter(self.actions, self)
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel evaluation")
        self.cancel_button.setMinimumWidth(self.cancel_button.sizeHint().width())  # the text follows the job
        self.cancel_button.setText("Cancel training")
        self.resume_button = QPushButton("Resume")
        self.clone_button.clicked.connect(lambda: self.clone_requested.emit(self.model_id or ""))
        self.evaluate_button.clicked.connect(lambda: self.evaluate_requested.emit(self.model_id or ""))
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        for b in (self.clone_button, self.evaluate_button, self.exporter.button, self.train_button,
                  self.cancel_button, self.resume_button):
            row.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def _overview_tab(self) -> QWidget:
        w = QWidget()
        lay = QHBoxLayout(w)
        left = QVBoxLayout()
        box = QGroupBox("Details")
        self.form = QFormLayout(box)
        self.fields: dict[str, QLabel] = {}
        for key in ("ID", "Package", "Project", "Dataset", "Subsets", "Created", "Updated", "Description"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            if key == "Package":   # the version of its package's code the model is on, and a way to move it
                row = QHBoxLayout()
                row.addWidget(label, 1)
                self.move_version_button = QPushButton("Move to version…")
                self.move_version_button.clicked.connect(lambda: self.move_to_version())
                row.addWidget(self.move_version_button, 0, Qt.AlignmentFlag.AlignTop)
                self.form.addRow(key, row)
                continue
            self.form.addRow(key, label)
        left.addWidget(box)
        lineage = QGroupBox("Lineage")
        ll = QVBoxLayout(lineage)
        self.lineage = QLabel()
        self.lineage.setWordWrap(True)
        self.lineage.setTextFormat(Qt.TextFormat.RichText)
        self.lineage.linkActivated.connect(self._link)
        ll.addWidget(self.lineage)
        left.addWidget(lineage)
        self.marks = ModelMarks(self.client, self.actions)   # aliases, tags, notes, data version, sweep
        self.marks.navigate.connect(self.navigate)
        left.addWidget(self.marks)
        labels = QGroupBox("Labels")
        lb = QVBoxLayout(labels)
        self.labels = QLabel()
        self.labels.setWordWrap(True)
        self.labels.setTextFormat(Qt.TextFormat.RichText)
        lb.addWidget(self.labels)
        left.addWidget(labels)
        evals = QGroupBox("Evaluations")
        el = QVBoxLayout(evals)
        self.evaluations = QListWidget()
        self.evaluations.setMaximumHeight(110)
        self.evaluations.itemActivated.connect(self._open_evaluation)
        self.evaluations.itemDoubleClicked.connect(self._open_evaluation)
        self.evaluations.setToolTip("Double-click: figures, confusion matrix and the mistakes, live thresholds")
        el.addWidget(self.evaluations)
        left.addWidget(evals)
        left.addStretch(1)
        lay.addLayout(left, 3)
        arts = QGroupBox("Artifacts")
        al = QVBoxLayout(arts)
        self.artifacts = QTreeWidget()
        self.artifacts.setHeaderLabels(["File", "Size"])
        self.artifacts.setRootIsDecorated(False)
        self.artifacts.setColumnWidth(0, 260)
        al.addWidget(self.artifacts)
        self.artifacts_total = QLabel()
        muted(self.artifacts_total)
        al.addWidget(self.artifacts_total)
        lay.addWidget(arts, 2)
        return w

    def _config_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.config_form = ConfigForm()
        self.config_form.changed.connect(self._config_edited)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.config_form)
        lay.addWidget(scroll, 1)
        bar = QHBoxLayout()
        self.config_status = QLabel()
        bar.addWidget(self.config_status, 1)
        self.revert_button = QPushButton("Revert")
        self.save_button = QPushButton("Save configuration")
        self.revert_button.clicked.connect(lambda: self._fill_config(force=True))
        self.save_button.clicked.connect(self.save_configuration)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.save_button)
        lay.addLayout(bar)
        return w

    def _executions_tab(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
        self.executions = QTreeWidget()
        self.executions.setHeaderLabels(["Created", "Kind", "Status", "Progress", "Device", "Message"])
        self.executions.setRootIsDecorated(False)
        for col, width in ((0, 160), (1, 80), (2, 110), (3, 70), (4, 80)):
            self.executions.setColumnWidth(col, width)
        self.executions.currentItemChanged.connect(self._show_log)
        split.addWidget(self.executions)
        self.log = LogView()
        split.addWidget(self.log)
        split.setSizes([160, 320])
        return split

    # -- binding --------------------------------------------------------------------------
    def set_model(self, model_id: str) -> None:
        changed = model_id != self.model_id
        self.model_id = model_id
        self.refresh(rebuild_form=changed)
        if changed:
            self._jobs_sig = None
            self._eval_ids = None
            self.charts.set_model(model_id)
            self.log.set_path(None)
        if self.poller.model_id != model_id:
            self.poller.set_model(model_id, after_id=self.charts.series.last_id)

    def refresh(self, *, rebuild_form: bool = False) -> None:
        if self.model_id is None:
            return
        d = self.details = views.model_details(self.client.catalog, self.model_id)
        m = d.model
        self.title.setText(m.name)
        self.badge.set_status(m.status)
        self._interrupted = interrupted_training(d)
        if self._interrupted is not None:   # the jobs panel's words: its worker was stopped, Resume continues
            self.badge.set_status(ExecutionStatus.INTERRUPTED)
            self.badge.setText(INTERRUPTED_MESSAGE)
        self._weights = None
        arch = pretrained.arch_of(m.configuration) if m.status == ModelStatus.PRE_TRAINED else None
        if arch is not None:
            pretrained.ask(self._tasks, arch, lambda found, mid=m.id: self._show_weights(mid, found))
        self._show_badge_tip()
        self.subtitle.setText(f"{d.package.name} package · {m.output_type} · "
                              f"{d.dataset_name or 'no dataset'} · {len(m.labels)} labels")
        train = views.subset_of(m.train_filter, "train") or str(m.train_filter)
        val = views.subset_of(m.validation_filter, "validation") or str(m.validation_filter)
        cat = self.client.catalog
        self.package_version = cat.model_package_version(m.id)
        self.package_versions = cat.package_versions(d.package.id)
        current = cat.get_package(m.package_id)       # the package's newest version, whichever the model is on
        values = {"ID": m.id, "Package": package_text(current, self.package_version, self.package_versions),
                  "Project": d.project_name, "Dataset": d.dataset_name or "—",
                  "Subsets": f"train on '{train}', validate on '{val}'", "Created": m.created_at[:19].replace("T", " "),
                  "Updated": m.updated_at[:19].replace("T", " "), "Description": m.description or "—"}
        for key, text in values.items():
            self.fields[key].setText(text)
        self.lineage.setText(self._lineage_html(d))
        self.marks.set_model(m)
        self._fill_evaluations(d)
        self.labels.setText(label_chips_html(m.labels, self._dataset_colors(m.dataset_id)))
        self.artifacts.clear()
        for a in d.artifacts:
            item = QTreeWidgetItem([a.filename, views.human_size(a.size)])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            self.artifacts.addTopLevelItem(item)
        self.artifacts_total.setText(f"{len(d.artifacts)} files, {views.human_size(d.artifacts_size)}"
                                     if d.artifacts else "No artifacts yet: training saves the weights here.")
        self._fill_executions(d)
        if rebuild_form or not self._form_dirty():
            self._fill_config(force=rebuild_form)
        self._update_buttons()

    def _dataset_colors(self, dataset_id: str | None) -> tuple[list[str], dict]:
        """(labels, label colours) of the model's dataset, as its gallery colours them; empty when it has none."""
        from desktop_app.errors import NotFoundError
        try:
            ds = self.client.catalog.get_dataset(dataset_id) if dataset_id else None
        except NotFoundError:
            ds = None
        return (list(ds.labels), dict(ds.label_colors or {})) if ds is not None else ([], {})

    def _show_weights(self, model_id: str, found: pretrained.LocalWeights) -> None:
        if model_id != self.model_id:
            return        # the answer came after the page moved to another model
        self._weights = found
        self._show_badge_tip()
        self._show_note()

    def _show_badge_tip(self) -> None:
        d = self.details
        if d is not None and self._interrupted is not None:
            self.badge.setToolTip(f"Its training job ({self._interrupted.id}) was interrupted: its worker process "
                                  f"ended from outside. Resume continues from the last checkpoint.")
            return
        if d is None or d.model.status != ModelStatus.PRE_TRAINED:
            self.badge.setToolTip("")
            return
        tip = "A built-in starting point: clone it, then train the clone on your dataset."
        if self._weights is not None:
            tip += "\n" + self._weights.note()
        self.badge.setToolTip(tip)

    def _show_note(self) -> None:
        parts = []
        reason = self._evaluate_reason
        if reason:
            parts.append(f"Evaluate… is off. {reason}")
        if self._weights is not None and not self._weights.present:
            parts.append(self._weights.short())
        resume = resume_note(self.details) if self.details is not None else ""
        if resume:
            parts.insert(0, resume)
        self.note.setText(" ".join(parts))
        self.note.setVisible(bool(parts))

    def _lineage_html(self, d: views.ModelDetails) -> str:
        def link(r) -> str:
            return (f"<a href='model:{r.id}'>{esc(r.name)}</a> "
                    f"<span style='color:{status_color(r.status).name()}'>({r.status})</span>")
        parts = [f"<b>Parent:</b> {link(d.parent) if d.parent else '— (an original model)'}"]
        kids = ", ".join(link(c) for c in d.children) or "— (not cloned yet)"
        parts.append(f"<b>Children:</b> {kids}")
        family = ([d.parent.id] if d.parent else []) + [d.model.id] + [c.id for c in d.children]
        if len(family) > 1:
            parts.append(f"<a href='compare:{','.join(family)}'>Compare with its parent and clones</a>")
        return "<br>".join(parts)

    def _fill_evaluations(self, d: views.ModelDetails) -> None:
        self.evaluations.clear()
        evals = self.client.catalog.list_evaluations(model_id=d.model.id)
        fresh = None
        for ev in evals:
            s = ev.results.get("summary", {})
            key = "mAP50" if "mAP50" in s else "accuracy"
            fig = f" · {key} {s[key]:.3f}" if isinstance(s.get(key), (int, float)) else ""
            item = QListWidgetItem(f"{ev.name}{fig} · {ev.created_at[:16].replace('T', ' ')}")
            item.setData(Qt.ItemDataRole.UserRole, ev.id)
            self.evaluations.addItem(item)
            if self._eval_ids is not None and ev.id not in self._eval_ids:
                fresh = item   # it came while the page was open: show the user where it is
        self._eval_ids = {ev.id for ev in evals}
        for ex in d.executions:  # queued / running evaluations, so the list says one is coming
            if ex.kind == "evaluate" and ex.status in ExecutionStatus.ACTIVE:
                item = QListWidgetItem(f"{ex.input.get('name') or 'evaluation'} · "
                                       f"{'queued' if ex.status == ExecutionStatus.CREATED else 'running'}…")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.evaluations.addItem(item)
        if fresh is not None:
            self.evaluations.setCurrentItem(fresh)
        if not self.evaluations.count():
            self.evaluations.addItem("None yet: Evaluate… runs the model on a dataset")
            self.evaluations.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    def _open_evaluation(self, item: QListWidgetItem) -> None:
        eid = item.data(Qt.ItemDataRole.UserRole)
        if eid:
            self.navigate.emit("evaluation", eid)

    def _fill_executions(self, d: views.ModelDetails) -> None:
        current = self.executions.currentItem()
        current_id = current.data(0, Qt.ItemDataRole.UserRole) if current else None
        self.executions.clear()
        select = None
        for ex in d.executions:
            # the jobs panel's word ("queued"), the stored one in the tooltip
            item = QTreeWidgetItem([ex.created_at[:19].replace("T", " "), ex.kind, status_word(ex.status),
                                    f"{ex.progress:.0f}%", ex.device or "", ex.error or ex.message])
            item.setToolTip(2, status_tip(ex.status))
            item.setData(0, Qt.ItemDataRole.UserRole, ex.id)
            item.setData(1, Qt.ItemDataRole.UserRole, ex.log_path)
            item.setIcon(2, status_icon(ex.status))
            item.setToolTip(5, ex.error or ex.message)
            self.executions.addTopLevelItem(item)
            if ex.id == current_id:
                select = item
        if select is not None:
            self.executions.blockSignals(True)
            self.executions.setCurrentItem(select)
            self.executions.blockSignals(False)

    def _fill_config(self, force: bool = True) -> None:
        d = self.details
        if d is None:
            return
        if force or d.fields != self.config_form.fields:  # same values: keep the widgets (and the expanded part)
            self.config_form.set_fields(d.fields)
        busy = d.model.status in ModelStatus.BUSY
        self.config_form.set_read_only(busy)
        self._saved_config = self.config_form.raw_values()
        self.config_status.setText("The model is training: the configuration is locked." if busy
                                   else "Training uses these values; cloning copies them.")
        self._update_buttons()

    def _form_dirty(self) -> bool:
        return getattr(self, "_saved_config", None) is not None and self.config_form.raw_values() != self._saved_config

    def _config_edited(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        d = self.details
        if d is None:
            return
        status = d.model.status
        self.train_button.setEnabled(status not in ModelStatus.BUSY and bool(d.model.dataset_id))
        reason = why_not_evaluable(self.client.catalog, d.model)
        self.evaluate_button.setEnabled(reason is None)
        self.evaluate_button.setToolTip(reason or "Run the model on a dataset (or one subset) and score it")
        self._evaluate_reason = reason
        self._show_note()
        self.exporter.set_model(d.model)
        active = d.active_execution
        self.cancel_button.setEnabled(active is not None)
        # The running job may be an evaluation: say which one the button stops.
        self.cancel_button.setText(f"Cancel {JOB_NOUNS.get(active.kind, 'job') if active else 'training'}")
        self.resume_button.setEnabled(d.active_execution is None and d.resumable_execution is not None)
        others = [v for v in self.package_versions if v != self.package_version]
        self.move_version_button.setEnabled(bool(others) and status not in ModelStatus.BUSY)
        self.move_version_button.setToolTip(
            f"Train, evaluate, predict and serve with another version of {d.package.name}'s code" if others and
            status not in ModelStatus.BUSY else f"The model is {status}: it moves once its training has ended"
            if others else f"{d.package.name} has one version: adding its folder again under the same name "
            f"makes the next")
        dirty = self._form_dirty()
        self.save_button.setEnabled(dirty and status not in ModelStatus.BUSY)
        self.revert_button.setEnabled(dirty)

    # -- live updates from the jobs watcher -----------------------------------------------
    def apply_jobs(self, rows: list, statuses: dict[str, str]) -> None:
        """Refresh from the catalog only when this model's status or executions changed."""
        if self.details is None or self.model_id is None:
            return
        mine = [r for r in rows if r.model_id == self.model_id]
        sig = tuple((r.id, r.status, r.settled) for r in mine)
        status = statuses.get(self.model_id)
        if sig != self._jobs_sig or (status is not None and status != self.details.model.status):
            self._jobs_sig = sig
            self.refresh()
            return
        by_id = {r.id: r for r in mine}
        for k in range(self.executions.topLevelItemCount()):
            item = self.executions.topLevelItem(k)
            r = by_id.get(item.data(0, Qt.ItemDataRole.UserRole))
            if r is not None:
                item.setText(3, f"{r.progress:.0f}%")
                item.setText(5, r.error or r.message)

    # -- actions --------------------------------------------------------------------------
    def train(self) -> None:
        if self.model_id is None:
            return
        if self._form_dirty() and not self.save_configuration():
            return
        if self.actions.train(self.model_id) is not None:
            self.refresh()
            self.tabs.setCurrentWidget(self.charts)

    def cancel(self) -> None:
        if self.details and self.details.active_execution:
            self.actions.cancel(self.details.active_execution.id)
            self.cancel_button.setEnabled(False)

    def resume(self) -> None:
        if self.details and self.details.resumable_execution:
            if self.actions.resume(self.details.resumable_execution.id) is not None:
                self.refresh()

    def choose_version(self, versions: list[str], current: str) -> str | None:
        """Asks which version to move to (newest first); tests replace it on the instance."""
        from PySide6.QtWidgets import QInputDialog
        choices = list(reversed(versions))
        name = self.details.package.name if self.details else "the package"
        text, ok = QInputDialog.getItem(self, "Move to version", f"The model is on version {current} of {name}. "
                                        f"Load which version of its code from now on?", choices,
                                        choices.index(current) if current in choices else 0, False)
        return text if ok and text != current else None

    def move_to_version(self, version: str | None = None) -> bool:
        """Move the model to another version of its package's code (asked when not given)."""
        if self.model_id is None or self.details is None:
            return False
        if version is None:
            version = self.choose_version(self.package_versions, self.package_version)
            if version is None:
                return False
        if not self.actions.move_to_package_version(self.model_id, version):
            return False
        self.refresh(rebuild_form=True)
        return True

    def save_configuration(self) -> bool:
        if self.model_id is None:
            return False
        values, errors = self.config_form.values()
        if errors:
            self.config_status.setText("Fix the marked fields: " + "; ".join(errors.values()))
            return False
        original = self.details.model.configuration if self.details else {}
        changed = views.changed_values(original, values)
        if changed and not self.actions.save_configuration(self.model_id, changed):
            return False
        self.refresh(rebuild_form=True)
        self.config_status.setText(f"Saved {len(changed)} change(s)." if changed else "Nothing changed.")
        return True

    def _show_log(self, item: QTreeWidgetItem | None, _prev=None) -> None:
        if item is None:
            return
        path = item.data(1, Qt.ItemDataRole.UserRole)
        if path:
            from pathlib import Path
            p = Path(path)
            self.log.set_path(p if p.is_absolute() else self.client.catalog.home / p)

    def _link(self, href: str) -> None:
        kind, _, ident = href.partition(":")
        self.navigate.emit(kind, ident)

    def show_metrics(self) -> None:
        self.tabs.setCurrentWidget(self.charts)

    def show_evaluations(self) -> None:
        self.refresh()
        self.tabs.setCurrentIndex(0)   # the Overview tab holds the evaluations list


def package_text(package: Any, version: str, versions: list[str]) -> str:
    """'centroid (user), version 1.0.0 (the package's current version is 1.0.1)': the code the model loads
    (`version`), and whether it is the package's current one (`package`: the package as it is now)."""
    text = f"{package.name} ({package.kind}), version {version}"
    if version != package.version:
        text += f" (the package's current version is {package.version})"
    elif len(versions) > 1:
        text += " (current)"
    return text


RESUME_HOW = "press Resume (or Model ▸ Resume training) to continue from its last checkpoint"


def resume_note(d: views.ModelDetails) -> str:
    """What the page says when the model's last training stopped before its end and can be resumed: how far it
    got and how to go on (a canceled training otherwise left the page reading as before it started)."""
    ex = d.resumable_execution
    if ex is None or d.active_execution is not None or d.model.status in ModelStatus.BUSY:
        return ""
    how = {ExecutionStatus.CANCELED: "was canceled", ExecutionStatus.INTERRUPTED: "was interrupted",
           ExecutionStatus.FAILED: "failed"}.get(ex.status, f"ended {ex.status}")
    then = "fix the cause, then " if ex.status == ExecutionStatus.FAILED else ""
    return f"Its training {how} at {ex.progress:.0f}%: the model can be resumed; {then}{RESUME_HOW}."


def interrupted_training(d: views.ModelDetails):
    """The model's last training job when it was interrupted and can be resumed now (its worker is gone)."""
    ex = d.resumable_execution
    if ex is not None and ex.status == ExecutionStatus.INTERRUPTED and d.model.status not in ModelStatus.BUSY:
        return ex
    return None


def label_chips_html(labels: list[str], dataset: tuple[list[str], dict] = ([], {})) -> str:
    """The labels as coloured chips, each in the colour the dataset's pages give it (its own palette of nine
    gave label 9 the colour of label 0, and none matched the gallery's)."""
    from ..colors import label_hex
    order, overrides = dataset
    order = list(order) + [lb for lb in labels if lb not in order]
    return " ".join(f"<span style='background:{label_hex(lab, order, overrides)}; color:white;'>&nbsp;{esc(lab)}"
                    f"&nbsp;</span>" for lab in labels) or "—"
