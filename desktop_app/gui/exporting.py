"""Writing a chart or a table the user asked to export: a failure is a message naming the file (a UserError,
shown in the notification bar), never a crash report; the file is written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desktop_app.errors import UserError


def _staged(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def _check_folder(path: Path) -> None:
    if not path.parent.is_dir():
        raise UserError(f"could not write {path}: the folder {path.parent} does not exist")


def save_png(widget: QWidget, path: Path | str) -> Path:
    """The widget as it is drawn now, as a PNG file."""
    path = Path(path)
    _check_folder(path)
    tmp = _staged(path)
    if not widget.grab().save(str(tmp), "PNG"):
        tmp.unlink(missing_ok=True)
        raise UserError(f"could not write the PNG {path}: the folder is not writable or the disk is full")
    return _publish(tmp, path)


def save_text(path: Path | str, text: str) -> Path:
    path = Path(path)
    _check_folder(path)
    tmp = _staged(path)
    try:
        tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"could not write {path}: {e.strerror or e}") from None
    return _publish(tmp, path)


def _publish(tmp: Path, path: Path) -> Path:
    try:
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"could not write {path}: {e.strerror or e}") from None
    return path
