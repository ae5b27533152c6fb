"""Where the catalog folder lives: $DESKTOP_APP_HOME, else the platform's user data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "model-desk"


def default_home() -> Path:
    env = os.environ.get("DESKTOP_APP_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "ModelDesk"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Model Desk"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_DIR_NAME
