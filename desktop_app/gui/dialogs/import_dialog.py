"""Import a folder of images or a COCO / YOLO / VOC / ImageFolder / Dataloop set, in a worker thread.

The import reads and checks the whole set first, then copies and inserts in one transaction: a
cancel or an error leaves the dataset as it was. Progress and the outcome come back as signals.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from desktop_app.catalog import Catalog
from desktop_app.errors import FormatError, UserError

from ..style import ERROR_STYLE
from .job_dialog import JobDialog

log = logging.getLogger(__name__)

AUTO = ""
IMAGES = "images"      # a plain folder of images, no annotations


def format_choices() -> list[tuple[str, str]]:
    """(key, title) for the format box: detect, plain images, then every registered format."""
    from desktop_app.formats import FORMATS
    return [(AUTO, "Detect automatically"), (IMAGES, "Images only (no annotations)")] + \
        [(f.name, f.title) for f in FORMATS.values()]


def images_bundle(folder: Path):
    """Every image under `folder` as an unannotated item named by its path inside the folder."""
    from desktop_app.formats.base import DatasetBundle, ImageEntry
    from desktop_app.formats.images import is_image_file, read_size

    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError("not a folder", file=str(folder))
    items = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and is_image_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            name = p.relative_to(folder).as_posix()
            w, h = read_size(p, entry=name)
            items.append(ImageEntry(source=p, name=name, width=w, height=h))
    if not items:
        raise FormatError("no images found", file=str(folder))
    return DatasetBundle(items=items, info={"source": str(folder)})


def resolve_format(path: Path, fmt: str = AUTO) -> str:
    """The format to read `path` with: the one asked for, else detected, else plain images for a folder."""
    from desktop_app.formats import detect_format
    from desktop_app.formats.images import is_image_file

    if fmt:
        return fmt
    try:
        return detect_format(path)
    except FormatError:
        if path.is_dir() and any(is_image_file(p) for p in path.iterdir()):
            return IMAGES
        raise


def run_import(catalog: Catalog, dataset_id: str, path: Path, fmt: str, *, progress=None, cancelled=None,
               new_dataset: dict | None = None) -> list[int]:
    """The import itself (any thread): formats + catalog, all or nothing. With ``new_dataset`` (create_dataset's
    arguments) the dataset ``dataset_id`` is created in the import's transaction: a failure or a cancel leaves
    no empty dataset behind."""
    if fmt == IMAGES:
        from desktop_app.formats.images import verify_images
        bundle = images_bundle(path)
        verify_images(bundle, full=True)
        if cancelled and cancelled():
            raise InterruptedError("import cancelled; nothing was imported")
        return catalog.import_bundle(dataset_id, bundle, creator="import:images", progress=progress,
                                     cancelled=cancelled, new_dataset=new_dataset)
    from desktop_app.formats.io import import_dataset
    return import_dataset(catalog, dataset_id, path, fmt, progress=progress, cancelled=cancelled,
                          new_dataset=new_dataset)


class ImportDialog(JobDialog):
    """Pick a path and a format, watch the progress, cancel; stays open to show an error."""

    imported = Signal(int)               # items added to the dataset
    CANCELLING = "Cancelling… nothing will be imported."
    PROGRESS = "Copying images: {done:,} of {total:,}"

    def __init__(self, catalog: Catalog, dataset_id: str, parent: QWidget | None = None,
                 path: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import into dataset")
        self.setMinimumWidth(520)
        self.catalog, self.dataset_id = catalog, dataset_id
        self._source: Path | None = None     # what the running import reads, for app.log

        self.path_edit = QLineEdit(str(path) if path else "")
        self.path_edit.setPlaceholderText("A dataset folder, a COCO / Dataloop JSON file, or a folder of images")
        folder_btn = QPushButton("Folder…")
        file_btn = QPushButton("File…")
        folder_btn.clicked.connect(self._browse_folder)
        file_btn.clicked.connect(self._browse_file)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(folder_btn)
        row.addWidget(file_btn)
        self.format_box = QComboBox()
        for key, title in format_choices():
            self.format_box.addItem(title, key)
        form = QFormLayout()
        form.addRow("Source", row)
        form.addRow("Format", self.format_box)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.import_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

    # -- actions ----------------------------------------------------------------------
    def start(self, path: str | Path | None = None, fmt: str | None = None) -> bool:
        """Begin importing; False (with the reason shown) when the source cannot be read as asked."""
        if self.busy:
            return False
        if path is not None:
            self.path_edit.setText(str(path))
        if fmt is not None:
            i = self.format_box.findData(fmt)
            if i >= 0:
                self.format_box.setCurrentIndex(i)
        text = self.path_edit.text().strip()
        if not text:
            self._show_error("choose a folder or file to import")
            return False
        src = Path(text).expanduser()
        try:
            chosen = resolve_format(src, self.format_box.currentData() or AUTO)
        except UserError as e:
            log.warning("import into dataset %s refused: %s", self.dataset_id, e)
            self._show_error(str(e))
            return False
        self._source = src
        cat, ds = self.catalog, self.dataset_id
        self.run_job(lambda progress, cancelled: run_import(cat, ds, src, chosen, progress=progress,
                                                            cancelled=cancelled),
                     f"file {src}", f"Reading and checking {src.name} ({chosen})…")
        return True

    # -- outcomes -------------------------------------------------------------------
    def _on_success(self, ids: list[int]) -> None:
        self._ended(True)
        self._set_state("done", f"Imported {len(ids):,} items.")
        self.imported.emit(len(ids))
        self.accept()

    def _on_failed(self, message: str) -> None:
        log.warning("import of %s into dataset %s failed: %s", self._source, self.dataset_id, message)
        self._ended(False)
        self._show_error(f"Nothing was imported. {message}")
        self._close_if_asked()

    def _on_cancelled(self) -> None:
        self._ended(False)
        self._set_state("cancelled", "Import cancelled; nothing was imported.")
        self._close_if_asked()

    # -- view state -------------------------------------------------------------------
    def _set_state(self, state: str, message: str) -> None:
        self.state = state
        self.status.setStyleSheet("")
        self.status.setText(message)
        busy = self.busy
        self.import_button.setEnabled(not busy)
        self.path_edit.setEnabled(not busy)
        self.format_box.setEnabled(not busy)
        self.cancel_button.setText("Cancel" if busy else "Close")
        self.cancel_button.setEnabled(state != "cancelling")

    def _show_error(self, message: str) -> None:
        self._set_state("failed", message)
        self.status.setStyleSheet(ERROR_STYLE)

    def _browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Dataset folder", self.path_edit.text())
        if d:
            self.path_edit.setText(d)

    def _browse_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Dataset file", self.path_edit.text(), "JSON (*.json);;All files (*)")
        if f:
            self.path_edit.setText(f)
