"""train / jobs / evaluate from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.cli.main import main

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def test_train_jobs_and_evaluate_commands(dl, capsys):
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="CentroidAdapter", output_type="class")
    shapes = dl.datasets.get("shapes")
    pkg.models.create(model_name="cli-model", dataset_id=shapes.id, labels=shapes.labels,
                      project_id=dl.projects.get("Sample project").id)
    assert main(["train", "cli-model", "--set", "epochs=2"]) == 0
    out = capsys.readouterr().out
    assert ": success" in out
    m = dl.models.get("cli-model")
    assert m.configuration["epochs"] == 2 and m.status == "trained"
    # A declared hyper-parameter of the wrong type is refused before any job, naming the key.
    assert main(["train", "pretrained-resnet", "--set", "epochs=oops"]) == 2
    assert "epochs: expected an integer" in capsys.readouterr().err
    assert dl.models.get("pretrained-resnet").configuration["epochs"] != "oops"
    assert main(["jobs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["model"] == "cli-model" and rows[0]["status"] == "success"
    assert main(["jobs", "log", rows[0]["id"]]) == 0
    assert "training model cli-model" in capsys.readouterr().out
    assert main(["evaluate", "cli-model", "--subset", "test", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["name"] == "shapes-test" and 0.0 <= res["summary"]["accuracy"] <= 1.0
