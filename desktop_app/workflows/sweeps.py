"""Hyper-parameter sweeps: a search space made into trials (clones of a base model trained as ordinary jobs), a
sweep's state (progress, best trial), cancel and wait.

A trial is a normal model: `clone_model` of the base (lineage to it), named "<sweep>-<k>", the trial's parameters
merged into its configuration, `models.sweep_id` set, trained by an ordinary train job on the job queue (so trials
run across the local devices as the scheduler places them, and cancel as any job does).

Grid and random sweeps queue every trial at once. A sweep with an Optuna sampler (tpe, cmaes, or random asked of
Optuna), with pruning, or with `max_parallel` needs ask/tell as trials end: a small driver process does that
(`python -m desktop_app.workflows.sweep_driver HOME SWEEP_ID`, workflows/sweep_driver.py). It is started like the
job scheduler (detached, one per sweep by a file lock) when the sweep is made and again by any reader of a sweep
that is not over (`sweep_state`), so it survives the command that made it and needs no device slot of its own.

A trial's objective value is the best the trial reached: the max (maximize) or min (minimize) of the objective
key in metric_summary, which is what the training keeps (ml.trainer saves the best epoch's weights). The best
trial is the trained trial with the best value.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import json
import math
import random
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from desktop_app.catalog import Catalog, ExecutionRecord, ExecutionStatus, ModelRecord
from desktop_app.catalog.lock import FileLock
from desktop_app.catalog.sweeps import FINAL, METHODS, SweepRecord, SweepStatus, queries
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError
from desktop_app.jobs import runner, scheduler

from .models import clone_model

SPEC_KINDS = ("choice", "uniform", "loguniform", "int")
SAMPLERS = ("tpe", "cmaes", "random")
INSTALL_HINT = "pip install -e '.[sweep]'"
DRIVER_ENTRY = "desktop_app.workflows.sweep_driver"
# A package's main validation metric, by what its models predict; anything else minimizes validation/loss.
DEFAULT_OBJECTIVES = {"class": ("validation/accuracy", "maximize"), "box": ("validation/map50", "maximize"),
                      "binary": ("validation/mask_map50", "maximize"), "semantic": ("validation/miou", "maximize")}
FALLBACK_OBJECTIVE = ("validation/loss", "minimize")


# -- the search space -------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """'16' -> 16, '1e-3' -> 0.001, 'true' -> True, anything else stays the text."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _key_and_text(assignment: str, option: str) -> tuple[str, str]:
    key, sep, text = str(assignment).partition("=")
    if not sep or not key.strip() or not text.strip():
        raise ValidationError(f"{option} {assignment!r}: expected NAME=VALUES")
    return key.strip(), text.strip()


def parse_grid(assignments: Sequence[str]) -> dict[str, dict]:
    """`--grid learning_rate=0.001,0.01` (repeated) -> {'learning_rate': {'type': 'choice', 'values': [...]}}."""
    space: dict[str, dict] = {}
    for a in assignments:
        key, text = _key_and_text(a, "--grid")
        space[key] = check_spec(key, {"type": "choice", "values": [parse_value(v) for v in text.split(",")]})
    return space


def parse_params(assignments: Sequence[str]) -> dict[str, dict]:
    """`--param NAME=SPEC` (repeated), SPEC one of: loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH
    (inclusive), choice:A,B,... or plain A,B,... (a choice)."""
    space: dict[str, dict] = {}
    for a in assignments:
        key, text = _key_and_text(a, "--param")
        space[key] = spec_from_text(key, text)
    return space


def spec_from_text(key: str, text: str) -> dict:
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in SPEC_KINDS:
        return check_spec(key, {"type": "choice", "values": [parse_value(v) for v in text.split(",")]})
    if kind == "choice":
        return check_spec(key, {"type": "choice", "values": [parse_value(v) for v in rest.split(",")]})
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise ValidationError(f"{key}: {kind} takes LOW:HIGH (e.g. {key}={kind}:1:10), got {text!r}")
    return check_spec(key, {"type": kind, "low": parse_value(bounds[0]), "high": parse_value(bounds[1])})


