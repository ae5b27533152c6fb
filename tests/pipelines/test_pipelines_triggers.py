"""Triggers: N reviewed ground-truth changes since the last run's snapshot, schedules, the trigger loop."""

from __future__ import annotations

import time

from desktop_app.formats.base import Annotation
from desktop_app.pipelines import triggers
from pipehelpers import SMALL, wait_until


def test_the_count_trigger_fires_after_n_reviewed_annotation_changes(dl, champion):
    p = dl.pipelines.create("reviews", champion=champion, training={"skill": 0.9}, max_items=SMALL,
                            trigger="annotations:3")
    cat = dl.default_client().catalog
    calls: list = []

    def launch(catalog, pipeline_id, trigger):
        calls.append((pipeline_id, trigger))

    assert p.pending_changes() == 0 and not p.due().fire
    items = dl.datasets.get("shapes").items.list({"subset": "train"}, limit=4)

    def gt_class(item):
        return next(a for a in item.annotations.list(ground_truth=True) if a.type == "class")

    # A fix marks its item reviewed; the same annotation fixed twice is one change.
    gt_class(items[0]).update(label="star", who="alice")
    gt_class(items[0]).update(label="circle", who="alice")
    assert p.pending_changes() == 1
    # Predictions are not ground truth: adding or deleting one counts for nothing, reviewed or not.
    pred_id = cat.add_annotations(items[1].id, [Annotation(type="class", label="star", model_name="dial-v1")],
                                  model_id=champion.id, creator="model", record_change=True)[0]
    cat.delete_annotation(pred_id, who="alice")
    assert p.pending_changes() == 1
    gt_class(items[1]).update(label="square", who="bob")
    # A new ground-truth annotation counts once its item is marked reviewed.
    cat.add_annotations(items[2].id, [Annotation(type="class", label="triangle")], creator="bob", record_change=True)
    assert p.pending_changes() == 2
    assert triggers.tick(cat, launch=launch) == [] and calls == []
    items[2].mark_reviewed()
    assert p.pending_changes() == 3
    due = p.due()
    assert due.fire and due.reason.startswith("3 of 3")

    # The real thing: tick starts a detached run, which promotes; the count restarts from its snapshot.
    assert triggers.tick(cat) == [p.id]
    run = p.last_run
    assert run.trigger == "annotations"
    assert triggers.tick(cat) == []  # it is running: a second trigger starts nothing
    run.wait(timeout=180)
    assert run.status == "promoted", f"{run.error}\n{run.logs()}"
    assert p.pending_changes() == 0 and not p.due().fire
    gt_class(items[3]).update(label="star", who="carol")
    assert p.pending_changes() == 1


def test_the_schedule_trigger_and_the_trigger_loop(dl, champion, monkeypatch):
    p = dl.pipelines.create("nightly", champion=champion, max_items=SMALL, trigger="schedule:1h")
    manual = dl.pipelines.create("by-hand", champion=champion, max_items=SMALL)
    cat = dl.default_client().catalog
    calls: list = []
    now = time.time()
    assert not p.due().fire and "of 3600 s" in p.due().reason
    assert triggers.tick(cat, launch=lambda c, pid, t: calls.append((pid, t)), now=now + 3601) == [p.id]
    assert calls == [(p.id, "schedule")]
    assert not manual.due().fire
    p.update(enabled=False)
    assert triggers.due(cat, cat.get_pipeline(p.id), now=now + 3601).reason == "disabled"

    ticks: list = []
    real_tick = triggers.tick
    monkeypatch.setattr(triggers, "tick", lambda catalog: ticks.append(1) or real_tick(catalog))
    service = triggers.TriggerService(cat, poll_s=0.05).start()
    try:
        wait_until(lambda: len(ticks) >= 3, 10, what="three checks of the trigger loop")
    finally:
        service.stop()
    assert service.started == [] and service._thread is None
