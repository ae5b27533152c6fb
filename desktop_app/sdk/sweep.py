"""The Sweep entity (a hyper-parameter search over clones of one model) and its repository, `dl.sweeps` (this
module is `sweep`, so that `dl.sweeps` stays the repository, not a submodule)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from desktop_app.catalog.sweeps import SweepRecord
from desktop_app.errors import ValidationError

from .entities import Entity
from .keywords import check_public_methods

if TYPE_CHECKING:
    from .client import Client
    from .model import Model


class Sweep(Entity):
    """A sweep as last read: ``status`` (queued / running / succeeded / failed / canceled), ``progress`` (finished
    trials / total, 0..1), ``trials()`` (the models it made, trial 1 first), ``best()`` (the trained trial with the
    best objective value: its max, or min when the direction is minimize). ``refresh()`` reads it again,
    ``wait()`` blocks until it ends, ``cancel()`` cancels its queued and running trial jobs."""
    _record: SweepRecord

    def __init__(self, client: Client, record: SweepRecord, state: Any = None):
        super().__init__(client, record)
        self._state = state

    name = property(lambda self: self._record.name)
    project_id = property(lambda self: self._record.project_id)
    base_model_id = property(lambda self: self._record.base_model_id)
    method = property(lambda self: self._record.method)
    space = property(lambda self: dict(self._record.space))
    objective = property(lambda self: self._record.objective)
    direction = property(lambda self: self._record.direction)
    budget = property(lambda self: self._record.budget)
    created_at = property(lambda self: self._record.created_at)
    finished_at = property(lambda self: self._record.finished_at)
    metadata = property(lambda self: dict(self._record.metadata))

    def _fetch(self) -> SweepRecord:
        return self._read().sweep

    def _read(self):
        from desktop_app.workflows.sweeps import sweep_state
        self._state = sweep_state(self._client.catalog, self.id)
        return self._state

    @property
    def state(self):
        """workflows.sweeps.SweepState as last read (trials with their params, job, value; status; best)."""
        return self._state if self._state is not None else self._read()

    def refresh(self) -> Sweep:
        self._record = self._read().sweep
        return self

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def progress(self) -> float:
        return self.state.progress

    @property
    def finished(self) -> int:
        return self.state.finished

    @property
    def total(self) -> int:
        return self.state.total

    @property
    def done(self) -> bool:
        return self.state.done

    @property
    def base_model(self) -> Model | None:
        return self._client.models.get(model_id=self.base_model_id) if self.base_model_id else None

    def trials(self) -> list[Model]:
        """The trial models (each a clone of the base model), trial 1 first; read now."""
        return [self._client.models.get(model_id=t.model.id) for t in self.refresh().state.trials]

    def best(self) -> Model | None:
        """The trained trial with the best objective value so far (None while none has one); read now."""
        best = self.refresh().state.best
        return self._client.models.get(model_id=best.model.id) if best else None

    @property
    def best_value(self) -> float | None:
        best = self.state.best
        return best.value if best else None

    def cancel(self) -> Sweep:
        from desktop_app.workflows.sweeps import cancel_sweep
        self._state = cancel_sweep(self._client.catalog, self.id)
        self._record = self._state.sweep
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> Sweep:
        """Block until the sweep ends (every trial ended, or canceled); TimeoutError after `timeout` s."""
        from desktop_app.workflows.sweeps import wait_sweep
        self._state = wait_sweep(self._client.catalog, self.id, timeout=timeout, poll=poll)
        self._record = self._state.sweep
        return self

    def to_json(self) -> dict:
        """The sweep with its status, progress, best trial and trials (as `desktop-app sweep --json` prints)."""
        return self.state.to_dict()


@check_public_methods
class Sweeps:
    """``dl.sweeps``: the sweeps of the catalog (``list``, ``get``); ``create`` is what ``model.sweep`` calls."""

    def __init__(self, client: Client):
        self._client = client

    @property
    def catalog(self):
        return self._client.catalog

    def create(self, from_model: Model, *, grid: Mapping[str, Any] | None = None,
               params: Mapping[str, Any] | None = None, method: str | None = None, budget: int | None = None,
               objective: str | None = None, direction: str | None = None, max_parallel: int | None = None,
               name: str | None = None, seed: int | None = None, sampler: str | None = None, prune: bool = False,
               device: str | None = None, wait: bool = False) -> Sweep:
        """A sweep of clones of `from_model` (see Model.sweep)."""
        from desktop_app.workflows.sweeps import create_sweep, sweep_state
        if (grid is None) == (params is None):
            raise ValidationError("a sweep takes grid={name: [values]} (every combination) or params={name: spec} "
                                  "(drawn: 'loguniform:1e-4:1e-1', 'int:2:5', [choices]), one of them")
        method = method or ("grid" if grid is not None else "random")
        rec = create_sweep(self.catalog, from_model.id, grid if grid is not None else params, method=method,
                           budget=budget, objective=objective, direction=direction, name=name,
                           max_parallel=max_parallel, seed=seed, sampler=sampler, prune=prune, device=device)
        sweep = Sweep(self._client, rec, sweep_state(self.catalog, rec.id))
        return sweep.wait() if wait else sweep

    def get(self, sweep_name: str | None = None, *, sweep_id: str | None = None,
            project_id: str | None = None) -> Sweep:
        """A sweep by name (in `project_id` when names repeat across projects) or by id."""
        from desktop_app.workflows.sweeps import find_sweep, sweep_state
        rec = find_sweep(self.catalog, sweep_id=sweep_id, name=sweep_name, project_id=project_id)
        return Sweep(self._client, rec, sweep_state(self.catalog, rec.id))

    def list(self, project_id: str | None = None) -> list[Sweep]:
        """The sweeps (of one project when given), oldest first; each read now."""
        from desktop_app.catalog.sweeps import queries
        from desktop_app.workflows.sweeps import sweep_state
        out = []
        for rec in queries(self.catalog).find(project_id=project_id):
            state = sweep_state(self.catalog, rec.id)
            out.append(Sweep(self._client, state.sweep, state))
        return out
