"""The label-next queue (issue 14): the dialog ranks by the chosen strategy, the queue opens in the review viewer
in that order with each item's score and the model's predictions as proposals; accepting one makes ground truth
and marks the item reviewed (who, when), skip does not, undo takes both back, and the pipelines' trigger counts
each item labelled once. Stored predictions written through the catalog; no training."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from desktop_app.domain.annotations import Annotation  # noqa: E402
from desktop_app.gui.dialogs.label_next_dialog import LabelNextDialog  # noqa: E402
from desktop_app.gui.views.label_queue_page import LabelQueuePage  # noqa: E402
from desktop_app.workflows.labeling import queue_label_count, review_mark  # noqa: E402

LABELS = ["a", "b", "c"]
# item n's class probabilities: entropy order 3 (uniform), 4, 1, 0; margin order 4 (a tie), 3, 1, 0; item 2 has no
# prediction, item 5 is labelled
PROBS = {0: [0.96, 0.02, 0.02], 1: [0.5, 0.45, 0.05], 3: [0.34, 0.33, 0.33], 4: [0.45, 0.45, 0.1],
         5: [0.34, 0.33, 0.33]}


@pytest.fixture
def pool(client, tmp_path):
    project = client.projects.create("queue")
    ds = project.datasets.create("pool", labels=LABELS)
    cat = client.catalog
    ids = []
    for n in range(6):
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (40, 30), (n * 40, 90, 160)).save(path)
        ids.append(cat.add_item(ds.id, path).id)
    cat.add_annotations(ids[5], [Annotation(type="class", label="a")])
    model = client.packages.get(package_name="resnet").models.create(model_name="m", project_id=project.id,
                                                                     dataset_id=ds.id, labels=LABELS)
    preds = {}
    for n, p in PROBS.items():
        k = max(range(3), key=lambda j: p[j])
        preds[ids[n]] = [Annotation(type="class", label=LABELS[k], score=p[k], metadata={"scores": p})]
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    return ds, model, ids


def _new_labels(cat, spec, since):
    """What the pipelines' "annotations" trigger counts (pipelines.triggers.pending_changes) since `since`."""
    return queue_label_count(cat, spec.dataset_id, since)


def _rank(qtbot, dlg, strategy="entropy"):
    dlg.strategy.setCurrentIndex(dlg.strategy.findData(strategy))
    with qtbot.waitSignal(dlg.ranked, timeout=10_000) as sig:
        dlg.rank_button.click()
    return sig.args[0]


@pytest.fixture
def queue(qtbot, client, pool):
    ds, model, ids = pool
    dlg = LabelNextDialog(client, None, dataset_id=ds.id)
    qtbot.addWidget(dlg)
    assert dlg.model.currentData() == model.id
    spec = _rank(qtbot, dlg)
    page = LabelQueuePage(client)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.set_queue(spec)
    yield page, spec, ids
    page.shutdown()


def test_the_dialog_ranks_by_the_strategy_chosen(qtbot, client, pool):
    ds, model, ids = pool
    dlg = LabelNextDialog(client, None, model_id=model.id)
    qtbot.addWidget(dlg)
    assert dlg.dataset.currentData() == ds.id
    # no feature set: diversity is off and the dialog says why
    assert not dlg.diversity.isEnabled() and "no feature set" in dlg.diversity_note.text()
    spec = _rank(qtbot, dlg, "entropy")
    assert spec.items == [ids[3], ids[4], ids[1], ids[0]]              # highest entropy first
    assert spec.scores == sorted(spec.scores, reverse=True) and spec.scores[0] == pytest.approx(1.0, abs=1e-3)
    assert spec.unscored == [ids[2]] and "1 item(s) have no prediction" in dlg.result.text()
    assert dlg.predict_button.isVisible() or not dlg.isVisible()
    assert dlg.ok.isEnabled()
    dlg.k.setValue(2)
    assert not dlg.ok.isEnabled()                                      # changed since the ranking
    margin = _rank(qtbot, dlg, "margin")
    assert margin.items == [ids[4], ids[3]] and margin.strategy == "margin"
    dlg.unlabeled.setChecked(False)
    everything = _rank(qtbot, dlg, "entropy")
    assert set(everything.items) == {ids[3], ids[5]}                   # the labelled item 5 is as unsure
    with qtbot.waitSignal(dlg.queue_ready, timeout=2000) as sig:
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert sig.args[0] is everything


