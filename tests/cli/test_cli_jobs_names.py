"""`desktop-app jobs` names each job as the window does (issue 18: jobs showed only "pipeline" as their name)."""

from __future__ import annotations

import json

from desktop_app.cli.main import main
from desktop_app.jobs import runner


def test_the_jobs_list_has_a_name_column(dl, capsys, monkeypatch):
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)   # queue only: no worker
    shapes = dl.datasets.get("shapes")
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="resnet-exp", dataset=shapes)
    cat = dl.default_client().catalog
    ex = runner.submit_train(cat, m.id, wait=False, context="pipeline nightly, run 3")
    step = cat.create_execution("pipeline", input={"pipeline": "nightly", "run_number": 3, "step": "train"})
    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["ID", "NAME", "KIND"]
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert "Train resnet-exp (pipeline nightly, run 3)" in by_id[ex.id]
    assert "Pipeline nightly, run 3: train" in by_id[step.id]
    assert main(["jobs", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[ex.id]["name"] == "Train resnet-exp (pipeline nightly, run 3)"
    assert rows[step.id]["name"] == "Pipeline nightly, run 3: train"