def check_spec(key: str, spec: Mapping[str, Any]) -> dict:
    """A parameter's spec, checked: {'type': 'choice', 'values': [...]} or {'type': uniform | loguniform | int,
    'low': L, 'high': H}; ValidationError naming the parameter otherwise."""
    kind = spec.get("type")
    if kind == "choice":
        values = list(spec.get("values") or [])
        if not values or any(v == "" for v in values):
            raise ValidationError(f"{key}: a choice needs values (A,B,...), none may be empty")
        return {"type": "choice", "values": values}
    if kind not in SPEC_KINDS:
        raise ValidationError(f"{key}: unknown kind {kind!r}; one of {', '.join(SPEC_KINDS)}")
    low, high = spec.get("low"), spec.get("high")
    number = int if kind == "int" else (int, float)
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, number) or not math.isfinite(v):
            what = "an integer" if kind == "int" else "a number"
            raise ValidationError(f"{key}: {kind} needs {name} as {what}, got {v!r}")
    if not low < high and not (kind == "int" and low == high):
        raise ValidationError(f"{key}: {kind} needs LOW < HIGH, got {low}:{high}")
    if kind == "loguniform" and low <= 0:
        raise ValidationError(f"{key}: loguniform needs LOW > 0, got {low}")
    return {"type": kind, "low": low, "high": high}


def normalize_space(space: Mapping[str, Any]) -> dict[str, dict]:
    """The SDK's forms to specs: a spec dict, a spec text ('loguniform:1e-4:1e-1', 'choice:16,32'), a list or
    tuple (a choice), or one value (a choice of one)."""
    if not isinstance(space, Mapping) or not space:
        raise ValidationError("a sweep needs at least one parameter (grid={'learning_rate': [0.001, 0.01]} or "
                              "params={'learning_rate': 'loguniform:1e-4:1e-1'})")
    out: dict[str, dict] = {}
    for key, v in space.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"{key!r}: a parameter's name must be a non-empty string")
        if isinstance(v, Mapping):
            out[key] = check_spec(key, v)
        elif isinstance(v, str):
            out[key] = spec_from_text(key, v)
        elif isinstance(v, (list, tuple)):
            out[key] = check_spec(key, {"type": "choice", "values": list(v)})
        else:
            out[key] = check_spec(key, {"type": "choice", "values": [v]})
    return out


def expand_grid(space: Mapping[str, dict]) -> list[dict]:
    """Every combination (the cartesian product, the first parameter varying slowest); int ranges expand."""
    axes = []
    for key, spec in space.items():
        if spec["type"] == "choice":
            axes.append(list(spec["values"]))
        elif spec["type"] == "int":
            axes.append(list(range(spec["low"], spec["high"] + 1)))
        else:
            raise ValidationError(f"{key}: a grid needs values ({key}=A,B or int:LOW:HIGH), not a {spec['type']} "
                                  f"range; search a range with random or an Optuna sampler")
    return [dict(zip(space, combo)) for combo in itertools.product(*axes)]


def sample_random(space: Mapping[str, dict], n: int, seed: int | None = None) -> list[dict]:
    """`n` independent draws from the space (the same `seed` draws the same trials)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        params = {}
        for key, spec in space.items():
            kind = spec["type"]
            if kind == "choice":
                params[key] = rng.choice(spec["values"])
            elif kind == "int":
                params[key] = rng.randint(spec["low"], spec["high"])
            elif kind == "uniform":
                params[key] = rng.uniform(spec["low"], spec["high"])
            else:
                params[key] = math.exp(rng.uniform(math.log(spec["low"]), math.log(spec["high"])))
        out.append(params)
    return out


def representative_values(spec: Mapping[str, Any]) -> list:
    """Values that stand for a spec when checking a configuration: every choice, or a range's ends."""
    return list(spec["values"]) if spec["type"] == "choice" else [spec["low"], spec["high"]]


def default_objective(output_type: str) -> tuple[str, str]:
    """A package's main validation metric, by its models' output type: validation/accuracy (maximize) for
    classifiers, validation/map50 (maximize, the trainer's monitor) for detectors, else validation/loss (minimize)."""
    return DEFAULT_OBJECTIVES.get(output_type, FALLBACK_OBJECTIVE)


