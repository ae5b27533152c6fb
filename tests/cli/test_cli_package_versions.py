"""`desktop-app packages push` of an existing name adds a new version and says so; `packages list` shows versions."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from desktop_app.cli.main import main

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"
PUSH = ["packages", "push", "--name", "centroid", "--src", str(PACKAGE_DIR), "--entry-point", "adapter.py", "--yes"]


@pytest.fixture(autouse=True)
def _pipe_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pushing_an_existing_name_prints_the_new_version(client, capsys):
    code, out, err = run(capsys, *PUSH)
    assert code == 0 and "added package centroid 1.0.0" in out, err
    project = client.projects.get("Sample project")
    client.packages.get("centroid").models.create(model_name="on-one", project_id=project.id)
    code, out, err = run(capsys, *PUSH)
    assert code == 0, err
    assert "added version 1.0.1 of package centroid" in out and "versions: 1.0.0, 1.0.1" in out
    assert "its 1 model stays on its version" in out and "model.package_version = '1.0.1'" in out
    code, out, err = run(capsys, *PUSH, "--increment", "minor")
    assert code == 0 and "added version 1.1.0" in out, err
    code, out, err = run(capsys, *PUSH, "--version", "2.0.0", "--json")
    assert code == 0 and json.loads(out)["version"] == "2.0.0", err
    assert client.packages.get("centroid").models.list()[0].package_version == "1.0.0"


def test_a_bad_version_or_a_built_in_name_is_refused_before_running_anything(client, capsys):
    assert run(capsys, *PUSH)[0] == 0
    code, _, err = run(capsys, *PUSH, "--version", "1.0.0")
    assert code == 2 and "already has version 1.0.0" in err
    code, _, err = run(capsys, *PUSH, "--version", "one")
    assert code == 2 and "--version 'one' is not a version" in err
    code, _, err = run(capsys, "packages", "push", "--name", "resnet", "--src", str(PACKAGE_DIR), "--entry-point",
                       "adapter.py", "--yes")
    assert code == 2 and "built-in package" in err
    assert client.catalog.package_versions(client.packages.get("centroid").id) == ["1.0.0"]


def test_list_shows_the_versions_and_their_models(client, capsys):
    run(capsys, *PUSH)
    project = client.projects.get("Sample project")
    client.packages.get("centroid").models.create(model_name="on-one", project_id=project.id)
    run(capsys, *PUSH)
    code, out, _ = run(capsys, "packages", "list")
    line = next(line for line in out.splitlines() if " centroid " in line)
    assert code == 0 and "1.0.1 (older: 1.0.0 [1 model])" in line
    code, out, _ = run(capsys, "packages", "list", "--json")
    row = next(r for r in json.loads(out) if r["name"] == "centroid")
    assert row["version"] == "1.0.1" and row["versions"] == ["1.0.0", "1.0.1"]
    assert row["models_per_version"] == {"1.0.0": 1, "1.0.1": 0} and row["models"] == 1
