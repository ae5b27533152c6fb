"""Hostile input to packages and jobs: a push that would run code from outside its folder or name a path, and
job ids / records that are unknown, malformed or point outside the catalog. Each refusal is the app's own
error naming the field or file, writes nothing (snapshot), runs no code, and the next good call works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError

CENTROID_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"
ADAPTER = ("import desktop_app.sdk as dl\n\n"
           "class {name}(dl.BaseModelAdapter):\n"
           "    def load(self, local_path, **kw): pass\n"
           "    def save(self, local_path, **kw): pass\n"
           "    def train(self, data_path, output_path, **kw): pass\n"
           "    def predict(self, batch, **kw): return []\n")
# Code that must never run: it leaves a mark where the test can see it.
EVIL = "from pathlib import Path\nPath({mark!r}).write_text('ran')\n" + ADAPTER.format(name="Evil")


def _push_good(dl):
    pkg = dl.packages.push(package_name="centroid", src_path=CENTROID_DIR, entry_point="adapter.py")
    assert pkg.class_name == "CentroidAdapter"


# -- push ----------------------------------------------------------------------------------------------------------
def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "pkg"
    src.mkdir()
    for name, text in files.items():
        (src / name).write_text(text)
    return src


def _case_missing_folder(tmp, mark):
    return {"src_path": tmp / "nowhere", "entry_point": "adapter.py"}, ValidationError, "src_path {tmp}/nowhere"


def _case_folder_is_a_file(tmp, mark):
    f = tmp / "adapter.py"
    f.write_text(EVIL.format(mark=mark))
    return {"src_path": f, "entry_point": "adapter.py"}, ValidationError, "a file, not a folder"


def _case_entry_escapes(tmp, mark):
    (tmp / "evil.py").write_text(EVIL.format(mark=mark))
    src = _folder(tmp, {"adapter.py": ADAPTER.format(name="Fine")})
    return {"src_path": src, "entry_point": "../evil.py"}, ValidationError, "entry point '../evil.py' holds a '..' part"


def _case_entry_absolute(tmp, mark):
    (tmp / "evil.py").write_text(EVIL.format(mark=mark))
    src = _folder(tmp, {"adapter.py": ADAPTER.format(name="Fine")})
    entry = str(tmp / "evil.py")
    return {"src_path": src, "entry_point": entry}, ValidationError, f"entry point {entry!r} is an absolute path"


def _case_entry_link_out(tmp, mark):
    (tmp / "evil.py").write_text(EVIL.format(mark=mark))
    src = _folder(tmp, {})
    os.symlink(tmp / "evil.py", src / "adapter.py")
    return {"src_path": src, "entry_point": "adapter.py"}, ValidationError, "entry point 'adapter.py' is a link leading out"


def _case_entry_missing(tmp, mark):
    src = _folder(tmp, {"other.py": ADAPTER.format(name="Fine")})
    return {"src_path": src, "entry_point": "adapter.py"}, ValidationError, "entry point 'adapter.py' not found in"


def _case_entry_not_python(tmp, mark):
    src = _folder(tmp, {"adapter.txt": EVIL.format(mark=mark)})
    return {"src_path": src, "entry_point": "adapter.txt"}, ValidationError, "entry point 'adapter.txt' is not a .py file"


def _case_syntax_error(tmp, mark):
    src = _folder(tmp, {"adapter.py": "import desktop_app.sdk as dl\nclass A(dl.BaseModelAdapter)\n    pass\n"})
    return ({"src_path": src, "entry_point": "adapter.py"}, ValidationError,
            f"entry point {src}/adapter.py failed to import (line 2): SyntaxError")


def _case_exits_on_import(tmp, mark):
    src = _folder(tmp, {"adapter.py": "import sys\nsys.exit(3)\n"})
    return ({"src_path": src, "entry_point": "adapter.py"}, ValidationError,
            f"entry point {src}/adapter.py failed to import: SystemExit")


def _case_no_adapter(tmp, mark):
    src = _folder(tmp, {"adapter.py": "class NotAnAdapter:\n    pass\n"})
    return ({"src_path": src, "entry_point": "adapter.py"}, ValidationError,
            f"entry point {src}/adapter.py must define exactly one dl.BaseModelAdapter subclass (found 0)")


def _case_two_adapters(tmp, mark):
    src = _folder(tmp, {"adapter.py": ADAPTER.format(name="One") + ADAPTER.format(name="Two").split("\n\n", 1)[1]})
    return ({"src_path": src, "entry_point": "adapter.py"}, ValidationError,
            "(found 2: One, Two; name one with class_name=)")


PUSH_CASES = {
    "missing-folder": _case_missing_folder, "folder-is-a-file": _case_folder_is_a_file,
    "entry-../": _case_entry_escapes, "entry-absolute": _case_entry_absolute, "entry-link-out": _case_entry_link_out,
    "entry-missing": _case_entry_missing, "entry-not-python": _case_entry_not_python,
    "syntax-error": _case_syntax_error, "sys.exit-on-import": _case_exits_on_import,
    "no-adapter-class": _case_no_adapter, "two-adapter-classes": _case_two_adapters,
}


@pytest.mark.parametrize("case", PUSH_CASES)
def test_push_refuses_a_bad_source_naming_it(dl, tmp_path, snapshot, case):
    mark = tmp_path / "ran.txt"
    kwargs, error, message = PUSH_CASES[case](tmp_path, mark)
    before = snapshot(dl.default_client())
    with pytest.raises(error) as info:
        dl.packages.push(package_name="hostile", **kwargs)
    assert message.format(tmp=tmp_path) in str(info.value)
    assert not mark.exists(), "code outside the package folder ran"
    assert snapshot(dl.default_client()) == before
    _push_good(dl)


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", "/abs", "x\x00y", "tab\tname", "", " lead", "..", "-x",
                                  "n" * 101])
def test_push_refuses_a_package_name_that_is_not_a_name(dl, snapshot, name):
    before = snapshot(dl.default_client())
    with pytest.raises(ValidationError, match="package name"):
        dl.packages.push(package_name=name, src_path=CENTROID_DIR, entry_point="adapter.py")
    assert snapshot(dl.default_client()) == before
    _push_good(dl)


def test_push_under_a_taken_name_stores_no_code(dl, tmp_path, snapshot):
    src = _folder(tmp_path, {"adapter.py": ADAPTER.format(name="Taken")})   # code the store does not hold yet
    before = snapshot(dl.default_client())
    with pytest.raises(AlreadyExistsError, match="a package named 'resnet' is built in: its code cannot be replaced"):
        dl.packages.push(package_name="resnet", src_path=src, entry_point="adapter.py")
    assert snapshot(dl.default_client()) == before
    _push_good(dl)


# -- jobs ----------------------------------------------------------------------------------------------------------
BAD_IDS = ["nope", "../../etc/passwd", "' OR '1'='1", "x" * 10_000, "\x00", "%", "_"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=["unknown", "path", "sql", "long", "nul", "percent", "underscore"])
@pytest.mark.parametrize("action", ["get", "cancel", "resume", "log"])
def test_an_unknown_or_malformed_job_id_is_not_found(dl, capsys, snapshot, bad, action):
    from desktop_app.cli.main import main
    from desktop_app.jobs import runner
    cat = dl.default_client().catalog
    good = cat.create_execution("predict", input={})
    before = snapshot(cat)
    with pytest.raises(NotFoundError) as info:
        if action == "get":
            dl.executions.get(bad)
        elif action == "resume":
            runner.resume_execution(cat, bad, wait=False)
        else:
            dl.executions.get(bad).cancel() if action == "cancel" else dl.executions.get(bad).logs()
    assert f"no execution with id {bad!r}" in str(info.value)
    assert snapshot(cat) == before
    if "\x00" not in bad:   # argv cannot hold a NUL
        assert main(["jobs", action if action != "get" else "log", bad]) == 2
        assert "no execution with id" in capsys.readouterr().err
        assert snapshot(cat) == before
    assert dl.executions.get(good.id).status == "created"   # the next good call works


@pytest.mark.parametrize("status", ["success", "in-progress", "created"])
def test_resume_of_a_job_with_nothing_to_resume_is_refused(dl, snapshot, monkeypatch, status):
    """A finished job has no checkpoint to continue from; a running or queued one is not stopped."""
    from desktop_app.jobs import runner
    monkeypatch.setattr(runner, "ensure_scheduler", lambda home: None)   # queue only: no worker is needed
    cat = dl.default_client().catalog
    ex = cat.create_execution("train", input={})
    for step in {"success": ["in-progress", "success"]}.get(status, [status]):   # a job finishes once it ran
        cat.set_execution_status(ex.id, step, pid=os.getpid())   # 'in-progress' by a live process
    before = snapshot(cat)
    with pytest.raises(ValidationError, match=f"execution {ex.id} is {status}; only interrupted, canceled or failed"):
        runner.resume_execution(cat, ex.id, wait=False)
    assert snapshot(cat) == before
    assert cat.get_execution(ex.id).status == status
    failed = cat.create_execution("predict", input={})
    cat.set_execution_status(failed.id, "failed")
    assert runner.resume_execution(cat, failed.id, wait=False).status == "created"   # a resumable one resumes


@pytest.mark.parametrize("log_path", ["../outside.log", "/tmp/desktop-app-hostile.log", "logs/../../outside.log",
                                      "store/x.log"])
def test_a_job_record_whose_log_points_outside_is_neither_read_nor_written(dl, snapshot, log_path):
    """A catalog restored from someone else's backup may hold any log path: the scheduler appends a resumed
    job's output to it, Execution.logs() reads it."""
    from desktop_app.jobs.scheduler import Scheduler
    cat = dl.default_client().catalog
    outside = [cat.home.parent / "outside.log", Path("/tmp/desktop-app-hostile.log"), cat.home / "store" / "x.log"]
    ex = cat.create_execution("predict", input={"item_ids": [], "device": "cpu"}, log_path=log_path)
    with pytest.raises(ValidationError, match=f"the log path of execution '{ex.id}'"):
        dl.executions.get(ex.id).logs()
    before = snapshot(cat)
    Scheduler(cat.home).step()   # would start the job, appending its output to the log path
    rec = cat.get_execution(ex.id)
    assert rec.status == "failed" and "log path" in rec.error and rec.pid is None
    assert not any(p.exists() for p in outside)
    assert snapshot(cat)["store"] == before["store"]
    good = cat.create_execution("predict", input={})
    cat.update_execution(good.id, log_path=f"logs/executions/{good.id}.log")
    assert dl.executions.get(good.id).logs() == ""   # an ordinary job's log reads (none written yet)