def default_direction(objective: str) -> str:
    """An objective given without a direction: minimize a loss or an error, maximize anything else."""
    figure = objective.rpartition("/")[2].lower()
    return "minimize" if any(w in figure for w in ("loss", "error", "err")) else "maximize"


def optuna_available() -> bool:
    return importlib.util.find_spec("optuna") is not None


def require_optuna(what: str) -> None:
    if not optuna_available():
        raise ValidationError(f"{what} needs Optuna, an optional extra: {INSTALL_HINT}")


# -- making a sweep ---------------------------------------------------------------------------------
def create_sweep(catalog: Catalog, base_model_id: str, space: Mapping[str, Any], *, method: str = "grid",
                 budget: int | None = None, objective: str | None = None, direction: str | None = None,
                 name: str | None = None, max_parallel: int | None = None, seed: int | None = None,
                 sampler: str | None = None, prune: bool = False, device: str | None = None) -> SweepRecord:
    """Make a sweep over `space` (normalize_space's forms) from the base model, and queue its trials.

    method: 'grid' (every combination; `budget` caps it), 'random' (`budget` draws, seeded by `seed`), 'tpe' or
    'cmaes' (Optuna's samplers, `budget` trials). `sampler`: ask Optuna with this sampler (tpe | cmaes | random).
    `prune`: Optuna's median pruner stops trials whose objective so far is worse than the median of the ended
    trials at the same epoch (their jobs are canceled). `max_parallel`: at most this many trials queued or
    running at once. With a sampler, pruning or max_parallel a driver process queues the trials as others end;
    otherwise every trial is queued now. Everything is checked before anything is made."""
    q = queries(catalog)
    base = catalog.get_model(base_model_id)
    space = normalize_space(space)
    method, sampler = _method_and_sampler(method, sampler)
    if sampler or prune:
        require_optuna(f"the {sampler} sampler" if sampler else "pruning")
    if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
        raise ValidationError("the cmaes sampler needs the `cmaes` package: pip install cmaes")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise ValidationError(f"budget must be a positive number of trials, got {budget!r}")
    if max_parallel is not None and (isinstance(max_parallel, bool) or not isinstance(max_parallel, int)
                                     or max_parallel < 1):
        raise ValidationError(f"max_parallel must be a positive number of trials, got {max_parallel!r}")
    planned: list[dict] | None = None
    if method == "grid":
        planned = expand_grid(space)
        planned = planned[:budget] if budget else planned
        budget = len(planned)
    elif budget is None:
        raise ValidationError(f"a {method} sweep needs a budget (how many trials: --random N / budget=N)")
    elif method == "random" and not sampler:
        planned = sample_random(space, budget, seed)
    if objective is None:
        objective, guessed = default_objective(base.output_type)
        direction = direction or guessed
    if not isinstance(objective, str) or "/" not in objective:
        raise ValidationError(f"objective must be a metric key '<legend>/<figure>' such as validation/accuracy, "
                              f"got {objective!r}")
    direction = direction or default_direction(objective)
    runner.check_trainable(catalog, base)      # what submit_train refuses for every trial alike, said once
    _check_configurations(catalog, base, space, planned)
    name = name or _free_name(catalog, base)
    if name in q.names(base.project_id):
        raise AlreadyExistsError(f"a sweep named {name!r} already exists in this project")
    _check_trial_names(catalog, base.project_id, name, budget)
    driven = bool(sampler or prune or max_parallel)
    meta = {"driver": driven, "sampler": sampler, "prune": bool(prune), "max_parallel": max_parallel,
            "seed": seed, "device": device, "planned": planned, "base_model_name": base.name}
    sweep = q.create(project_id=base.project_id, name=name, base_model_id=base.id, method=method, space=space,
                     objective=objective, direction=direction, budget=budget, metadata=meta)
    if driven:
        ensure_driver(catalog, sweep.id)
        return q.get(sweep.id)
    try:
        for k, params in enumerate(planned or [], start=1):
            queue_trial(catalog, sweep, k, params)
    except BaseException:
        cancel_sweep(catalog, sweep.id)    # the trials queued so far go; the error says what was wrong
        raise
    return q.get(sweep.id)


