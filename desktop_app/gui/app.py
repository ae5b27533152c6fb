"""Start the window: `run(argv) -> exit code`. The window shows first; the catalog opens in the background."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .build_info import app_icon
from .crash import CrashReporter
from .main_window import MainWindow
from .settings_store import SettingsStore
from .style import apply_style


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="desktop-app-gui")
    p.add_argument("--home", help="catalog folder (default: $DESKTOP_APP_HOME, else the last one opened)")
    p.add_argument("--settings", help="an INI file for window settings instead of the user's")
    p.add_argument("--probe", action="store_true",
                   help="print start-up timings (seconds since process start) and quit once the catalog is open")
    p.add_argument("--config", help="the folder of settings.json (default: $DESKTOP_APP_CONFIG, else the user's)")
    p.add_argument("--no-tour", action="store_true", help="do not start the guided tour")
    return p.parse_args(list(argv))


def choose_home(args: argparse.Namespace, settings: SettingsStore, app_settings=None) -> str | None:
    """--home, then $DESKTOP_APP_HOME, then Settings' catalog folder, then the catalog opened last, then the
    default folder (None)."""
    if args.home:
        return args.home
    if os.environ.get("DESKTOP_APP_HOME"):
        return os.environ["DESKTOP_APP_HOME"]
    if app_settings is not None and app_settings.catalog_home() is not None:
        return str(app_settings.catalog_home())
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
    app.setWindowIcon(app_icon())
    apply_style(app)
    return app


def install_excepthook(window: MainWindow) -> CrashReporter:
    """An exception escaping a slot (or a thread) is logged and shown in the crash dialog; the app carries on.
    A UserError becomes a notification."""
    return CrashReporter(window).install()


def run(argv: Sequence[str] = ()) -> int:
    args = parse_args(argv)
    if args.config:
        os.environ["DESKTOP_APP_CONFIG"] = args.config
    app = application()
    from .logging_setup import install_qt_message_handler, start_logging
    start_logging()
    install_qt_message_handler()
    app_settings = _app_settings()
    settings = SettingsStore(args.settings) if args.settings else SettingsStore()
    home = choose_home(args, settings, app_settings)
    if home is None and not args.probe:
        from .first_run import first_run, is_first_run
        if is_first_run(app_settings):
            chosen = first_run(app_settings)   # where the catalog goes; the sample project is made there
            if chosen is None:
                return 0
            home = str(chosen)
    window = MainWindow(settings)
    window.services.settings = app_settings
    reporter = install_excepthook(window)
    window.show()
    if args.probe:
        _probe(window)
    elif not args.no_tour:
        _tour_once_ready(window)
    # After the first paint, so the window appears at once: log what this build is (into the start-up log),
    # then open the catalog.
    from .logging_setup import log_build_info
    QTimer.singleShot(0, log_build_info)
    QTimer.singleShot(0, lambda: window.open_catalog(home))
    app.aboutToQuit.connect(window.shutdown)
    _quit_on_signals(app)
    from .gc_policy import IdleCollector
    QTimer.singleShot(0, lambda: setattr(window, "gc_collector", IdleCollector(window)))   # after start-up
    code = int(app.exec())
    reporter.uninstall()
    logging.getLogger("desktop_app.gui").info("Model Desk closed (exit code %d)", code)
    return code


def _app_settings():
    """The typed settings; bad stored values were replaced by defaults and are logged, not fatal."""
    from desktop_app.settings import Settings

    from .dialogs.settings_dialog import apply_theme
    app_settings = Settings()
    for problem in app_settings.problems:
        logging.getLogger("desktop_app.gui").warning("settings: %s", problem)
    apply_theme(app_settings.get("theme"))
    # Schedulers started by this window run this many CPU jobs at once, when the user chose a number (an
    # explicit environment wins; the default leaves the scheduler's own choice by core count).
    from desktop_app.settings import BY_KEY
    jobs = app_settings.get("parallel_cpu_jobs")
    if jobs != BY_KEY["parallel_cpu_jobs"].default:
        os.environ.setdefault("DESKTOP_APP_CPU_JOBS", str(jobs))
    return app_settings


def _tour_once_ready(window: MainWindow) -> None:
    def ready() -> None:
        window.catalog_ready.disconnect(ready)
        window.services.maybe_start_tour()
    window.catalog_ready.connect(ready)


def _quit_on_signals(app: QApplication) -> None:
    """SIGTERM (logout, `kill`) and Ctrl+C quit like the Quit menu: state saved, catalog closed, lock released."""
    def handler(signum, _frame) -> None:
        logging.getLogger("desktop_app.gui").info("signal %d: quitting", signum)
        app.quit()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    # Python runs signal handlers between bytecodes; a timer lets it in while Qt's loop waits.
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(300)


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
