"""Application settings: one typed schema (type, default, description), stored as JSON outside the catalog."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.errors import ValidationError


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str                     # int | str | choice | path | port_range | bool
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = False


SCHEMA: tuple[Setting, ...] = (
    Setting("catalog_folder", "path", "", "Folder of the catalog (empty: $DESKTOP_APP_HOME or the user data "
                                          "folder). Takes effect on the next start."),
    Setting("default_device", "str", "auto", "Device new training jobs ask for: auto, cpu, cuda or cuda:N."),
    Setting("parallel_cpu_jobs", "int", 1, "Jobs that may run at once on the CPU (GPUs take one job each).",
            minimum=1, maximum=64),
    Setting("thumbnail_cache_mb", "int", 512, "Disk space for the gallery's thumbnail cache, in MB.",
            minimum=16, maximum=65536),
    Setting("theme", "choice", "system", "Light or dark; 'system' follows the desktop.",
            choices=("system", "light", "dark")),
    Setting("service_port_range", "port_range", [8600, 8699], "Ports local inference services may use."),
    Setting("show_tour", "bool", True, "Show the guided tour on start."),
    Setting("cluster_address", "str", "", "Ray cluster training jobs may target: ray://host:10001 (Ray Client), "
            "host:6379 (a node of the cluster), or local (a Ray started on this machine). Empty: none."),
    Setting("cluster_workers", "int", 2, "Training processes (Ray workers, a GPU or CPU each) a cluster job asks for.",
            minimum=1, maximum=1024),
    Setting("cluster_shared_path", "path", "", "A folder every cluster node reads and writes at this same path "
            "(NFS, SMB): the dataset snapshot and the run's checkpoints go there. Empty: this machine's catalog "
            "folders, which only a cluster on this machine reads."),
    Setting("system_metrics_interval", "int", 10, "Seconds between two system-metric samples (CPU, memory, GPU) "
            "while a model trains, logged as system/... metrics (0: none).", minimum=0, maximum=3600),
    Setting("telemetry", "choice", "none", "Model Desk sends nothing anywhere: there is no telemetry.",
            choices=("none",), read_only=True),
)
BY_KEY = {s.key: s for s in SCHEMA}


def config_dir() -> Path:
    env = os.environ.get("DESKTOP_APP_CONFIG")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "ModelDesk"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Preferences" / "Model Desk"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "model-desk"


def coerce(key: str, value: Any) -> Any:
    """The value as the setting's type, or ValidationError naming the setting."""
    s = BY_KEY.get(key)
    if s is None:
        raise ValidationError(f"{key}: no such setting")
    if s.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValidationError(f"{key}: expected true or false, got {value!r}")
    if s.kind == "int":
        if isinstance(value, bool):
            raise ValidationError(f"{key}: expected a whole number, got {value!r}")
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{key}: expected a whole number, got {value!r}") from None
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(f"{key}: expected a whole number, got {value!r}")
        if s.minimum is not None and v < s.minimum or s.maximum is not None and v > s.maximum:
            raise ValidationError(f"{key}: {v} is outside {s.minimum}..{s.maximum}")
        return v
    if s.kind == "choice":
        if value not in s.choices:
            raise ValidationError(f"{key}: expected one of {', '.join(s.choices)}, got {value!r}")
        return value
    if s.kind == "str":
        if not isinstance(value, str):
            raise ValidationError(f"{key}: expected text, got {value!r}")
        if key == "default_device":
            import re
            if not re.fullmatch(r"auto|cpu|cuda|cuda:\d+|mps", value):
                raise ValidationError(f"{key}: expected auto, cpu, cuda or cuda:N, got {value!r}")
        if key == "cluster_address" and value:
            return check_cluster_address(value, key)
        return value
    if s.kind == "path":
        if not isinstance(value, (str, Path)):
            raise ValidationError(f"{key}: expected a folder path, got {value!r}")
        return str(value)
    if s.kind == "port_range":
        try:
            lo, hi = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ValidationError(f"{key}: expected [first, last] ports, got {value!r}") from None
        if not (1024 <= lo <= hi <= 65535):
            raise ValidationError(f"{key}: expected 1024 <= first <= last <= 65535, got {lo}..{hi}")
        return [lo, hi]
    raise ValidationError(f"{key}: unsupported kind {s.kind}")  # pragma: no cover


def check_cluster_address(value: str, what: str = "cluster") -> str:
    """A Ray cluster's address as Model Desk takes it: 'local', 'ray://host:port' or 'host:port'."""
    import re
    text = value.strip()
    if text == "local" or re.fullmatch(r"(ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}", text):
        return text
    raise ValidationError(f"{what}: expected local, ray://host:port (Ray Client) or host:port (a cluster node), "
                          f"got {value!r}")


class Settings:
    """Read on start, written whole and atomically on every change; unknown or bad stored values are
    replaced by defaults (and reported in `problems`) rather than stopping the app."""

    FILE = "settings.json"

    def __init__(self, folder: Path | None = None):
        self.path = (folder or config_dir()) / self.FILE
        self.values: dict[str, Any] = {s.key: s.default for s in SCHEMA}
        self.problems: list[str] = []
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            stored = json.loads(self.path.read_text())
            if not isinstance(stored, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            self.problems.append(f"{self.path}: unreadable ({e}); using defaults")
            return
        for key, value in stored.items():
            if key not in BY_KEY:
                self.problems.append(f"{key}: unknown setting, ignored")
                continue
            try:
                self.values[key] = coerce(key, value)
            except ValidationError as e:
                self.problems.append(f"{e}; using the default {BY_KEY[key].default!r}")

    def get(self, key: str) -> Any:
        if key not in BY_KEY:
            raise ValidationError(f"{key}: no such setting")
        return self.values[key]

    def set(self, key: str, value: Any) -> Any:
        s = BY_KEY.get(key)
        if s is None:
            raise ValidationError(f"{key}: no such setting")
        if s.read_only:
            raise ValidationError(f"{key}: cannot be changed ({s.description})")
        self.values[key] = coerce(key, value)
        self.save()
        return self.values[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-")
        with os.fdopen(fd, "w") as f:
            json.dump(self.values, f, indent=2)
        os.replace(tmp, self.path)

    def catalog_home(self) -> Path | None:
        folder = self.values.get("catalog_folder")
        return Path(folder) if folder else None
