"""Full pipeline runs on the sample 'shapes' set at tiny sizes (CPU): promote, discard, per-class block, resume."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from desktop_app.errors import AlreadyExistsError, ValidationError
from desktop_app.pipelines import lock
from desktop_app.pipelines.api import PipelineBusyError
from pipehelpers import SMALL


def _report(run) -> str:
    return f"{run.status} at {run.failed_step}: {run.error}\n{run.logs()}"


def test_a_better_challenger_is_promoted_and_every_step_is_recorded(dl, champion):
    p = dl.pipelines.create("improve", champion=champion, training={"skill": 0.9}, max_items=SMALL)
    assert p.champion == champion and p.status == "idle"
    run = p.run()
    assert run.status == "promoted", _report(run)
    challenger = run.challenger
    assert p.champion == challenger and challenger.parent_id == champion.id
    assert p.status == "idle"

    # Each step is an execution of its own (kind 'pipeline') with a log; the jobs it ran are linked.
    steps = run.steps
    assert [s["name"] for s in steps] == list(lock.STEPS)
    for s in steps:
        assert s["status"] == "success"
        ex = dl.executions.get(s["execution_id"])
        assert ex.kind == "pipeline" and ex.status == "success"
        assert f"step {s['name']} (attempt 1) started" in ex.logs()
    train_job = dl.executions.get(run.step("train")["output"]["train_execution_id"])
    assert train_job.kind == "train" and train_job.model_id == challenger.id and train_job.status == "success"
    ev = run.step("evaluate")["output"]
    assert dl.executions.get(ev["champion"]["execution_id"]).model_id == champion.id

    # The snapshot froze ids + versions in the store; the challenger trained and was tested on exactly them.
    snap = run.snapshot
    assert snap.counts()["train"] == SMALL["train"] and snap.counts()["test"] == SMALL["test"]
    blob = json.loads(dl.default_client().catalog.store.path(snap.sha).read_bytes())
    assert blob["subsets"]["test"]["items"][0][1].endswith("Z")  # [id, updated_at]
    assert challenger.train_filter == {"item_ids": snap.item_ids("train")}
    assert json.loads(challenger.artifacts.get("dial.json").local_path.read_text())["trained_on"] == SMALL["train"]
    assert run.drift() == {k: [] for k in ("items_changed", "items_deleted", "annotations_changed",
                                           "annotations_deleted", "annotations_added")}
    name = ev["evaluation_name"]
    for model in (champion, challenger):
        view = model.evaluations.get(name)
        assert view.record.filter == {"item_ids": snap.item_ids("test")}
    # The decision and the figures behind it are on the run.
    prim = run.decision["figures"]["primary"]
    assert prim["metric"] == "accuracy" and prim["passed"]
    assert prim["challenger"] == pytest.approx(challenger.evaluations.get(name).summary["accuracy"])
    assert prim["challenger"] > prim["champion"]
    # Audit: who moved the alias to which model, when and why.
    hist = p.history()
    assert [h["model_id"] for h in hist] == [champion.id, challenger.id]
    assert hist[-1]["set_by"] == "pipeline:improve" and run.id in hist[-1]["reason"]
    assert hist[-1]["previous_model_id"] == champion.id


def test_a_worse_challenger_is_discarded_and_a_per_class_regression_blocks_promotion(dl, champion):
    p = dl.pipelines.create("guarded", champion=champion, training={"skill": 0.3}, max_items=SMALL,
                            gate={"max_class_drop": 0.1})
    run = p.run()
    assert run.status == "discarded", _report(run)
    assert p.champion == champion and len(p.history()) == 1
    assert run.challenger.metadata["pipeline"]["discarded"] is True
    assert run.step("promote")["output"]["action"] == "discarded"
    assert not run.decision["figures"]["primary"]["passed"]

    # Better on average, far worse on circles: the class rule blocks it.
    p.update(training={"skill": 0.95, "class_skill": {"circle": 0.05}})
    run2 = p.run()
    assert run2.status == "discarded", _report(run2)
    fig = run2.decision["figures"]
    assert fig["primary"]["passed"] and fig["primary"]["delta"] > 0.2
    assert fig["class_drop"]["failed_classes"] == ["circle"] and not fig["class_drop"]["passed"]
    assert any("drops by more than 0.100 on: circle" in r for r in run2.decision["reasons"])
    assert p.champion == champion and len(p.history()) == 1
    assert [r.status for r in p.runs()] == ["discarded", "discarded"]


def test_a_failed_step_leaves_the_champion_and_the_run_resumes_from_that_step(dl, champion):
    p = dl.pipelines.create("flaky", champion=champion, training={"skill": 0.9, "fail": True}, max_items=SMALL)
    run = p.run()
    assert run.status == "failed" and run.failed_step == "train"
    assert "the model code failed on purpose" in run.error
    assert [s["status"] for s in run.steps] == ["success", "success", "failed", "pending", "pending", "pending"]
    assert dl.executions.get(run.step("train")["execution_id"]).status == "failed"
    assert p.champion == champion and len(p.history()) == 1 and p.status == "idle"
    sha, challenger_id = run.snapshot.sha, run.challenger.id

    p.update(training={"skill": 0.9})  # the fix; 'fail' is dropped from the challenger's configuration
    run.resume()
    assert run.status == "promoted", _report(run)
    assert run.snapshot.sha == sha and run.challenger.id == challenger_id  # finished steps reused
    assert len(run.step("snapshot")["attempts"]) == 1 and len(run.step("train")["attempts"]) == 2
    assert "fail" not in run.challenger.configuration
    assert p.champion.id == challenger_id and len(p.runs()) == 1
    with pytest.raises(ValidationError, match="only failed, interrupted or canceled runs resume"):
        run.resume()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_two_triggers_at_once_start_one_run(dl, champion):
    p = dl.pipelines.create("once", champion=champion, max_items=SMALL)
    cat = dl.default_client().catalog
    barrier = threading.Barrier(8)
    results: list = []

    def trigger():
        barrier.wait()
        try:
            results.append(lock.claim(cat, p.id, trigger="annotations").id)
        except PipelineBusyError as e:
            results.append(e)

    threads = [threading.Thread(target=trigger) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == 1 and len(results) == 8
    assert p.refresh().status == "running"
    with pytest.raises(PipelineBusyError, match="already running"):
        p.run()
    # The holder's process is gone: the next trigger recovers the lock (the run becomes interrupted).
    assert lock.set_owner(cat, won[0], {"pid": _dead_pid()})
    run2 = lock.claim(cat, p.id, trigger="manual")
    assert cat.get_pipeline_run(won[0]).status == "interrupted"
    assert run2.details["number"] == 2
    assert len(cat.list_pipeline_runs(p.id)) == 2


def test_bad_definitions_are_refused_before_anything_is_stored(dl, champion):
    with pytest.raises(ValidationError, match="test subset of dataset 'shapes' is empty"):
        dl.pipelines.create("x", champion=champion, subsets={"test": {"subset": "test", "text": "no-such-name"}})
    with pytest.raises(ValidationError, match="share"):
        dl.pipelines.create("x", champion=champion, subsets={"test": {"subset": "train"}})
    with pytest.raises(ValidationError, match="mAP"):
        dl.pipelines.create("x", champion=champion, gate={"metric": "mAP"})
    with pytest.raises(ValidationError, match="trigger"):
        dl.pipelines.create("x", champion=champion, trigger="hourly")
    with pytest.raises(ValidationError, match="needs champion"):
        dl.pipelines.create("x")
    assert dl.pipelines.list() == []
    project = dl.projects.get("Sample project")
    p = project.pipelines.create("x", champion=champion)
    with pytest.raises(AlreadyExistsError):
        dl.pipelines.create("x", champion=champion)
    assert [q.name for q in project.pipelines.list()] == ["x"] and dl.pipelines.get("x") == p
    with pytest.raises(ValidationError, match="fixed"):
        p.update(alias="best")
    p.update(name="y", trigger="annotations:3")
    assert p.name == "y" and p.trigger.count == 3
    assert p.delete() and dl.pipelines.list() == []
