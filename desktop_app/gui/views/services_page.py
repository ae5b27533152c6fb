"""The services page: running local inference services with live figures; start, stop, copy a curl example.

The list and each server's /metrics are read by a polling thread (never HTTP on the GUI thread) with
desktop_app.serving.status (reads only); starting and stopping a service go through the window's actions and
wait on a process, so they run on the task pool too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.domain.status import ModelStatus, ServiceStatus

from ..actions import Actions
from ..style import muted, status_color, status_icon, title_font
from ..workers import PollingThread, TaskRunner

log = logging.getLogger("desktop_app.gui")

COLUMNS = ("Service", "Model", "Status", "URL", "Port", "PID", "Started", "Requests", "Errors", "Mean ms",
           "p50 ms")
ID_ROLE = Qt.ItemDataRole.UserRole
NUMERIC = {COLUMNS.index(c) for c in ("Port", "PID", "Requests", "Errors", "Mean ms", "p50 ms")}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
STOPPING = "stopping"   # the page's own word while its stop is on the way; not a stored ServiceStatus
# The status column's colour: a serving service in the deployed model's colour, one on its way in the pending one's.
BADGE = {ServiceStatus.RUNNING: ModelStatus.DEPLOYED, ServiceStatus.STARTING: ModelStatus.PENDING,
         STOPPING: ModelStatus.PENDING}


class ServicesPoller(PollingThread):
    """Reads the project's services and asks each running one for its /metrics; emits the rows."""

    rows = Signal(object)                    # list[dict] (desktop_app.serving.status.service_rows)

    def __init__(self, catalog: Any, *, interval: float = 1.0, parent: QObject | None = None):
        super().__init__(interval, parent)
        self.catalog = catalog
        self._lock = threading.Lock()
        self.project_id: str | None = None
        self.running_only = True
        self.active = False                  # polls only while the page is on screen

    def configure(self, project_id: str | None, running_only: bool) -> None:
        with self._lock:
            self.project_id, self.running_only = project_id, running_only
        self.poke()

    def poll(self) -> None:
        from desktop_app.serving.status import service_rows
        with self._lock:
            project_id, running_only, active = self.project_id, self.running_only, self.active
        if not active or project_id is None:
            return
        self.rows.emit(service_rows(self.catalog, project_id=project_id, running_only=running_only))


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if digits else f"{value:,}"


def _plain(value: Any) -> str:
    return "—" if value is None else str(value)


