"""The runner dying mid-run (kill -9, the app closing) never half-promotes; the run resumes; cancel stops it."""

from __future__ import annotations

import os
import signal

from pipehelpers import SMALL, wait_until


def _training(run, dl):
    job_id = (run.refresh().step("train").get("output") or {}).get("train_execution_id")
    return job_id and dl.executions.get(job_id).status == "in-progress" and job_id


def test_kill_9_of_the_runner_mid_training_leaves_the_champion_and_the_run_resumes(dl, champion):
    p = dl.pipelines.create("crash", champion=champion, max_items=SMALL,
                            training={"skill": 0.9, "epochs": 16, "sleep": 0.25})
    run = p.run(wait=False)
    pid = run.details["owner"]["pid"]
    assert pid != os.getpid() and p.status == "running"
    job_id = wait_until(lambda: _training(run, dl), 90, what="training in progress")

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: run.refresh().status == "interrupted", 30, what="the run marked interrupted")
    assert run.failed_step == "train" and run.step("train")["status"] == "interrupted"
    assert dl.executions.get(run.step("train")["execution_id"]).status == "interrupted"
    assert p.refresh().status == "idle"
    assert p.champion == champion and len(p.history()) == 1  # no half-promotion
    assert not any(a["model_id"] == run.challenger.id for a in p.history())

    # Resume: the training job (it survived in its own worker) is picked up again, not started twice.
    run.resume()
    assert run.status == "promoted", f"{run.error}\n{run.logs()}"
    assert run.step("train")["output"]["train_execution_id"] == job_id
    assert len(run.step("train")["attempts"]) == 2 and len(run.step("clone")["attempts"]) == 1
    assert p.champion == run.challenger and run.details["resumes"] == 1


def test_cancel_stops_the_run_and_its_job_and_sigterm_interrupts_the_runner(dl, champion):
    p = dl.pipelines.create("stop", champion=champion, max_items=SMALL,
                            training={"skill": 0.9, "epochs": 60, "sleep": 0.25})
    run = p.run(wait=False)
    job_id = wait_until(lambda: _training(run, dl), 90, what="training in progress")
    run.cancel()
    run.wait(timeout=60)
    assert run.status == "canceled" and run.failed_step == "train"
    wait_until(lambda: dl.executions.get(job_id).status == "canceled", 30, what="the training job canceled")
    assert p.champion == champion and p.refresh().status == "idle"

    # Resumed in a detached runner, the job continues; the app closing (SIGTERM) leaves it interrupted.
    run.resume(wait=False)
    wait_until(lambda: _training(run, dl) == job_id, 90, what="the training job resumed")
    os.kill(run.details["owner"]["pid"], signal.SIGTERM)
    run.wait(timeout=60)
    assert run.status == "interrupted" and "runner was stopped" in run.error
    assert p.champion == champion and p.refresh().status == "idle"
    dl.executions.get(job_id).cancel()  # the job would go on; nothing resumes it here
