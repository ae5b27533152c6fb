"""One owner of status transitions: no module but catalog/lifecycle.py writes a model's or a job's status, and
the owner allows only the transitions of its table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from desktop_app.catalog import lifecycle
from desktop_app.domain.status import (ExecutionStatus, ModelStatus, PipelineRunStatus, ServiceStatus,
                                       TransitionError)
from desktop_app.errors import NotFoundError, ValidationError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "desktop_app"
OWNER = "desktop_app/catalog/lifecycle.py"
WRITERS = {"update_model", "update_execution"}

# Modules that still pass a status to update_model / update_execution, each with the reason; the list only
# shrinks (a test below fails once an entry no longer does). Empty: both refuse a status (tests below).
PENDING: dict[str, str] = {}


def _has_status_key(node: ast.expr) -> bool:
    """A dict display or dict(...) call that names a `status`."""
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "status" for k in node.keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return any(k.arg == "status" for k in node.keywords)
    return False


class _Finder(ast.NodeVisitor):
    """Calls of update_model / update_execution given a status: `status=`, `**{"status": ...}`, or `**values`
    where the same function puts a "status" into `values`."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self._with_status: list[set[str]] = [set()]

    def _scope(self, node: ast.AST) -> None:
        names = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                for t in sub.targets:
                    if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                            and isinstance(t.slice, ast.Constant) and t.slice.value == "status"):
                        names.add(t.value.id)
                    if isinstance(t, ast.Name) and _has_status_key(sub.value):
                        names.add(t.id)
            if isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name) and sub.value is not None \
                    and _has_status_key(sub.value):
                names.add(sub.target.id)
        self._with_status.append(names)
        self.generic_visit(node)
        self._with_status.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Module = _scope

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in WRITERS:
            for k in node.keywords:
                if k.arg == "status":
                    self.found.append((node.lineno, f"passes status= to {name}"))
                elif k.arg is None and (_has_status_key(k.value) or (isinstance(k.value, ast.Name)
                                                                      and k.value.id in self._with_status[-1])):
                    self.found.append((node.lineno, f"passes a status to {name} through **"))
        self.generic_visit(node)


def _findings(src: str, rel: str = "<src>") -> list[tuple[int, str]]:
    finder = _Finder()
    finder.visit(ast.parse(src, filename=rel))
    return sorted(set(finder.found))


def status_writes() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == OWNER:
            continue
        found = _findings(path.read_text(encoding="utf-8"), rel)
        if found:
            out[rel] = [f"{rel}:{line}: {what}" for line, what in found]
    return out


def test_no_module_but_the_owner_writes_a_status():
    found = [line for rel, lines in status_writes().items() if rel not in PENDING for line in lines]
    assert not found, ("a status written past its owner (call catalog.set_model_status / set_execution_status / "
                       "restore_model_status):\n" + "\n".join(found))


def stale_entries(pending: dict[str, str], writes: dict[str, list[str]]) -> list[str]:
    """The entries of `pending` that name a module no longer writing a status."""
    return [rel for rel in pending if rel not in writes]


def test_the_pending_list_only_names_modules_that_still_write_a_status():
    stale = stale_entries(PENDING, status_writes())
    assert not stale, f"no longer writes a status past the owner; remove from PENDING: {stale}"
    # The check itself, on the package as it is: an entry for a module that writes no status is stale, and an
    # entry for one that does (this test's own module, scanned like any other) is not.
    here = Path(__file__).resolve().relative_to(ROOT).as_posix()
    found = {here: _findings(Path(__file__).read_text(encoding="utf-8"), here)}
    assert found[here], "this module passes update_model a status (the refusal test) and the finder sees it"
    assert stale_entries({OWNER: "", here: ""}, {**status_writes(), **found}) == [OWNER]


