"""Start, resume and cancel runs: in this process (wait) or in a detached runner process.

`python -m desktop_app.pipelines.launch HOME RUN_ID` is the runner: it adopts a claimed run and executes it
(stdout is its log, under logs/pipelines/). SIGTERM (the app closing) leaves the run 'interrupted'.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import PipelineRunRecord
from desktop_app.errors import ValidationError

from . import engine, lock
from .lock import RunStatus, StepStatus

log = logging.getLogger("desktop_app.pipelines")

# Popen objects of runners this process started, per run: reaped when polled (no zombies left behind). A run
# resumed while its earlier runner is still exiting has two; the old one is kept until reaped (dropping a running
# Popen makes Python warn "subprocess N is still running").
_children: dict[str, list[subprocess.Popen]] = {}


def start_run(catalog: Catalog, pipeline_id: str, *, trigger: str = "manual", wait: bool = True,
              detach: bool | None = None, timeout: float | None = None) -> PipelineRunRecord:
    """Claim the pipeline and run it: in this process (wait, the default), or in a detached runner process
    (wait=False, or detach=True), which goes on if this process ends.

    PipelineBusyError if the pipeline is running already (two triggers at once start one run)."""
    run = lock.claim(catalog, pipeline_id, trigger=trigger)
    return _go(catalog, run, wait=wait, detach=detach, timeout=timeout)


def resume_run(catalog: Catalog, run_id: str, *, wait: bool = True, detach: bool | None = None,
               timeout: float | None = None) -> PipelineRunRecord:
    """Continue a failed, interrupted or canceled run from its first unfinished step."""
    lock.recover(catalog)
    run = catalog.get_pipeline_run(run_id)
    run = lock.claim(catalog, run.pipeline_id, trigger=run.trigger, run_id=run_id)
    return _go(catalog, run, wait=wait, detach=detach, timeout=timeout)


def _go(catalog: Catalog, run: PipelineRunRecord, *, wait: bool, detach: bool | None,
        timeout: float | None) -> PipelineRunRecord:
    detach = (not wait or timeout is not None) if detach is None else detach
    if not detach:
        return engine.execute(catalog, run.id)
    spawn(catalog, run.id)
    if not wait:
        return catalog.get_pipeline_run(run.id)
    return wait_for(catalog, run.id, timeout=timeout)


def spawn(catalog: Catalog, run_id: str) -> int:
    """Hand a claimed run to a detached runner process; returns its pid."""
    reap()
    logs = catalog.logs_dir / "pipelines"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # importable from a source checkout too
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(logs / f"{run_id}.log", "ab") as out:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "desktop_app.pipelines.launch", str(catalog.home), run_id],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        except OSError as e:
            run = catalog.get_pipeline_run(run_id)
            with catalog.transaction():
                lock.end_run(catalog, run, RunStatus.FAILED, run.steps,
                             {**run.details, "error": f"could not start the pipeline runner: {e}"})
            raise
    _children.setdefault(run_id, []).append(proc)
    lock.set_owner(catalog, run_id, lock.owner_for(proc.pid))
    return proc.pid


@atexit.register
def _leave_running() -> None:
    """At exit: reap the runners that ended; one still running outlives this process on purpose (a detached run
    finishes on its own and its new parent reaps it), so letting go of it says nothing."""
    reap()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _children.clear()   # the last references: CPython collects each Popen here, inside the filter


def reap() -> None:
    """Collect runners of ours that ended (a dead child stays a zombie until its parent looks)."""
    for run_id, procs in list(_children.items()):
        procs[:] = [p for p in procs if p.poll() is None]
        if not procs:
            _children.pop(run_id, None)


def wait_for(catalog: Catalog, run_id: str, *, timeout: float | None = None, poll: float = 0.25) -> PipelineRunRecord:
    """Block until the run ends (a dead runner makes it 'interrupted')."""
    start = time.monotonic()
    while True:
        reap()
        lock.recover(catalog, catalog.get_pipeline_run(run_id).pipeline_id)
        run = catalog.get_pipeline_run(run_id)
        if run.status in RunStatus.FINAL:
            return run
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"pipeline run {run_id} still {run.status} after {timeout} s")
        time.sleep(poll)


def cancel_run(catalog: Catalog, run_id: str) -> PipelineRunRecord:
    """Ask a running run to stop: its current jobs are canceled and the run ends 'canceled' (resumable)."""
    lock.recover(catalog)
    run = catalog.get_pipeline_run(run_id)
    if run.status != RunStatus.RUNNING:
        raise ValidationError(f"run {run_id} is {run.status}, not running")
    for s in run.steps:
        if s.get("status") == StepStatus.RUNNING and s.get("execution_id"):
            catalog.request_cancel(s["execution_id"])
    return catalog.get_pipeline_run(run_id)


def _on_term(signum: int, frame: object) -> None:
    raise engine.RunInterrupted()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    home, run_id = Path(argv[0]), argv[1]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _on_term)
    catalog = Catalog(home)
    try:
        if not lock.set_owner(catalog, run_id, lock.owner_for()):
            log.warning("run %s is not running any more; nothing to do", run_id)
            return 1
        run = engine.execute(catalog, run_id)
        log.info("run %s ended %s", run_id, run.status)
        return 0 if run.status in RunStatus.DONE else 1
    finally:
        catalog.close()


if __name__ == "__main__":
    raise SystemExit(main())