def test_the_queue_opens_in_the_review_viewer_in_rank_order(queue):
    page, spec, ids = queue
    assert page.panel.item_ids == spec.items == [ids[3], ids[4], ids[1], ids[0]]
    assert page.panel.current_item_id == ids[3]
    assert page.list.count() == 4 and page.list.currentRow() == 0
    assert "#1" in page.score.text() and "entropy score 1.000" in page.score.text()
    assert page.progress.text() == "0 of 4 labelled"
    chips = page.panel.viewers[0].class_chips()
    assert [(a.label, kind) for a, kind, _text in chips] == [("a", "pred")]   # the proposal, violet
    assert page.panel.pred_box.isVisible() and not page.panel.layer_boxes["tp"].isVisible()
    assert page.panel.class_button.isVisible() and not page.panel.draw_button.isVisible()   # a classifier's queue
    page.panel.next()
    assert page.list.currentRow() == 1 and "#2" in page.score.text()


def test_accept_labels_and_marks_reviewed_skip_does_not_undo_takes_back(qtbot, client, queue):
    page, spec, ids = queue
    cat, panel = client.catalog, page.panel
    since = page.opened_at
    # skip: nothing saved, nothing marked
    page.skip()
    assert panel.current_item_id == ids[4] and not cat.get_item(ids[3]).reviewed
    assert page.progress.text() == "0 of 4 labelled"
    # accept the proposal on item 4: a ground-truth class, the item reviewed by this user, now
    pred = panel.viewers[0].class_chips()[0][0]
    panel.viewers[0].select_annotation(pred.id)
    new_id = panel.accept_selected()
    gt = cat.list_annotations(item_ids=[ids[4]], ground_truth=True)
    assert [(a.id, a.label) for a in gt] == [(new_id, "a")]
    item = cat.get_item(ids[4])
    mark = review_mark(item)
    assert item.reviewed and mark["by"] == panel.who and mark["at"] >= since and mark["via"] == "label-next"
    assert "reviewed by" in panel.reviewed.text()
    assert page.progress.text() == "1 of 4 labelled" and page.list.item(1).text().endswith("✓")
    assert _new_labels(cat, spec, since) == 1
    # a second edit on the same item: still one label, one more undo step
    panel.set_class("b")
    assert [a.label for a in cat.list_annotations(item_ids=[ids[4]], ground_truth=True)] == ["b"]
    assert _new_labels(cat, spec, since) == 1
    # undo as the viewer's other edits: the relabel, then the accept and the mark together
    panel.undo_stack.undo()
    assert [a.label for a in cat.list_annotations(item_ids=[ids[4]], ground_truth=True)] == ["a"]
    assert page.progress.text() == "1 of 4 labelled"
    panel.undo_stack.undo()
    assert cat.list_annotations(item_ids=[ids[4]], ground_truth=True) == []
    assert not cat.get_item(ids[4]).reviewed and review_mark(cat.get_item(ids[4])) is None
    assert page.progress.text() == "0 of 4 labelled" and not page.list.item(1).text().endswith("✓")
    panel.undo_stack.redo()
    assert cat.get_item(ids[4]).reviewed and page.progress.text() == "1 of 4 labelled"
    # Done: labelled as it is (no change to the annotations), then the next item
    page.done()                      # item 4 is labelled already: nothing more, the next
    assert panel.current_item_id == ids[1] and page.progress.text() == "1 of 4 labelled"
    page.done()
    assert panel.current_item_id == ids[0] and page.progress.text() == "2 of 4 labelled"
    assert cat.list_annotations(item_ids=[ids[1]], ground_truth=True) == [] and cat.get_item(ids[1]).reviewed
    assert _new_labels(cat, spec, since) == 2


