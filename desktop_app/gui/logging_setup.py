"""The app's log file: <catalog>/logs/app.log (rotated) once a catalog is open, the config folder before that
or when the catalog folder cannot be written; Qt's own warnings go to the same file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

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
    keeps the config folder's log."""
    if not read_only:
        try:
            return setup_file_logging(home)
        except OSError as e:
            log.warning("cannot write logs into %s (%s); logging to %s", home, e, fallback_folder())
    try:
        return setup_file_logging(fallback_folder())
    except OSError:
        return current_log_file()


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
