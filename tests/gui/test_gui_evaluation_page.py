"""The evaluation page: a confusion-matrix click lists exactly that cell's instances, the sliders move the
counts to what the evaluation core computes, filters and order, the review viewer from the gallery."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from review_fixtures import evaluated  # noqa: E402

from desktop_app.evaluation.review import InstanceFilter, ReviewSession  # noqa: E402
from desktop_app.evaluation.store import EvaluationView  # noqa: E402
from desktop_app.gui.views.evaluation_page import EvaluationPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def ev(client):
    return evaluated(client, "oracle-b")


@pytest.fixture
def page(qtbot, client, ev):
    p = EvaluationPage(client)
    qtbot.addWidget(p)
    p.resize(1400, 850)
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=WAIT_MS):
        p.set_evaluation(ev.id)
    yield p
    p.shutdown()


def fresh_session(client, ev, iou=0.5, score=0.0):
    """The evaluation core on its own (a new view of the stored evaluation), for the expected values."""
    s = ReviewSession(EvaluationView(client.catalog, client.catalog.get_evaluation(ev.id)))
    s.update(iou_threshold=iou, score_threshold=score)
    return s


def click_cell(qtbot, page, i, j):
    m = page.confusion.matrix
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        qtbot.mouseClick(m, Qt.MouseButton.LeftButton, pos=m.cell_rect(i, j).center().toPoint())


def test_a_confusion_cell_click_lists_exactly_its_instances(qtbot, client, ev, page):
    page.figures.setCurrentWidget(page.confusion)
    expected = fresh_session(client, ev)
    matrix = np.array(expected.figures["confusion"]["matrix"])
    K = len(expected.labels)
    assert page.confusion.matrix.matrix.tolist() == matrix.tolist()
    off = [(i, j) for i in range(K) for j in range(K) if i != j and matrix[i, j]]
    cells = [off[0], (K, int(np.argmax(matrix[K, :K]))), (int(np.argmax(matrix[:K, K])), K), (0, 0)]
    for i, j in cells:
        assert matrix[i, j] > 0
        click_cell(qtbot, page, i, j)
        want = expected.table.annotation_id[expected.confusion_cell(i, j)]
        got = page.gallery.model.annotation_ids()
        assert sorted(got) == sorted(want.tolist()) and len(got) == matrix[i, j], (i, j)
        assert page.gallery.restriction.isVisible() and page.confusion.matrix.selected == (i, j)
        rows = [page.gallery.model.instance(r) for r in range(page.gallery.model.rowCount())]
        if j < K:
            assert {r["label"] for r in rows} == {expected.labels[j]}
        else:
            assert {r["kind"] for r in rows} <= {"fn", "gt"} and {r["label"] for r in rows} == {expected.labels[i]}
    # the chip clears the cell: back to every FP and FN
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        page.gallery.clear_restriction.click()
    assert page.restrict is None
    assert page.gallery.model.rowCount() == expected.table.counts()["fp"] + expected.table.counts()["fn"]
    # with the diagonal hidden, its cells do nothing
    page.confusion.hide_diagonal.setChecked(True)
    with qtbot.assertNotEmitted(page.confusion.cell_clicked):
        m = page.confusion.matrix
        qtbot.mouseClick(m, Qt.MouseButton.LeftButton, pos=m.cell_rect(1, 1).center().toPoint())


def test_moving_the_sliders_moves_the_counts_to_the_cores(qtbot, client, ev, page):
    before = page.gallery.shown_counts()
    core0 = ev.at_thresholds(iou_threshold=0.5, score_threshold=0.0)["summary"]
    assert before == {k: core0[k] for k in ("tp", "fp", "fn")}
    for conf, iou in ((0.7, 0.5), (0.45, 0.75), (0.0, 0.3)):
        with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
            page.thresholds.confidence.setValue(conf)
            page.thresholds.iou.setValue(iou)
        qtbot.waitUntil(lambda: page.session.iou_threshold == pytest.approx(iou) and
                        page.session.score_threshold == pytest.approx(conf), timeout=WAIT_MS)
        page.refresh_gallery()
        core = ev.at_thresholds(iou_threshold=iou, score_threshold=conf)["summary"]
        assert page.gallery.shown_counts() == {k: core[k] for k in ("tp", "fp", "fn")}
        assert page.summary_labels["fp"].text() == f"{core['fp']:,}"
        assert page.summary_labels["fn"].text() == f"{core['fn']:,}"
        assert page.gallery.model.rowCount() == core["fp"] + core["fn"]
        assert page.confusion.matrix.matrix.tolist() == \
            ev.at_thresholds(iou_threshold=iou, score_threshold=conf)["confusion"]["matrix"]
    assert core0["fp"] != ev.at_thresholds(iou_threshold=0.5, score_threshold=0.7)["summary"]["fp"]


def test_filters_counts_and_order(qtbot, client, ev, page):
    g = page.gallery
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        g.kind_buttons["fn"].setChecked(False)
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        g.label.setCurrentIndex(g.label.findData("star"))
    stars = ev.instances("fp", label="star", iou_threshold=0.5, score_threshold=0.0)
    assert sorted(g.model.annotation_ids()) == sorted(r["annotation_id"] for r in stars)
    scores = [g.model.instance(r)["score"] for r in range(g.model.rowCount())]
    assert scores == sorted(scores, reverse=True)            # most wrong: confident FPs first

    def set_range(kind: str, lo: float, hi: float) -> None:
        """Move the confidence or IoU slider; wait until the gallery's filter has it, then draw."""
        with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
            getattr(g, kind).setValue((lo, hi))
        qtbot.waitUntil(lambda: getattr(g.filter(), f"max_{kind}") == pytest.approx(hi), timeout=WAIT_MS)
        page.refresh_gallery()
    set_range("score", 0.3, 0.5)
    want = [r for r in stars if 0.3 <= r["score"] <= 0.5]
    assert sorted(g.model.annotation_ids()) == sorted(r["annotation_id"] for r in want)
    assert g.shown_counts()["fp"] == len(want)
    assert f"{len(want):,} instance(s)" in g.counts.text()
    # the IoU slider: an FP's best overlap with a ground truth, the same rows as the SDK's query
    set_range("score", 0.0, 1.0)
    set_range("iou", 0.1, 0.6)
    overlapping = ev.instances("fp", label="star", min_iou=0.1, max_iou=0.6)
    assert overlapping and len(overlapping) < len(stars)
    assert sorted(g.model.annotation_ids()) == sorted(r["annotation_id"] for r in overlapping)
    assert all(0.1 <= g.model.instance(r)["iou"] <= 0.6 for r in range(g.model.rowCount()))
    set_range("iou", 0.0, 1.0)
    set_range("score", 0.3, 0.5)
    # whole images: one cell per image holding such an instance
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        g.mode.setCurrentIndex(g.mode.findData("images"))
    assert g.model.rowCount() == len({r["item_id"] for r in want})
    # double-clicking a class in the table filters to it
    page.show_filter(InstanceFilter(kinds=("fp", "fn")))
    row = [page.class_table.item(r, 0).text() for r in range(page.class_table.rowCount())].index("square")
    page._class_row_clicked(row, 0)
    assert {g.model.instance(r)["label"] for r in range(g.model.rowCount())} == {"square"}


