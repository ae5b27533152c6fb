"""Add a package from a folder holding a dl.BaseModelAdapter subclass (client.packages.push, off-process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from desktop_app.catalog.package_versions import next_version
from desktop_app.ml.adapter import PUSH_WARNING, check_package_name

from ..style import CAUTION_STYLE, ERROR_STYLE, monospace, muted

OUTPUT_TYPES = ("class", "box", "segment")


class PackageDialog(QDialog):
    pushed = Signal(str)                     # package id

    def __init__(self, actions: Any, parent: QWidget | None = None, folder: str | Path | None = None):
        super().__init__(parent)
        self.actions = actions
        self.result_package: dict | None = None
        self.setWindowTitle("Add a package")
        self.resize(640, 480)
        lay = QVBoxLayout(self)
        intro = QLabel("Pick a folder with your adapter (a dl.BaseModelAdapter subclass with load, save, train "
                       "and predict). Its code is copied into the catalog, so models stay reproducible.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.warning = QLabel(f"⚠ {PUSH_WARNING}")
        self.warning.setObjectName("push_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(CAUTION_STYLE + " font-weight: bold;")
        lay.addWidget(self.warning)
        form = QFormLayout()
        row = QHBoxLayout()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("/path/to/my_package")
        self.folder.editingFinished.connect(self._scan)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        self.name = QLineEdit()
        self.name.textChanged.connect(self._name_changed)
        form.addRow("Package name", self.name)
        # Pushing a name that exists makes a new version of that package: say so, and which version it gets.
        self.version_note = QLabel()
        self.version_note.setObjectName("version_note")
        self.version_note.setWordWrap(True)
        self.version_note.hide()
        form.addRow("", self.version_note)
        self.entry_point = QComboBox()
        self.entry_point.setEditable(True)
        form.addRow("Entry point", self.entry_point)
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("found automatically when the file defines one adapter")
        form.addRow("Class name", self.class_name)
        self.output_type = QComboBox()
        self.output_type.addItems(OUTPUT_TYPES)
        form.addRow("Output type", self.output_type)
        self.description = QLineEdit()
        form.addRow("Description", self.description)
        self.config = QPlainTextEdit("{}")
        self.config.setFont(monospace())
        self.config.setMaximumHeight(110)
        form.addRow("Default configuration (JSON)", self.config)
        lay.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        muted(self.status)
        lay.addWidget(self.status)
        lay.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = QPushButton("Add package")
        self.add_button.setDefault(True)
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.clicked.connect(self.push)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._prefilled: dict[str, str] = {}     # what _name_changed put in the fields (replaced while untouched)
        if folder:
            self.folder.setText(str(folder))
            self._scan()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Package folder", self.folder.text())
        if path:
            self.folder.setText(path)
            self._scan()

    def _scan(self) -> None:
        folder = Path(self.folder.text()).expanduser()
        if not folder.is_dir():
            return
        if not self.name.text():
            self.name.setText(folder.name.replace("_", "-"))
        files = sorted(p.name for p in folder.glob("*.py") if not p.name.startswith("_"))
        current = self.entry_point.currentText()
        self.entry_point.clear()
        self.entry_point.addItems(files)
        for preferred in (current, "model_adapter.py", "adapter.py"):
            if preferred in files:
                self.entry_point.setCurrentText(preferred)
                break

    def existing(self) -> Any:
        """The package the name belongs to (a push makes a new version of it), or None: a new package."""
        name = self.name.text().strip()
        catalog = self.actions.catalog
        if not name or not catalog.package_exists(name):
            return None
        return catalog.get_package(name)

    def _name_changed(self) -> None:
        pkg = self.existing()
        self.add_button.setEnabled(True)
        if pkg is None:
            self.version_note.hide()
            self.add_button.setText("Add package")
            return
        self.version_note.show()
        if pkg.kind != "user":
            self.version_note.setStyleSheet(ERROR_STYLE)
            self.version_note.setText(f"'{pkg.name}' is a built-in package: its code cannot be replaced. "
                                      f"Choose another name.")
            self.add_button.setEnabled(False)
            return
        versions = self.actions.catalog.package_versions(pkg.id)
        new = next_version(versions)
        self.version_note.setStyleSheet(CAUTION_STYLE)
        self.version_note.setText(
            f"A package named '{pkg.name}' exists (version {pkg.version}"
            f"{f', {len(versions)} versions' if len(versions) > 1 else ''}): adding this folder creates a new "
            f"version of '{pkg.name}', version {new}, which becomes its current one. Its models stay on the "
            f"version they are on; move one from its page (Move to version…).")
        self.add_button.setText(f"Add version {new}")
        self._prefill(pkg)

    def _prefill(self, pkg: Any) -> None:
        """The fields the new version keeps from the current one, where the user has not typed anything else."""
        wanted = {"description": pkg.description or "", "config": json.dumps(pkg.default_configuration or {}),
                  "output": pkg.output_type}
        fields = {"description": (self.description.text, self.description.setText),
                  "config": (self.config.toPlainText, self.config.setPlainText),
                  "output": (self.output_type.currentText, self.output_type.setCurrentText)}
        untouched = {"description": "", "config": "{}", "output": OUTPUT_TYPES[0]}
        for key, (read, write) in fields.items():
            if read() in (untouched[key], self._prefilled.get(key)):
                write(wanted[key])
                self._prefilled[key] = wanted[key]

    def values(self) -> dict[str, Any]:
        """The push arguments from the fields (ValueError naming the field that is wrong)."""
        folder = Path(self.folder.text()).expanduser()
        if not folder.is_dir():
            raise ValueError(f"folder: {folder} is not a folder")
        name = self.name.text().strip()
        if not name:
            raise ValueError("package name: required")
        check_package_name(name)   # a ValueError naming the field, before any code runs
        try:
            config = json.loads(self.config.toPlainText() or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"default configuration: not valid JSON ({e})") from None
        if not isinstance(config, dict):
            raise ValueError("default configuration: must be a JSON object")
        return {"package_name": name, "src_path": str(folder), "entry_point": self.entry_point.currentText().strip(),
                "class_name": self.class_name.text().strip() or None, "output_type": self.output_type.currentText(),
                "description": self.description.text().strip(), "default_configuration": config}

    def push(self) -> None:
        try:
            kwargs = self.values()
        except ValueError as e:
            self._fail_text(str(e))
            return
        self.add_button.setEnabled(False)
        self.status.setText("Checking the adapter in a separate process…")
        self.actions.push_package(self._done, self._failed, **kwargs)

    def _done(self, result: dict) -> None:
        self.result_package = result
        self.pushed.emit(result["id"])
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.add_button.setEnabled(True)
        self._fail_text(str(error))
        details = getattr(error, "details", "")
        if details:
            self.status.setToolTip(details[-4000:])

    def _fail_text(self, text: str) -> None:
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(text)
