"""One window writes a catalog at a time: take its instance lock, or ask (open read-only / choose another /
quit; read-only is the default) when another Model Desk holds it. A read-only folder opens read-only."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.catalog.lock import FileLock, instance_lock

from ..style import esc, muted, title_font

log = logging.getLogger("desktop_app.gui")

READ_ONLY, OTHER, QUIT = "read_only", "other", "quit"


@dataclass
class Claim:
    home: Path
    read_only: bool
    lock: FileLock | None = None
    reason: str = ""                  # why read-only, for the badge's tooltip and the status bar


class InstanceDialog(QDialog):
    """Asked when the catalog is held by another running Model Desk; `choice` is the answer."""

    def __init__(self, home: Path, holder_pid: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("instanceDialog")
        self.setWindowTitle("Catalog in use")
        self.choice = READ_ONLY
        lay = QVBoxLayout(self)
        head = QLabel("This catalog is open in another Model Desk")
        head.setFont(title_font(self.font(), 1.25))
        lay.addWidget(head)
        who = f" (process {holder_pid})" if holder_pid else ""
        text = QLabel(f"Another running Model Desk{who} has <b>{esc(str(home))}</b> open. Two windows writing "
                      f"one catalog could step on each other's changes, so this one can open it read-only: you "
                      f"can look at everything, and changes are refused with a message.")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(text)
        hint = QLabel("To work in it, close the other window, then open the catalog again (File ▸ Open recent).")
        hint.setWordWrap(True)
        muted(hint)
        lay.addWidget(hint)
        row = QHBoxLayout()
        self.quit_button = QPushButton("Quit")
        self.other_button = QPushButton("Choose another catalog…")
        self.read_only_button = QPushButton("Open read-only")
        self.read_only_button.setDefault(True)
        self.read_only_button.setAutoDefault(True)
        for b, choice in ((self.quit_button, QUIT), (self.other_button, OTHER), (self.read_only_button, READ_ONLY)):
            b.clicked.connect(lambda _=False, c=choice: self._choose(c))
        row.addWidget(self.quit_button)
        row.addStretch(1)
        row.addWidget(self.other_button)
        row.addWidget(self.read_only_button)
        lay.addLayout(row)
        self.setMinimumWidth(560)
        self.read_only_button.setFocus()

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()

    def reject(self) -> None:  # Escape / the close box: the default answer
        self.choice = READ_ONLY
        super().reject()


def ask_when_locked(parent: QWidget | None, home: Path, holder_pid: int | None) -> str:
    dlg = InstanceDialog(home, holder_pid, parent)
    dlg.exec()
    return dlg.choice


def choose_other_catalog(parent: QWidget | None) -> str:
    return QFileDialog.getExistingDirectory(parent, "Choose another catalog folder (a new empty folder makes a "
                                                    "new catalog)")


def claim_catalog(home: Path | str | None, *, parent: QWidget | None = None,
                  ask: Callable[[Path, int | None], str] | None = None,
                  choose: Callable[[], str] | None = None) -> Claim | str | None:
    """The catalog to open and how: a Claim holding the instance lock, a read-only Claim, QUIT, or None
    (the user cancelled choosing another folder)."""
    from desktop_app.catalog.paths import default_home
    ask = ask or (lambda h, pid: ask_when_locked(parent, h, pid))
    choose = choose or (lambda: choose_other_catalog(parent))
    path = Path(home).expanduser() if home else default_home()
    while True:
        if _is_read_only_folder(path):
            if (path / "catalog.db").exists():
                return Claim(path, True, None, f"the folder {path} is read-only for this user")
            return Claim(path, False)  # no catalog to read: opening it reports the clear error
        lock = instance_lock(path)
        try:
            got = lock.acquire()
        except OSError as e:  # the folder cannot hold the lock file: read-only or full
            log.warning("cannot take the instance lock in %s: %s", path, e)
            return Claim(path, (path / "catalog.db").exists(), None, f"cannot write in {path}: {e}")
        if got:
            return Claim(path, False, lock)
        pid = lock.holder_pid()
        log.info("catalog %s is held by process %s; asking", path, pid)
        answer = ask(path, pid)
        if answer == READ_ONLY:
            return Claim(path, True, None, f"another Model Desk (process {pid}) has it open" if pid
                         else "another Model Desk has it open")
        if answer == QUIT:
            return QUIT
        other = choose()
        if not other:
            return None
        path = Path(other)


def _is_read_only_folder(path: Path) -> bool:
    if path.exists():
        return not os.access(path, os.W_OK | os.X_OK)
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        return True
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return True
    return False
