"""Sweeps: the search space (parsing, grid, random draws), the driver's ask/tell and pruning on a fake objective,
cancel of a queued sweep, and one real 2 x 2 grid that trains four clones (a tiny package, no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.catalog import ExecutionStatus
from desktop_app.catalog.sweeps import queries
from desktop_app.errors import AlreadyExistsError, ValidationError
from desktop_app.workflows import sweeps
from desktop_app.workflows.sweep_driver import Driver, Known, TrialView

PACKAGE_DIR = Path(__file__).parent / "sweep_package"
GRID = {"learning_rate": [0.001, 0.01], "batch_size": [16, 32]}


# -- the search space --------------------------------------------------------------------------------
def test_grid_and_param_specs_parse_into_a_checked_space():
    grid = sweeps.parse_grid(["learning_rate=0.001,0.01", "batch_size=16,32", "pretrained=true,false"])
    assert grid == {"learning_rate": {"type": "choice", "values": [0.001, 0.01]},
                    "batch_size": {"type": "choice", "values": [16, 32]},
                    "pretrained": {"type": "choice", "values": [True, False]}}
    space = sweeps.parse_params(["learning_rate=loguniform:1e-4:1e-1", "batch_size=choice:16,32", "epochs=int:2:5",
                                 "momentum=uniform:0.8:0.99", "arch=resnet18,resnet34"])
    assert space == {"learning_rate": {"type": "loguniform", "low": 1e-4, "high": 0.1},
                     "batch_size": {"type": "choice", "values": [16, 32]},
                     "epochs": {"type": "int", "low": 2, "high": 5},
                     "momentum": {"type": "uniform", "low": 0.8, "high": 0.99},
                     "arch": {"type": "choice", "values": ["resnet18", "resnet34"]}}
    for bad, says in (("lr", "expected NAME=VALUES"), ("lr=loguniform:0:1", "LOW > 0"),
                      ("lr=uniform:1:0.5", "LOW < HIGH"), ("epochs=int:2.5:4", "as an integer"),
                      ("lr=uniform:1", "LOW:HIGH"), ("lr=choice:", "needs values"), ("lr=uniform:a:2", "as a number")):
        with pytest.raises(ValidationError, match=says):
            sweeps.parse_params([bad])
    # The SDK's forms: lists, spec texts, dicts and single values.
    assert sweeps.normalize_space({"a": [1, 2], "b": "int:1:3", "c": {"type": "uniform", "low": 0, "high": 1},
                                   "d": 7}) == {"a": {"type": "choice", "values": [1, 2]},
                                                "b": {"type": "int", "low": 1, "high": 3},
                                                "c": {"type": "uniform", "low": 0, "high": 1},
                                                "d": {"type": "choice", "values": [7]}}
    with pytest.raises(ValidationError, match="at least one parameter"):
        sweeps.normalize_space({})


def test_grid_is_the_cartesian_product_and_random_draws_are_seeded():
    space = sweeps.normalize_space({"lr": [0.1, 0.01], "bs": [16, 32, 64], "epochs": "int:1:2"})
    grid = sweeps.expand_grid(space)
    assert len(grid) == 2 * 3 * 2 and len({tuple(p.values()) for p in grid}) == 12
    assert grid[0] == {"lr": 0.1, "bs": 16, "epochs": 1} and grid[-1] == {"lr": 0.01, "bs": 64, "epochs": 2}
    with pytest.raises(ValidationError, match="a grid needs values"):
        sweeps.expand_grid(sweeps.normalize_space({"lr": "loguniform:1e-4:1e-1"}))
    space = sweeps.parse_params(["lr=loguniform:1e-4:1e-1", "bs=choice:16,32", "epochs=int:2:5"])
    draws = sweeps.sample_random(space, 50, seed=3)
    assert draws == sweeps.sample_random(space, 50, seed=3) != sweeps.sample_random(space, 50, seed=4)
    assert all(1e-4 <= d["lr"] <= 0.1 and d["bs"] in (16, 32) and 2 <= d["epochs"] <= 5 for d in draws)
    assert {d["epochs"] for d in draws} == {2, 3, 4, 5}
    assert sum(d["lr"] < 1e-2 for d in draws) > 20     # log-uniform: two of three decades below 0.01


def test_default_objectives():
    assert sweeps.default_objective("class") == ("validation/accuracy", "maximize")
    assert sweeps.default_objective("box") == ("validation/map50", "maximize")
    assert sweeps.default_objective("segment") == ("validation/loss", "minimize")
    assert sweeps.default_direction("train/loss") == "minimize"
    assert sweeps.default_direction("validation/f1") == "maximize"


# -- the driver on a fake objective ----------------------------------------------------------------------
class FakeTrials:
    """Trials that take a few polls each: queued, running (one more epoch each poll), then succeeded."""

    def __init__(self, epochs=3, score=lambda p, e: p["x"] * (0.5 + 0.1 * e)):
        self.epochs, self.score = epochs, score
        self.started: list[tuple[int, dict]] = []
        self.polls: dict[str, int] = {}
        self.stopped: list[str] = []
        self.most_active = 0

    def start(self, k, params):
        self.started.append((k, params))
        self.polls[f"t{k}"] = 0
        return f"t{k}"

    def view(self, tid):
        k = int(tid[1:])
        params = self.started[k - 1][1]
        n = self.polls[tid] = self.polls[tid] + 1
        live = sum(1 for t in self.polls if not self._ended(t))
        self.most_active = max(self.most_active, live)
        epochs = min(max(n - 1, 0), self.epochs)
        values = [self.score(params, e) for e in range(epochs)]
        if tid in self.stopped:
            return TrialView("canceled", max(values, default=None), values)
        if n == 1:
            return TrialView("queued", None, [])
        status = "succeeded" if epochs == self.epochs else "running"
        return TrialView(status, max(values, default=None), values)

    def _ended(self, tid):
        return tid in self.stopped or self.polls[tid] > self.epochs

    def stop(self, tid, *, pruned):
        self.stopped.append(tid)


def _run(driver, limit=500):
    for _ in range(limit):
        if driver.step():
            return
    raise AssertionError("the driver never finished")


def test_driver_asks_optuna_within_the_budget_and_the_parallel_limit():
    pytest.importorskip("optuna")
    space = sweeps.normalize_space({"x": "uniform:0:1", "n": "int:1:4", "c": ["a", "b"]})
    fake = FakeTrials()
    driver = Driver(space=space, budget=6, direction="maximize", backend=fake, sampler="tpe", max_parallel=2, seed=0)
    _run(driver)
    assert [k for k, _ in fake.started] == [1, 2, 3, 4, 5, 6]
    assert fake.most_active <= 2
    assert all(0 <= p["x"] <= 1 and 1 <= p["n"] <= 4 and p["c"] in "ab" for _, p in fake.started)
    done = driver.study.trials
    assert len(done) == 6 and all(t.state.name == "COMPLETE" for t in done)
    assert driver.study.best_value == pytest.approx(max(p["x"] * 0.7 for _, p in fake.started))


def test_driver_prunes_a_trial_below_the_median_and_cancels_its_job():
    pytest.importorskip("optuna")
    planned = [{"x": 1.0}, {"x": 1.0}, {"x": 0.1}, {"x": 1.0}]
    fake = FakeTrials()
    driver = Driver(space=sweeps.normalize_space({"x": [0.1, 1.0]}), budget=4, direction="maximize", backend=fake,
                    planned=planned, prune=True, max_parallel=1, seed=0)
    _run(driver)
    assert [p for _, p in fake.started] == planned            # the planned trials, in order
    assert fake.stopped == ["t3"]
    assert [t.state.name for t in driver.study.trials] == ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]


def test_driver_without_optuna_queues_planned_trials_a_few_at_a_time():
    fake = FakeTrials()
    planned = [{"x": v} for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    driver = Driver(space=sweeps.normalize_space({"x": [0.1]}), budget=5, direction="maximize", backend=fake,
                    planned=planned, max_parallel=2)
    assert driver.study is None
    _run(driver)
    assert [p for _, p in fake.started] == planned and fake.most_active <= 2


def test_a_restarted_driver_adds_what_ended_watches_what_runs_and_asks_only_the_rest():
    pytest.importorskip("optuna")
    fake = FakeTrials()
    fake.start(1, {"x": 0.5})
    fake.polls["t1"] = 10                                   # ended before the restart
    fake.start(2, {"x": 0.9})                               # still running
    driver = Driver(space=sweeps.normalize_space({"x": "uniform:0:1"}), budget=4, direction="maximize",
                    backend=fake, sampler="random", max_parallel=2, seed=0,
                    known=[Known("t1", 1, {"x": 0.5}), Known("t2", 2, {"x": 0.9})])
    _run(driver)
    assert [k for k, _ in fake.started] == [1, 2, 3, 4] and fake.most_active <= 2
    assert [t.state.name for t in driver.study.trials] == ["COMPLETE"] * 4
    assert {t.params["x"] for t in driver.study.trials} >= {0.5, 0.9}


# -- on a catalog --------------------------------------------------------------------------------------
@pytest.fixture
def base(dl):
    """A model of the tiny sweep package on a few items of the sample shapes dataset."""
    pkg = dl.packages.push(package_name="sweepy", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="SweepAdapter", output_type="class")
    shapes = dl.datasets.get("shapes")
    train = [it.id for it in shapes.items.list({"subset": "train"}, limit=4)]
    val = [it.id for it in shapes.items.list({"subset": "validation"}, limit=4)]
    return pkg.models.create(model_name="sweep-base", dataset_id=shapes.id, labels=shapes.labels,
                             project_id=dl.projects.get("Sample project").id,
                             configuration={"learning_rate": 0.001, "batch_size": 16, "epochs": 1},
                             train_filter={"subset": "train", "ids": train},
                             validation_filter={"subset": "validation", "ids": val})


@pytest.fixture
def no_scheduler(monkeypatch):
    """Jobs stay queued: no scheduler process starts (a test runs the scheduler's step itself)."""
    from desktop_app.jobs import runner, scheduler
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda home: None)


