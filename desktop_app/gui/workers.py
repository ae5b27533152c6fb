"""Work off the GUI thread: opening the catalog, watching jobs and the catalog's entities, polling metrics, one-off
tasks (TaskRunner), cancellable jobs with progress (JobWorker).

Each poller is a QThread that reads the catalog (SQLite gives every thread its own connection) and emits
plain Python objects; the widgets only apply them. Training itself runs in the job queue's worker
processes; the JobsWatcher supervises them (restarts a missing scheduler, marks dead jobs interrupted).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from desktop_app.domain.status import ExecutionStatus
from desktop_app.errors import CatalogDamagedError, UserError

log = logging.getLogger("desktop_app.gui")


class PollingThread(QThread):
    """Calls poll() every `interval` seconds until stop(); poke() polls now. Errors are reported once."""

    error = Signal(str, str)   # message, traceback

    def __init__(self, interval: float, parent: QObject | None = None):
        super().__init__(parent)
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = False
        self._last_error = ""

    def poll(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self) -> None:
        while not self._stopping:
            try:
                self.poll()
                self._last_error = ""
            except Exception as e:  # noqa: BLE001 - a poller must survive a locked or busy catalog
                msg = f"{type(e).__name__}: {e}"
                if msg != self._last_error:  # one report per distinct problem, not one per poll
                    self._last_error = msg
                    log.exception("%s failed", type(self).__name__)
                    self.error.emit(msg, traceback.format_exc())
            self._wake.wait(self.interval)
            self._wake.clear()

    def poke(self) -> None:
        self._wake.set()

    def stop(self, timeout_ms: int = 10_000) -> None:
        self._stopping = True
        self._wake.set()
        self.wait(timeout_ms)


class JobsWatcher(PollingThread):
    """Polls executions and model statuses; emits a snapshot when anything changed."""

    snapshot = Signal(object, object)        # list[JobRow], dict[model_id, status]
    job_finished = Signal(object, str)       # JobRow, log tail (for failures)

    SUPERVISE_EVERY_S = 5.0

    def __init__(self, catalog: Any, *, interval: float = 0.5, limit: int = 50, parent: QObject | None = None):
        super().__init__(interval, parent)
        self.catalog = catalog
        self.limit = limit
        self._previous: tuple | None = None
        self._known_status: dict[str, str] = {}
        self._latest: dict[str, dict[tuple[str, str], Any]] = {}
        self._metric_ids: dict[str, int] = {}
        self._last_supervise = 0.0
        from desktop_app.catalog.stamps import now_iso
        self._since = now_iso()

    def poll(self) -> None:
        from desktop_app.sdk.views import job_rows

        from .job_metric import training_metric

        cat = self.catalog
        execs = cat.list_executions(limit=self.limit)
        if self._supervise(execs):
            execs = cat.list_executions(limit=self.limit)
        models = cat.find_models()
        names = {m.id: m.name for m in models}
        statuses = {m.id: m.status for m in models}
        now = time.time()
        metrics, finished_ids = {}, set()
        for ex in execs:
            before = self._known_status.get(ex.id)
            if before is None and ex.created_at > self._since:
                before = ExecutionStatus.CREATED  # queued and done between two polls: still news
            self._known_status[ex.id] = ex.status
            just_finished = (before is not None and before not in ExecutionStatus.FINAL
                             and ex.status in ExecutionStatus.FINAL)
            if ex.kind == "train" and ex.model_id and (ex.status == ExecutionStatus.IN_PROGRESS or just_finished):
                metrics[ex.id] = self._current_metric(ex.id, ex.model_id)
            elif ex.id in self._latest:
                metrics[ex.id] = training_metric(self._latest[ex.id])
            if just_finished:
                finished_ids.add(ex.id)
        rows = job_rows(cat, execs, names, metrics, now)       # each named as every screen names it (row.name)
        finished = [r for r in rows if r.id in finished_ids]
        for row in finished:
            tail = _log_tail(cat.home, row.log_path) if row.status == ExecutionStatus.FAILED else ""
            self.job_finished.emit(row, tail)
        state = (tuple(rows), tuple(sorted(statuses.items())))
        if state != self._previous:
            self._previous = state
            self.snapshot.emit(rows, statuses)

    def _current_metric(self, execution_id: str, model_id: str) -> str:
        from .job_metric import training_metric
        latest = self._latest.setdefault(execution_id, {})
        after = self._metric_ids.get(execution_id, 0)
        for s in self.catalog.list_metrics(model_id, after_id=after):
            after = s.id
            if s.execution_id in (None, execution_id):
                latest[(s.figure, s.legend)] = s
        self._metric_ids[execution_id] = after
        return training_metric(latest)

    def _supervise(self, execs: list) -> bool:
        """The GUI is a supervisor too: a job whose worker and scheduler died is reconciled on the poll that
        sees it (True: statuses changed); queued work gets a scheduler (checked every few seconds)."""
        from desktop_app.jobs.scheduler import ensure_scheduler, mark_interrupted
        changed = bool(any(e.status == ExecutionStatus.IN_PROGRESS for e in execs) and mark_interrupted(self.catalog))
        now = time.monotonic()
        if now - self._last_supervise >= self.SUPERVISE_EVERY_S:
            self._last_supervise = now
            if any(e.status == ExecutionStatus.CREATED for e in execs):
                ensure_scheduler(self.catalog.home)
        return changed


def _log_tail(home: Path, log_path: str | None, limit: int = 8000) -> str:
    if not log_path:
        return ""
    p = Path(log_path)
    if not p.is_absolute():
        p = Path(home) / p
    try:
        with open(p, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(size - limit, 0))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class EntitiesWatcher(PollingThread):
    """Emits `changed` when a project, dataset, package or model was added, deleted or renamed by anyone (a
    script, the CLI, this window): each poll asks SQLite's data_version whether anything was committed at all
    and reads the entities' stamp only then, so an idle catalog costs one pragma a poll and no table read."""

    changed = Signal()

    def __init__(self, catalog: Any, *, interval: float = 0.5, parent: QObject | None = None):
        from desktop_app.catalog.changes import entities_stamp
        super().__init__(interval, parent)
        self.catalog = catalog
        self._version: int | None = None
        # Taken by the caller's thread before it builds its tree: a change made in between is news on the
        # first poll, not the baseline.
        self._stamp = entities_stamp(catalog)

    def poll(self) -> None:
        from desktop_app.catalog.changes import data_version, entities_stamp
        version = data_version(self.catalog)
        if version == self._version:
            return
        self._version = version
        stamp = entities_stamp(self.catalog)
        if stamp != self._stamp:
            self._stamp = stamp
            self.changed.emit()


