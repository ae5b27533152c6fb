"""The message a damaged catalog database gets at start-up: what is wrong, with which file, and what to do."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class DamagedCatalogDialog(QMessageBox):
    """Window-modal, opened with open() (not exec): the window stays usable to open another catalog."""

    def __init__(self, message: str, path: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("The catalog is damaged")
        home = Path(path).parent if path else None
        self.setText(f"The catalog {home} cannot be opened: its database is damaged." if home else
                     "The catalog cannot be opened: its database is damaged.")
        where = f"--home \"{home}\" " if home else ""
        self.setInformativeText(
            f"{message}\n\nIn a terminal, `desktop-app {where}doctor` lists what is wrong, and "
            f"`desktop-app {where}doctor --repair` copies everything still readable into a new catalog beside "
            f"it (the damaged one is left as it is). Then open the repaired folder with File ▸ Open catalog…, "
            f"or restore a backup.")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStandardButtons(QMessageBox.StandardButton.Ok)
