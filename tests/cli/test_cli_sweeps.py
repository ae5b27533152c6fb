"""`desktop-app sweep` / `sweeps`: the options parsed into a search space, a queued sweep as JSON, list and cancel
(nothing trains: no scheduler starts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.cli.main import main

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "workflows" / "sweep_package"


@pytest.fixture
def base(dl, monkeypatch):
    from desktop_app.jobs import runner, scheduler
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda home: None)
    pkg = dl.packages.push(package_name="sweepy", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="SweepAdapter", output_type="class")
    shapes = dl.datasets.get("shapes")
    return pkg.models.create(model_name="cli-base", dataset_id=shapes.id, labels=shapes.labels,
                             project_id=dl.projects.get("Sample project").id,
                             configuration={"learning_rate": 0.001, "batch_size": 16, "epochs": 1})


@pytest.mark.parametrize("args, says", [
    ([], "nothing to sweep"),
    (["--grid", "learning_rate=0.1,0.2", "--param", "batch_size=choice:16,32"], "not both"),
    (["--grid", "learning_rate=0.1,0.2", "--random", "3"], "a grid (--grid) tries every combination"),
    (["--param", "learning_rate=loguniform:1e-4:1e-1"], "say how many with --random N"),
    (["--random", "2", "--param", "learning_rate=loguniform:0:1"], "LOW > 0"),
    (["--random", "2", "--param", "learning_rate"], "expected NAME=VALUES"),
    (["--random", "2", "--budget", "3", "--param", "learning_rate=uniform:0:1"], "disagree"),
])
def test_sweep_options_that_say_no_search_are_refused(capsys, args, says):
    assert main(["sweep", "any-model", *args]) == 2          # refused before the model is looked up
    assert says in capsys.readouterr().err


def test_a_queued_grid_sweep_as_json_then_listed_and_canceled(base, capsys):
    assert main(["sweep", "cli-base", "--grid", "learning_rate=0.001,0.01", "--grid", "batch_size=16,32",
                 "--name", "cli", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "cli" and out["method"] == "grid" and out["status"] == "queued"
    assert (out["objective"], out["direction"]) == ("validation/accuracy", "maximize")
    assert out["total"] == 4 and out["finished"] == 0 and out["best"] is None
    assert [t["model"] for t in out["trials"]] == ["cli-1", "cli-2", "cli-3", "cli-4"]
    assert out["trials"][1]["params"] == {"learning_rate": 0.001, "batch_size": 32}
    assert {t["status"] for t in out["trials"]} == {"queued"}
    assert main(["sweeps", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["status"], r["progress"]) for r in rows] == [("cli", "queued", "0/4")]
    assert main(["sweeps", "show", "cli"]) == 0
    shown = capsys.readouterr().out
    assert "LEARNING_RATE" in shown and "cli-4" in shown and "none trained yet" in shown
    assert main(["sweeps", "cancel", "cli"]) == 0
    assert "canceled" in capsys.readouterr().out
    assert main(["sweeps", "show", "cli", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "canceled"


def test_a_random_sweep_from_the_command_line_and_a_sampler_without_optuna(base, capsys, monkeypatch):
    assert main(["sweep", "cli-base", "--random", "3", "--param", "learning_rate=loguniform:1e-4:1e-1",
                 "--param", "batch_size=choice:16,32", "--param", "epochs=int:1:2", "--seed", "7",
                 "--objective", "train/loss"]) == 0
    out = capsys.readouterr().out
    assert "3 trial(s) of cli-base, random; minimize train/loss" in out
    from desktop_app.workflows import sweeps
    monkeypatch.setattr(sweeps, "optuna_available", lambda: False)
    assert main(["sweep", "cli-base", "--random", "3", "--param", "learning_rate=loguniform:1e-4:1e-1",
                 "--sampler", "tpe"]) == 2
    assert "pip install -e '.[sweep]'" in capsys.readouterr().err
