"""Who labelled an item and when: item.review, item.mark_reviewed(who=...), dataset.reviewed_items (the label-next
queue's marks, workflows.labeling)."""

from __future__ import annotations

from desktop_app.workflows.labeling import QUEUE, mark_reviewed, restore_review


def test_marks_say_who_when_and_through_what(dl):
    ds = dl.datasets.get("shapes")
    a, b, c = ds.items.list({"subset": "train"}, limit=3)
    assert a.review is None and ds.reviewed_items() == {}
    before = mark_reviewed(ds._client.catalog, a.id, who="alice", model_id="m1")
    b.mark_reviewed(who="bob")
    c.mark_reviewed()                                  # the flag alone: no mark
    marks = ds.reviewed_items()
    assert set(marks) == {a.id, b.id}
    assert (marks[a.id]["by"], marks[a.id]["via"], marks[a.id]["model_id"]) == ("alice", QUEUE, "m1")
    assert b.review["by"] == "bob" and b.review["via"] == "sdk" and b.reviewed
    assert set(ds.reviewed_items(via=QUEUE)) == {a.id}
    assert ds.reviewed_items(since=marks[b.id]["at"]) == {}
    assert set(ds.reviewed_items(since=marks[a.id]["at"])) == {b.id}
    restore_review(ds._client.catalog, a.id, before)   # undo
    item = ds.items.get(item_id=a.id)
    assert item.review is None and not item.reviewed
