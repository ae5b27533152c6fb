"""Pipeline test helpers: the dial classifier package, a champion with set skill, waiting."""

from __future__ import annotations

import json
import time
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent / "dial_package"
# Tiny frozen subsets: the whole run (3 jobs) takes seconds on a CPU.
SMALL = {"train": 24, "validation": 8, "test": 60}


def push_dial(dl):
    return dl.packages.push(package_name="dial", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            class_name="DialAdapter", default_configuration={"epochs": 2}, output_type="class")


def make_champion(dl, pkg, tmp_path: Path, *, name: str = "dial-v1", skill: float = 0.5, configuration=None):
    shapes = dl.datasets.get("shapes")
    project = dl.projects.get("Sample project")
    model = pkg.models.create(model_name=name, dataset_id=shapes.id, project_id=project.id, labels=shapes.labels,
                              status="trained", configuration=configuration or {})
    art = tmp_path / f"art_{name}"
    art.mkdir(parents=True, exist_ok=True)
    (art / "dial.json").write_text(json.dumps({"skill": skill, "class_skill": {}, "generation": 0}))
    model.artifacts.upload(art / "dial.json")
    return model


def wait_until(predicate, timeout: float = 60.0, poll: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"{what} not reached within {timeout} s")
