"""The evaluation page for segmentation: an instance model's COCO segm evaluation reads as mask AP with mask IoU
and its live thresholds move the counts to what the core computes; a semantic evaluation shows mIoU, pixel
accuracy, mean class accuracy, per-class IoU and a pixel confusion matrix as row shares (counts in the tooltip),
with no threshold, PR curve or instance to click."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import mask_eval_fixtures as mf  # noqa: E402

from desktop_app.evaluation.review import ReviewSession  # noqa: E402
from desktop_app.evaluation.store import EvaluationView  # noqa: E402
from desktop_app.gui.itemmodels.compare_model import format_value  # noqa: E402
from desktop_app.gui.views.evaluation_page import EvaluationPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def seg(client, tmp_path):
    project, ds = mf.dataset(client, tmp_path)
    return client, project, ds


@pytest.fixture
def page(qtbot, client):
    p = EvaluationPage(client)
    qtbot.addWidget(p)
    p.resize(1400, 850)
    p.show()
    yield p
    p.shutdown()


def load(qtbot, page, evaluation_id):
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.set_evaluation(evaluation_id)


def test_an_instance_segmentation_evaluation_reads_as_mask_ap_with_live_thresholds(qtbot, seg, page):
    client, project, ds = seg
    _, rec = mf.instance_evaluation(client, project, ds)
    assert rec.method == "coco" and rec.results["summary"]["iou_type"] == "segm"
    load(qtbot, page, rec.id)
    assert "instance segmentation (COCO masks)" in page.subtitle.text()
    titles = page.summary_titles()
    assert titles["mAP"] == "mask mAP" and titles["mAP50"] == "mask AP50" and titles["mAP75"] == "mask AP75"
    values = page.summary_values()
    summary = rec.results["summary"]
    for key in ("mAP", "mAP50", "mAP75", "tp", "fp", "fn"):
        assert values[key] == format_value(summary[key]), key
    assert page.summary_box.title().startswith("Masks at these thresholds")
    assert page.thresholds.isVisible() and page.thresholds.iou.isVisible()
    assert page.thresholds.iou_label.text() == "Mask IoU ≥"
    assert page.figures.isTabVisible(page.pr_tab) and "masks" in page.pr_chart.title_text()
    # per-class table and PR curves as for boxes
    headers = [page.class_table.horizontalHeaderItem(c).text() for c in range(page.class_table.columnCount())]
    assert headers[0] == "class" and "mask AP" in headers and "mask AP50" in headers and "tp" in headers
    assert {page.class_table.item(r, 0).text() for r in range(page.class_table.rowCount())} == set(ds.labels)
    assert set(page.pr_chart.curve_names()) <= set(ds.labels) and page.pr_chart.curve_names()
    # the sliders: the counts follow the core's at the new thresholds
    before = (values["tp"], values["fp"], values["fn"])
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        page.thresholds.set_values(0.55, 0.8)
        page.thresholds.changed.emit(0.55, 0.8)
    core = ReviewSession(EvaluationView(client.catalog, client.catalog.get_evaluation(rec.id)))
    core.update(iou_threshold=0.8, score_threshold=0.55)
    want = core.figures["summary"]
    values = page.summary_values()
    assert (values["tp"], values["fp"], values["fn"]) == tuple(format_value(want[k]) for k in ("tp", "fp", "fn"))
    assert (values["tp"], values["fp"], values["fn"]) != before
    assert page.confusion.matrix.matrix.tolist() == core.figures["confusion"]["matrix"]
    # instances are listed, as for boxes (the gallery of mistakes)
    assert page.gallery.model.rowCount() == want["fp"] + want["fn"]


def test_a_semantic_evaluation_shows_pixel_figures_and_a_row_normalised_pixel_matrix(qtbot, seg, page, tmp_path):
    client, project, ds = seg
    _, rec = mf.semantic_evaluation(client, project, ds)
    assert rec.method == "semantic"
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):      # the images, worst first, listed after
        load(qtbot, page, rec.id)
    assert "semantic segmentation (pixels)" in page.subtitle.text()
    summary = rec.results["summary"]
    titles = page.summary_titles()
    assert titles["miou"] == "mIoU" and titles["pixel_accuracy"] == "pixel accuracy"
    assert titles["mean_accuracy"] == "mean class accuracy"
    values = page.summary_values()
    for key in ("miou", "pixel_accuracy", "mean_accuracy"):
        assert values[key] == format_value(summary[key]), key
    assert 0.3 < summary["miou"] < 0.95            # perturbed: neither perfect nor chance
    # no box-only controls: no confidence, no serving threshold, no PR curve
    assert not page.thresholds.confidence.isVisible() and not page.keep_button.isVisible()
    assert page.thresholds.iou.isVisible() and "mistake below IoU" in page.thresholds.iou_label.text()
    assert not page.figures.isTabVisible(page.pr_tab) and not page.stored_box.isVisible()
    # per class: IoU, accuracy, pixels
    t = page.class_table
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert headers == ["class", "IoU", "accuracy", "pixels"]
    rows = {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, 4)] for r in range(t.rowCount())}
    per = rec.results["per_class"]
    assert set(rows) == {"background", *ds.labels}
    for lb, (iou, acc, pixels) in rows.items():
        assert iou == format_value(per[lb]["iou"]) and acc == format_value(per[lb]["accuracy"])
        assert pixels == f"{per[lb]['pixels']:,}"
    # the confusion matrix: pixels, rows normalised, readable labels, counts in the tooltip
    cm = page.confusion.matrix
    matrix = np.array(rec.results["confusion"]["matrix"])
    assert cm.labels == ["background", *ds.labels] and cm.matrix.tolist() == matrix.tolist()
    assert matrix.sum() == mf.SIZE * mf.SIZE * rec.results["n_items"]
    assert page.confusion.normalize.isChecked() and cm.normalize and not cm.clickable
    shown = cm.shown_values()
    np.testing.assert_allclose(shown.sum(axis=1)[matrix.sum(axis=1) > 0], 1.0)
    np.testing.assert_allclose(shown, matrix / matrix.sum(axis=1, keepdims=True))
    i, j = 1, 0
    tip = cm.cell_tip(i, j)
    assert f"{int(matrix[i, j]):,} pixels" in tip and f"true {ds.labels[0]}, predicted background" in tip
    assert "pixel" in page.confusion.hint.text()
    with qtbot.assertNotEmitted(page.confusion.cell_clicked):
        from PySide6.QtCore import Qt
        qtbot.mouseClick(cm, Qt.MouseButton.LeftButton, pos=cm.cell_rect(1, 2).center().toPoint())
    assert page.right.currentWidget() is page.worst
    worst = EvaluationView(client.catalog, client.catalog.get_evaluation(rec.id)).worst_items()
    wt = page.worst.table
    assert wt.rowCount() == len(worst) > 0
    assert wt.item(0, 0).text() == client.catalog.get_item(worst[0]["item_id"]).name
    assert wt.item(0, 1).text() == format_value(worst[0]["miou"])
    # the IoU slider: which of an image's classes are mistakes, as the core lists them
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        page.thresholds.set_values(0.0, 0.9)
        page.thresholds.changed.emit(0.0, 0.9)
    strict = EvaluationView(client.catalog, client.catalog.get_evaluation(rec.id)).worst_items(iou_threshold=0.9)
    shown = [wt.item(r, 3).text() for r in range(wt.rowCount())]
    assert shown == [", ".join(r["below"]) for r in strict]
    assert sum(len(r["below"]) for r in strict) > sum(len(r["below"]) for r in worst)
    assert wt.horizontalHeaderItem(3).text() == "classes below IoU 0.90"
    assert page.summary_values()["miou"] == format_value(summary["miou"])        # the pixel figures stay
    files = page.export(tmp_path / "export")          # figures and the pixel matrix; no empty PR chart
    assert sorted(f.name for f in files) == ["test-confusion.png", "test.csv", "test.json"]
    # then an instance evaluation on the same page: its controls return, its matrix counts instances again
    _, inst = mf.instance_evaluation(client, project, ds)
    load(qtbot, page, inst.id)
    assert page.thresholds.confidence.isVisible() and page.keep_button.isVisible()
    assert page.figures.isTabVisible(page.pr_tab)
    assert page.right.currentWidget() is page.gallery
    assert cm.clickable and not cm.normalize and cm.unit == ""


def test_compact_counts_and_shares():
    from desktop_app.gui.widgets.confusion_matrix import compact, share_text
    assert [compact(v) for v in (7, 950, 12_345, 3_456_789, 2.5e9)] == ["7", "950", "12k", "3.5M", "2.5G"]
    assert [share_text(v) for v in (0.0, 0.001, 0.374, 1.0)] == ["0%", "<1%", "37%", "100%"]


def test_the_evaluate_dialog_says_what_a_segmentation_model_is_measured_on(qtbot, seg):
    from desktop_app.gui.dialogs.evaluate_dialog import EvaluateDialog
    client, project, ds = seg
    inst = mf._model(client.catalog, project, ds, "inst-to-evaluate", "binary")
    sem = mf._model(client.catalog, project, ds, "sem-to-evaluate", "semantic")
    d = EvaluateDialog(client, None, inst.id)
    qtbot.addWidget(d)
    assert "instance masks (COCO segm)" in d.measures.text() and "mask mAP" in d.measures.text()
    assert set(d.fields) == {"dataset", "subset", "name", "iou", "conf"}
    assert d.grid.labelForField(d.fields["iou"]).text() == "Mask IoU threshold"
    assert d.subset.currentData() == "test", d.problem.text()
    assert not d.errors["dataset"].text(), d.errors["dataset"].text()      # masks to score against
    d = EvaluateDialog(client, None, sem.id)
    qtbot.addWidget(d)
    assert "mIoU" in d.measures.text() and "confusion matrix over pixels" in d.measures.text()
    assert set(d.fields) == {"dataset", "subset", "name", "iou"}             # no confidence for pixels
    assert "counts as a mistake" in d.fields["iou"].hint.text()
    assert not d.errors["dataset"].text() and not d.errors["iou"].text()
