"""`desktop-app gc` also frees the scratch folders of finished successful jobs (issue 18)."""

from __future__ import annotations

import json

from desktop_app.catalog import ExecutionStatus, scratch
from desktop_app.cli.main import main


def test_gc_finds_then_frees_a_finished_jobs_folder(client, capsys):
    cat = client.catalog
    ex = cat.create_execution("train")
    cat.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
    cat.set_execution_status(ex.id, ExecutionStatus.SUCCESS)
    out = scratch.execution_dir(cat, ex.id) / "output"
    out.mkdir(parents=True)
    (out / "weights.pt").write_bytes(b"w" * 4096)
    assert main(["gc", "--dry-run"]) == 0
    assert "would delete 1 scratch folder(s) of finished jobs, 4096 bytes" in capsys.readouterr().out
    assert out.is_dir()
    assert main(["gc", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["scratch_folders"], res["scratch_bytes"]) == (1, 4096) and not out.exists()
    assert main(["gc"]) == 0
    assert "deleted 0 scratch folder(s) of finished jobs, 0 bytes" in capsys.readouterr().out
