"""Start the window: `run(argv) -> exit code`. The window shows first; the catalog opens in the background."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .settings_store import SettingsStore
from .style import apply_style


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="desktop-app-gui")
    p.add_argument("--home", help="catalog folder (default: $DESKTOP_APP_HOME, else the last one opened)")
    p.add_argument("--settings", help="an INI file for window settings instead of the user's")
    p.add_argument("--probe", action="store_true",
                   help="print start-up timings (seconds since process start) and quit once the catalog is open")
    return p.parse_args(list(argv))


def choose_home(args: argparse.Namespace, settings: SettingsStore) -> str | None:
    """--home, then $DESKTOP_APP_HOME, then the catalog opened last, then the default folder (None)."""
    if args.home:
        return args.home
    if os.environ.get("DESKTOP_APP_HOME"):
        return os.environ["DESKTOP_APP_HOME"]
    last = settings.last_catalog()
    if last and Path(last).is_dir():
        return last
    return None


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Model Desk")
    app.setOrganizationName("Model Desk")
    app.setApplicationDisplayName("Model Desk")
    app.setDesktopFileName("model-desk")
    apply_style(app)
    return app


def install_excepthook(window: MainWindow) -> None:
    """An exception escaping a slot becomes a notification instead of a silent stack trace."""
    previous = sys.excepthook

    def hook(etype, value, tb):
        try:
            window.hub.exception("Unexpected error", value.with_traceback(tb))
        except Exception:  # noqa: BLE001
            traceback.print_exception(etype, value, tb)
            previous(etype, value, tb)
    sys.excepthook = hook


def run(argv: Sequence[str] = ()) -> int:
    args = parse_args(argv)
    app = application()
    settings = SettingsStore(args.settings) if args.settings else SettingsStore()
    window = MainWindow(settings)
    install_excepthook(window)
    window.show()
    if args.probe:
        _probe(window)
    # Open the catalog after the first paint, so the window appears at once.
    QTimer.singleShot(0, lambda: window.open_catalog(choose_home(args, settings)))
    app.aboutToQuit.connect(window.shutdown)
    return int(app.exec())


def _since_start() -> float:
    """Seconds since this process started (the kernel's clock, so interpreter start-up counts)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.process_time()


def _probe(window: MainWindow) -> None:
    def shown():
        print(f"probe shown {_since_start():.3f} torch={'torch' in sys.modules}", flush=True)

    def ready():
        print(f"probe ready {_since_start():.3f} torch={'torch' in sys.modules}", flush=True)
        QTimer.singleShot(0, window.close)
    QTimer.singleShot(0, shown)
    window.catalog_ready.connect(ready)
