"""The first start on a machine: choose (or accept) where the catalog lives; the sample project is made there."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from desktop_app.settings import Settings

from .build_info import app_icon
from .style import ERROR_STYLE, muted, title_font


def is_first_run(settings: Settings) -> bool:
    """No settings file yet: Model Desk never finished a start on this account."""
    return not settings.path.exists()


def check_catalog_folder(path: Path) -> str:
    """'' when the folder can hold a catalog, else why not."""
    if not str(path).strip():
        return "Choose a folder."
    path = path.expanduser()
    if path.exists():
        if not path.is_dir():
            return f"{path} is a file, not a folder."
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{path} is read-only for you: choose a folder you can write to."
        if (path / "catalog.db").exists():
            return ""
        if any(p for p in path.iterdir() if not p.name.startswith(".")):
            return f"{path} holds other files: choose an empty folder, a new one, or an existing catalog."
        return ""
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created here (read-only)."
    return ""


class FirstRunDialog(QDialog):
    def __init__(self, default: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to Model Desk")
        self.setWindowIcon(app_icon())
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(logo)
        head = QVBoxLayout()
        title = QLabel("Welcome to Model Desk")
        title.setFont(title_font(self.font(), 1.5))
        head.addWidget(title)
        intro = QLabel("Model Desk keeps your datasets, models, their files and job logs in one <b>catalog "
                       "folder</b> on this machine. Choose where it goes, or accept the suggestion.")
        intro.setWordWrap(True)
        head.addWidget(intro)
        top.addLayout(head, 1)
        lay.addLayout(top)
        row = QHBoxLayout()
        self.path = QLineEdit(str(default))
        self.path.textChanged.connect(self.validate)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        lay.addWidget(self.error)
        note = QLabel("A sample project is created there (generated shapes for classification and detection, "
                      "no download: about half a minute), then a short tour shows the window. The folder can "
                      "be moved later: paths inside it are relative. Settings ▸ Catalog folder changes it.")
        note.setWordWrap(True)
        muted(note)
        lay.addWidget(note)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(620)
        self.validate()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Catalog folder", self.path.text())
        if path:
            self.path.setText(path)

    def folder(self) -> Path:
        return Path(self.path.text().strip()).expanduser()

    def validate(self) -> bool:
        problem = check_catalog_folder(self.folder())
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        self.start_button.setEnabled(not problem)
        return not problem

    def accept(self) -> None:
        if self.validate():
            super().accept()


def first_run(settings: Settings, parent: QWidget | None = None) -> Path | None:
    """Ask where the catalog goes and remember it (settings.json then exists: no second first run);
    None: the user quit."""
    from desktop_app.catalog.paths import default_home
    dlg = FirstRunDialog(settings.catalog_home() or default_home(), parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    folder = dlg.folder()
    settings.set("catalog_folder", str(folder))
    return folder
