"""The job queue: one scheduler process per catalog starts workers on free devices and supervises them."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.catalog import Catalog, ExecutionRecord, ExecutionStatus, ModelStatus
from desktop_app.catalog.lock import FileLock
from desktop_app.catalog.names import contained
from desktop_app.errors import NotFoundError, ValidationError

from . import devices

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler.lock"
CANCEL_GRACE_S = 8.0     # a worker that ignores a cancel this long is terminated, then killed
IDLE_EXIT_S = 3.0
WORKER_NICENESS = 10
# What an interrupted job says, from whichever side found it so (the job and its model agree: both resumable).
INTERRUPTED_MESSAGE = "interrupted, can resume"
# A worker ended by one of these was stopped from outside (killed, the session or computer going down), not by
# a fault of its own: its job is interrupted (resume continues from the last checkpoint), not failed.
_OUTSIDE_KILLS = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
# The worker process's entry, run by module name (jobs never imports the task bodies: they orchestrate above us).
WORKER_ENTRY = "desktop_app.workflows.worker"


@dataclass
class Running:
    execution_id: str
    proc: subprocess.Popen
    slots: list[devices.Slot]
    cancel_seen_at: float | None = None
    terminated_at: float | None = None
    log_file: object = field(default=None, repr=False)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def mark_interrupted(catalog: Catalog, *, except_ids: set[str] = frozenset(), supervisor: bool = False) -> list[str]:
    """Jobs whose owner is gone end `interrupted` (resumable), saying so in their error; a training job's
    model gets back the status it had before the job. Returns the ids it changed.

    Every read of jobs calls this first (the SDK's executions, `Execution.wait()`, `jobs`, the window), so a
    job never stays in-progress after its worker died with nobody watching. While a scheduler runs, a dead
    worker is its to reap (it records the exit code), so a reader leaves it alone; the scheduler itself
    calls this with `supervisor=True` and the ids of the workers it supervises in `except_ids`.
    """
    if catalog.read_only:
        return []
    dead = [ex for ex in catalog.list_executions(status=ExecutionStatus.IN_PROGRESS)
            if ex.id not in except_ids and not pid_alive(ex.pid)]
    if not dead or (not supervisor and scheduler_running(catalog.home)):
        return []
    changed = []
    for ex in dead:
        with catalog.transaction():
            now = catalog.get_execution(ex.id)
            if now.status != ExecutionStatus.IN_PROGRESS or now.pid != ex.pid:
                continue  # finished, reaped or resumed meanwhile
            catalog.set_execution_status(
                ex.id, ExecutionStatus.INTERRUPTED, message=INTERRUPTED_MESSAGE,
                error=f"the worker process (pid {ex.pid}) died before finishing and no scheduler was watching it "
                      f"(both ended: killed, or the computer stopped); resume the job to continue from its "
                      f"last checkpoint")
            restore_model_status(catalog, now, failed_too=True)
        changed.append(ex.id)
    return changed


def restore_model_status(catalog: Catalog, ex: ExecutionRecord, *, failed_too: bool = False) -> None:
    """A training job that ended without training (canceled, interrupted) gives its model back its old status.

    `failed_too`: for an interrupted job, a model its dying worker marked failed on the way down gets its old
    status back too (the job is resumable, so the model must not read failed while it reads interrupted)."""
    if ex.kind != "train" or not ex.model_id:
        return
    expect = (*ModelStatus.BUSY, ModelStatus.FAILED) if failed_too else ModelStatus.BUSY
    with contextlib.suppress(NotFoundError):
        catalog.restore_model_status(ex.model_id, ex.input.get("previous_status") or ModelStatus.CREATED,
                                     expect=expect)


def execution_log(home: Path, ex: ExecutionRecord) -> Path:
    """A job's log file, inside the catalog's logs/ folder; a ValidationError naming the job otherwise (a
    catalog restored from someone else's backup may hold any path, and the scheduler appends to this file)."""
    rel = ex.log_path or f"logs/executions/{ex.id}.log"
    what = f"the log path of execution {ex.id!r}"
    if not isinstance(rel, str) or not rel.startswith("logs/"):
        raise ValidationError(f"{what} ({rel!r}) is not in the catalog's logs folder; refused")
    return contained(Path(home) / "logs", rel[len("logs/"):], what)


def scheduler_running(home: Path) -> bool:
    lock = FileLock(Path(home) / LOCK_NAME)
    if lock.acquire():
        lock.release()
        return False
    return True


# The detached schedulers this process started. Kept so none is collected while it runs (Python then warns
# "subprocess N is still running") and reaped once ended (no zombie): on each ensure_scheduler call and at exit.
_started: list[subprocess.Popen] = []
_started_lock = threading.Lock()


def _reap_started() -> None:
    """Forget the started schedulers that have ended (poll() reaps each)."""
    with _started_lock:
        _started[:] = [p for p in _started if p.poll() is None]


@atexit.register
def _leave_started_running() -> None:
    """At exit: reap the started schedulers that ended; one still running outlives this process on purpose (it
    exits once idle, and its new parent reaps it), so letting go of it is no leak and says nothing."""
    with _started_lock:
        running = [p for p in _started if p.poll() is None]
        _started.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        running.clear()   # the last references: CPython collects each Popen here, inside the filter


def ensure_scheduler(home: Path) -> None:
    """Start a detached scheduler for this catalog unless one is running."""
    _reap_started()
    if scheduler_running(home):
        return
    logs = Path(home) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "scheduler.log", "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "desktop_app.jobs.scheduler", str(home)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=child_env())
    with _started_lock:
        _started.append(proc)


def _cpu_jobs_setting() -> tuple[float | None, int | None]:
    """(mtime of the settings file, its Parallel CPU jobs); (None, None) when there is no readable one."""
    from desktop_app.settings import Settings, config_dir
    path = config_dir() / Settings.FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None, None
    try:
        return mtime, int(Settings(path.parent).get("parallel_cpu_jobs"))
    except Exception:  # noqa: BLE001 - a settings file being rewritten: read it on the next step
        return None, None


def _lower_priority() -> None:
    """Workers yield the CPU to the window and the user's other programs (no cost when nothing competes)."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The package must be importable from a source checkout too.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


class Scheduler:
    def __init__(self, home: Path, *, idle_exit_s: float = IDLE_EXIT_S, poll_s: float = 0.2):
        self.home = Path(home)
        self.catalog = Catalog(self.home)
        self.slots = devices.all_slots()
        self.running: dict[str, Running] = {}
        self.idle_exit_s = idle_exit_s
        self.poll_s = poll_s
        self.lock = FileLock(self.home / LOCK_NAME)
        self._settings_seen = _cpu_jobs_setting()

    def _follow_settings(self) -> None:
        """Settings > Parallel CPU jobs changed while we run: take the new number of CPU slots now (a running
        job keeps its slot; fewer slots only hold back the next ones)."""
        now = _cpu_jobs_setting()
        if now == self._settings_seen:
            return
        before, self._settings_seen = self._settings_seen, now
        if now[1] is None or now[1] == before[1]:
            return
        self.slots = [s for s in self.slots if s.is_gpu] + devices.cpu_slots(now[1])
        log.info("parallel CPU jobs set to %d: slots now %s", now[1], [s.name for s in self.slots])

    def free_slots(self) -> list[devices.Slot]:
        busy = {s.name for r in self.running.values() for s in r.slots}
        return [s for s in self.slots if s.name not in busy]

    def run(self) -> None:
        if not self._acquire_lock():
            return
        log.info("scheduler %d started with slots %s", os.getpid(), [s.name for s in self.slots])
        idle_since = time.monotonic()
        try:
            while True:
                busy = self.step()
                if busy:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > self.idle_exit_s:
                    self.lock.release()
                    # A job queued while we were deciding to exit must not be stranded.
                    if self._queued() and self.lock.acquire():
                        idle_since = time.monotonic()
                        continue
                    return
                time.sleep(self.poll_s)
        finally:
            self.lock.release()

    def _acquire_lock(self, within_s: float = 1.0) -> bool:
        """A reader probing whether a scheduler runs holds the lock for an instant: try again briefly."""
        deadline = time.monotonic() + within_s
        while not self.lock.acquire():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _queued(self):
        return sorted(self.catalog.list_executions(status=ExecutionStatus.CREATED), key=lambda e: e.created_at)

    def step(self) -> bool:
        self._follow_settings()
        mark_interrupted(self.catalog, except_ids=set(self.running), supervisor=True)
        self._reap()
        self._enforce_cancels()
        self._start_queued()
        return bool(self.running) or bool(self._queued())

    def _start_queued(self) -> None:
        waiting = 0
        for ex in self._queued():
            if ex.cancel_requested:
                self.catalog.set_execution_status(ex.id, ExecutionStatus.CANCELED, message="canceled before it started")
                restore_model_status(self.catalog, ex)      # its model was left pending by the queueing
                continue
            requested = str(ex.input.get("device") or "auto")
            try:
                slots = devices.pick_slots(requested, self.free_slots(), self.slots)
            except RuntimeError as e:
                self.catalog.set_execution_status(ex.id, ExecutionStatus.FAILED, error=str(e))
                continue
            if slots is None:
                waiting += 1
                self._say_waiting(ex, requested, ahead=len(self.running) + waiting - 1)
                continue
            self._spawn(ex.id, slots)

    def _say_waiting(self, ex: ExecutionRecord, requested: str, *, ahead: int) -> None:
        """A queued job's message says what it waits for and how many jobs are before it."""
        has_gpu = any(s.is_gpu for s in self.slots)
        if has_gpu and requested == "all":
            what = "every GPU to be free"
        elif has_gpu and requested != "cpu":
            what = "a free GPU"
        else:
            what = "a free CPU slot"
        message = f"queued: waiting for {what} ({ahead} ahead)"
        if ex.message != message:
            self.catalog.update_execution(ex.id, message=message)

    def _spawn(self, execution_id: str, slots: list[devices.Slot]) -> None:
        ex = self.catalog.get_execution(execution_id)
        try:
            log_path = execution_log(self.home, ex)
        except ValidationError as e:
            self.catalog.set_execution_status(execution_id, ExecutionStatus.FAILED, error=str(e))
            restore_model_status(self.catalog, ex)
            return
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")
        gpu = [str(s.cuda_index) for s in slots if s.is_gpu]
        env = child_env({"CUDA_VISIBLE_DEVICES": ",".join(gpu)} if gpu else {"CUDA_VISIBLE_DEVICES": ""})
        if not gpu and "DESKTOP_APP_GPUS" not in os.environ:
            env.pop("CUDA_VISIBLE_DEVICES")  # CPU job on a machine without GPUs: leave the env alone
        proc = subprocess.Popen([sys.executable, "-m", WORKER_ENTRY, str(self.home), execution_id],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, preexec_fn=_lower_priority)
        device = ",".join(s.name for s in slots)
        self.catalog.set_execution_status(execution_id, ExecutionStatus.IN_PROGRESS, pid=proc.pid,
                                          device=device, message=f"started on {device}")
        self.running[execution_id] = Running(execution_id, proc, slots, log_file=out)
        log.info("execution %s started on %s (pid %d)", execution_id, device, proc.pid)

    def _reap(self) -> None:
        for eid, r in list(self.running.items()):
            code = r.proc.poll()
            if code is None:
                continue
            r.log_file.close()
            del self.running[eid]
            ex = self.catalog.get_execution(eid)
            if ex.status in ExecutionStatus.FINAL or ex.status == ExecutionStatus.CREATED:
                continue  # finished on its own, or already queued again (resumed) while it exited
            if ex.cancel_requested:   # it did not end on its own in the grace time: killed, its model not restored
                self.catalog.set_execution_status(eid, ExecutionStatus.CANCELED, message="canceled")
                restore_model_status(self.catalog, ex)
                continue
            if code < 0 and -code in _OUTSIDE_KILLS:
                name = signal.Signals(-code).name
                self.catalog.set_execution_status(
                    eid, ExecutionStatus.INTERRUPTED, message=INTERRUPTED_MESSAGE,
                    error=f"the worker process was killed by signal {-code} ({name}) before finishing; resume the "
                          f"job to continue from its last checkpoint")
                restore_model_status(self.catalog, ex, failed_too=True)
                continue
            why = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            self.catalog.set_execution_status(eid, ExecutionStatus.FAILED,
                                              error=f"the worker process {why} before finishing; see the log")
            if ex.model_id and ex.kind == "train":
                with contextlib.suppress(Exception):
                    self.catalog.set_model_status(ex.model_id, ModelStatus.FAILED)

    def _enforce_cancels(self) -> None:
        now = time.monotonic()
        for eid, r in self.running.items():
            ex = self.catalog.get_execution(eid)
            if not ex.cancel_requested:
                continue
            if r.cancel_seen_at is None:
                r.cancel_seen_at = now
            elif r.terminated_at is None and now - r.cancel_seen_at > CANCEL_GRACE_S:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(r.proc.pid, signal.SIGTERM)
                r.terminated_at = now
            elif r.terminated_at is not None and now - r.terminated_at > 3.0:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(r.proc.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Scheduler(Path(argv[0])).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