class MetricsPoller(PollingThread):
    """Streams a model's new metric samples: `list_metrics(model_id, after_id=last_id)` on each poll."""

    samples = Signal(str, object)            # model_id, list[MetricSample]

    def __init__(self, catalog: Any, *, interval: float = 0.5, parent: QObject | None = None):
        super().__init__(interval, parent)
        self.catalog = catalog
        self._lock = threading.Lock()
        self._model_id: str | None = None
        self._last_id = 0

    def set_model(self, model_id: str | None, after_id: int = 0) -> None:
        """Stream `model_id`'s samples newer than `after_id` (None: stop polling)."""
        with self._lock:
            self._model_id = model_id
            self._last_id = after_id
        self.poke()

    @property
    def model_id(self) -> str | None:
        return self._model_id

    def poll(self) -> None:
        with self._lock:
            model_id, after = self._model_id, self._last_id
        if not model_id:
            return
        new = self.catalog.list_metrics(model_id, after_id=after)
        if not new:
            return
        with self._lock:
            if self._model_id != model_id or self._last_id != after:
                return  # the page switched models meanwhile
            self._last_id = new[-1].id
        self.samples.emit(model_id, new)


class CatalogLoader(QThread):
    """Opens (and on a first start, fills) the catalog without freezing the window."""

    loaded = Signal(object, bool)            # Client, first start
    failed = Signal(str, str)                # message, traceback
    damaged = Signal(str, str)               # message, the database file (CatalogDamagedError)

    def __init__(self, home: Path | str | None, parent: QObject | None = None):
        super().__init__(parent)
        self.home = home

    def run(self) -> None:
        try:
            from desktop_app.catalog import check_pages
            from desktop_app.catalog.paths import default_home
            from desktop_app.sdk import Client
            from desktop_app.sdk.views import is_first_start
            check_pages(Path(self.home if self.home is not None else default_home()) / "catalog.db")
            client = Client(home=self.home)
            first_start = is_first_start(client.catalog)
            if first_start and not client.catalog.read_only:
                client.create_sample_project()  # the window opens on it; a script never waits for it
            self.loaded.emit(client, first_start)
        except CatalogDamagedError as e:
            self.damaged.emit(str(e), e.path or "")
        except Exception as e:  # noqa: BLE001 - shown to the user, who may pick another folder
            self.failed.emit(f"{type(e).__name__}: {e}", traceback.format_exc())


