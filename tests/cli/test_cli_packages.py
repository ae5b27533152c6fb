"""`desktop-app packages push`: says that it runs the package's code, asks on a terminal, refuses bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from desktop_app.cli.main import main
from desktop_app.ml.adapter import PUSH_WARNING

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"
PUSH = ["packages", "push", "--name", "centroid", "--src", str(PACKAGE_DIR), "--entry-point", "adapter.py"]


class _Terminal(io.StringIO):
    """A stdin that is a terminal and answers `answer`."""

    def __init__(self, answer: str):
        super().__init__(answer + "\n")

    def isatty(self) -> bool:
        return True


def _rows(client) -> tuple:
    """What a push could write: package rows and store files (temporary ones included)."""
    cat = client.catalog
    return ([p.name for p in cat.list_packages()], sorted(cat.store.iter_shas()),
            sorted(p.name for p in cat.store.iter_tmp()))


@pytest.fixture
def pipe_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def test_push_with_yes_warns_and_adds_the_package(client, capsys, pipe_stdin):
    assert main([*PUSH, "--yes"]) == 0
    out, err = capsys.readouterr()
    assert PUSH_WARNING in err and "runs its Python code with your permissions" in err
    assert str(PACKAGE_DIR / "adapter.py") in err
    assert "added package centroid" in out and "CentroidAdapter" in out
    pkg = client.packages.get("centroid")
    assert pkg.kind == "user" and pkg.class_name == "CentroidAdapter"
    assert main(["packages", "list", "--json"]) == 0
    assert "centroid" in [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert main(["packages"]) == 0   # the bare command still lists
    assert "centroid" in capsys.readouterr().out


def test_push_without_yes_and_no_terminal_is_refused_and_writes_nothing(client, capsys, pipe_stdin):
    before = _rows(client)
    assert main(PUSH) == 2
    err = capsys.readouterr().err
    assert PUSH_WARNING in err and "stdin is not a terminal" in err and "--yes" in err
    assert _rows(client) == before
    assert "centroid" not in [p.name for p in client.packages.list()]


@pytest.mark.parametrize("answer,code,added", [("n", 1, False), ("", 1, False), ("y", 0, True), ("yes", 0, True)])
def test_push_asks_on_a_terminal(client, capsys, monkeypatch, answer, code, added):
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    before = _rows(client)
    assert main(PUSH) == code
    out, err = capsys.readouterr()
    assert "[y/N]" in out and PUSH_WARNING in err
    assert ("centroid" in [p.name for p in client.packages.list()]) == added
    if not added:
        assert _rows(client) == before and "not pushed" in err


def _no_adapter(tmp_path: Path) -> Path:
    d = tmp_path / "plain"
    d.mkdir()
    (d / "adapter.py").write_text("x = 1\n")
    return d


def _syntax_error(tmp_path: Path) -> Path:
    d = tmp_path / "broken"
    d.mkdir()
    (d / "adapter.py").write_text("import desktop_app.sdk as dl\nclass A(dl.BaseModelAdapter)\n")
    return d


@pytest.mark.parametrize("args,message", [
    (["--name", "x", "--src", "{tmp}/missing"], "--src {tmp}/missing: no such folder"),
    (["--name", "x", "--src", str(PACKAGE_DIR), "--entry-point", "../test_jobs_adapter.py"],
     "--entry-point '../test_jobs_adapter.py' holds a '..' part"),
    (["--name", "x", "--src", str(PACKAGE_DIR), "--entry-point", "nothere.py"],
     "--entry-point 'nothere.py' not found in"),
    (["--name", "x", "--src", "{plain}"], "{plain}/adapter.py must define exactly one dl.BaseModelAdapter subclass"),
    (["--name", "x", "--src", "{broken}"], "{broken}/adapter.py failed to import (line 2): SyntaxError"),
    (["--name", "../x", "--src", str(PACKAGE_DIR)], "package name '../x' holds '/', a path character"),
    (["--src", str(PACKAGE_DIR)], "packages push needs --name"),
], ids=["missing-folder", "entry-escapes", "entry-missing", "no-adapter", "syntax-error", "name-path", "no-name"])
def test_push_refuses_bad_input_naming_it_and_writes_nothing(client, capsys, tmp_path, pipe_stdin, args, message):
    paths = {"tmp": str(tmp_path), "plain": str(_no_adapter(tmp_path)), "broken": str(_syntax_error(tmp_path))}
    before = _rows(client)
    assert main(["packages", "push", *[a.format(**paths) for a in args], "--yes"]) == 2
    assert message.format(**paths) in capsys.readouterr().err
    assert _rows(client) == before
    # and the next good push works
    assert main([*PUSH, "--yes"]) == 0


def test_the_sdk_and_the_readme_say_that_pushing_runs_the_code():
    from desktop_app.sdk.repositories import Packages
    doc = " ".join(Packages.push.__doc__.split())
    assert "Pushing runs the package's Python code with your permissions" in doc and "Only push code you trust" in doc
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "Pushing a package runs its code." in readme and "only push code you trust" in readme
    assert "desktop-app packages push --name NAME --src FOLDER" in readme
