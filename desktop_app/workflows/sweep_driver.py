"""A sweep's driver: ask/tell as trials end, at most max_parallel at once, Optuna's samplers and median pruning.

Run as `python -m desktop_app.workflows.sweep_driver HOME SWEEP_ID` (workflows.sweeps.ensure_driver starts it,
detached, one per sweep by a file lock). `Driver` is the loop over a `Trials` backend: `CatalogTrials` queues
real trials (clones trained as ordinary jobs) and reads their outcome from the catalog; a test gives a fake one.

A driver that dies (the computer stopped) is started again by the next reader of the sweep; it rebuilds the study
from the trials the catalog holds (ended ones told to Optuna as they ended, running ones watched), so nothing is
asked twice and no trial is lost.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Protocol, Sequence

from desktop_app.catalog import Catalog, ExecutionStatus
from desktop_app.catalog.sweeps import FINAL, SweepRecord, SweepStatus, queries

from . import sweeps

log = logging.getLogger(__name__)

POLL_S = 0.5
# Median pruning starts once this many trials ended, and never at a trial's first reported epoch.
PRUNER_STARTUP_TRIALS = 2
PRUNER_WARMUP_STEPS = 1
ENDED = ("succeeded", "failed", "canceled", "interrupted")


class TrialView(NamedTuple):
    """A trial as its backend sees it now."""
    status: str                        # queued / running / succeeded / failed / canceled / interrupted
    value: float | None                # its objective's best value (None: nothing logged)
    intermediate: Sequence[float]      # its objective per epoch so far, in order


class Trials(Protocol):
    def start(self, k: int, params: dict) -> str:
        """Queue trial k with these parameters; its id."""

    def view(self, trial_id: str) -> TrialView:
        """The trial now."""

    def stop(self, trial_id: str, *, pruned: bool) -> None:
        """Cancel the trial's job (pruned: the driver pruned it)."""


class Known(NamedTuple):
    """A trial made before this driver started (a restart)."""
    trial_id: str
    index: int
    params: dict


class Driver:
    """Queues trials up to the budget, at most `max_parallel` (None: all) queued or running at once; with Optuna
    (a sampler, or pruning), asks each trial's parameters of a study, reports its objective per epoch, prunes,
    and tells the outcome when its job ends. Without Optuna, the trials come from `planned` in order."""

    def __init__(self, *, space: Mapping[str, dict], budget: int, direction: str, backend: Trials,
                 planned: Sequence[dict] | None = None, sampler: str | None = None, prune: bool = False,
                 max_parallel: int | None = None, seed: int | None = None, known: Sequence[Known] = ()):
        self.space, self.budget, self.backend = dict(space), int(budget), backend
        self.planned = list(planned) if planned is not None else None
        self.max_parallel = max_parallel or self.budget
        self.prune = prune
        self.active: dict[str, Any] = {}       # trial id -> its optuna trial (None without optuna / a known one)
        self.reported: dict[str, int] = {}     # trial id -> epochs reported to optuna
        self.pruned: set[str] = set()
        self.asked = 0
        self.study = None
        if sampler or prune:
            # a restarted driver's sampler is seeded on from the trials made, or it would draw their params again
            seed = seed if seed is None or not known else seed + len(known)
            self.study = _study(self.space, direction, sampler, prune, seed)
            self.distributions = _distributions(self.space)
        for k in known:
            self.asked = max(self.asked, k.index)
            view = backend.view(k.trial_id)
            if view.status in ENDED:
                self._add_ended(k.params, view)
            else:
                self.active[k.trial_id] = ("known", k.params)
        if self.study is not None:
            for params in (self.planned or [])[self.asked:]:
                self.study.enqueue_trial(params)         # grid / random trials asked of optuna to prune them

    @property
    def done(self) -> bool:
        return self.asked >= self.budget and not self.active

    def step(self) -> bool:
        """Tell the ended trials, prune, queue new ones; True once every trial ended."""
        for tid, trial in list(self.active.items()):
            view = self.backend.view(tid)
            if view.status in ENDED:
                self._tell(tid, trial, view)
                del self.active[tid]
            elif self.prune and view.status == "running" and tid not in self.pruned and _is_optuna(trial):
                self._report(tid, trial, view)
        while self.asked < self.budget and len(self.active) < self.max_parallel:
            self._ask()
        return self.done

    def _ask(self) -> None:
        k = self.asked + 1
        if self.study is not None:
            trial = self.study.ask(self.distributions)
            params = dict(trial.params)
        else:
            trial, params = None, dict(self.planned[k - 1])
        tid = self.backend.start(k, params)
        self.asked = k
        self.active[tid] = trial

    def _report(self, tid: str, trial: Any, view: TrialView) -> None:
        values = list(view.intermediate)
        for step in range(self.reported.get(tid, 0), len(values)):
            trial.report(float(values[step]), step)
        self.reported[tid] = len(values)
        if values and trial.should_prune():
            log.info("trial %s pruned at epoch %d (objective %.4g)", tid, len(values), values[-1])
            self.pruned.add(tid)
            self.backend.stop(tid, pruned=True)

    def _tell(self, tid: str, trial: Any, view: TrialView) -> None:
        if self.study is None:
            return
        if not _is_optuna(trial):                       # made before a restart: added as it ended
            self._add_ended(trial[1], view)
            return
        from optuna.trial import TrialState
        if tid in self.pruned:
            self.study.tell(trial, state=TrialState.PRUNED)
        elif view.status == "succeeded" and view.value is not None:
            self.study.tell(trial, view.value)
        else:
            self.study.tell(trial, state=TrialState.FAIL)

    def _add_ended(self, params: dict, view: TrialView) -> None:
        if self.study is None:
            return
        import optuna
        from optuna.trial import TrialState
        distributions = {k: d for k, d in self.distributions.items() if k in params}
        ok = view.status == "succeeded" and view.value is not None
        self.study.add_trial(optuna.trial.create_trial(
            params={k: params[k] for k in distributions}, distributions=distributions,
            value=view.value if ok else None, state=TrialState.COMPLETE if ok else TrialState.FAIL,
            intermediate_values={i: float(v) for i, v in enumerate(view.intermediate)}))

    def stop_all(self) -> None:
        for tid in list(self.active):
            self.backend.stop(tid, pruned=False)


