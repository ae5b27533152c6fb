"""The app's log file: <catalog>/logs/app.log (rotated) once a catalog is open, the config folder before that
or when the catalog folder cannot be written; Qt's own warnings go to the same file."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

from desktop_app.domain.status import ExecutionStatus

from .notifications import setup_file_logging

log = logging.getLogger("desktop_app.gui")


def fallback_folder() -> Path:
    """Where logs go while no writable catalog is open: <config folder>/logs."""
    from desktop_app.settings import config_dir
    return config_dir()


def _app_handler() -> logging.Handler | None:
    for h in logging.getLogger("desktop_app").handlers:
        if getattr(h, "_model_desk_app_log", False):
            return h
    return None


def current_log_file() -> Path | None:
    """The file the app is logging to now (shown in the crash dialog and the About box)."""
    h = _app_handler()
    return Path(h.baseFilename) if h is not None else None  # type: ignore[attr-defined]


def start_logging() -> Path | None:
    """At start-up, before a catalog is open: start-up failures must land in a file too."""
    try:
        path = setup_file_logging(fallback_folder(), rotate=False)   # rotating from log_build_info on
    except OSError as e:  # a read-only home folder: keep going, without a file
        logging.getLogger("desktop_app").warning("no log file: %s", e)
        return None
    from desktop_app import __version__
    log.info("Model Desk starting (version %s, pid %d)", __version__, os.getpid())
    return path


def log_build_info() -> None:
    """Once the window is up: the start-up log becomes a rotating one, and the versions, commit and platform
    go into it (git and package metadata: ~50 ms the first window need not wait for)."""
    current = current_log_file()
    if current is not None and not hasattr(_app_handler(), "maxBytes"):
        try:
            setup_file_logging(current.parent.parent)
        except OSError as e:
            log.warning("log file not rotated: %s", e)
    from .build_info import build_info
    log.info("build: %s", build_info().as_text().replace("\n", "; "))


def catalog_logging(home: Path | str, *, read_only: bool = False) -> Path | None:
    """Log into the catalog folder; a read-only catalog (or one held by another window, whose log that is)
    keeps the config folder's log. The log then opens with what this session runs on (`session_line`)."""
    path = _catalog_log(home, read_only)
    log.info("%s", session_line(home, read_only=read_only))
    return path


def _catalog_log(home: Path | str, read_only: bool) -> Path | None:
    if not read_only:
        try:
            return setup_file_logging(home)
        except OSError as e:
            log.warning("cannot write logs into %s (%s); logging to %s", home, e, fallback_folder())
    try:
        return setup_file_logging(fallback_folder())
    except OSError:
        return current_log_file()


def session_line(home: Path | str, *, read_only: bool = False) -> str:
    """One line saying what this window runs on: version, Python, Qt, whether torch is installed (read from
    package metadata: importing torch takes seconds), the catalog and Qt's platform plugin."""
    import platform
    import sys
    from importlib import metadata

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QGuiApplication

    from desktop_app import __version__
    try:
        torch = f"torch {metadata.version('torch')} installed ({'loaded' if 'torch' in sys.modules else 'not loaded'})"
    except metadata.PackageNotFoundError:
        torch = "torch not installed"
    plugin = QGuiApplication.platformName() if QGuiApplication.instance() is not None else "none"
    return (f"Model Desk {__version__} on catalog {home}{' (read-only)' if read_only else ''}: "
            f"Python {platform.python_version()}, Qt {qVersion()} (PySide6 {pyside_version}), {torch}, "
            f"platform plugin {plugin}, {platform.platform(terse=True)}, pid {os.getpid()}")


class JobLog:
    """One app.log line per job submitted, started and ended (id, name, kind, model, outcome), from the jobs
    watcher's snapshots; jobs already there when the catalog opened are named once, as found."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}    # execution id -> the status last logged
        self._opened = False               # the first snapshot (the catalog as found) was applied

    @staticmethod
    def _what(row: Any, title: str) -> str:
        return f"{title} (kind {row.kind}, model {row.model_name or '-'})"

    def submitted(self, row: Any, title: str) -> None:
        """A job this window queued (Train, Evaluate…, Resume): logged at once, not at the next poll."""
        word = "resumed" if row.id in self.known else "submitted"
        log.info("job %s %s: %s", row.id, word, self._what(row, title))
        self.known[row.id] = ExecutionStatus.CREATED

    def apply(self, rows: list, title: Callable[[Any], str]) -> None:
        """A snapshot of the jobs (newest first): a line for each change since the last one."""
        first, known = not self._opened, self.known      # one entry per job seen: a few bytes a job
        self._opened = True
        for row in reversed(rows):              # oldest first, as they happened
            before = known.get(row.id)
            if before == row.status:
                continue
            known[row.id] = row.status
            what = self._what(row, title(row))
            if first and before is None:
                if row.status in ExecutionStatus.ACTIVE:
                    log.info("job %s %s when the catalog opened: %s", row.id, _STATUS_WORDS[row.status], what)
            elif row.status == ExecutionStatus.CREATED:
                log.info("job %s %s: %s", row.id, "submitted" if before is None else "resumed", what)
            elif row.status == ExecutionStatus.IN_PROGRESS:
                log.info("job %s started: %s", row.id, what)
            elif row.status in ExecutionStatus.FINAL:
                problem = row.error or (row.message if row.status != ExecutionStatus.SUCCESS else "")
                ok = row.status in (ExecutionStatus.SUCCESS, ExecutionStatus.CANCELED)
                log.log(logging.INFO if ok else logging.WARNING, "job %s ended %s: %s%s", row.id, row.status, what,
                        f": {problem}" if problem else "")


_STATUS_WORDS = {ExecutionStatus.CREATED: "queued", ExecutionStatus.IN_PROGRESS: "running"}


def install_qt_message_handler() -> None:
    """Qt's warnings (a missing plugin, a bad stylesheet) go to the log file, not only to a terminal."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("desktop_app.qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(mode, context, message):  # noqa: ARG001 - Qt's signature
        qt_log.log(levels.get(mode, logging.WARNING), "%s", message)
    qInstallMessageHandler(handler)
