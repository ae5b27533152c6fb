"""Export a dataset, or part of it, as COCO / YOLO / VOC / ImageFolder / Dataloop, in a worker thread.

The core writes into a scratch folder and moves it into place when complete, so a cancel or an error
leaves the destination as it was. The item count follows the choices; progress comes back as signals.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from desktop_app.catalog import Catalog
from desktop_app.errors import UserError
from desktop_app.formats import FORMATS
from desktop_app.formats.base import SUBSETS
from desktop_app.formats.export import (FORMAT_FLAGS, PREDICTION_FORMATS, check_destination, describe_filters,
                                        scope_filters, writer_kwargs)
from desktop_app.gui.style import CAUTION_STYLE, ERROR_STYLE, muted
from desktop_app.gui.workers import TaskRunner

from .job_dialog import JobDialog

log = logging.getLogger(__name__)



def run_export(catalog: Catalog, dataset_id: str, out: Path, fmt: str, filters: dict, kwargs: dict, *,
               progress, cancelled) -> tuple[str, int]:
    """The export itself (any thread): (the folder written, the items in it)."""
    from desktop_app.formats.io import export_dataset
    total = [0]

    def report(done: int, n: int) -> None:
        total[0] = n
        progress(done, n)
    path = export_dataset(catalog, dataset_id, out, fmt, filters=filters, progress=report, cancelled=cancelled,
                          **kwargs)
    return str(path), total[0]


class ExportDialog(JobDialog):
    """Format, destination, which items, which predictions; live count, progress, cancel."""

    exported = Signal(str, int)          # folder, items written
    count_done = Signal(int)             # the live count settled (tests wait on it)
    CANCELLING = "Cancelling… nothing will be written."
    PROGRESS = "Writing images: {done:,} of {total:,}"

    def __init__(self, catalog: Catalog, dataset_id: str, parent: QWidget | None = None, *,
                 gallery_filter: dict | None = None, selected: list[int] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.setMinimumWidth(560)
        self.catalog, self.dataset_id = catalog, dataset_id
        self.dataset = catalog.get_dataset(dataset_id)
        self.gallery_filter, self.selected = dict(gallery_filter or {}), list(selected or [])
        self.tasks = TaskRunner(self)
        self.count: int | None = None
        self._count_gen = 0
        self._out: Path | None = None     # where the running (or last) export writes
        self._auto_dest = ""
        self._held_prediction = 0

        self.format_box = QComboBox()
        for f in FORMATS.values():
            self.format_box.addItem(f.title, f.name)
        self.dest_edit = QLineEdit()
        self.dest_edit.setPlaceholderText("A new or empty folder")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dest_edit, 1)
        row.addWidget(self.browse_button)
        self.dest_hint = QLabel()
        self.dest_hint.setWordWrap(True)
        muted(self.dest_hint)
        self.scope_box = QComboBox()
        self.scope_box.addItem("All items", "all")
        for s in SUBSETS:
            self.scope_box.addItem(f"Subset: {s}", f"subset:{s}")
        self.scope_box.addItem("Items without a subset", "subset:none")
        if self.gallery_filter:          # what the gallery shows is what one means to export, as a FiftyOne view
            self.scope_box.addItem(f"The gallery's filter ({describe_filters(self.gallery_filter)})", "gallery")
            self.scope_box.setCurrentIndex(self.scope_box.count() - 1)
        if self.selected:
            n = len(self.selected)
            self.scope_box.addItem("The selected item" if n == 1 else f"The {n:,} selected items", "selected")
        self.predictions_box = QComboBox()
        self.predictions_box.addItem("Loading…", None)
        self.predictions_box.setEnabled(False)
        self.flag_boxes: dict[str, dict[str, QCheckBox]] = {}
        self.flags_widget = QWidget()
        flags_lay = QVBoxLayout(self.flags_widget)
        flags_lay.setContentsMargins(0, 0, 0, 0)
        for fmt, flags in FORMAT_FLAGS.items():
            for key, text in flags:
                box = QCheckBox(text)
                flags_lay.addWidget(box)
                self.flag_boxes.setdefault(fmt, {})[key] = box
        self.count_label = QLabel("Counting…")
        f = self.count_label.font()
        f.setBold(True)
        self.count_label.setFont(f)

        self.form = QFormLayout()
        self.form.addRow("Format", self.format_box)
        self.form.addRow("Destination", row)
        self.form.addRow("", self.dest_hint)
        self.form.addRow("Items", self.scope_box)
        self.form.addRow("Predictions", self.predictions_box)
        self.form.addRow("Options", self.flags_widget)
        self.form.addRow("", self.count_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()             # shown while an export runs
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

        self.format_box.currentIndexChanged.connect(self._on_format)
        self.dest_edit.textChanged.connect(self._update_hint)
        self.scope_box.currentIndexChanged.connect(self._update_count)
        self._on_format()
        self._update_count()
        self._load_predictions()

    # -- the choices ------------------------------------------------------------------
    def fmt(self) -> str:
        return self.format_box.currentData()

    def destination(self) -> Path | None:
        text = self.dest_edit.text().strip()
        return Path(text).expanduser() if text else None

    def filters(self) -> dict:
        return scope_filters(self.scope_box.currentData(), self.gallery_filter, self.selected)

    def predictions(self) -> str | None:
        return self.predictions_box.currentData() if self.predictions_box.isEnabled() else None

    def flags(self) -> dict[str, bool]:
        return {k: b.isChecked() for k, b in self.flag_boxes.get(self.fmt(), {}).items()}

    def choose(self, *, fmt: str | None = None, scope: str | None = None, predictions: str | None = None,
               path: str | Path | None = None) -> None:
        """Set choices by key (as a user would pick them)."""
        for box, key in ((self.format_box, fmt), (self.scope_box, scope), (self.predictions_box, predictions)):
            if key is not None:
                i = box.findData(key)
                if i < 0:
                    raise KeyError(f"no choice {key!r}")
                box.setCurrentIndex(i)
        if path is not None:
            self.dest_edit.setText(str(path))

    # -- actions ----------------------------------------------------------------------
    def start(self, path: str | Path | None = None) -> bool:
        """Begin exporting; False (with the reason shown) when the destination or the choices will not do."""
        if self.busy:
            return False
        if path is not None:
            self.dest_edit.setText(str(path))
        out = self.destination()
        if out is None:
            self._show_error("choose a destination folder")
            return False
        if self.count == 0:
            self._show_error("no items to export with these choices")
            return False
        try:
            if check_destination(out) and not self.confirm_merge(out):
                self._set_state("idle", "Choose a new or empty folder, or confirm writing into this one.")
                return False
        except UserError as e:
            self._show_error(str(e))
            return False
        kwargs = writer_kwargs(self.fmt(), self.predictions() or False, self.flags())
        cat, ds, fmt, filters = self.catalog, self.dataset_id, self.fmt(), self.filters()
        self._out = out
        self.run_job(lambda progress, cancelled: run_export(cat, ds, out, fmt, filters, kwargs, progress=progress,
                                                            cancelled=cancelled),
                     out, f"Reading {self.dataset.name}…")
        return True

    def confirm_merge(self, out: Path) -> bool:
        answer = QMessageBox.question(
            self, "Folder not empty",
            f"{out} already holds files.\n\nFiles the export writes replace those of the same name; the others "
            "are kept. Export into it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def stop(self, timeout_ms: int = 30_000) -> None:
        """Cancel a running export and wait for it and the counting (the page is closing)."""
        super().stop(timeout_ms)
        self.tasks.wait(timeout_ms)

    # -- outcomes ---------------------------------------------------------------------
    def _on_success(self, result: tuple[str, int]) -> None:
        path, n = result
        self._ended(True)
        self._set_state("done", f"Exported {n:,} items to {path}.")
        self.exported.emit(path, n)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._ended(False)
        self._show_error(f"Nothing was written to {self._out}. {message}")
        self._update_hint()
        self._close_if_asked()

    def _on_cancelled(self) -> None:
        self._ended(False)
        self._set_state("cancelled", f"Export cancelled; nothing was written to {self._out}.")
        self._update_hint()
        self._close_if_asked()

    # -- live parts of the form -------------------------------------------------------
    def _on_format(self) -> None:
        fmt = self.fmt()
        for key, boxes in self.flag_boxes.items():
            for b in boxes.values():
                b.setVisible(key == fmt)
        self.form.setRowVisible(self.flags_widget, fmt in self.flag_boxes)
        suggested = str(Path.home() / f"{self.dataset.name}-{fmt}")
        if self.dest_edit.text() in ("", self._auto_dest):      # follow the format until the user types
            self._auto_dest = suggested
            self.dest_edit.setText(suggested)
        self._sync_predictions()

    def _load_predictions(self) -> None:
        cat, ds = self.catalog, self.dataset_id
        self.tasks.submit(lambda: cat.prediction_models(ds), self._on_predictions,
                          lambda e: log.warning("listing prediction models failed: %s", e))

    def _on_predictions(self, models: list) -> None:
        self.predictions_box.clear()
        if not models:
            self.predictions_box.addItem("None stored on this dataset", None)
        else:
            self.predictions_box.addItem("None (ground truth only)", None)
            for mid, name, n in models:
                self.predictions_box.addItem(f"{name or mid} ({n:,} predictions)", mid or name)
        self._sync_predictions()

    def _sync_predictions(self) -> None:
        has_models = self.predictions_box.count() > 1
        holds = self.fmt() in PREDICTION_FORMATS
        # A format that cannot hold predictions shows "None"; the choice comes back with one that can.
        if not holds and self.predictions_box.currentIndex() > 0:
            self._held_prediction = self.predictions_box.currentIndex()
            self.predictions_box.setCurrentIndex(0)
        elif holds and self._held_prediction:
            self.predictions_box.setCurrentIndex(self._held_prediction)
            self._held_prediction = 0
        self.predictions_box.setEnabled(has_models and holds and not self.busy)
        self.predictions_box.setToolTip("" if holds else f"{FORMATS[self.fmt()].title} cannot hold predictions")

    def _update_hint(self) -> None:
        out = self.destination()
        if out is None:
            self.dest_hint.setText("")
            return
        try:
            nonempty = check_destination(out)
        except UserError as e:
            self.dest_hint.setStyleSheet(ERROR_STYLE)
            self.dest_hint.setText(str(e))
            return
        self.dest_hint.setStyleSheet(CAUTION_STYLE if nonempty else "")
        self.dest_hint.setText("The folder holds files: you will be asked before writing into it." if nonempty
                               else "A new folder." if not out.exists() else "An empty folder.")

    def _update_count(self) -> None:
        self._count_gen += 1
        gen, filters = self._count_gen, self.filters()
        self.count = None
        self.count_label.setText("Counting…")
        self.export_button.setEnabled(False)
        if "item_ids" in filters:        # a selection: no query needed
            self._on_count(gen, (len(filters["item_ids"]), None))
            return
        cat, ds = self.catalog, self.dataset_id
        self.tasks.submit(lambda: (cat.count_items(ds, **filters), cat.count_items(ds)),
                          lambda r: self._on_count(gen, r),
                          lambda e: self.count_label.setText(f"Cannot count the items: {e}"))

    def _on_count(self, gen: int, counts: tuple) -> None:
        if gen != self._count_gen:
            return                       # the choice changed meanwhile
        n, total = counts
        self.count = n
        of = f" of {total:,}" if total is not None and total != n else ""
        self.count_label.setText(f"{n:,}{of} items will be exported" if n else "No items match these choices")
        self.export_button.setEnabled(n > 0 and not self.busy)
        self.count_done.emit(n)

    # -- view state -------------------------------------------------------------------
    def _set_state(self, state: str, message: str) -> None:
        self.state = state
        self.status.setStyleSheet("")
        self.status.setText(message)
        busy = self.busy
        self.progress.setVisible(busy or state == "done")
        for w in (self.format_box, self.dest_edit, self.browse_button, self.scope_box, self.flags_widget):
            w.setEnabled(not busy)
        self._sync_predictions()
        self.export_button.setEnabled(not busy and self.count != 0)
        self.cancel_button.setText("Cancel" if busy else "Close")
        self.cancel_button.setEnabled(state != "cancelling")

    def _show_error(self, message: str) -> None:
        self._set_state("failed", message)
        self.status.setStyleSheet(ERROR_STYLE)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to folder", self.dest_edit.text())
        if d:
            self.dest_edit.setText(d)
