"""A job's log, followed while it grows (reads only the new bytes on a timer)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from ..style import monospace

FIRST_READ_LIMIT = 256_000   # a huge log opens at its end
FOLLOW_MS = 700


class LogView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(monospace())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setMaximumBlockCount(20_000)
        self.setPlaceholderText("Select a job to see its log.")
        self.path: Path | None = None
        self._offset = 0
        self._timer = QTimer(self)
        self._timer.setInterval(FOLLOW_MS)
        self._timer.timeout.connect(self.read_more)

    def set_path(self, path: Path | str | None, *, follow: bool = True) -> None:
        self.clear()
        self.path = Path(path) if path else None
        self._offset = 0
        if self.path is not None and self.path.exists():
            size = self.path.stat().st_size
            if size > FIRST_READ_LIMIT:
                self._offset = size - FIRST_READ_LIMIT
        self.read_more()
        if follow and self.path is not None:
            self._timer.start()
        else:
            self._timer.stop()

    def stop_following(self) -> None:
        self._timer.stop()

    def read_more(self) -> None:
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(FIRST_READ_LIMIT)
        except OSError:
            return
        if not data:
            return
        self._offset += len(data)
        at_end = self.verticalScrollBar().value() >= self.verticalScrollBar().maximum() - 4
        self.moveCursor(QTextCursor.MoveOperation.End)
        self.insertPlainText(data.decode("utf-8", errors="replace"))
        if at_end:
            self.moveCursor(QTextCursor.MoveOperation.End)
            self.ensureCursorVisible()


class LogDialog(QDialog):
    """A non-modal window following one job's log."""

    def __init__(self, title: str, path: Path | str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.resize(900, 560)
        lay = QVBoxLayout(self)
        self.view = LogView()
        lay.addWidget(self.view)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        lay.addWidget(self.buttons)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.view.set_path(path)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.view.stop_following()
        super().closeEvent(event)