def test_a_gallery_row_opens_the_review_viewer_and_the_keys_step(qtbot, client, ev, page):
    page.show_filter(InstanceFilter(kinds=("fp",)))
    g = page.gallery
    first = g.model.instance(0)
    page.open_row(0)
    assert page.right.currentWidget() is page.review
    viewer = page.review.viewers[0]
    sel = viewer.selected_annotation()
    assert sel is not None and sel.id == first["annotation_id"]
    kinds = {b.kind for b in viewer.boxes()}
    assert "fp" in kinds and kinds & {"gt", "fn"}
    tags = page.session.item_tags(first["item_id"])
    for b in viewer.boxes():
        if b.annotation.id in tags and tags[b.annotation.id] != "gt":
            assert b.kind == tags[b.annotation.id]
    items = g.model.ordered_item_ids()
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert page.review.current_item_id == items[1]
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert page.review.current_item_id == items[0]
    # layers toggle
    page.review.layer_boxes["fp"].setChecked(False)
    assert not viewer.layer_visible("review:fp")
    assert all(not b.isVisible() for b in viewer.boxes("fp"))
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert page.right.currentWidget() is page.gallery


def test_pr_curves_and_markers_follow_the_thresholds(qtbot, client, ev, page):
    names = page.pr_chart.curve_names()
    assert set(names) <= set(page.session.labels) and len(names) >= 3
    page.set_thresholds(0.6, 0.5)
    spots = page.pr_chart.markers.data
    per = ev.at_thresholds(iou_threshold=0.5, score_threshold=0.6)["per_class"]
    got = sorted((round(float(s["x"]), 6), round(float(s["y"]), 6)) for s in spots)
    want = sorted((round(v["recall"], 6), round(v["precision"], 6)) for v in per.values() if v["tp"] + v["fp"])
    assert got == want
    path = page.export(page.client.catalog.home / "export")
    assert any(p.suffix == ".png" for p in path) and any(p.suffix == ".csv" for p in path)


