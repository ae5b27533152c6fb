"""What this build is (version, commit, date, library versions) and where its shipped resources are."""

from __future__ import annotations

import functools
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

# json, platform and subprocess are imported where used: this module is imported before the first window
# (for the icon), and those three cost ~20 ms of start-up that only the About box and the log need.

BUILD_INFO_FILE = "build_info.json"   # written by build_spec/build.sh into the bundle


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_root() -> Path:
    """The folder holding resources/: the PyInstaller bundle, else the source checkout."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parents[2]


def resource(*parts: str) -> Path:
    return bundle_root().joinpath("resources", *parts)


def icon_files() -> list[Path]:
    return sorted(resource("icons").glob("model-desk-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


@functools.lru_cache(maxsize=1)
def app_icon():
    """The window and taskbar icon: every rendered size, so each place picks a sharp one."""
    from PySide6.QtGui import QIcon
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    if icon.isNull() and resource("icons", "model-desk.svg").exists():
        icon.addFile(str(resource("icons", "model-desk.svg")))
    return icon


def _dist_version(name: str) -> str:
    """A package's version from its metadata: no import (torch takes seconds to import)."""
    from importlib import metadata   # ~30 ms: imported only when the About box asks
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit(root: Path) -> str:
    import subprocess
    if not (root / ".git").exists():
        return "unknown"
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip() or "unknown"
    return commit + ("+local changes" if dirty.stdout.strip() else "")


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str
    build_date: str
    kind: str                 # "built application" | "from source"
    python: str
    qt: str
    pyside: str
    torch: str
    torchvision: str
    platform: str

    def as_text(self) -> str:
        rows = [("Model Desk", self.version), ("Commit", self.commit), ("Built", self.build_date),
                ("Running", self.kind), ("Python", self.python), ("Qt", self.qt), ("PySide6", self.pyside),
                ("torch", self.torch), ("torchvision", self.torchvision), ("Platform", self.platform)]
        return "\n".join(f"{k}: {v}" for k, v in rows)


@functools.lru_cache(maxsize=1)
def build_info() -> BuildInfo:
    import json
    import platform

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from desktop_app import __version__
    stamped: dict = {}
    stamp = bundle_root() / BUILD_INFO_FILE
    if stamp.exists():
        try:
            stamped = json.loads(stamp.read_text())
        except (OSError, ValueError):
            stamped = {}
    return BuildInfo(
        version=__version__,
        commit=stamped.get("commit") or _git_commit(bundle_root()),
        build_date=stamped.get("build_date") or "not built (running from source)",
        kind="built application" if is_frozen() else "from source",
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        qt=qVersion(),
        pyside=pyside_version,
        torch=_dist_version("torch"),
        torchvision=_dist_version("torchvision"),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
    )


def build_info_dict() -> dict:
    return asdict(build_info())