def _method_and_sampler(method: str, sampler: str | None) -> tuple[str, str | None]:
    if sampler is not None and sampler not in SAMPLERS:
        raise ValidationError(f"unknown sampler {sampler!r}; one of {', '.join(SAMPLERS)}")
    if method not in METHODS:
        raise ValidationError(f"unknown sweep method {method!r}; one of {', '.join(METHODS)}")
    if method in ("tpe", "cmaes"):
        if sampler not in (None, method):
            raise ValidationError(f"method {method!r} is Optuna's {method} sampler; sampler {sampler!r} contradicts it")
        return method, method
    if sampler in ("tpe", "cmaes"):
        if method == "grid":
            raise ValidationError(f"a grid tries every combination; the {sampler} sampler searches a budget of "
                                  f"trials instead: give --random N (budget=N) with it")
        return sampler, sampler
    if sampler == "random" and method == "grid":
        raise ValidationError("a grid tries every combination; the random sampler draws a budget of trials: give "
                              "--random N (budget=N) with it")
    return method, sampler


def _check_configurations(catalog: Catalog, base: ModelRecord, space: Mapping[str, dict],
                          planned: list[dict] | None) -> None:
    """Every trial's configuration (or, when they are drawn later, every value that stands for the space) passes
    the package's hyper-parameter check: a misspelt name or a value of the wrong type is refused now."""
    from desktop_app.ml.adapter import validate_model_configuration
    if planned is not None:
        configs = [{**base.configuration, **p} for p in planned]
    else:
        configs = [{**base.configuration, key: v} for key, spec in space.items() for v in representative_values(spec)]
    for config in configs:
        validate_model_configuration(catalog, base.package_id, config)


def _free_name(catalog: Catalog, base: ModelRecord) -> str:
    taken = queries(catalog).names(base.project_id)
    models = {m.name for m in catalog.find_models(project_id=base.project_id)}
    for i in itertools.count(1):
        name = f"{base.name}-sweep-{i}"
        if name not in taken and f"{name}-1" not in models:
            return name
    raise AssertionError("unreachable")


def _check_trial_names(catalog: Catalog, project_id: str, name: str, budget: int) -> None:
    models = {m.name for m in catalog.find_models(project_id=project_id)}
    clash = [f"{name}-{k}" for k in range(1, budget + 1) if f"{name}-{k}" in models]
    if clash:
        raise ValidationError(f"sweep {name!r} names its trials {name}-1 ... {name}-{budget}, but model "
                              f"{clash[0]!r} exists already; choose another sweep name")


def queue_trial(catalog: Catalog, sweep: SweepRecord, k: int, params: dict) -> tuple[ModelRecord, ExecutionRecord]:
    """Trial `k`: a clone of the base model with `params` in its configuration, in the sweep, its training
    queued as an ordinary job."""
    meta = {"sweep": {"id": sweep.id, "name": sweep.name, "trial": k, "params": params}}
    with catalog.transaction():
        model = clone_model(catalog, sweep.base_model_id, f"{sweep.name}-{k}", configuration=params, metadata=meta)
        queries(catalog).set_model_sweep(model.id, sweep.id)
    ex = runner.submit_train(catalog, model.id, wait=False, device=sweep.metadata.get("device"),
                             context=f"sweep {sweep.name}, trial {k}")
    return catalog.get_model(model.id), ex


# -- a sweep's state --------------------------------------------------------------------------------
TRIAL_STATUS = {ExecutionStatus.CREATED: "queued", ExecutionStatus.IN_PROGRESS: "running",
                ExecutionStatus.SUCCESS: "succeeded", ExecutionStatus.FAILED: "failed",
                ExecutionStatus.CANCELED: "canceled", ExecutionStatus.INTERRUPTED: "interrupted"}


@dataclass
class Trial:
    index: int                      # k in the model's name "<sweep>-<k>"
    model: ModelRecord
    params: dict
    job: ExecutionRecord | None     # its latest train job
    value: float | None             # the objective's best value so far (max or min as the direction says)
    pruned: bool = False

    @property
    def status(self) -> str:
        """queued / running / succeeded / failed / canceled / interrupted (its job's), or pruned."""
        if self.pruned and (self.job is None or self.job.status != ExecutionStatus.SUCCESS):
            return "pruned"
        return TRIAL_STATUS.get(self.job.status, self.job.status) if self.job else "queued"

    @property
    def ended(self) -> bool:
        return self.job is not None and self.job.status in ExecutionStatus.FINAL

    def to_dict(self) -> dict:
        return {"trial": self.index, "model": self.model.name, "model_id": self.model.id, "params": self.params,
                "status": self.status, "value": self.value, "execution_id": self.job.id if self.job else None}


