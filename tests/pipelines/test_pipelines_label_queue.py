"""The "annotations" trigger counts an item labelled in the label-next queue once, however many annotations its
labelling made: a pipeline with a threshold of N fires after N queue items are labelled, not before."""

from __future__ import annotations

from desktop_app.formats.base import Annotation
from desktop_app.pipelines import triggers
from desktop_app.workflows.labeling import QUEUE, mark_reviewed, restore_review, review_mark, reviewed_items
from pipehelpers import SMALL


def _label_in_queue(cat, item_id, who="alice", boxes=3):
    """What the queue does for one item: ground-truth boxes (the change log records each), then the mark."""
    anns = [Annotation(type="box", label="circle", coordinates=[k, k, k + 5, k + 5]) for k in range(boxes)]
    cat.add_annotations(item_id, anns, creator=who, record_change=True)
    return mark_reviewed(cat, item_id, who=who, model_id=None)


def test_the_trigger_fires_after_n_items_labelled_in_the_queue(dl, champion):
    p = dl.pipelines.create("queue", champion=champion, max_items=SMALL, trigger="annotations:3")
    cat = dl.default_client().catalog
    items = dl.datasets.get("shapes").items.list({"subset": "train"}, limit=5)
    assert p.pending_changes() == 0
    _label_in_queue(cat, items[0].id)
    # more edits on an item already labelled in the queue: still one
    cat.add_annotations(items[0].id, [Annotation(type="box", label="star", coordinates=[1, 1, 9, 9])],
                        creator="alice", record_change=True)
    assert p.pending_changes() == 1 and not p.due().fire
    _label_in_queue(cat, items[1].id, boxes=1)
    assert p.pending_changes() == 2 and not p.due().fire
    assert triggers.tick(cat, launch=lambda *a: None) == []
    # a labelling undone (the mark restored) counts nothing (its boxes go with the undo in the window)
    before = _label_in_queue(cat, items[2].id, boxes=0)
    assert p.pending_changes() == 3
    restore_review(cat, items[2].id, before)
    assert p.pending_changes() == 2 and not p.due().fire
    _label_in_queue(cat, items[3].id, who="bob", boxes=2)
    assert p.pending_changes() == 3
    due = p.due()
    assert due.fire and due.reason.startswith("3 of 3")
    calls = []
    assert triggers.tick(cat, launch=lambda c, pid, t: calls.append((pid, t))) == [p.id]
    assert calls == [(p.id, "annotations")]
    # the queue's marks: who, when, through which queue
    marks = reviewed_items(cat, items[0].dataset_id, via=QUEUE)
    assert set(marks) == {items[0].id, items[1].id, items[3].id}
    assert marks[items[3].id]["by"] == "bob" and review_mark(cat.get_item(items[3].id))["via"] == QUEUE
    assert cat.get_item(items[3].id).reviewed and not cat.get_item(items[2].id).reviewed


def test_other_reviewed_changes_still_count_per_annotation(dl, champion):
    p = dl.pipelines.create("mixed", champion=champion, max_items=SMALL, trigger="annotations:5")
    cat = dl.default_client().catalog
    items = dl.datasets.get("shapes").items.list({"subset": "train"}, limit=3)
    gt = [a for a in items[0].annotations.list(ground_truth=True) if a.type == "class"][0]
    gt.update(label="star", who="carol")          # a fix in the review viewer, outside the queue: one change
    cat.add_annotations(items[1].id, [Annotation(type="box", label="star", coordinates=[0, 0, 4, 4]),
                                      Annotation(type="box", label="star", coordinates=[4, 4, 8, 8])],
                        creator="carol", record_change=True)
    items[1].mark_reviewed()                       # reviewed, not through the queue: two changes
    assert p.pending_changes() == 3
    _label_in_queue(cat, items[2].id, boxes=4)     # through the queue: one
    assert p.pending_changes() == 4