class _TaskSignals(QObject):
    done = Signal(int, object)
    failed = Signal(int, object)


class _Task(QRunnable):
    def __init__(self, task_id: int, fn: Callable[[], Any], signals: _TaskSignals):
        super().__init__()
        self.task_id = task_id
        self.fn = fn
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as e:  # noqa: BLE001 - carried back to the GUI thread
            self.signals.failed.emit(self.task_id, e)
        else:
            self.signals.done.emit(self.task_id, result)


class TaskRunner(QObject):
    """Runs one-off functions on a thread pool; callbacks run on the GUI thread (queued to this object)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.signals = _TaskSignals(self)
        self.signals.done.connect(self._done)
        self.signals.failed.connect(self._failed)
        self._callbacks: dict[int, tuple] = {}
        self._next = 0

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        self._next += 1
        self._callbacks[self._next] = (on_done, on_error)
        self.pool.start(_Task(self._next, fn, self.signals))

    def _done(self, task_id: int, result: Any) -> None:
        on_done, _ = self._callbacks.pop(task_id, (None, None))
        if on_done is not None:
            on_done(result)

    def _failed(self, task_id: int, error: BaseException) -> None:
        _, on_error = self._callbacks.pop(task_id, (None, None))
        if on_error is not None:
            on_error(error)
        else:
            log.error("background task failed", exc_info=error)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.pool.waitForDone(timeout_ms)


Work = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]   # work(progress, cancelled) -> result


class JobWorker(QThread):
    """Runs work(progress, cancelled) once; `request_cancel` is safe from any thread and the work reads it
    between files. A cancel that left nothing done ends as `cancelled`, whatever the work returned."""

    progressed = Signal(int, int)        # done, total
    succeeded = Signal(object)           # what the work returned
    failed = Signal(str)                 # a message naming the file / folder at fault
    cancelled = Signal()

    def __init__(self, work: Work, where: str | Path, parent=None):
        super().__init__(parent)
        self.work, self.where = work, where
        self._cancel = threading.Event()

    def request_cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            result = self.work(self.progressed.emit, self._cancel.is_set)
        except InterruptedError:
            self.cancelled.emit()
        except UserError as e:
            self.failed.emit(str(e))
        except OSError as e:
            self.failed.emit(f"{e.filename or self.where}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - a bug, but the window must survive it and say so
            log.exception("the job on %s failed", self.where)
            self.failed.emit(f"unexpected error ({type(e).__name__}): {e}")
        else:
            if self._cancel.is_set() and not result:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
