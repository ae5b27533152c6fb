"""Uncaught exceptions: logged, shown in a dialog (message, log file, "Copy details"), and the app carries on."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QVBoxLayout, QWidget)

from .style import esc, monospace, muted, title_font

log = logging.getLogger("desktop_app.gui")


class CrashDialog(QDialog):
    """One dialog for every unexpected error of a session; a repeat adds to it instead of stacking dialogs."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Model Desk: unexpected error")
        self.setModal(False)
        self.resize(720, 460)
        self.count = 0
        self.reports: list[str] = []
        lay = QVBoxLayout(self)
        head = QLabel("Something went wrong inside Model Desk")
        head.setFont(title_font(self.font(), 1.25))
        lay.addWidget(head)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.message)
        self.carry_on = QLabel("Model Desk carries on. What you were doing may not have finished; your catalog "
                               "is safe (every change is written in a transaction).")
        self.carry_on.setWordWrap(True)
        muted(self.carry_on)
        lay.addWidget(self.carry_on)
        self.log_label = QLabel()
        self.log_label.setWordWrap(True)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.log_label)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(monospace())
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.details, 1)
        row = QHBoxLayout()
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the error, the traceback and the versions, to paste into a bug report")
        self.copy_button.clicked.connect(self.copy_details)
        self.copied = QLabel()
        muted(self.copied)
        row.addWidget(self.copy_button)
        row.addWidget(self.copied, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        row.addWidget(buttons)
        lay.addLayout(row)

    def add(self, message: str, details: str, log_file: Path | None) -> None:
        self.count += 1
        more = f" ({self.count} errors since this dialog opened; the latest is shown)" if self.count > 1 else ""
        self.message.setText(f"<b>{esc(message)}</b>{esc(more)}")
        self.log_label.setText(f"Log file: {log_file}" if log_file else "No log file could be written.")
        self.reports.append(details)
        self.reports = self.reports[-5:]
        self.details.setPlainText(self.details_text())
        self.copied.setText("")

    def details_text(self) -> str:
        from .build_info import build_info
        return "\n\n".join(self.reports[::-1]) + "\n\n" + build_info().as_text()

    def copy_details(self) -> None:
        QApplication.clipboard().setText(self.details_text())
        self.copied.setText("Copied to the clipboard.")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.count = 0
        self.reports = []
        super().closeEvent(event)


class CrashReporter(QObject):
    """sys.excepthook (slots, timers, virtual methods) and threading.excepthook (worker threads) both end here,
    on the GUI thread: user errors become a notification, anything else the crash dialog."""

    _report = Signal(object, object, object)      # type, value, traceback; queued from other threads

    def __init__(self, window: Any, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window = window
        self.dialog: CrashDialog | None = None
        self._previous: tuple = (None, None)
        self._report.connect(self.handle)

    def install(self) -> CrashReporter:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook and self._previous[0] is not None:
            sys.excepthook, threading.excepthook = self._previous

    def excepthook(self, etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            QApplication.quit()
            return
        try:
            self._report.emit(etype, value, tb)
        except Exception:  # noqa: BLE001 - the reporter itself must never raise from a hook
            traceback.print_exception(etype, value, tb)

    def _thread_hook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def handle(self, etype, value, tb) -> None:
        from desktop_app.errors import UserError
        if isinstance(value, UserError):
            # Something the user can fix (read-only catalog, full disk): a message, not a crash.
            self.window.hub.exception("Could not finish", value.with_traceback(tb))
            return
        log.error("uncaught exception", exc_info=(etype, value, tb))
        from .logging_setup import current_log_file
        details = "".join(traceback.format_exception(etype, value, tb))
        if self.dialog is None:
            self.dialog = CrashDialog(self.window if isinstance(self.window, QWidget) else None)
        self.dialog.add(f"{etype.__name__}: {value}", details, current_log_file())
        self.dialog.show()
        self.dialog.raise_()
