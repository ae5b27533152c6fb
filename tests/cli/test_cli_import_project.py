"""`desktop-app import --project NAME --create-project` makes the project it names, and only when asked; training
an unsplit dataset from the command line is refused naming `desktop-app datasets split`."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def folder(tmp_path) -> Path:
    """An image folder of two classes, six images each."""
    root = tmp_path / "digits"
    for k, label in enumerate(("zero", "one")):
        (root / label).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (16, 16), (40 * i, 100 * k, 0)).save(root / label / f"{i}.png")
    return root


def _projects(client) -> list[str]:
    return [p.name for p in client.projects.list()]


def test_a_missing_project_is_refused_naming_both_ways_to_make_it(client, capsys, folder):
    code, out, err = run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "d",
                         "--project", "digits")
    assert code == 2 and out == ""
    assert err.strip() == ("error: no project with id or name 'digits': pass --create-project to create it, or run "
                           "`desktop-app projects create digits` first")
    assert "digits" not in _projects(client)


def test_create_project_makes_it_and_imports_into_it(client, capsys, folder):
    code, out, err = run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "d",
                         "--project", "digits", "--create-project")
    assert code == 0, err
    first, second = out.splitlines()
    project = client.projects.get("digits")
    assert first == f"created project digits ({project.id})"
    assert second.startswith("imported 12 items into digits/d (")
    assert project.datasets.get("d").items_count == 12
    # the project is there now: the flag changes nothing, and no second project is made
    code, out, err = run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "d2",
                         "--project", "digits", "--create-project")
    assert code == 0, err
    assert out.startswith("imported 12 items into digits/d2") and "created project" not in out
    assert _projects(client).count("digits") == 1


def test_a_failed_import_leaves_no_project_it_created(client, capsys, tmp_path):
    before = _projects(client)
    code, _, err = run(capsys, "import", str(tmp_path / "missing"), "--format", "imagefolder", "--dataset", "d",
                       "--project", "digits", "--create-project")
    assert code == 2 and "not a folder" in err
    assert _projects(client) == before


def test_create_project_needs_a_project(client, capsys, folder):
    code, _, err = run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "d", "--create-project")
    assert code == 2 and "--create-project needs --project NAME" in err


def test_training_an_unsplit_dataset_names_the_split_command(client, capsys, folder):
    assert run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "digits",
               "--project", "hand", "--create-project")[0] == 0
    assert run(capsys, "clone", "pretrained-resnet", "--name", "mine", "--dataset", "digits",
               "--project", "hand")[0] == 0
    code, _, err = run(capsys, "train", "mine")
    assert code == 2
    assert err.strip() == ("error: the train subset of dataset 'digits' is empty: split the dataset first with "
                           "`desktop-app datasets split digits --project hand` (80% train, 10% validation, 10% test "
                           "unless --train, --validation and --test say otherwise)")
    assert "split_ml_subsets" not in err and not client.executions.list(model_id=client.models.get("mine").id)
    # split with no validation items: the validation subset is named the same way
    assert run(capsys, "datasets", "split", "digits", "--train", "1")[0] == 0
    code, _, err = run(capsys, "train", "mine")
    assert code == 2 and "the validation subset of dataset 'digits' is empty" in err
    assert "`desktop-app datasets split digits --project hand`" in err


def test_a_filter_that_selects_nothing_is_named(client, capsys, folder):
    run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "digits", "--project", "hand",
        "--create-project")
    run(capsys, "datasets", "split", "digits", "--train", "0.5", "--validation", "0.5")
    src = client.models.get("pretrained-resnet")
    src.clone(model_name="mine", dataset=client.datasets.get("digits"), train_filter={"subset": "test"})
    code, _, err = run(capsys, "train", "mine")
    assert code == 2
    assert "model 'mine' trains on the items of dataset 'digits' its train filter {'subset': 'test'} selects" in err
    assert "`desktop-app datasets split digits --project hand`" in err


def test_the_readme_walkthrough_runs_up_to_training(client, capsys, folder):
    import shlex
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("Your own images, from import to a trained model")[1].split("```")[1]
    commands = [shlex.split(line) for line in block.strip().splitlines()]
    assert [c[:2] for c in commands] == [["desktop-app", "import"], ["desktop-app", "datasets"],
                                         ["desktop-app", "clone"], ["desktop-app", "train"]]
    for args in commands[:3]:
        args = [str(folder) if a == "~/digits" else a for a in args[1:]]
        code, _, err = run(capsys, *args)
        assert code == 0, (args, err)
    model = client.models.get(commands[3][2])
    assert model.dataset.name == "digits" and model.dataset.project.name == "digits"
    assert model.dataset.subset_counts().get("train", 0) > 0