def test_draw_a_box_and_accept_a_box_proposal(qtbot, client, queue):
    page, spec, ids = queue
    cat, panel = client.catalog, page.panel
    cat.replace_predictions(spec.model_id, "m", {ids[3]: [Annotation(type="box", label="c", score=0.55,
                                                                     coordinates=[2, 2, 20, 20])]}, spec.dataset_id)
    panel.reload()
    drawn = panel.viewers[0].boxes("pred")
    assert [(d.annotation.label, d.kind) for d in drawn] == [("c", "pred")]
    panel.viewers[0].select_annotation(drawn[0].annotation.id)
    panel.accept_selected()
    assert panel.viewers[0].boxes("pred") == []                # accepted: drawn as ground truth, no longer proposed
    assert [d.annotation.label for d in panel.viewers[0].boxes("gt")] == ["c"]
    panel.label_combo.setCurrentText("b")
    panel.draw_button.setChecked(True)
    assert panel.viewers[0].draw_mode
    box_id = panel.draw_box([5, 5, 15, 12])
    gt = {a.id: (a.label, a.box) for a in cat.list_annotations(item_ids=[ids[3]], ground_truth=True)}
    assert gt[box_id] == ("b", [5, 5, 15, 12]) and len(gt) == 2
    assert page.progress.text() == "1 of 4 labelled"          # two edits, one item
    panel.undo_stack.undo()
    assert len(cat.list_annotations(item_ids=[ids[3]], ground_truth=True)) == 1
    # with the mouse: a drag in draw mode draws the box (image coordinates, clamped to the image)
    viewer = panel.viewers[0]
    a, b = viewer.mapFromScene(QPointF(4, 6)), viewer.mapFromScene(QPointF(30, 25))
    qtbot.mousePress(viewer.viewport(), Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(viewer.viewport(), pos=b)
    with qtbot.waitSignal(viewer.box_drawn, timeout=2000) as sig:
        qtbot.mouseRelease(viewer.viewport(), Qt.MouseButton.LeftButton, pos=b)
    l, t, r, bottom = sig.args[0]
    assert abs(l - 4) < 1.5 and abs(t - 6) < 1.5 and abs(r - 30) < 1.5 and abs(bottom - 25) < 1.5
    assert len(cat.list_annotations(item_ids=[ids[3]], ground_truth=True)) == 2


def test_the_window_opens_the_dialog_and_the_queue(qtbot, window, client, pool):
    ds, model, ids = pool
    window.refresh_tree()
    assert window.navigate("dataset", ds.id)
    assert window.label_next_action.isEnabled() and not window.label_next_model_action.isEnabled()
    dlg = window.open_label_next_dialog()
    assert dlg.dataset.currentData() == ds.id and dlg.model.currentData() == model.id
    spec = _rank(qtbot, dlg)
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    page = window.pages.currentWidget()
    assert isinstance(page, LabelQueuePage) and page.panel.item_ids == spec.items
    assert window.navigate("model", model.id) and window.label_next_model_action.isEnabled()
    # a dataset page's own Label next… button opens the same dialog, on that dataset
    assert window.navigate("dataset", ds.id)
    window.pages.currentWidget().label_next_action.trigger()
    assert window.dialogs[-1] is not dlg
    assert isinstance(window.dialogs[-1], LabelNextDialog) and window.dialogs[-1].dataset.currentData() == ds.id


class _PredictingActions:
    """Actions.predict as the window runs it, minus the worker: the predictions stored, the job ended."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def predict(self, model_id, item_ids, on_done, on_error, *, tasks=None):
        cat = self.client.catalog
        self.calls.append(list(item_ids))
        ds_id = cat.get_item(item_ids[0]).dataset_id
        cat.replace_predictions(model_id, "m", {i: [Annotation(type="class", label="b", score=0.4,
                                                               metadata={"scores": [0.3, 0.4, 0.3]})]
                                                for i in item_ids}, ds_id)
        ex = cat.create_execution("predict", model_id=model_id)
        cat.set_execution_status(ex.id, "in-progress")
        cat.set_execution_status(ex.id, "success")
        on_done(cat.get_execution(ex.id))


def test_items_without_a_prediction_are_predicted_first_then_ranked_again(qtbot, client, pool):
    ds, model, ids = pool
    actions = _PredictingActions(client)
    dlg = LabelNextDialog(client, actions, dataset_id=ds.id, model_id=model.id)
    qtbot.addWidget(dlg)
    dlg.show()
    spec = _rank(qtbot, dlg)
    assert spec.unscored == [ids[2]] and dlg.predict_button.isVisible()
    with qtbot.waitSignal(dlg.ranked, timeout=10_000) as sig:
        dlg.predict_button.click()
    assert actions.calls == [[ids[2]]]
    again = sig.args[0]
    assert again.unscored == [] and ids[2] in again.items and len(again.items) == 5
    assert not dlg.predict_button.isVisible()
