"""Errors from any job or action arrive here: a non-modal bar with the message and a details view."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QVBoxLayout, QWidget)

from .style import esc, monospace

log = logging.getLogger("desktop_app.gui")

LOG_FILE = "app.log"


@dataclass(frozen=True)
class Notice:
    title: str
    message: str
    details: str = ""
    level: str = "error"        # error | warning | info


class ErrorHub(QObject):
    """The one place errors go: logged to app.log, kept in a short history, and shown by the bar."""

    reported = Signal(object)   # Notice

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.history: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.history = (self.history + [notice])[-100:]
        self.reported.emit(notice)

    def error(self, title: str, message: str, details: str = "") -> None:
        log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
        self.notify(Notice(title, message, details))

    def info(self, title: str, message: str) -> None:
        log.info("%s: %s", title, message)
        self.notify(Notice(title, message, level="info"))

    def exception(self, title: str, exc: BaseException) -> None:
        """A user error is shown as its message; anything else as a bug with its traceback."""
        from desktop_app.errors import UserError
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        log.log(logging.WARNING if isinstance(exc, UserError) else logging.ERROR, "%s: %s\n%s",
                title, message, details)
        self.notify(Notice(title, message, details))


class DetailsDialog(QDialog):
    """The full text of a notice (a traceback, a job's log tail); non-modal."""

    def __init__(self, notice: Notice, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(notice.title)
        self.setModal(False)
        self.resize(760, 480)
        lay = QVBoxLayout(self)
        msg = QLabel(notice.message)
        msg.setWordWrap(True)
        msg.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(msg)
        self.text = QPlainTextEdit(notice.details or notice.message)
        self.text.setReadOnly(True)
        self.text.setFont(monospace())
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)


class NotificationBar(QFrame):
    """Shows the latest notice over the page until dismissed; 'Details' opens the full text."""

    def __init__(self, hub: ErrorHub, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("notificationBar")
        self.hub = hub
        self.current: Notice | None = None
        self.details_dialog: DetailsDialog | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count = QLabel()
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self.show_details)
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        lay.addWidget(self.icon)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.count)
        lay.addWidget(self.details_button)
        lay.addWidget(self.close_button)
        self._unseen = 0
        self.hide()
        hub.reported.connect(self.show_notice)

    def show_notice(self, notice: Notice) -> None:
        self.current = notice
        self._unseen += 1
        color = {"error": "#d64545", "warning": "#d9a400"}.get(notice.level, "#2f80ed")
        self.setStyleSheet(f"#notificationBar {{ border: 1px solid {color}; border-left: 5px solid {color}; "
                           f"border-radius: 4px; }}")
        self.icon.setText({"error": "⚠", "warning": "⚠"}.get(notice.level, "ℹ"))
        self.label.setText(f"<b>{esc(notice.title)}</b> — {esc(notice.message[:400])}")
        self.count.setText(f"(+{self._unseen - 1} more)" if self._unseen > 1 else "")
        self.details_button.setVisible(bool(notice.details))
        self.show()

    def show_details(self) -> None:
        if self.current is None:
            return
        self.details_dialog = DetailsDialog(self.current, self.window())
        self.details_dialog.show()

    def dismiss(self) -> None:
        self._unseen = 0
        self.hide()


def setup_file_logging(home: Path | str, *, max_bytes: int = 2_000_000, backups: int = 3,
                       rotate: bool = True) -> Path:
    """Everything the app logs goes to <catalog>/logs/app.log, rotated; returns the file.

    rotate=False: a plain file handler, for the moments before the first window (logging.handlers and the
    socket / pickle modules it pulls in cost ~10 ms of start-up); the rotating one replaces it right after."""
    path = Path(home) / "logs" / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("desktop_app")
    for h in list(root.handlers):
        if getattr(h, "_model_desk_app_log", False):
            root.removeHandler(h)
            h.close()
    if rotate:
        import logging.handlers as log_handlers   # "import logging.handlers" would make `logging` local here
        handler: logging.FileHandler = log_handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    else:
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._model_desk_app_log = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path
