"""Fixing ground truth in the review viewer: accept, delete, relabel, move / resize, undo / redo, each saved
at once with who / when / before, the item marked reviewed; two models side by side and the regressions."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from review_fixtures import evaluate, evaluated, oracle_model  # noqa: E402

from desktop_app.evaluation import compare  # noqa: E402
from desktop_app.evaluation.review import InstanceFilter, ReviewSession  # noqa: E402
from desktop_app.gui.review_commands import current_user  # noqa: E402
from desktop_app.gui.views.review_page import ReviewPage, ReviewPanel  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def ev(client):
    return evaluated(client, "oracle-b")


@pytest.fixture
def panel(qtbot, client, ev):
    p = ReviewPanel(client)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    s = ReviewSession(ev)
    p.set_sessions([s])
    yield p
    p.shutdown()


def open_instance(panel, kind: str):
    s = panel.sessions[0]
    row = s.table.row(s.select(InstanceFilter(kinds=(kind,)))[0])
    panel.set_items([row["item_id"]], 0, {row["item_id"]: row["annotation_id"]})
    assert panel.selected() is not None and panel.selected().id == row["annotation_id"]
    return row


def gt_of(cat, item_id):
    return {a.id: a for a in cat.list_annotations(item_ids=[item_id], ground_truth=True)}


def test_accept_a_prediction_then_undo_and_redo(qtbot, client, panel):
    cat = client.catalog
    row = open_instance(panel, "fn")      # an item with a miss: accept a prediction elsewhere on it
    item_id = row["item_id"]
    preds = [b for b in panel.viewers[0].boxes() if b.annotation.is_prediction]
    if not preds:
        row = open_instance(panel, "fp")
        item_id = row["item_id"]
        preds = [b for b in panel.viewers[0].boxes() if b.annotation.is_prediction]
    pred = preds[0].annotation
    panel.viewers[0].select_annotation(pred.id)
    assert panel.accept_button.isEnabled() and not panel.delete_button.isEnabled()
    before = gt_of(cat, item_id)
    assert not cat.get_item(item_id).reviewed
    qtbot.keyClick(panel.viewers[0], Qt.Key.Key_A)
    after = gt_of(cat, item_id)
    (new_id,) = set(after) - set(before)
    new = after[new_id]
    assert (new.label, new.box, new.type) == (pred.label, pred.box, "box") and new.score is None
    assert new.metadata.get("accepted_from") == pred.id
    assert cat.get_item(item_id).reviewed
    log = cat.annotation_changes(item_id=item_id)
    assert log[-1].action == "create" and log[-1].who == current_user() and log[-1].annotation_id == new_id
    assert any(b.annotation.id == new_id and b.kind == "gt" for b in panel.viewers[0].boxes())
    panel.undo_stack.undo()
    assert gt_of(cat, item_id).keys() == before.keys()
    assert not cat.get_item(item_id).reviewed                        # undo puts the flag back too
    assert cat.annotation_changes(item_id=item_id)[-1].action == "delete"
    panel.undo_stack.redo()
    assert new_id in gt_of(cat, item_id)                             # the same id again
    assert cat.get_item(item_id).reviewed


def test_delete_and_relabel_ground_truth_with_undo(qtbot, client, panel):
    cat = client.catalog
    row = open_instance(panel, "fn")
    item_id, ann_id = row["item_id"], row["annotation_id"]
    original = cat.get_annotation(ann_id)
    assert panel.delete_button.isEnabled() and not panel.accept_button.isEnabled()
    # relabel
    new_label = next(lb for lb in panel.sessions[0].labels if lb != original.label)
    panel.relabel_selected(new_label)
    assert cat.get_annotation(ann_id).label == new_label
    ch = cat.annotation_changes(item_id=item_id)[-1]
    assert ch.action == "update" and ch.before["label"] == original.label and ch.after["label"] == new_label
    assert ch.who == current_user() and ch.at
    assert cat.get_item(item_id).reviewed
    assert panel.selected().id == ann_id and panel.selected().label == new_label   # still selected, redrawn
    # delete (the Delete key)
    qtbot.keyClick(panel.viewers[0], Qt.Key.Key_Delete)
    assert ann_id not in gt_of(cat, item_id)
    assert cat.annotation_changes(item_id=item_id)[-1].action == "delete"
    assert all(b.annotation.id != ann_id for b in panel.viewers[0].boxes())
    # undo both (Ctrl+Z): back as it was, same id, flag cleared
    qtbot.keyClick(panel.viewers[0], Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert cat.get_annotation(ann_id).label == new_label
    qtbot.keyClick(panel.viewers[0], Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    back = cat.get_annotation(ann_id)
    assert (back.label, back.box) == (original.label, original.box)
    assert not cat.get_item(item_id).reviewed
    assert not panel.undo_stack.canUndo() and panel.undo_stack.canRedo()
    panel.undo_stack.redo()
    assert cat.get_annotation(ann_id).label == new_label


def test_drag_moves_and_a_corner_resizes_a_box(qtbot, client, panel):
    cat = client.catalog
    row = open_instance(panel, "fn")
    ann_id = row["annotation_id"]
    v = panel.viewers[0]
    assert v.selected_annotation().id == ann_id
    l, t, r, b = cat.get_annotation(ann_id).box
    v.fit()
    z = v.zoom

    def at(x, y) -> QPoint:
        return v.mapFromScene(x, y)

    # move: press inside, drag 10 image pixels right and 5 down
    cx, cy = (l + r) / 2, (t + b) / 2
    qtbot.mousePress(v.viewport(), Qt.MouseButton.LeftButton, pos=at(cx, cy))
    qtbot.mouseMove(v.viewport(), at(cx + 5, cy + 2))
    qtbot.mouseMove(v.viewport(), at(cx + 10, cy + 5))
    qtbot.mouseRelease(v.viewport(), Qt.MouseButton.LeftButton, pos=at(cx + 10, cy + 5))
    moved = cat.get_annotation(ann_id).box
    assert moved == pytest.approx([l + 10, t + 5, r + 10, b + 5], abs=1.5 / z + 0.5)
    assert cat.annotation_changes(item_id=row["item_id"])[-1].before["coordinates"] == pytest.approx([l, t, r, b])
    assert panel.undo_stack.undoText().startswith("move")
    # resize: the selected box's bottom-right corner, 8 pixels out
    assert v.selected_annotation().id == ann_id                    # still selected after the redraw
    ml, mt, mr, mb = moved
    qtbot.mousePress(v.viewport(), Qt.MouseButton.LeftButton, pos=at(mr, mb))
    qtbot.mouseMove(v.viewport(), at(mr + 4, mb + 4))
    qtbot.mouseMove(v.viewport(), at(mr + 8, mb + 8))
    qtbot.mouseRelease(v.viewport(), Qt.MouseButton.LeftButton, pos=at(mr + 8, mb + 8))
    resized = cat.get_annotation(ann_id).box
    assert resized[:2] == pytest.approx([ml, mt], abs=0.01)
    assert resized[2:] == pytest.approx([mr + 8, mb + 8], abs=1.5 / z + 0.5)
    assert panel.undo_stack.undoText().startswith("resize")
    panel.undo_stack.undo()
    panel.undo_stack.undo()
    assert cat.get_annotation(ann_id).box == pytest.approx([l, t, r, b])
    # predictions do not move
    pred = next((bx for bx in v.boxes() if bx.annotation.is_prediction), None)
    if pred is not None:
        n = panel.undo_stack.count()
        panel._on_box_edited(0, pred.annotation.id, pred.annotation.box, [0, 0, 5, 5])
        assert panel.undo_stack.count() == n


def test_two_models_side_by_side_and_the_regressions(qtbot, client):
    ev_a = evaluated(client, "oracle-a")
    ev_b = evaluate(client, oracle_model(client, "oracle-b"))
    page = ReviewPage(client)
    qtbot.addWidget(page)
    page.resize(1400, 800)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.set_evaluations(f"{ev_a.id},{ev_b.id}")
    sa, sb = ReviewSession(ev_a), ReviewSession(ev_b)
    want = compare.regressions(sa.item_errors(), sb.item_errors(), sa.table.item_ids.tolist(),
                               sb.table.item_ids.tolist())
    assert want, "variant B gets some images wrong that A gets right"
    assert page.filter.currentData() == "regressions"
    assert [page.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(page.list.count())] == want
    panel = page.panel
    assert panel.item_ids == want and panel.current_item_id == want[0]
    a, b = panel.viewers
    # the same image in both panes, each with its own model's predictions
    assert {x.annotation.model_id for x in a.boxes() if x.annotation.is_prediction} <= {ev_a.model_id}
    assert {x.annotation.model_id for x in b.boxes() if x.annotation.is_prediction} <= {ev_b.model_id}
    assert any(x.kind in ("fp", "fn") for x in b.boxes())            # B is wrong here ...
    assert not any(x.kind in ("fp", "fn") for x in a.boxes())        # ... and A right
    # synchronised zoom and scroll
    a.zoom_to(12.0)
    assert b.zoom == pytest.approx(12.0)
    a.horizontalScrollBar().setValue(a.horizontalScrollBar().maximum())
    assert b.horizontalScrollBar().value() == a.horizontalScrollBar().value() > 0
    b.zoom_to(1.5)
    assert a.zoom == pytest.approx(1.5)
    # keyboard through the list, the list follows
    qtbot.keyClick(b, Qt.Key.Key_Right)
    assert panel.current_item_id == want[1] and page.list.currentRow() == 1
    # the other lists
    page.filter.setCurrentIndex(page.filter.findData("improvements"))
    assert panel.item_ids == compare.regressions(sb.item_errors(), sa.item_errors(), sb.table.item_ids.tolist(),
                                                 sa.table.item_ids.tolist())
    page.shutdown()


def test_compare_page_opens_the_side_by_side_review(qtbot, window, client):
    ev_a = evaluated(client, "oracle-a")
    ev_b = evaluate(client, oracle_model(client, "oracle-b"))
    window.refresh_tree()
    window.navigate("compare", f"{ev_a.model_id},{ev_b.model_id}")
    cp = window.pages.pages["compare"]
    assert cp.review_button.isEnabled()
    cp.open_review()
    rp = window.pages.pages["review"]
    qtbot.waitUntil(lambda: bool(rp.sessions), timeout=WAIT_MS)
    assert window.pages.currentWidget() is rp
    assert [s.view.id for s in rp.sessions] == [ev_a.id, ev_b.id]
