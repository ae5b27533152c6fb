"""The worker process's shell: its link to the execution (heartbeat, cancel, progress), the task registry and
`main` (run the task, record the outcome). The entry is `python -m desktop_app.workflows.worker HOME
EXECUTION_ID`, which registers the task bodies (workflows) and calls `main` here; stdout is the job's log."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from desktop_app.catalog import Catalog, ExecutionStatus, ModelStatus, scratch
from desktop_app.catalog.failures import StorageError
from desktop_app.catalog.stamps import now_iso
from desktop_app.errors import Cancelled, DesktopAppError

log = logging.getLogger("desktop_app.worker")

# What a read or write of the execution record can fail with while the job runs on: the catalog busy
# (CatalogBusyError) or damaged, the record gone (NotFoundError), the disk.
_RECORD_ERRORS = (StorageError, DesktopAppError, OSError)


class Control:
    """The worker's link to its execution record: heartbeat, cancel flag, progress and metric sink."""

    def __init__(self, catalog: Catalog, execution_id: str, *, interval: float = 1.0):
        self.catalog = catalog
        self.execution_id = execution_id
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._last_progress = 0.0
        self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
        self._thread.start()

    def _beat(self, interval: float) -> None:
        failures = {"cancel check": 0, "heartbeat": 0}
        while not self._stop.wait(interval):
            try:
                if self.catalog.get_execution(self.execution_id).cancel_requested:
                    self.cancelled.set()
            except _RECORD_ERRORS as e:
                _failed(failures, "cancel check", self.execution_id, e)
            else:
                _recovered(failures, "cancel check", self.execution_id)
            try:
                self.catalog.update_execution(self.execution_id, heartbeat_at=now_iso())
            except _RECORD_ERRORS as e:
                _failed(failures, "heartbeat", self.execution_id, e)
            else:
                _recovered(failures, "heartbeat", self.execution_id)

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("canceled by the user")

    def progress(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress < 0.5:
            return  # at most two writes a second
        self._last_progress = now
        self.catalog.update_execution(self.execution_id, progress=float(min(max(percent, 0.0), 100.0)),
                                      message=message)

    def close(self) -> None:
        self._stop.set()


def _failed(failures: dict[str, int], what: str, execution_id: str, error: BaseException) -> None:
    """The first failure of a run of them is a warning in the job's log; the job goes on (it tries again)."""
    failures[what] += 1
    if failures[what] == 1:
        log.warning("execution %s: %s failed (%s: %s); retrying every beat", execution_id, what,
                    type(error).__name__, error)


def _recovered(failures: dict[str, int], what: str, execution_id: str) -> None:
    if failures[what]:
        log.info("execution %s: %s works again after %d failure(s)", execution_id, what, failures[what])
        failures[what] = 0


TASKS: dict[str, Callable[[Catalog, Any, Control], dict]] = {}


def task(kind: str):
    def register(fn):
        TASKS[kind] = fn
        return fn
    return register


def main(argv: list[str] | None = None) -> int:
    """Run the execution named on the command line with the task registered for its kind; 0 unless it failed."""
    argv = sys.argv[1:] if argv is None else argv
    home, execution_id = Path(argv[0]), argv[1]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = Catalog(home)
    ex = catalog.get_execution(execution_id)
    print(f"--- {now_iso()} execution {ex.id} ({ex.kind}) pid {os.getpid()} "
          f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}", flush=True)
    catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, pid=os.getpid(), error=None,
                                 heartbeat_at=now_iso())
    control = Control(catalog, ex.id)
    try:
        fn = TASKS.get(ex.kind)
        if fn is None:
            raise DesktopAppError(f"unknown job kind {ex.kind!r}")
        output = fn(catalog, ex, control) or {}
        catalog.set_execution_status(ex.id, ExecutionStatus.SUCCESS, progress=100.0, output=output,
                                     message="done")
        print(f"--- {now_iso()} success", flush=True)
        # Its results are stored; a job that did not succeed keeps its folder (resuming reads its checkpoint).
        freed = scratch.remove(scratch.execution_dir(catalog, ex.id))
        if freed:
            print(f"--- scratch folder freed ({freed / 1e6:.1f} MB)", flush=True)
        return 0
    except Cancelled as e:
        _restore_model(catalog, ex)
        catalog.set_execution_status(ex.id, ExecutionStatus.CANCELED, message=str(e))
        print(f"--- {now_iso()} canceled", flush=True)
        return 0
    except BaseException as e:  # noqa: BLE001 - every failure is recorded on the execution
        traceback.print_exc()
        reason = f"{type(e).__name__}: {e}"
        if ex.kind == "train" and ex.model_id:
            with contextlib.suppress(*_RECORD_ERRORS):   # the model deleted meanwhile, the catalog busy
                catalog.set_model_status(ex.model_id, ModelStatus.FAILED)
        catalog.set_execution_status(ex.id, ExecutionStatus.FAILED, error=reason, message="failed")
        print(f"--- {now_iso()} failed: {reason}", flush=True)
        return 1
    finally:
        control.close()


def _restore_model(catalog: Catalog, ex) -> None:
    if ex.kind == "train" and ex.model_id:
        with contextlib.suppress(*_RECORD_ERRORS):   # the model deleted meanwhile, the catalog busy
            # pending / training as the job left it, failed or trained as its adapter did before the cancel came
            catalog.restore_model_status(ex.model_id, ex.input.get("previous_status") or ModelStatus.CREATED,
                                         expect=(*ModelStatus.BUSY, ModelStatus.FAILED, ModelStatus.TRAINED))
