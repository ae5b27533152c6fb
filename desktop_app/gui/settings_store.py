"""What the window remembers between starts (QSettings): geometry, splitters, recent catalogs, last selection."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


class SettingsStore:
    """A thin typed layer over one QSettings; tests pass an INI file so the user's settings stay untouched."""

    def __init__(self, path: Path | str | None = None):
        if path is None:
            self.qsettings = QSettings("Model Desk", "Model Desk")
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

    # -- window state ---------------------------------------------------------------------
    def save_bytes(self, key: str, value: QByteArray) -> None:
        self.qsettings.setValue(key, value)

    def load_bytes(self, key: str) -> QByteArray | None:
        v = self.qsettings.value(key)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    # -- catalogs -------------------------------------------------------------------------
    def recent_catalogs(self) -> list[str]:
        v = self.qsettings.value("catalogs/recent", [])
        if isinstance(v, str):  # QSettings hands back a lone string for a one-element list
            v = [v]
        return [str(p) for p in (v or [])]

    def add_recent_catalog(self, home: Path | str) -> list[str]:
        home = str(Path(home))
        recent = [home] + [p for p in self.recent_catalogs() if p != home]
        recent = recent[:MAX_RECENT]
        self.qsettings.setValue("catalogs/recent", recent)
        return recent

    def last_catalog(self) -> str | None:
        recent = self.recent_catalogs()
        return recent[0] if recent else None

    # -- selection ------------------------------------------------------------------------
    def last_selection(self, home: Path | str) -> tuple[str, str] | None:
        v = self.qsettings.value(f"selection/{_key(home)}")
        if isinstance(v, str) and ":" in v:
            kind, _, ident = v.partition(":")
            return kind, ident
        return None

    def set_last_selection(self, home: Path | str, kind: str, ident: str) -> None:
        self.qsettings.setValue(f"selection/{_key(home)}", f"{kind}:{ident}")

    def sync(self) -> None:
        self.qsettings.sync()


def _key(home: Path | str) -> str:
    # QSettings keys treat '/' as groups; keep one flat key per catalog folder.
    return str(Path(home)).replace("/", "|").replace("\\", "|")