def test_the_finder_sees_each_way_a_status_is_passed():
    src = ("catalog.update_model(m, status='trained')\n"
           "cat.update_execution(e, status=ExecutionStatus.FAILED, error='x')\n"
           "update_model(m, **{'status': s})\n"
           "def f(cat):\n"
           "    values = dict(name=n)\n"
           "    values['status'] = s\n"
           "    cat.update_model(m, **values)\n"
           "def g(cat):\n"
           "    kw = {'status': s, 'pid': 1}\n"
           "    cat.update_execution(e, **kw)\n")
    assert [line for line, _ in _findings(src)] == [1, 2, 3, 7, 10]


def test_the_finder_leaves_other_writes_alone():
    src = ("catalog.update_model(m, configuration=c)\n"
           "catalog.update_service(s, status='stopped')\n"
           "catalog.set_model_status(m, 'trained')\n"
           "catalog.find_models(status='trained')\n"
           "def f(cat):\n"
           "    values = dict(name=n)\n"
           "    cat.update_model(m, **values)\n"
           "def g(cat):\n"
           "    other = {}\n"
           "    other['status'] = 1\n"
           "    cat.update_model(m, **values)\n")
    assert _findings(src) == []


# -- the owner ------------------------------------------------------------------------------------------
@pytest.fixture
def model(catalog):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    return catalog.create_model("m", project_id=p.id, package_id=pkg.id)


def test_statuses_are_the_stored_words():
    assert ModelStatus.TRAINED == "trained" and f"{ExecutionStatus.IN_PROGRESS}" == "in-progress"
    assert [s.value for s in ModelStatus] == ["created", "pre-trained", "pending", "training", "trained",
                                              "deployed", "failed"]
    assert ModelStatus.ALL == tuple(ModelStatus) and "deployed" in ModelStatus.WITH_WEIGHTS
    assert set(ExecutionStatus.FINAL) == {"success", "failed", "canceled", "interrupted"}
    assert set(PipelineRunStatus.DONE) == {"promoted", "discarded"}
    assert "FINAL" not in ExecutionStatus.__members__     # a group is not a status
    from desktop_app.catalog.records import ExecutionStatus as again
    assert again is ExecutionStatus


def test_every_status_has_a_row_in_its_table():
    assert set(lifecycle.MODEL_TRANSITIONS) == set(ModelStatus)
    assert set(lifecycle.EXECUTION_TRANSITIONS) == set(ExecutionStatus)
    assert set(lifecycle.PIPELINE_RUN_TRANSITIONS) == set(PipelineRunStatus)


def test_a_training_job_path_is_allowed(catalog, model):
    for status in ("pending", ModelStatus.TRAINING, "trained", "deployed", "pending", "training", "failed",
                   "training", "trained"):
        assert catalog.set_model_status(model.id, status).status == status
    rec = catalog.get_model(model.id)
    assert rec.status == "trained" and type(rec.status) is str   # records hold the stored word


def test_a_refused_model_transition_names_from_and_to(catalog, model):
    catalog.set_model_status(model.id, "trained")
    with pytest.raises(TransitionError, match=r"model \w+ cannot go from trained to pre-trained; from trained it "
                                              r"may become pending, training, deployed, failed") as e:
        catalog.set_model_status(model.id, "pre-trained")
    assert (e.value.current, e.value.wanted) == ("trained", "pre-trained")
    assert isinstance(e.value, ValidationError)
    assert catalog.get_model(model.id).status == "trained"     # nothing written


def test_an_unknown_status_names_the_allowed_ones(catalog, model):
    with pytest.raises(ValidationError, match="unknown model status 'cloning'; one of created, pre-trained, "
                                              "pending, training, trained, deployed, failed"):
        catalog.set_model_status(model.id, "cloning")
    ex = catalog.create_execution("train", model_id=model.id)
    with pytest.raises(ValidationError, match="unknown execution status 'done'; one of created, in-progress, "
                                              "success, failed, canceled, interrupted"):
        catalog.set_execution_status(ex.id, "done")
    with pytest.raises(ValidationError, match="unknown service status"):
        catalog.create_service(model.id, "s", status="up")
    with pytest.raises(NotFoundError):
        catalog.set_model_status("0" * 24, "trained")