class ServicesPage(QWidget):
    navigate = Signal(str, str)
    message = Signal(str)
    rows_applied = Signal()                  # the table shows a fresh poll (tests wait on it)
    service_started = Signal(str)            # service id
    service_stopped = Signal(str)
    error = Signal(str, object)              # title, exception: the window's ErrorHub (bar, app.log)

    def __init__(self, client: Any, parent: QWidget | None = None, *, interval: float = 1.0, actions: Any = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.project_id: str | None = None
        self.rows: list[dict] = []
        self.tasks = TaskRunner(self)
        self.actions = Actions.for_page(client, actions, self, self.tasks)
        self.busy: set[str] = set()          # services being stopped
        self._shut = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        head = QHBoxLayout()
        self.title = QLabel("Services")
        self.title.setFont(title_font(self.font()))
        head.addWidget(self.title, 1)
        self.show_stopped = QCheckBox("Show stopped")
        self.show_stopped.toggled.connect(lambda _on: self._configure())
        head.addWidget(self.show_stopped, 0, Qt.AlignmentFlag.AlignBottom)
        lay.addLayout(head)
        self.info = QLabel("Local inference services of this project's models. Figures come from each "
                           "service's /metrics (behind a token, from the copy it keeps in the catalog) and "
                           "refresh every second.")
        self.info.setWordWrap(True)
        muted(self.info)
        lay.addWidget(self.info)

        start = QHBoxLayout()
        start.addWidget(QLabel("Deploy a trained model:"))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(260)
        start.addWidget(self.model_combo)
        self.start_button = QPushButton("Start service")
        self.start_button.clicked.connect(self.start_selected)
        start.addWidget(self.start_button)
        start.addStretch(1)
        self.curl_button = QPushButton("Copy curl example")
        self.curl_button.setToolTip("Copy a curl command that posts an image file to POST /predictions/{model}")
        self.curl_button.clicked.connect(self.copy_curl)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_selected)
        start.addWidget(self.curl_button)
        start.addWidget(self.stop_button)
        lay.addLayout(start)

        self.table = QTreeWidget()
        self.table.setObjectName("servicesTable")
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for col, width in enumerate((140, 130, 90, 175, 55, 60, 140, 72, 55, 65, 60)):
            self.table.setColumnWidth(col, width)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col in NUMERIC:
            self.table.headerItem().setTextAlignment(col, _RIGHT)
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        lay.addWidget(self.table, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)

        self.poller = ServicesPoller(self.catalog, interval=interval, parent=self)
        self.poller.rows.connect(self._apply_rows)
        self.poller.error.connect(lambda msg, _tb: self.status.setText(f"Reading services failed: {msg}"))
        self.poller.start()
        self._update_buttons()

    # -- binding --------------------------------------------------------------------------
    def set_project(self, project_id: str) -> None:
        from desktop_app.serving.status import deployable_models
        self.project_id = project_id
        project = self.catalog.get_project(project_id)
        self.title.setText(f"Services — {project.name}")
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for mid, name in deployable_models(self.catalog, project_id):
            self.model_combo.addItem(name, mid)
        if current is not None and (k := self.model_combo.findData(current)) >= 0:
            self.model_combo.setCurrentIndex(k)
        self._configure()
        self._update_buttons()

    def _configure(self) -> None:
        self.poller.configure(self.project_id, not self.show_stopped.isChecked())

    def refresh(self) -> None:
        self.poller.poke()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.poller.active = True
        self.poller.poke()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.poller.active = False
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Stop polling and wait for a start / stop in flight (the catalog closes next). Idempotent."""
        if self._shut:
            return
        self._shut = True
        self.poller.stop()
        self.tasks.wait(30_000)

    # -- the table ------------------------------------------------------------------------
    def _apply_rows(self, rows: list[dict]) -> None:
        if self._shut:
            return
        self.rows = rows
        keep = self.selected_id()
        self.table.setUpdatesEnabled(False)
        try:
            items = {self.table.topLevelItem(k).data(0, ID_ROLE): self.table.topLevelItem(k)
                     for k in range(self.table.topLevelItemCount())}
            wanted = [r["id"] for r in rows]
            if list(items) != wanted:
                self.table.clear()
                items = {}
                for r in rows:
                    item = QTreeWidgetItem([""] * len(COLUMNS))
                    item.setData(0, ID_ROLE, r["id"])
                    self.table.addTopLevelItem(item)
                    items[r["id"]] = item
            for r in rows:
                self._fill(items[r["id"]], r)
            if keep in items:
                self.table.setCurrentItem(items[keep])
            elif rows and self.table.currentItem() is None:
                self.table.setCurrentItem(self.table.topLevelItem(0))
        finally:
            self.table.setUpdatesEnabled(True)
        self._update_buttons()
        self.rows_applied.emit()

    def _fill(self, item: QTreeWidgetItem, r: dict) -> None:
        status = STOPPING if r["id"] in self.busy and r["status"] == ServiceStatus.RUNNING else r["status"]
        auth = r["auth"] and r["status"] == ServiceStatus.RUNNING
        texts = [r["name"], r["model"], status, r["url"], _plain(r["port"]), _plain(r["pid"]), r["started_at"],
                 _num(r["requests"]), _num(r["errors"]), _num(r["mean_ms"], 1), _num(r["p50_ms"], 1)]
        for col, text in enumerate(texts):
            if item.text(col) != text:
                item.setText(col, text)
            if col in NUMERIC:
                item.setTextAlignment(col, _RIGHT)
        badge = BADGE.get(status, status)
        item.setIcon(2, status_icon(badge))
        item.setForeground(2, status_color(badge))
        tip = f"{r['url']}  ({r['id']})"
        if auth:
            tip += "\nThis service needs a token over HTTP; its figures are read from the copy it keeps in the catalog."
            if not r["answering"]:
                tip += "\nIt has not written its figures in the last seconds."
        elif r["status"] == ServiceStatus.RUNNING and not r["answering"]:
            tip += "\nThe service did not answer /metrics just now."
        item.setToolTip(0, tip)

    def selected_id(self) -> str | None:
        item = self.table.currentItem()
        return item.data(0, ID_ROLE) if item is not None else None

    def selected_row(self) -> dict | None:
        sid = self.selected_id()
        return next((r for r in self.rows if r["id"] == sid), None)

    def _update_buttons(self) -> None:
        r = self.selected_row()
        running = r is not None and r["status"] in ServiceStatus.LIVE and r["id"] not in self.busy
        self.stop_button.setEnabled(running and not self.catalog.read_only)
        self.curl_button.setEnabled(r is not None and bool(r["url"]) and r["status"] == ServiceStatus.RUNNING)
        self.start_button.setEnabled(self.model_combo.count() > 0 and not self.catalog.read_only)

    # -- actions --------------------------------------------------------------------------
    def start_selected(self) -> None:
        """Deploy the chosen model (its process starts and loads in the background)."""
        model_id = self.model_combo.currentData()
        if not model_id:
            return
        name = self.model_combo.currentText()
        self.start_button.setEnabled(False)
        self.status.setText(f"Starting a service of {name}…")

        def done(rec: Any) -> None:
            self.status.setText(f"{name} is served at {rec.url}")
            self.message.emit(f"Service of {name} started at {rec.url}")
            self._update_buttons()
            self.refresh()
            self.service_started.emit(rec.id)

        def failed(e: BaseException) -> None:
            self.status.setText(f"Could not start a service of {name}: {e}")
            self.error.emit(f"Could not start a service of {name}", e)
            self._update_buttons()
            self.refresh()
        self.actions.start_service(model_id, done, failed, tasks=self.tasks)

    def stop_selected(self) -> None:
        r = self.selected_row()
        if r is None or r["id"] in self.busy:
            return
        sid = r["id"]
        self.busy.add(sid)
        self._update_buttons()
        self.status.setText(f"Stopping {r['name']} ({r['url']})…")

        def finish(text: str) -> None:
            self.busy.discard(sid)
            self.status.setText(text)
            self._update_buttons()
            self.refresh()
            self.service_stopped.emit(sid)
        self.actions.stop_service(sid, lambda rec: finish(f"{r['name']} stopped"),
                                  lambda e: finish(f"Could not stop {r['name']}: {e}"), tasks=self.tasks)

    def curl_text(self) -> str:
        from desktop_app.serving.status import curl_example
        r = self.selected_row()
        if r is None or not r["url"]:
            return ""
        return curl_example(r["url"], r["model"], auth=r["auth"])

    def copy_curl(self) -> str:
        text = self.curl_text()
        if text:
            QApplication.clipboard().setText(text)
            self.status.setText(f"Copied: {text}")
            self.message.emit("curl example copied to the clipboard")
        return text
