"""The leaderboard's saved views (name -> query, order, columns), kept in the window's settings as one JSON value."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("desktop_app.gui")
KEY = "leaderboard/views"


@dataclass
class SavedView:
    query: str = ""
    order_by: str | None = None          # a column in the search grammar's spelling
    descending: bool = False
    columns: list[str] = field(default_factory=list)


class SavedViews:
    """Over a SettingsStore (its QSettings); with none (a page built alone) the views live in memory only."""

    def __init__(self, settings: Any = None):
        self.settings = settings
        self._memory: dict[str, dict] = {}

    def _load(self) -> dict[str, dict]:
        if self.settings is None:
            return dict(self._memory)
        raw = self.settings.qsettings.value(KEY, "")
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            log.warning("the saved leaderboard views in the settings are not JSON; starting without them")
            return {}
        return data if isinstance(data, dict) else {}

    def _store(self, data: dict[str, dict]) -> None:
        if self.settings is None:
            self._memory = data
            return
        self.settings.qsettings.setValue(KEY, json.dumps(data, sort_keys=True))
        self.settings.sync()

    def names(self) -> list[str]:
        return sorted(self._load(), key=str.lower)

    def get(self, name: str) -> SavedView | None:
        raw = self._load().get(name)
        if not isinstance(raw, dict):
            return None
        known = {k: v for k, v in raw.items() if k in SavedView.__dataclass_fields__}
        return SavedView(**known)

    def save(self, name: str, view: SavedView) -> None:
        data = self._load()
        data[name] = asdict(view)
        self._store(data)

    def delete(self, name: str) -> bool:
        data = self._load()
        if data.pop(name, None) is None:
            return False
        self._store(data)
        return True