@dataclass
class SweepState:
    sweep: SweepRecord
    trials: list[Trial] = field(default_factory=list)
    status: str = SweepStatus.QUEUED.value
    finished: int = 0               # trials whose job ended (any way)
    total: int = 0                  # trials in all: the budget
    best: Trial | None = None

    @property
    def progress(self) -> float:
        """Finished trials / total, 0..1."""
        return self.finished / self.total if self.total else 0.0

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def to_dict(self) -> dict:
        s = self.sweep
        return {"id": s.id, "name": s.name, "project_id": s.project_id, "base_model_id": s.base_model_id,
                "method": s.method, "sampler": s.metadata.get("sampler"), "prune": s.metadata.get("prune", False),
                "space": s.space, "objective": s.objective, "direction": s.direction, "budget": s.budget,
                "status": self.status, "finished": self.finished, "total": self.total,
                "progress": round(self.progress, 4), "created_at": s.created_at, "finished_at": s.finished_at,
                "max_parallel": s.metadata.get("max_parallel"), "error": s.metadata.get("error"),
                "best": self.best.to_dict() if self.best else None, "trials": [t.to_dict() for t in self.trials]}


def best_value(summary: Any, direction: str) -> float | None:
    if summary is None:
        return None
    return summary.max if direction == "maximize" else summary.min


def sweep_state(catalog: Catalog, sweep_id: str, *, reconcile: bool = True) -> SweepState:
    """The sweep as it stands: its trials with their jobs and objective values, status, progress and best trial.
    `reconcile`: jobs whose workers died unwatched are marked first (as every reader of jobs does), a changed
    status is written to the sweep's row, and a driven sweep that is not over gets its driver back if it died."""
    q = queries(catalog)
    if reconcile and not catalog.read_only:
        scheduler.mark_interrupted(catalog)
    sweep = q.get(sweep_id)
    models = q.trial_models(sweep.id)
    jobs = q.latest_train_jobs([m.id for m in models])
    values = q.objective_summaries([m.id for m in models], sweep.objective or "")
    pruned = set(sweep.metadata.get("pruned") or {})
    trials = []
    for m in models:
        info = m.metadata.get("sweep") or {}
        trials.append(Trial(index=int(info.get("trial") or len(trials) + 1), model=m,
                            params=dict(info.get("params") or {}), job=jobs.get(m.id),
                            value=best_value(values.get(m.id), sweep.direction), pruned=m.id in pruned))
    total = max(sweep.budget or 0, len(trials))
    finished = sum(t.ended for t in trials)
    if sweep.status == SweepStatus.CANCELED:
        status = SweepStatus.CANCELED
    elif finished >= total and total:
        ok = any(t.job.status == ExecutionStatus.SUCCESS for t in trials if t.job)
        status = SweepStatus.SUCCEEDED if ok else SweepStatus.FAILED
    elif finished or any(t.job and t.job.status == ExecutionStatus.IN_PROGRESS for t in trials):
        status = SweepStatus.RUNNING
    else:
        status = SweepStatus.QUEUED
    if sweep.status in FINAL:          # an ended sweep stays as it ended (a trial resumed later changes nothing)
        status = SweepStatus(sweep.status)
    state = SweepState(sweep, trials, status.value, finished, total, best_trial(trials, sweep.direction))
    if reconcile and not catalog.read_only:
        if status.value != sweep.status and q.set_status(sweep.id, status):
            state.sweep = q.get(sweep.id)
        if sweep.metadata.get("driver") and status not in FINAL:
            ensure_driver(catalog, sweep.id)
    return state


def best_trial(trials: Sequence[Trial], direction: str) -> Trial | None:
    """The trained trial with the best objective value (the first of equals)."""
    scored = [t for t in trials if t.value is not None and t.job and t.job.status == ExecutionStatus.SUCCESS]
    if not scored:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    return max(scored, key=lambda t: (sign * t.value, -t.index))