def test_canceling_a_queued_sweep_cancels_its_jobs(dl, base, no_scheduler):
    sweep = base.sweep(grid=GRID, name="lr-bs")
    assert sweep.status == "queued" and sweep.total == 4 and sweep.progress == 0.0
    trials = sweep.trials()
    assert [m.name for m in trials] == ["lr-bs-1", "lr-bs-2", "lr-bs-3", "lr-bs-4"]
    assert [(m.configuration["learning_rate"], m.configuration["batch_size"]) for m in trials] == \
        [(0.001, 16), (0.001, 32), (0.01, 16), (0.01, 32)]
    assert all(m.parent_id == base.id and m._record.sweep_id == sweep.id and m.status == "pending" for m in trials)
    # The same names again are refused before anything is made.
    with pytest.raises(AlreadyExistsError):
        base.sweep(grid=GRID, name="lr-bs")
    sweep.cancel()
    assert sweep.status == "canceled" and sweep.finished_at
    catalog = dl.default_client().catalog
    jobs = [catalog.list_executions(model_id=m.id)[0] for m in trials]
    assert all(j.cancel_requested and j.status == ExecutionStatus.CREATED for j in jobs)
    from desktop_app.jobs.scheduler import Scheduler
    s = Scheduler(catalog.home)
    s.step()                                   # the scheduler ends canceled queued jobs before starting them
    s.catalog.close()
    assert {catalog.get_execution(j.id).status for j in jobs} == {ExecutionStatus.CANCELED}
    # a job canceled before it started gives its model back the status it had before it was queued
    assert {catalog.get_model(m.id).status for m in trials} == {"created"}
    got = dl.sweeps.get("lr-bs")
    assert got.status == "canceled" and got.finished == 4 and got.best() is None
    assert [s.name for s in dl.sweeps.list(project_id=base.project_id)] == ["lr-bs"]