def _is_optuna(trial: Any) -> bool:
    return trial is not None and not isinstance(trial, tuple)


def _distributions(space: Mapping[str, dict]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    out: dict[str, Any] = {}
    for key, spec in space.items():
        kind = spec["type"]
        if kind == "choice":
            out[key] = CategoricalDistribution(list(spec["values"]))
        elif kind == "int":
            out[key] = IntDistribution(int(spec["low"]), int(spec["high"]))
        else:
            out[key] = FloatDistribution(float(spec["low"]), float(spec["high"]), log=kind == "loguniform")
    return out


def _study(space: Mapping[str, dict], direction: str, sampler: str | None, prune: bool, seed: int | None):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler == "tpe":
        s = optuna.samplers.TPESampler(seed=seed)
    elif sampler == "cmaes":
        s = optuna.samplers.CmaEsSampler(seed=seed)
    else:
        s = optuna.samplers.RandomSampler(seed=seed)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_STEPS)
              if prune else optuna.pruners.NopPruner())
    return optuna.create_study(direction=direction, sampler=s, pruner=pruner)


class CatalogTrials:
    """Real trials: clones of the sweep's base model trained as ordinary jobs (workflows.sweeps.queue_trial)."""

    def __init__(self, catalog: Catalog, sweep: SweepRecord):
        self.catalog, self.sweep = catalog, sweep
        self.q = queries(catalog)

    def start(self, k: int, params: dict) -> str:
        model, _ = sweeps.queue_trial(self.catalog, self.sweep, k, params)
        return model.id

    def view(self, trial_id: str) -> TrialView:
        job = self.q.latest_train_jobs([trial_id]).get(trial_id)
        status = sweeps.TRIAL_STATUS.get(job.status, "failed") if job else "queued"
        summary = self.q.objective_summaries([trial_id], self.sweep.objective or "").get(trial_id)
        points = self.q.objective_points(trial_id, self.sweep.objective or "")
        return TrialView(status, sweeps.best_value(summary, self.sweep.direction), [p[1] for p in points])

    def stop(self, trial_id: str, *, pruned: bool) -> None:
        if pruned:
            meta = self.q.get(self.sweep.id).metadata
            self.q.update_metadata(self.sweep.id, {"pruned": {**(meta.get("pruned") or {}), trial_id: True}})
        job = self.q.latest_train_jobs([trial_id]).get(trial_id)
        if job is not None and job.status in ExecutionStatus.ACTIVE:
            self.catalog.request_cancel(job.id)


def drive(catalog: Catalog, sweep_id: str, *, poll_s: float = POLL_S,
          sleep: Callable[[float], None] = time.sleep) -> str:
    """Run the sweep's driver to its end (or its cancel); returns the sweep's final status. `sleep` waits between
    steps (a test steps it by hand)."""
    q = queries(catalog)
    sweep = q.get(sweep_id)
    meta = sweep.metadata
    known = []
    for m in q.trial_models(sweep.id):
        info = m.metadata.get("sweep") or {}
        known.append(Known(m.id, int(info.get("trial") or len(known) + 1), dict(info.get("params") or {})))
    driver = None
    try:
        driver = Driver(space=sweep.space, budget=sweep.budget or 0, direction=sweep.direction,
                        backend=CatalogTrials(catalog, sweep), planned=meta.get("planned"),
                        sampler=meta.get("sampler"), prune=bool(meta.get("prune")),
                        max_parallel=meta.get("max_parallel"), seed=meta.get("seed"), known=known)
        while True:
            if q.get(sweep.id).status == SweepStatus.CANCELED:
                sweeps.cancel_trial_jobs(catalog, sweep.id)     # what it queued while the cancel came
                return SweepStatus.CANCELED.value
            if driver.step():
                return sweeps.sweep_state(catalog, sweep.id).status
            sleep(poll_s)
    except Exception as e:  # noqa: BLE001 - whatever stops the driver (Optuna gone, a trial refused) ends the sweep
        log.exception("sweep %s: the driver failed", sweep.id)
        q.update_metadata(sweep.id, {"error": f"{type(e).__name__}: {e}"})
        if driver is not None:
            driver.stop_all()
        q.set_status(sweep.id, SweepStatus.FAILED)
        return SweepStatus.FAILED.value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = Catalog(Path(argv[0]))
    sweep_id = argv[1]
    lock = sweeps.driver_lock(catalog, sweep_id)
    if not lock.acquire():
        return 0                          # another driver runs this sweep
    try:
        if queries(catalog).get(sweep_id).status in FINAL:
            return 0
        log.info("sweep %s: driver %s started", sweep_id, Path(sys.argv[0]).name)
        status = drive(catalog, sweep_id)
        log.info("sweep %s: %s", sweep_id, status)
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    raise SystemExit(main())
