"""Time stamps, ids and JSON text as the catalog stores them; safe to import from any room."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """24 hex characters, like Dataloop ids."""
    return uuid.uuid4().hex[:24]


_encode_json = json.JSONEncoder(separators=(",", ":")).encode  # one encoder: json.dumps(**kw) builds one per call


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return _encode_json(value)