def find_sweep(catalog: Catalog, *, sweep_id: str | None = None, name: str | None = None,
               project_id: str | None = None) -> SweepRecord:
    """A sweep by id, or by name (in one project when names repeat across projects)."""
    q = queries(catalog)
    if sweep_id:
        return q.get(sweep_id)
    if not name:
        raise ValidationError("give a sweep's name or id")
    found = q.find(name=name, project_id=project_id)
    if not found:
        try:
            return q.get(name)
        except NotFoundError:
            raise NotFoundError(f"no sweep named {name!r}" + (" in this project" if project_id else "")) from None
    if len(found) > 1:
        raise ValidationError(f"{len(found)} sweeps are named {name!r}; give the project or the sweep's id")
    return found[0]


def cancel_sweep(catalog: Catalog, sweep_id: str) -> SweepState:
    """Cancel the sweep: every queued or running trial job is canceled (as `jobs cancel` does) and its driver
    stops queueing and exits. Trials that ended keep their models. Canceling an ended sweep changes nothing."""
    q = queries(catalog)
    sweep = q.get(sweep_id)
    if sweep.status not in FINAL:
        q.set_status(sweep_id, SweepStatus.CANCELED)
    cancel_trial_jobs(catalog, sweep_id)
    return sweep_state(catalog, sweep_id)


def cancel_trial_jobs(catalog: Catalog, sweep_id: str) -> int:
    """Ask every queued or running trial job of the sweep to cancel; the scheduler carries it out (a queued job
    ends before it starts). Returns how many were asked."""
    q = queries(catalog)
    jobs = q.latest_train_jobs([m.id for m in q.trial_models(sweep_id)])
    active = [j for j in jobs.values() if j.status in ExecutionStatus.ACTIVE]
    for j in active:
        catalog.request_cancel(j.id)
    if any(j.status == ExecutionStatus.CREATED for j in active):
        scheduler.ensure_scheduler(catalog.home)
    return len(active)


def wait_sweep(catalog: Catalog, sweep_id: str, *, timeout: float | None = None, poll: float = 0.5,
               on_change: Callable[[SweepState], None] | None = None) -> SweepState:
    """Block until the sweep ends; `on_change(state)` each time its progress or status changes. TimeoutError
    after `timeout` s. Its queued jobs keep a scheduler (as runner.wait_for does)."""
    start = last_check = time.monotonic()
    seen = None
    while True:
        state = sweep_state(catalog, sweep_id)
        now = (state.status, state.finished, len(state.trials))
        if on_change is not None and now != seen:
            on_change(state)
        seen = now
        if state.done:
            return state
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"sweep {state.sweep.name!r} still {state.status} after {timeout} s")
        if time.monotonic() - last_check > 5:
            scheduler.ensure_scheduler(catalog.home)
            last_check = time.monotonic()
        time.sleep(poll)


# -- the driver process -----------------------------------------------------------------------------
def driver_lock(catalog: Catalog, sweep_id: str) -> FileLock:
    folder = catalog.work_dir / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{sweep_id}.lock")


def driver_running(catalog: Catalog, sweep_id: str) -> bool:
    lock = driver_lock(catalog, sweep_id)
    if lock.acquire():
        lock.release()
        return False
    return True


_started: dict[str, subprocess.Popen] = {}      # sweep id -> the driver this process started for it
_started_lock = threading.Lock()


def ensure_driver(catalog: Catalog, sweep_id: str) -> None:
    """Start the sweep's driver process (detached; it outlives the caller) unless one runs (or was just started
    here and has not taken its lock yet)."""
    with _started_lock:
        for sid, p in list(_started.items()):
            if p.poll() is not None:
                del _started[sid]
        if sweep_id in _started:
            return
    if driver_running(catalog, sweep_id):
        return
    logs = Path(catalog.home) / "logs" / "sweeps"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{sweep_id}.log", "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", DRIVER_ENTRY, str(catalog.home), sweep_id],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=scheduler.child_env())
    with _started_lock:
        _started[sweep_id] = proc


@atexit.register
def _leave_drivers_running() -> None:
    """A driver still running outlives this process on purpose (as the scheduler does): let go of it quietly."""
    with _started_lock:
        running = [p for p in _started.values() if p.poll() is None]
        _started.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        running.clear()
