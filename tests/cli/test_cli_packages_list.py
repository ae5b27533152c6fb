"""`desktop-app packages list | push` as one command: each action with its own options, the list with versions
and model counts, a push into a project."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from desktop_app.cli.main import main

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_as_table_and_json(client, capsys):
    code, out, _ = run(capsys, "packages", "list")
    header, *lines = out.splitlines()
    assert code == 0 and header.split() == ["ID", "NAME", "KIND", "VERSION", "OUTPUT_TYPE", "MODELS", "DESCRIPTION"]
    tinydet = next(line for line in lines if " tinydet " in line).split()
    n_models = len(client.packages.get("tinydet").models.list())
    assert tinydet[1:6] == ["tinydet", "builtin", "1.0.0", "box", str(n_models)]
    for args in (["packages", "list", "--json"], ["packages", "--json"], ["packages", "--json", "list"]):
        code, out, _ = run(capsys, *args)
        rows = {r["name"]: r for r in json.loads(out)}
        assert code == 0 and {"resnet", "mobilenet", "tinydet", "fasterrcnn"} <= set(rows), args
        assert rows["resnet"]["models"] == len(client.packages.get("resnet").models.list()) >= 1
        assert rows["resnet"]["version"] == "1.0.0" and rows["resnet"]["kind"] == "builtin"


def test_push_into_a_project_then_list_it(client, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    client.projects.create("mine")
    code, out, err = run(capsys, "packages", "push", "--name", "centroid", "--src", str(PACKAGE_DIR),
                         "--project", "mine", "--yes", "--json")
    assert code == 0, err
    pushed = json.loads(out)
    assert pushed["name"] == "centroid" and pushed["project_id"] == client.projects.get("mine").id
    code, out, _ = run(capsys, "packages", "list", "--project", "mine", "--json")
    assert "centroid" in [r["name"] for r in json.loads(out)]
    code, _, err = run(capsys, "packages", "push", "--name", "other", "--src", str(PACKAGE_DIR), "--project", "nope",
                       "--yes")
    assert code == 2 and "no project with id or name 'nope'" in err
    assert "other" not in [p.name for p in client.packages.list()]


@pytest.mark.parametrize("args,unknown", [
    (["packages", "list", "--name", "x"], "--name x"),
    (["packages", "list", "--src", "folder"], "--src folder"),
    (["packages", "list", "--yes"], "--yes"),
], ids=["name", "src", "yes"])
def test_list_refuses_the_options_of_push(client, capsys, args, unknown):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and f"unrecognized arguments: {unknown}" in capsys.readouterr().err


def test_each_action_has_its_own_help(capsys):
    with pytest.raises(SystemExit):
        main(["packages", "list", "--help"])
    out = capsys.readouterr().out
    assert "--project" in out and "--src" not in out and "--yes" not in out
    with pytest.raises(SystemExit):
        main(["packages", "push", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--src PATH" in out and "--entry-point" in out and "only push code you trust" in out
