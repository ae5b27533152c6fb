"""`desktop-app projects create | list`: a project made from the command line, listed as a table and as JSON."""

from __future__ import annotations

import json

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_then_list_as_table_and_json(capsys):
    code, out, err = run(capsys, "projects", "create", "digits", "--description", "handwritten digits")
    assert code == 0, err
    assert out.startswith("created project digits (")
    code, out, _ = run(capsys, "projects", "list")
    header, *lines = out.splitlines()
    assert header.split() == ["ID", "NAME", "DATASETS", "MODELS", "DESCRIPTION"]
    row = next(line for line in lines if " digits " in line)
    assert row.split()[2:] == ["0", "0", "handwritten", "digits"]
    for args in (["projects", "list", "--json"], ["projects", "--json"], ["projects", "--json", "list"]):
        code, out, _ = run(capsys, *args)
        rows = {r["name"]: r for r in json.loads(out)}
        assert code == 0 and rows["digits"]["description"] == "handwritten digits", args
        assert rows["digits"]["datasets"] == 0 and rows["digits"]["models"] == 0
    code, out, _ = run(capsys, "projects", "create", "more", "--json")
    assert code == 0 and json.loads(out)["name"] == "more"


def test_list_counts_datasets_and_models(client, capsys):
    code, out, _ = run(capsys, "projects", "--json")
    sample = next(r for r in json.loads(out) if r["name"] == "Sample project")
    assert sample["datasets"] == 3 and sample["models"] == len(client.sample_project.models.list()) > 0


def test_a_duplicate_name_is_refused_naming_it(capsys):
    assert run(capsys, "projects", "create", "digits")[0] == 0
    code, out, err = run(capsys, "projects", "create", "digits", "--description", "again")
    assert code == 2 and out == ""
    assert err.strip() == ("error: a project named 'digits' already exists; pick another name "
                           "(`desktop-app projects list` shows the names taken)")
    code, out, _ = run(capsys, "projects", "--json")
    assert [r["description"] for r in json.loads(out) if r["name"] == "digits"] == [""]


def test_an_empty_name_is_refused(capsys):
    code, _, err = run(capsys, "projects", "create", " ")
    assert code == 2 and "error: a project needs a non-empty name" in err