def test_the_main_window_opens_an_evaluation_from_the_model_page(qtbot, window, ev):
    window.navigate("model", ev.model_id)
    mp = window.pages.model_page
    assert mp.evaluations.count() == 1
    mp._open_evaluation(mp.evaluations.item(0))
    page = window.pages.pages["evaluation"]
    qtbot.waitUntil(lambda: page.session is not None, timeout=WAIT_MS)
    assert window.pages.currentWidget() is page and page.view.id == ev.id


def test_a_classification_evaluation_lists_items_per_cell(qtbot, client):
    from desktop_app.evaluation.run import score_model
    from desktop_app.formats.base import Annotation
    cat = client.catalog
    ds = client.datasets.get("shapes")
    model = client.models.get("pretrained-resnet")
    labels = list(ds.labels)
    preds = {}
    for k, item_id in enumerate(cat.item_ids(ds.id, subset="test")):
        true = cat.list_annotations(item_ids=[item_id], ground_truth=True)[0].label
        label = true if k % 3 else labels[(labels.index(true) + 1) % len(labels)]
        score = 0.4 + (k % 6) / 10
        vec = [(1 - score) / (len(labels) - 1)] * len(labels)
        vec[labels.index(label)] = score
        preds[item_id] = [Annotation(type="class", label=label, coordinates=None, score=score,
                                     metadata={"scores": vec})]
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    eid = score_model(cat, model.id, ds.id, filters={"subset": "test"}, name="t")["evaluation_id"]
    page = EvaluationPage(client)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.set_evaluation(eid)
    assert not page.thresholds.iou.isVisible()
    ev = EvaluationView(cat, cat.get_evaluation(eid))
    m = np.array(ev.at_thresholds(score_threshold=0.0)["confusion"]["matrix"])
    i, j = next((i, j) for i in range(len(labels)) for j in range(len(labels)) if i != j and m[i, j])
    click_cell(qtbot, page, i, j)
    rows = [page.gallery.model.instance(r) for r in range(page.gallery.model.rowCount())]
    assert len(rows) == m[i, j]
    assert {(r["true_label"], r["label"]) for r in rows} == {(labels[i], labels[j])}
    page.open_row(0)
    chips = page.review.viewers[0]._chips
    assert {c.annotation.is_prediction for c in chips} == {True, False}
    page.close_review()
    page.set_thresholds(0.75, 0.5)
    core = ev.at_thresholds(score_threshold=0.75)["confusion"]["matrix"]
    assert page.confusion.matrix.matrix.tolist() == core
    assert page.gallery.model.rowCount() == core[i][j]
    page.shutdown()