def test_creation_is_no_transition(catalog, model):
    built_in = catalog.create_model("b", project_id=model.project_id, package_id=model.package_id,
                                    status=ModelStatus.PRE_TRAINED)
    assert catalog.get_model(built_in.id).status == "pre-trained"
    with pytest.raises(ValidationError, match="unknown model status"):
        catalog.create_model("c", project_id=model.project_id, package_id=model.package_id, status="nope")


def test_expect_is_a_compare_and_set(catalog, model):
    assert catalog.set_model_status(model.id, "pending", expect="trained") is None
    assert catalog.get_model(model.id).status == "created"
    assert catalog.set_model_status(model.id, "pending", expect=("created", "failed")).status == "pending"


def test_a_restore_gives_back_any_earlier_status_but_only_from_what_the_job_left(catalog, model):
    catalog.set_model_status(model.id, "trained")
    catalog.set_model_status(model.id, "pending")
    catalog.set_model_status(model.id, "training")
    assert catalog.restore_model_status(model.id, "trained", expect=ModelStatus.BUSY).status == "trained"
    assert catalog.restore_model_status(model.id, "created", expect=ModelStatus.BUSY) is None   # moved on
    assert catalog.get_model(model.id).status == "trained"
    with pytest.raises(TypeError, match="expect"):
        catalog.restore_model_status(model.id, "created", expect=())


def test_an_execution_runs_once_and_resumes_from_a_resumable_end(catalog, model):
    ex = catalog.create_execution("train", model_id=model.id)
    with pytest.raises(TransitionError, match=f"execution {ex.id} cannot go from created to success"):
        catalog.set_execution_status(ex.id, "success")
    ex = catalog.set_execution_status(ex.id, "in-progress", pid=123, message="started")
    assert ex.pid == 123 and ex.started_at and ex.finished_at is None
    assert catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, pid=124).pid == 124   # the same again
    ex = catalog.set_execution_status(ex.id, "interrupted", error="died")
    assert ex.finished_at and ex.error == "died"
    assert catalog.set_execution_status(ex.id, "created", finished_at=None).finished_at is None
    catalog.set_execution_status(ex.id, "in-progress")
    catalog.set_execution_status(ex.id, "success")
    with pytest.raises(TransitionError, match="success is final"):
        catalog.set_execution_status(ex.id, "created")


def test_update_model_refuses_a_status_and_names_the_owner(catalog, model):
    with pytest.raises(ValidationError, match=r"update_model does not change a status \(asked: 'trained'\): "
                                              r"catalog.set_model_status"):
        catalog.update_model(model.id, description="d", status="trained")
    assert (catalog.get_model(model.id).status, catalog.get_model(model.id).description) == ("created", "")


def test_update_execution_refuses_a_status_and_names_the_owner(catalog, model):
    ex = catalog.create_execution("train", model_id=model.id)
    with pytest.raises(ValidationError, match="set_execution_status"):
        catalog.update_execution(ex.id, status="in-progress")
    assert catalog.get_execution(ex.id).status == "created"


def test_a_pipeline_run_ends_only_with_a_final_status(catalog, model):
    from desktop_app.pipelines import lock
    pipe = catalog.create_pipeline(model.project_id, "pipe", {})
    run = lock.claim(catalog, pipe.id)
    with pytest.raises(TransitionError, match="cannot go from running to running"):
        lock.end_run(catalog, run, PipelineRunStatus.RUNNING, run.steps, run.details)
    with pytest.raises(ValidationError, match="unknown pipeline run status 'won'"):
        lock.end_run(catalog, run, "won", run.steps, run.details)
    lock.end_run(catalog, run, "failed", run.steps, run.details)
    assert catalog.get_pipeline_run(run.id).status == PipelineRunStatus.FAILED


def test_service_statuses_are_checked_words():
    assert ServiceStatus.LIVE == (ServiceStatus.STARTING, ServiceStatus.RUNNING)