def test_a_sweep_is_refused_whole_before_anything_is_made(dl, base, no_scheduler, monkeypatch):
    catalog = dl.default_client().catalog
    before = len(catalog.find_models())
    with pytest.raises(ValidationError, match="needs a budget"):
        base.sweep(params={"learning_rate": "loguniform:1e-4:1e-1"})
    with pytest.raises(ValidationError, match="a grid needs values"):
        base.sweep(grid={"learning_rate": "uniform:0:1"})
    with pytest.raises(ValidationError, match="objective must be a metric key"):
        base.sweep(grid=GRID, objective="accuracy")
    with pytest.raises(ValidationError, match="learning_rat"):       # a package's declared keys are checked
        dl.models.get("pretrained-resnet").sweep(grid={"learning_rat": [0.1, 0.01]})
    monkeypatch.setattr(sweeps, "optuna_available", lambda: False)
    with pytest.raises(ValidationError, match=r"pip install -e '\.\[sweep\]'"):
        base.sweep(params={"learning_rate": "loguniform:1e-4:1e-1"}, method="tpe", budget=3)
    assert len(catalog.find_models()) == before and queries(catalog).find() == []
    # A random sweep draws its trials now, from the seed; the default objective is the classifier's.
    sweep = base.sweep(params={"learning_rate": "loguniform:1e-4:1e-1", "batch_size": [16, 32]}, budget=3, seed=1)
    assert sweep.method == "random" and sweep.name == "sweep-base-sweep-1" and sweep.total == 3
    assert (sweep.objective, sweep.direction) == ("validation/accuracy", "maximize")
    assert [t.params for t in sweep.state.trials] == sweeps.sample_random(sweep.space, 3, seed=1)
    sweep.cancel()