def test_use_for_serving_keeps_the_slider_confidence_on_the_model(qtbot, client, ev, page):
    model_id = ev.model_id
    cfg = dict(client.catalog.get_model(model_id).configuration)
    client.catalog.update_model(model_id, configuration={**cfg, "class_thresholds": {"star": 0.9}})
    assert page.keep_button.isEnabled()
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        page.thresholds.confidence.setValue(0.45)
    with qtbot.waitSignal(page.thresholds_kept, timeout=WAIT_MS) as sig:
        page.keep_button.click()
    assert sig.args == [model_id]
    kept = client.catalog.get_model(model_id).configuration
    assert kept["conf_threshold"] == pytest.approx(0.45) and "class_thresholds" not in kept
    assert all(kept[k] == v for k, v in cfg.items() if k not in ("conf_threshold", "class_thresholds"))
    assert "0.45 kept on" in page.status.text() and "services started from now on" in page.status.text()


def test_rescore_uses_the_evaluations_iou_off_the_gui_thread(qtbot, client, ev, monkeypatch):
    """An evaluation scored at IoU 0.75 re-scores at 0.75 (not 0.5), on the task pool: the click returns at once
    and the window keeps handling events while the scoring runs."""
    import threading

    from PySide6.QtCore import QTimer

    from desktop_app.evaluation import run
    cat = client.catalog
    at_075 = run.score_model(cat, ev.model_id, ev.dataset_id, filters={"subset": "test"}, name="strict",
                             iou_threshold=0.75)
    at_050 = run.score_model(cat, ev.model_id, ev.dataset_id, filters={"subset": "test"}, name="loose",
                             iou_threshold=0.5)
    assert at_075["summary"] != at_050["summary"]          # the threshold shows in the figures
    page = EvaluationPage(client)
    qtbot.addWidget(page)
    page.resize(1400, 850)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.set_evaluation(at_075["evaluation_id"])

    release, started, seen = threading.Event(), threading.Event(), []
    score_model = run.score_model

    def held(*args, **kwargs):                             # the scoring waits until the test lets it go
        seen.append((threading.current_thread() is threading.main_thread(), kwargs["iou_threshold"]))
        started.set()
        assert release.wait(WAIT_MS / 1000)
        return score_model(*args, **kwargs)
    monkeypatch.setattr(run, "score_model", held)
    page.rescore_button.click()                            # returns at once: the work is on the task pool
    assert page.tasks.busy and not page.rescore_button.isEnabled()
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    ticks = []
    timer = QTimer(page)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=WAIT_MS)   # the GUI thread runs while the scoring waits
    timer.stop()
    assert page.tasks.busy
    with qtbot.waitSignal(page.rescored, timeout=WAIT_MS) as sig:
        release.set()
    assert seen == [(False, 0.75)]
    new_id = sig.args[0]
    assert new_id and new_id != at_075["evaluation_id"]
    rec = cat.get_evaluation(new_id)
    assert rec.name == "strict" and rec.results["summary"] == at_075["summary"]
    assert rec.iou_threshold == 0.75
    qtbot.waitUntil(lambda: page.session is not None and page.view.id == new_id, timeout=WAIT_MS)
    assert page.rescore_button.isEnabled() and "strict" in page.title.text()
    # The sliders open at the evaluation's thresholds, so the live figures are the stored ones.
    assert page.thresholds.values()[1] == pytest.approx(0.75) and page.session.iou_threshold == pytest.approx(0.75)
    assert page.summary_labels["tp"].text() == f"{at_075['summary']['tp']:,}"
    page.shutdown()
