"""The jobs panel: every execution with progress, ETA and current metric; cancel, resume, open the log."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.domain.status import ExecutionStatus

from ..style import status_color, status_icon

COLUMNS = ("Job", "Status", "Progress", "ETA", "Elapsed", "Current metric", "Device", "Message")
_PROGRESS = COLUMNS.index("Progress")


# The words a status shows as where they differ from the stored one: a job not yet started waits in the queue.
STATUS_WORDS = {ExecutionStatus.CREATED: "queued"}


def status_word(status: str) -> str:
    """A job's status as the panel says it: "queued" for a created job (the catalog's word is "created")."""
    return STATUS_WORDS.get(status, status)


def status_tip(status: str) -> str:
    """The stored word behind a status shown otherwise, as the SDK and `desktop-app jobs list` say it."""
    word = status_word(status)
    if word == status:
        return ""
    return (f"{word}: waiting for a free device; its status reads '{status}' in the SDK "
            f"(execution.status) and in `desktop-app jobs list`")


def job_counts(rows: list, none: str = "") -> str:
    """'1 running, 1 queued': running and queued jobs counted apart (`none` when there are neither)."""
    running = sum(1 for r in rows if r.status == ExecutionStatus.IN_PROGRESS)
    queued = sum(1 for r in rows if r.status == ExecutionStatus.CREATED)
    parts = [f"{n} {word}" for n, word in ((running, "running"), (queued, "queued")) if n]
    return ", ".join(parts) or none


def resume_hint(row) -> str:
    """Why Resume is disabled for this job, or what it does: never a disabled button with no reason."""
    if row is None:
        return "Select a canceled, failed or interrupted training job to resume it"
    if row.kind != "train":
        return f"Only training jobs can be resumed (this is a {row.kind} job; run it again instead)"
    if row.status not in (ExecutionStatus.INTERRUPTED, ExecutionStatus.CANCELED, ExecutionStatus.FAILED):
        return f"A {row.status} job cannot be resumed; canceled, failed or interrupted ones can"
    if not row.settled:
        return ("Resume is available once this job's worker process has exited (it is saving and stopping; "
                "a few seconds)")
    return "Continue training from the job's last checkpoint"


class JobsPanel(QWidget):
    cancel_requested = Signal(str)        # execution id
    resume_requested = Signal(str)
    log_requested = Signal(object)        # JobRow
    model_requested = Signal(str)         # model id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: dict[str, object] = {}
        self.items: dict[str, QTreeWidgetItem] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 6, 2)
        bar = QHBoxLayout()
        title = QLabel("<b>Jobs</b>")
        bar.addWidget(title)
        self.summary = QLabel()
        bar.addWidget(self.summary)
        bar.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.log_button = QPushButton("Open log")
        for b in (self.cancel_button, self.resume_button, self.log_button):
            bar.addWidget(b)
        self.cancel_button.clicked.connect(lambda: self._emit_for_current(self.cancel_requested))
        self.resume_button.clicked.connect(lambda: self._emit_for_current(self.resume_requested))
        self.log_button.clicked.connect(self._open_log)
        lay.addLayout(bar)
        self.tree = QTreeWidget()
        self.tree.setObjectName("jobsTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        # The Job column fits a name like "Train resnet-exp (pipeline nightly, run 3)"; its tooltip has the rest.
        # The metric column fits "epoch loss 0.312 · last batch 0.287 · validation/accuracy 0.55" (its tooltip has
        # the rest), leaving the message room on a 1400-pixel window.
        # Device fits "cuda:0 74% 21/141G" (its tooltip: "GPU 0: 74% busy, 21.3 of 141 GiB").
        for col, width in ((0, 240), (1, 95), (2, 100), (3, 50), (4, 55), (5, 265), (6, 150)):
            self.tree.setColumnWidth(col, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tree.itemDoubleClicked.connect(lambda *_: self._open_log())
        lay.addWidget(self.tree)
        self._update_buttons()

    # -- binding --------------------------------------------------------------------------
    def set_rows(self, rows: list) -> None:
        """Apply the watcher's snapshot: update rows in place, add new ones on top, drop vanished ones."""
        seen = set()
        for k, row in enumerate(rows):
            seen.add(row.id)
            item = self.items.get(row.id)
            if item is None:
                item = QTreeWidgetItem()
                item.setData(0, Qt.ItemDataRole.UserRole, row.id)
                self.tree.insertTopLevelItem(min(k, self.tree.topLevelItemCount()), item)
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setTextVisible(True)
                bar.setMaximumHeight(18)
                self.tree.setItemWidget(item, _PROGRESS, bar)
                self.items[row.id] = item
            self._fill(item, row)
            self.rows[row.id] = row
        for eid in [e for e in self.items if e not in seen]:
            item = self.items.pop(eid)
            self.rows.pop(eid, None)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        self.summary.setText(job_counts(rows))
        self._update_buttons()

    def _fill(self, item: QTreeWidgetItem, row) -> None:
        from desktop_app.sdk.views import format_duration
        title = self.title(row)
        item.setText(0, title)
        item.setToolTip(0, f"{title}\nexecution {row.id}")
        item.setText(1, status_word(row.status))
        item.setToolTip(1, status_tip(row.status))
        item.setIcon(1, status_icon(row.status))
        item.setForeground(1, status_color(row.status))
        item.setText(3, format_duration(row.eta_s))
        item.setText(4, format_duration(row.elapsed_s))
        item.setText(5, row.metric)
        item.setToolTip(5, row.metric)
        device, gpu = getattr(row, "device", ""), getattr(row, "gpu", "")
        # a running GPU job: its GPU's use and memory (NVML), "cuda:0 74% 21/141G"; the tooltip in full
        item.setText(6, f"{device} {_short_gpu(gpu)}" if gpu else device)
        item.setToolTip(6, gpu or (f"runs on {device}" if device else ""))
        msg = row.error if row.error else row.message
        item.setText(7, msg)
        item.setToolTip(7, msg)
        bar = self.tree.itemWidget(item, _PROGRESS)
        if isinstance(bar, QProgressBar):
            bar.setValue(int(row.progress * 10))
            bar.setFormat(f"{row.progress:.0f}%")

    @staticmethod
    def title(row) -> str:
        """What the job is called: its name ("Train resnet-exp (pipeline nightly, run 3)"; JobRow.name), else its
        kind and model ("train resnet-exp")."""
        return row.title

    def current_row(self):
        item = self.tree.currentItem()
        if item is None:
            return None
        return self.rows.get(item.data(0, Qt.ItemDataRole.UserRole))

    def select(self, execution_id: str) -> None:
        item = self.items.get(execution_id)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _update_buttons(self) -> None:
        row = self.current_row()
        self.cancel_button.setEnabled(bool(row and row.can_cancel))
        self.resume_button.setEnabled(bool(row and row.can_resume and row.kind == "train"))
        why = resume_hint(row)
        self.resume_button.setToolTip(why)
        self.resume_button.setStatusTip(why)
        self.log_button.setEnabled(bool(row and row.log_path))

    def _emit_for_current(self, signal) -> None:
        row = self.current_row()
        if row is not None:
            signal.emit(row.id)

    def _open_log(self) -> None:
        row = self.current_row()
        if row is not None:
            self.log_requested.emit(row)


def _short_gpu(text: str) -> str:
    """ "GPU 0: 74% busy, 21.3 of 141 GiB" -> "74% 21/141G" (several GPUs: joined by "; ")."""
    parts = []
    for one in text.split("; "):
        try:
            busy, mem = one.split(": ", 1)[1].split(" busy, ", 1)
            used, total = mem.removesuffix(" GiB").split(" of ", 1)
            parts.append(f"{busy} {float(used):.0f}/{float(total):.0f}G")
        except (IndexError, ValueError):
            parts.append(one)
    return "; ".join(parts)