def test_a_driven_sweep_queues_at_most_max_parallel_trials_and_its_driver_stops_on_cancel(dl, base, no_scheduler,
                                                                                         monkeypatch):
    from desktop_app.workflows.sweep_driver import drive
    monkeypatch.setattr(sweeps, "ensure_driver", lambda catalog, sweep_id: None)    # driven here, in-process
    sweep = base.sweep(grid=GRID, max_parallel=2, name="par")
    assert sweep.status == "queued" and sweep.total == 4 and sweep.trials() == []
    catalog = dl.default_client().catalog
    assert drive(catalog, sweep.id, sleep=lambda s: sweeps.cancel_sweep(catalog, sweep.id)) == "canceled"
    trials = sweep.trials()
    assert [m.name for m in trials] == ["par-1", "par-2"]           # two queued, none ended: no third
    assert all(catalog.list_executions(model_id=m.id)[0].cancel_requested for m in trials)
    assert sweep.refresh().status == "canceled"


@pytest.mark.slow
def test_a_2x2_grid_sweep_trains_four_clones_and_reports_the_best(dl, base):
    sweep = base.sweep(grid=GRID, name="grid", wait=True)
    assert sweep.status == "succeeded" and sweep.progress == 1.0, [t.to_dict() for t in sweep.state.trials]
    trials = sweep.trials()
    assert len(trials) == 4 and all(m.status == "trained" for m in trials)
    assert all(m.parent_id == base.id and m._record.sweep_id == sweep.id for m in trials)
    assert all(m.lineage()[0].id == base.id for m in trials)
    values = {m.name: max(s.y for s in m.metrics.list(figure="accuracy", legend="validation")) for m in trials}
    best = sweep.best()
    assert best.name == max(values, key=values.get) == "grid-3"       # learning_rate 0.01, batch_size 16
    assert sweep.best_value == pytest.approx(values["grid-3"])
    assert dl.sweeps.get(sweep_id=sweep.id).to_json()["best"]["model"] == "grid-3"
