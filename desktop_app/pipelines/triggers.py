"""Automatic triggers: N reviewed ground-truth changes since the last run, or a schedule; checked while the
app (or `desktop-app pipelines serve`) runs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import PipelineRecord

from . import champion, lock
from .definition import PipelineDefinition
from .lock import IDLE, PipelineBusyError

log = logging.getLogger("desktop_app.pipelines")

def last_snapshot_at(catalog: Catalog, pipeline: PipelineRecord) -> str:
    """When the data of the last run was frozen (the pipeline's creation if no run got that far)."""
    return catalog.pipeline_runs.last_snapshot_at(pipeline.id) or pipeline.created_at


def pending_changes(catalog: Catalog, pipeline: PipelineRecord) -> int:
    """Ground-truth annotations created, fixed or deleted on reviewed items of the dataset since the last
    run's snapshot; one annotation edited twice counts once. An item labelled in the label-next queue since then
    counts once, however many of its annotations changed (workflows.labeling.queue_label_count)."""
    from desktop_app.workflows.labeling import queue_label_count
    defn = PipelineDefinition.from_dict(pipeline.definition)
    since = last_snapshot_at(catalog, pipeline)
    return queue_label_count(catalog, defn.dataset_id, since)


def _seconds_since(iso: str, now: float) -> float:
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    return now - t


@dataclass
class Due:
    fire: bool
    reason: str


def due(catalog: Catalog, pipeline: PipelineRecord, *, now: float | None = None) -> Due:
    """Whether the pipeline's automatic trigger wants a run now, and why (or why not)."""
    defn = PipelineDefinition.from_dict(pipeline.definition)
    t = defn.trigger
    if t.type == "manual":
        return Due(False, "manual trigger")
    if not defn.enabled:
        return Due(False, "disabled")
    if pipeline.status != IDLE:
        return Due(False, "a run is in progress")
    if t.type == "annotations":
        n = pending_changes(catalog, pipeline)
        return Due(n >= (t.count or 1), f"{n} of {t.count} reviewed annotation changes since the last run")
    now = time.time() if now is None else now
    last = catalog.pipeline_runs.last_created_at(pipeline.id)
    waited = _seconds_since(last or pipeline.created_at, now)
    return Due(waited >= (t.every_s or 0), f"{waited:.0f} s of {t.every_s:.0f} s since the last run")


def tick(catalog: Catalog, *, launch: Callable[[Catalog, str, str], object] | None = None,
         now: float | None = None) -> list[str]:
    """One round: recover dead runs, finish redeploys a crash left, start every pipeline that is due.

    launch(catalog, pipeline_id, trigger) starts a run (default: a detached runner); returns the ids of
    the pipelines started. A pipeline another trigger just started is skipped (compare-and-set)."""
    lock.recover(catalog)
    for run_id in champion.pending_redeploy_runs(catalog):
        champion.finish_redeploys(catalog, run_id)
    started = []
    for p in catalog.list_pipelines():
        try:
            d = due(catalog, p, now=now)
        except Exception as e:  # noqa: BLE001 - one broken definition must not stop the others
            log.warning("pipeline %s: cannot check its trigger: %s", p.name, e)
            continue
        if not d.fire:
            continue
        trigger = PipelineDefinition.from_dict(p.definition).trigger.type
        log.info("pipeline %s is due (%s)", p.name, d.reason)
        try:
            if launch is None:
                from .launch import start_run
                start_run(catalog, p.id, trigger=trigger, wait=False)
            else:
                launch(catalog, p.id, trigger)
            started.append(p.id)
        except PipelineBusyError:
            continue
        except Exception as e:  # noqa: BLE001
            log.warning("pipeline %s: could not start a run: %s", p.name, e)
    return started


class TriggerService:
    """Checks triggers every poll_s seconds on a background thread (the app runs one while open)."""

    def __init__(self, catalog: Catalog, *, poll_s: float = 10.0):
        self.catalog = catalog
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started: list[str] = []

    def start(self) -> TriggerService:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="pipeline-triggers", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.started += tick(self.catalog)
            except Exception:  # noqa: BLE001 - keep checking; a locked catalog is usually momentary
                log.exception("checking pipeline triggers failed")
            self._stop.wait(self.poll_s)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
