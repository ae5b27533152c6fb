"""Fixing a classification label in the review viewer: the class chips are selectable (the ground truth starts
selected), Relabel / Delete / Accept work on them, each saved at once and undoable (issue 18: they stayed
disabled, only a selected box counted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))  # the digits helpers

from digits import digits_dataset, digits_model  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from desktop_app.evaluation.review import InstanceFilter, ReviewSession  # noqa: E402
from desktop_app.evaluation.store import EvaluationView  # noqa: E402
from desktop_app.gui.views.review_page import ReviewPanel  # noqa: E402
from desktop_app.workflows.evaluate import evaluate_model  # noqa: E402


@pytest.fixture
def panel(qtbot, client, tmp_path):
    ds = digits_dataset(client, tmp_path)
    model = digits_model(client, ds, tmp_path, name="lr", c=0.002)
    ev_id = evaluate_model(client.catalog, model.id, ds.id, name="digits")["evaluation_id"]
    p = ReviewPanel(client)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    p.set_sessions([ReviewSession(EvaluationView(client.catalog, client.catalog.get_evaluation(ev_id)))])
    yield p
    p.shutdown()


def _a_wrong_item(panel):
    """An item whose predicted class is not its true one, opened in the viewer with nothing focused."""
    s = panel.sessions[0]
    row = s.table.row(s.select(InstanceFilter(kinds=("fn",)))[0])
    panel.set_items([row["item_id"]], 0)
    chips = {ann.is_prediction: ann for ann, _kind, _text in panel.viewers[0].class_chips()}
    assert chips[True].label != chips[False].label
    return row["item_id"], chips[False], chips[True]


def _gt_classes(cat, item_id):
    return [a.label for a in cat.list_annotations(item_ids=[item_id], ground_truth=True) if a.type == "class"]


def test_relabel_a_class_then_undo(qtbot, client, panel):
    cat = client.catalog
    item_id, gt, pred = _a_wrong_item(panel)
    # the ground truth's chip starts selected: Relabel and Delete are live, Accept is not
    assert panel.selected() is not None and panel.selected().id == gt.id
    assert panel.relabel_button.isEnabled() and panel.delete_button.isEnabled()
    assert not panel.accept_button.isEnabled()
    panel.relabel_selected(pred.label)
    assert _gt_classes(cat, item_id) == [pred.label]
    assert cat.get_item(item_id).reviewed
    assert cat.annotation_changes(item_id=item_id)[-1].action == "update"
    panel.undo_stack.undo()
    assert _gt_classes(cat, item_id) == [gt.label]
    assert not cat.get_item(item_id).reviewed
    panel.undo_stack.redo()
    assert _gt_classes(cat, item_id) == [pred.label]


def test_clicking_the_predicted_chip_then_accept_replaces_the_class(qtbot, client, panel):
    cat = client.catalog
    item_id, gt, pred = _a_wrong_item(panel)
    viewer = panel.viewers[0]
    chip = next(c for c in viewer._chips if c.annotation.id == pred.id)
    tag = chip.childItems()[0]
    # chips keep their size on screen: where the tag is drawn comes from its device transform
    at = tag.deviceTransform(viewer.viewportTransform()).map(tag.boundingRect().center()).toPoint()
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert panel.selected().id == pred.id and tag.selected
    assert panel.accept_button.isEnabled() and not panel.relabel_button.isEnabled()
    qtbot.keyClick(viewer, Qt.Key.Key_A)
    assert _gt_classes(cat, item_id) == [pred.label]            # replaced, not a second class
    panel.undo_stack.undo()
    assert _gt_classes(cat, item_id) == [gt.label]


def test_delete_a_class_and_undo(qtbot, client, panel):
    cat = client.catalog
    item_id, gt, _pred = _a_wrong_item(panel)
    qtbot.keyClick(panel.viewers[0], Qt.Key.Key_Delete)
    assert _gt_classes(cat, item_id) == []
    panel.undo_stack.undo()
    assert _gt_classes(cat, item_id) == [gt.label]
