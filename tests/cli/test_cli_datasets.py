"""`desktop-app datasets create | list | split`: a dataset made, counted and split from the command line, with
the SDK's split code (same seed, same subsets) and our own errors for bad fractions."""

from __future__ import annotations

import json

import pytest

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _subsets(client, name: str) -> dict[int, str]:
    ds = client.datasets.get(name)
    return {i.id: i.subset for i in client.catalog.list_items(ds.id)}


def test_create_in_a_project_then_list(client, capsys):
    assert run(capsys, "projects", "create", "digits")[0] == 0
    code, out, err = run(capsys, "datasets", "create", "digits-img", "--project", "digits", "--labels", "0, 1,2")
    assert code == 0, err
    assert out.startswith("created dataset digits/digits-img (")
    assert "desktop-app import PATH --project digits --dataset digits-img" in out
    ds = client.projects.get("digits").datasets.get("digits-img")
    assert ds.labels == ["0", "1", "2"] and ds.items_count == 0
    code, out, _ = run(capsys, "datasets", "list", "--project", "digits", "--json")
    (row,) = json.loads(out)
    assert row["name"] == "digits-img" and row["project"] == "digits"
    assert (row["items"], row["annotations"]) == (0, 0)
    assert row["subsets"] == {"train": 0, "validation": 0, "test": 0, "none": 0}
    code, out, _ = run(capsys, "datasets", "--project", "digits")
    header, line = out.splitlines()
    assert header.split() == ["ID", "NAME", "PROJECT", "ITEMS", "ANNOTATIONS", "SUBSETS", "LABELS"]
    assert line.split()[1:] == ["digits-img", "digits", "0", "0", "-", "0,1,2"]


def test_list_counts_items_annotations_and_subsets(client, capsys):
    code, out, _ = run(capsys, "datasets", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    for name in ("shapes", "shapes-detection"):
        ds = client.datasets.get(name)
        counts = ds.subset_counts()
        assert rows[name]["items"] == ds.items_count == 1000
        assert rows[name]["annotations"] == sum(ds.label_counts().values()) > 0
        assert rows[name]["subsets"] == {s: counts.get(s, 0) for s in ("train", "validation", "test", "none")}
        assert rows[name]["project"] == "Sample project"
    code, out, _ = run(capsys, "datasets")
    line = next(x for x in out.splitlines() if " shapes " in x)
    s = rows["shapes"]["subsets"]
    assert f"train {s['train']}, validation {s['validation']}, test {s['test']}" in line


def test_create_refuses_a_duplicate_and_a_missing_project_naming_the_fix(client, capsys):
    code, _, err = run(capsys, "datasets", "create", "shapes", "--project", "Sample project")
    assert code == 2 and "project 'Sample project' has a dataset named 'shapes' already" in err
    assert "`desktop-app datasets list --project 'Sample project'`" in err
    code, _, err = run(capsys, "datasets", "create", "x", "--project", "digits")
    assert code == 2 and "no project with id or name 'digits'" in err and "desktop-app projects create digits" in err
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "create", "x"])
    assert exc.value.code == 2 and "required: --project" in capsys.readouterr().err
    assert [d.name for d in client.datasets.list()] == ["shapes", "shapes-detection", "shapes-segmentation"]


@pytest.mark.parametrize("by", ["name", "id"])
def test_split_is_the_sdks_split(client, capsys, by):
    ds = client.datasets.get("shapes")
    spec = ds.name if by == "name" else ds.id
    code, out, err = run(capsys, "datasets", "split", spec, "--train", "0.6", "--validation", "0.3", "--test", "0.1",
                         "--seed", "7")
    assert code == 0, err
    assert out.strip() == "split shapes (1000 items, seed 7): train 600, validation 300, test 100"
    by_cli = _subsets(client, "shapes")
    ds.split_ml_subsets(percentages={"train": 60, "validation": 30, "test": 10}, seed=7)
    assert _subsets(client, "shapes") == by_cli
    # no fraction given: Dataloop's 80 / 10 / 10
    code, out, _ = run(capsys, "datasets", "split", spec, "--json")
    assert json.loads(out)["subsets"] == {"train": 800, "validation": 100, "test": 100}
    ds.split_ml_subsets(seed=0)
    assert json.loads(out)["seed"] == 0 and ds.subset_counts() == {"train": 800, "validation": 100, "test": 100}


def test_split_with_a_subset_left_out_gives_it_nothing(client, capsys):
    code, out, err = run(capsys, "datasets", "split", "shapes", "--train", "0.9", "--validation", "0.1")
    assert code == 0, err
    assert client.datasets.get("shapes").subset_counts() == {"train": 900, "validation": 100}
    assert out.strip().endswith("train 900, validation 100, test 0")


@pytest.mark.parametrize("args,message", [
    (["--train", "80"], "argument --train: 80 is not a fraction between 0 and 1 (80% is 0.8)"),
    (["--validation", "-0.1"], "argument --validation: -0.1 is not a fraction between 0 and 1"),
    (["--test", "nan"], "argument --test: nan is not a fraction between 0 and 1"),
    (["--test", "a lot"], "argument --test: 'a lot' is not a number; give a fraction such as 0.8"),
], ids=["percent", "negative", "nan", "word"])
def test_split_refuses_a_bad_fraction_naming_it(client, capsys, args, message):
    before = _subsets(client, "shapes")
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "split", "shapes", *args])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert _subsets(client, "shapes") == before


@pytest.mark.parametrize("args,message", [
    (["--train", "0.5", "--validation", "0.5", "--test", "0.5"],
     "the fractions must sum to 1: --train 0.5 + --validation 0.5 + --test 0.5 = 1.5"),
    (["--train", "0.7", "--validation", "0.2"],
     "the fractions must sum to 1: --train 0.7 + --validation 0.2 + --test 0 = 0.9 (--test not given: 0)"),
    (["--train", "0"], "the fractions must sum to 1: --train 0 + --validation 0 + --test 0 = 0 "
                       "(--validation, --test not given: 0)"),
], ids=["over", "under", "zero"])
def test_split_refuses_fractions_that_do_not_sum_to_one(client, capsys, args, message):
    before = _subsets(client, "shapes")
    code, _, err = run(capsys, "datasets", "split", "shapes", *args)
    assert code == 2 and err.strip() == f"error: {message}"
    assert _subsets(client, "shapes") == before


def test_split_refuses_an_empty_or_unknown_dataset(client, capsys):
    run(capsys, "projects", "create", "digits")
    run(capsys, "datasets", "create", "empty", "--project", "digits")
    code, _, err = run(capsys, "datasets", "split", "empty")
    assert code == 2 and "dataset 'empty' has no items to split" in err
    assert "desktop-app import PATH --project digits --dataset empty" in err
    code, _, err = run(capsys, "datasets", "split", "nosuch", "--project", "digits")
    assert code == 2 and err.strip() == ("error: no dataset with id or name 'nosuch' in project 'digits' "
                                         "(`desktop-app datasets list --project digits` shows those there are)")
