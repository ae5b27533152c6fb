"""New dataset: a name (checked as it is typed), its project and, optionally, a source to import as the new dataset.

With a source, the dataset is created in the import's own transaction (Actions.import_new_dataset): an import
that fails or is cancelled leaves no empty dataset behind. The progress, cancel and outcome are the import
dialog's (JobDialog); so are the format choices and the format detection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from desktop_app.catalog import Catalog
from desktop_app.catalog.names import name_problem
from desktop_app.errors import UserError

from ..style import ERROR_STYLE, muted
from .import_dialog import AUTO, format_choices, resolve_format
from .job_dialog import JobDialog

NAME_HINT = "Unique in its project."


def dataset_name_problem(catalog: Catalog, project_id: str | None, name: str) -> str | None:
    """Why `name` cannot name a new dataset of the project (None: it can): the catalog's rule for stored names
    (catalog/names.py), and no other dataset of the project has it."""
    if not name.strip():
        return "Give the dataset a name."
    if name != name.strip():
        return "The name starts or ends with a space."
    problem = name_problem(name)
    if problem:
        return f"The name {problem}."
    if project_id and any(d.name == name for d in catalog.list_datasets(project_id)):
        return f"The project already has a dataset named “{name}”."
    return None


class NewDatasetDialog(JobDialog):
    """Name, project, an optional source; Create (or Create and import); stays open to show a refusal."""

    created = Signal(str)                # the new dataset's id
    CANCELLING = "Cancelling… no dataset will be created."
    PROGRESS = "Copying images: {done:,} of {total:,}"

    def __init__(self, catalog: Catalog, actions: Any, parent: QWidget | None = None, *,
                 project_id: str | None = None, path: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("New dataset")
        self.setMinimumWidth(620)
        self.catalog, self.actions = catalog, actions
        self.dataset_id: str | None = None
        self._suggested = ""             # the name last filled in from the source, replaced as the source changes

        intro = QLabel("A dataset holds images and their annotations. Import them now from a folder or a "
                       "COCO / YOLO / VOC / ImageFolder / Dataloop set, or later from the dataset's page.")
        intro.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("newDatasetName")
        self.name_edit.setPlaceholderText("e.g. digits")
        self.name_status = QLabel(NAME_HINT)
        self.name_status.setWordWrap(True)
        muted(self.name_status)
        self.project_box = QComboBox()
        for p in catalog.list_projects():
            self.project_box.addItem(p.name, p.id)
        if project_id:
            self.project_box.setCurrentIndex(max(self.project_box.findData(project_id), 0))
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_status)
        form.addRow("Project", self.project_box)

        self.path_edit = QLineEdit(str(path) if path else "")
        self.path_edit.setPlaceholderText("A folder of images, a dataset folder or a COCO / Dataloop JSON file")
        self.folder_button = QPushButton("Folder…")
        self.file_button = QPushButton("File…")
        for b in (self.folder_button, self.file_button):
            b.setAutoDefault(False)      # Enter in a field means Create, never a file chooser
        self.folder_button.clicked.connect(self._browse_folder)
        self.file_button.clicked.connect(self._browse_file)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.folder_button)
        row.addWidget(self.file_button)
        self.format_box = QComboBox()
        for key, title in format_choices():
            self.format_box.addItem(title, key)
        source_hint = QLabel("Leave the source empty for an empty dataset. If the import fails or is cancelled, "
                             "no dataset is created.")
        source_hint.setWordWrap(True)
        muted(source_hint)
        self.source_box = QGroupBox("Import images now (optional)")
        source_form = QFormLayout(self.source_box)
        source_form.addRow("Source", row)
        source_form.addRow("Format", self.format_box)
        source_form.addRow(source_hint)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()             # shown once an import starts
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.hide()               # shown with something to say
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.create_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)

        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addSpacing(4)
        lay.addLayout(form)
        lay.addWidget(self.source_box)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

        self.name_edit.textChanged.connect(lambda _text: self._check())
        self.project_box.currentIndexChanged.connect(lambda _index: self._check())
        self.path_edit.textChanged.connect(lambda _text: self._source_changed())
        self._source_changed()
        self.name_edit.setFocus()

    # -- reading the form ------------------------------------------------------------
    @property
    def project_id(self) -> str | None:
        return self.project_box.currentData()

    @property
    def name(self) -> str:
        return self.name_edit.text()

    def name_problem(self) -> str | None:
        return dataset_name_problem(self.catalog, self.project_id, self.name)

    def _check(self, *, empty_too: bool = False) -> None:
        """The name's verdict beside it (an empty one only once Create was asked for); Create only for a name
        the catalog will take."""
        problem = self.name_problem() if self.name or empty_too else None
        self.name_status.setText(problem or NAME_HINT)
        self.name_status.setStyleSheet(ERROR_STYLE if problem else "")
        self.create_button.setEnabled(not self.busy and self.project_id is not None and
                                      bool(self.name) and problem is None)

    def _source_changed(self) -> None:
        text = self.path_edit.text().strip()
        self.create_button.setText("Create and import" if text else "Create")
        if self.name in ("", self._suggested):    # the source's folder name, until the user types one
            stem = Path(text.rstrip("/\\")).name if text else ""
            if stem.lower().endswith(".json"):
                stem = Path(text).parent.name
            if dataset_name_problem(self.catalog, self.project_id, stem) is not None:
                stem = ""
            self._suggested = stem
            self.name_edit.setText(stem)
        self._check()

    # -- actions ----------------------------------------------------------------------
    def start(self) -> bool:
        """Create the dataset (and import into it); False, with the reason shown, when it cannot be done."""
        if self.busy:
            return False
        if self.project_id is None:
            self._show_error("Choose a project.")
            return False
        if self.name_problem():
            self._check(empty_too=True)          # said beside the name
            return False
        project_id, name = self.project_id, self.name
        text = self.path_edit.text().strip()
        if not text:
            try:
                rec = self.actions.create_dataset(project_id, name)
            except UserError as e:       # taken meanwhile (a script), or refused by the catalog
                self._show_error(f"No dataset was created: {e}")
                return False
            self._finish(rec.id, f"Created the empty dataset “{name}”.")
            return True
        src = Path(text).expanduser()
        try:
            chosen = resolve_format(src, self.format_box.currentData() or AUTO)
        except UserError as e:
            self._show_error(str(e))
            return False
        self.progress.show()
        self._fit()
        self.run_job(self.actions.import_new_dataset(project_id, name, src, chosen), f"file {src}",
                     f"Reading and checking {src.name} ({chosen})…")
        return True

    # -- outcomes -------------------------------------------------------------------
    def _finish(self, dataset_id: str, message: str) -> None:
        self.dataset_id = dataset_id
        self._set_state("done", message)
        self.created.emit(dataset_id)
        self.accept()

    def _on_success(self, dataset_id: str) -> None:
        self._ended(True)
        n = self.catalog.count_items(dataset_id)
        self._finish(dataset_id, f"Created “{self.name}” with {n:,} items.")

    def _on_failed(self, message: str) -> None:
        self._ended(False)
        self._show_error(f"No dataset was created. {message}")
        self._close_if_asked()

    def _on_cancelled(self) -> None:
        self._ended(False)
        self._set_state("cancelled", "Import cancelled; no dataset was created.")
        self._close_if_asked()

    # -- view state -------------------------------------------------------------------
    def _set_state(self, state: str, message: str) -> None:
        self.state = state
        self.status.setStyleSheet("")
        self.status.setText(message)
        self.status.setVisible(bool(message))
        self._fit()
        busy = self.busy
        for w in (self.name_edit, self.project_box, self.path_edit, self.format_box, self.folder_button,
                  self.file_button):
            w.setEnabled(not busy)
        self.cancel_button.setText("Cancel" if busy or state == "idle" else "Close")
        self.cancel_button.setEnabled(state != "cancelling")
        self._check()

    def _show_error(self, message: str) -> None:
        self._set_state("failed", message)
        self.status.setStyleSheet(ERROR_STYLE)

    def _fit(self) -> None:
        """Grow to show a line that appeared (the progress, a message): Qt keeps a dialog's height and squeezes
        its wrapped labels instead, which then overlap."""
        lay = self.layout()
        want = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.totalSizeHint().height()
        if want > self.height():
            self.resize(self.width(), want)

    def _browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "A folder of images or a dataset folder", self.path_edit.text())
        if d:
            self.path_edit.setText(d)

    def _browse_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "A dataset file", self.path_edit.text(),
                                           "JSON (*.json);;All files (*)")
        if f:
            self.path_edit.setText(f)
