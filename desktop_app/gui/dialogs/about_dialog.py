"""About Model Desk: the logo, version and build (commit, date), the library versions, where things are kept."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from ..build_info import app_icon, build_info
from ..style import muted, title_font


class AboutDialog(QDialog):
    def __init__(self, catalog_home: Path | str | None = None, log_file: Path | str | None = None,
                 config_folder: Path | str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Model Desk")
        info = build_info()
        self.info = info
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(logo)
        head = QVBoxLayout()
        name = QLabel(f"Model Desk {info.version}")
        name.setFont(title_font(self.font(), 1.6))
        head.addWidget(name)
        tagline = QLabel("A local-first desktop app for the whole life of image AI models: data, packages, "
                         "training, evaluation, serving.")
        tagline.setWordWrap(True)
        head.addWidget(tagline)
        privacy = QLabel("No telemetry: Model Desk sends nothing anywhere. Everything stays on this machine.")
        privacy.setWordWrap(True)
        muted(privacy)
        head.addWidget(privacy)
        head.addStretch(1)
        top.addLayout(head, 1)
        outer.addLayout(top)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.fields: dict[str, QLabel] = {}
        rows = [("Version", info.version), ("Commit", info.commit), ("Build date", info.build_date),
                ("Running", info.kind), ("Python", info.python), ("Qt", f"{info.qt} (PySide6 {info.pyside})"),
                ("torch", info.torch), ("torchvision", info.torchvision), ("Platform", info.platform)]
        if catalog_home:
            rows.append(("Catalog", str(catalog_home)))
        if log_file:
            rows.append(("Log file", str(log_file)))
        if config_folder:
            rows.append(("Settings", str(config_folder)))
        for key, value in rows:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.fields[key] = label
            form.addRow(f"{key}:", label)
        outer.addLayout(form)
        self.extra = "\n".join(f"{k}: {v}" for k, v in rows[9:])
        row = QHBoxLayout()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy these versions, to paste into a bug report")
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row.addWidget(buttons)
        outer.addLayout(row)
        self.setMinimumWidth(620)

    def text(self) -> str:
        return self.info.as_text() + ("\n" + self.extra if self.extra else "")

    def copy(self) -> None:
        QApplication.clipboard().setText(self.text())
