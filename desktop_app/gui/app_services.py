"""What the window does around a catalog besides showing it: the instance lock and read-only badge, pipeline
recovery and triggers, the log file, and the Settings / Housekeeping / About dialogs and the tour."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu

from desktop_app.domain.status import ModelStatus

from .style import badge_stylesheet

log = logging.getLogger("desktop_app.gui")


class AppServices(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.lock: Any = None                  # the catalog's instance lock while this window writes it
        self.read_only_reason = ""
        self.triggers: Any = None              # pipelines' TriggerService while a writable catalog is open
        self.tour: Any = None
        self.damaged_dialog: Any = None        # the message shown when a catalog's database is damaged
        self._settings: Any = None
        # Asked when another Model Desk holds the catalog: (home, pid) -> read_only | other | quit.
        # None: the InstanceDialog. Tests put a function here.
        self.ask_when_locked: Callable[[Path, int | None], str] | None = None
        self.choose_other: Callable[[], str] | None = None
        self.badge = QLabel("read-only")
        self.badge.setObjectName("readOnlyBadge")
        self.badge.setStyleSheet(badge_stylesheet(ModelStatus.PENDING))   # amber: a caution, not an error
        self.badge.hide()
        window.statusBar().addPermanentWidget(self.badge)

    @property
    def settings(self):
        """The typed app settings (settings.json in the config folder), read when first needed."""
        if self._settings is None:
            from desktop_app.settings import Settings
            self._settings = Settings()
        return self._settings

    @settings.setter
    def settings(self, value) -> None:
        self._settings = value

    @property
    def read_only(self) -> bool:
        client = self.window.client
        return bool(client is not None and client.catalog.read_only)

    # -- menus --------------------------------------------------------------------------------
    def add_actions(self, file_menu: QMenu, help_menu: QMenu, before: QAction | None = None) -> None:
        w = self.window

        def action(menu: QMenu, text: str, slot, shortcut=None, at=None) -> QAction:
            a = QAction(text, w)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(lambda _=False: slot())
            menu.insertAction(at, a) if at is not None else menu.addAction(a)
            return a
        self.settings_action = action(file_menu, "&Settings…", self.open_settings, "Ctrl+,", before)
        self.housekeeping_action = action(file_menu, "Catalog &housekeeping…", self.open_housekeeping, None,
                                          before)
        self.housekeeping_action.setEnabled(False)
        if before is not None:
            file_menu.insertSeparator(before)
        self.tour_action = action(help_menu, "Take the &tour", self.start_tour)

    # -- opening and closing a catalog ------------------------------------------------------------
    def claim(self, home: Path | str | None):
        """The instance lock for `home`, or the user's answer when another window holds it. Returns the
        Claim, or None when nothing should be opened (the user quit or cancelled)."""
        from .dialogs.instance_dialog import QUIT, claim_catalog
        self.release()
        claim = claim_catalog(home, parent=self.window, ask=self.ask_when_locked, choose=self.choose_other)
        if claim == QUIT:
            QTimer.singleShot(0, self.window.close)
            return None
        if claim is None:
            self.window.pages.welcome.set_targets({}, "No catalog is open: File ▸ Open catalog…")
            self.window.statusBar().showMessage("No catalog open", 8000)
            return None
        self.lock = claim.lock
        self.read_only_reason = claim.reason if claim.read_only else ""
        return claim

    def open_read_only(self, home: Path) -> None:
        from desktop_app.catalog import Catalog
        from desktop_app.sdk import Client
        from desktop_app.errors import CatalogDamagedError
        try:
            client = Client(Catalog(home, read_only=True), bootstrap=False)
        except CatalogDamagedError as e:
            self.show_damaged_catalog(str(e), e.path or "")
            return
        except Exception as e:  # noqa: BLE001 - no catalog there, a newer schema: shown, the window stays
            self.window.hub.exception("Could not open the catalog", e)
            return
        self.window.set_client(client)

    def show_damaged_catalog(self, message: str, path: str = "") -> None:
        """A damaged catalog database: a dialog says which file and what to do; the window stays open (and
        holds no lock on that catalog, so `doctor` or another window can get at it)."""
        from .dialogs.damaged_catalog_dialog import DamagedCatalogDialog
        log.error("could not open the catalog: %s", message)
        self.release()
        w = self.window
        w.pages.welcome.set_targets({}, "The catalog is damaged: see the message, or File ▸ Open catalog…")
        w.statusBar().showMessage("The catalog is damaged", 10000)
        self.damaged_dialog = DamagedCatalogDialog(message, path or None, w)
        self.damaged_dialog.open()

    def start_logging(self, client: Any) -> None:
        from .logging_setup import catalog_logging
        catalog_logging(client.catalog.home, read_only=client.catalog.read_only)

    def catalog_opened(self, client: Any) -> None:
        """Called by set_client once the window shows the catalog."""
        w = self.window
        ro = client.catalog.read_only
        if ro and w.watcher is not None:
            # The window holding the catalog supervises its jobs; this one only looks.
            w.watcher.SUPERVISE_EVERY_S = math.inf
        self.badge.setVisible(ro)
        self.badge.setToolTip(f"Opened read-only: {self.read_only_reason or 'changes are refused'}")
        # The platform adds " — Model Desk" (the application's display name).
        w.setWindowTitle(f"{client.catalog.home}" + (" (read-only)" if ro else ""))
        if hasattr(self, "housekeeping_action"):
            self.housekeeping_action.setEnabled(True)
        if ro:
            w.statusBar().showMessage(f"Read-only: {self.read_only_reason or 'changes are refused'}", 10000)
            return
        try:
            recovered = w.actions.recover_pipelines()
            if any(recovered.values()):
                log.info("pipelines recovered at start: %s", recovered)
        except Exception as e:  # noqa: BLE001 - a failed recovery must not keep the catalog from opening
            w.hub.exception("Could not recover interrupted pipeline runs", e)
        self.triggers = w.actions.start_pipeline_triggers()

    def catalog_closing(self) -> None:
        """Called by _unbind before the catalog closes."""
        if self.triggers is not None:
            self.triggers.stop()
            self.triggers = None
        if hasattr(self, "housekeeping_action"):
            self.housekeeping_action.setEnabled(False)

    def release(self) -> None:
        """Give the instance lock back (another catalog opens, or the window closes)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.badge.hide()

    # -- dialogs --------------------------------------------------------------------------------
    def open_settings(self):
        from .dialogs.settings_dialog import SettingsDialog
        dlg = SettingsDialog(self.settings, self.window)
        dlg.saved.connect(self.apply_settings)
        self.window._keep(dlg)
        dlg.open()
        return dlg

    def apply_settings(self, changed: dict) -> None:
        from .dialogs.settings_dialog import apply_theme
        if "theme" in changed:
            apply_theme(changed["theme"])
        if "parallel_cpu_jobs" in changed:
            os.environ["DESKTOP_APP_CPU_JOBS"] = str(changed["parallel_cpu_jobs"])  # schedulers started from now
        if "catalog_folder" in changed:
            self.window.statusBar().showMessage("The catalog folder changes on the next start "
                                                "(File ▸ Open catalog… switches now)", 10000)
        elif changed:
            self.window.statusBar().showMessage("Settings saved", 5000)

    def open_housekeeping(self):
        from .dialogs.housekeeping_dialog import HousekeepingDialog
        w = self.window
        if w.client is None:
            return None
        dlg = HousekeepingDialog(w.client.catalog, w)
        dlg.catalog_changed.connect(w.refresh_tree)
        dlg.open_catalog_requested.connect(w.open_catalog)
        w._keep(dlg)
        dlg.open()
        return dlg

    def open_about(self):
        from desktop_app.settings import config_dir

        from .dialogs.about_dialog import AboutDialog
        from .logging_setup import current_log_file
        w = self.window
        dlg = AboutDialog(w.client.catalog.home if w.client is not None else None, current_log_file(),
                          config_dir(), w)
        w._keep(dlg)
        dlg.open()
        return dlg

    def start_tour(self):
        from .tour import start_tour
        if self.tour is not None:
            try:
                if self.tour.isVisible():
                    return self.tour
            except RuntimeError:  # deleted on the C++ side after it finished
                pass
        self.tour = start_tour(self.window, self._tour_finished)
        return self.tour

    def _tour_finished(self, never_again: bool) -> None:
        self.tour = None
        if never_again:
            try:
                self.settings.set("show_tour", False)
            except Exception as e:  # noqa: BLE001 - a read-only config folder: say so, carry on
                self.window.hub.exception("Could not save the setting", e)

    def maybe_start_tour(self) -> None:
        """At start-up: the tour, unless it was dismissed for good."""
        if self.settings.get("show_tour"):
            self.start_tour()

