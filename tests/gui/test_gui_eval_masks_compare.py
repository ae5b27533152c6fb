"""Comparing segmentation models: two semantic evaluations of one dataset side by side by mIoU (per-class IoU bars,
pixel matrices as row shares, no PR curve), two instance ones by mask AP, the side-by-side review open for a pair
of one kind and refused with a sentence for a mixed pair; the leaderboard and compare pick-lists put the
segmentation headline metrics first."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import mask_eval_fixtures as mf  # noqa: E402

from desktop_app.evaluation.store import EvaluationView  # noqa: E402
from desktop_app.gui import leaderboard_data as lb  # noqa: E402
from desktop_app.gui.views.compare_page import ComparePage, default_metrics  # noqa: E402


@pytest.fixture
def seg(client, tmp_path):
    project, ds = mf.dataset(client, tmp_path)
    return client, project, ds


@pytest.fixture
def page(qtbot, client):
    p = ComparePage(client)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    return p


def table_rows(page) -> dict[str, list]:
    return {r.name: r.values for r in page.eval_table.table.rows}


def test_two_semantic_evaluations_side_by_side_by_miou(qtbot, seg, page):
    client, project, ds = seg
    good, ev_good = mf.semantic_evaluation(client, project, ds, name="sem-good", seed=3, miss=0.02, confuse=0.02)
    poor, ev_poor = mf.semantic_evaluation(client, project, ds, name="sem-poor", seed=4, miss=0.3, confuse=0.3)
    page.set_models([good.id, poor.id])
    page.tabs.setCurrentWidget(page.eval_tab)
    assert page.group_box.count() == 1 and page.group_kind == "semantic"
    assert not page.kinds_note.isVisible()
    rows = table_rows(page)
    assert list(rows)[:2] == ["mIoU", "mIoU without background"] and "pixel accuracy" in rows
    s_good, s_poor = ev_good.results["summary"], ev_poor.results["summary"]
    assert rows["mIoU"] == pytest.approx([s_good["miou"], s_poor["miou"]])
    assert s_good["miou"] > s_poor["miou"]
    assert page.eval_table.highlighted()["mIoU"] == ["sem-good"]
    # per class: IoU and accuracy (not the pixel count), background included
    assert [page.class_metric.itemText(k) for k in range(page.class_metric.count())] == \
        ["per class: IoU", "per class: accuracy"]
    labels, values = page.bars.labels, page.bars.values
    assert labels[0] == "background" and set(labels) == {"background", *ds.labels}
    assert values["sem-good"][0] == pytest.approx(ev_good.results["per_class"]["background"]["iou"])
    assert not page.pr_box.isVisible()
    # pixel matrices: row shares, counts in the tooltip, no cell to open
    assert len(page.matrix_panels) == 2
    for panel, ev in zip(page.matrix_panels, (ev_good, ev_poor)):
        m = panel.matrix
        assert m.normalize and not m.clickable and m.unit == "pixels"
        assert m.matrix.tolist() == ev.results["confusion"]["matrix"]
    # the side-by-side review: the pair goes through; the core counts its regressions
    assert page.review_button.isEnabled()
    with qtbot.waitSignal(page.navigate) as sig:
        page.review_button.click()
    assert sig.args == ["review", f"{ev_good.id},{ev_poor.id}"]
    regressed = EvaluationView(client.catalog, ev_poor).regressions(EvaluationView(client.catalog, ev_good))
    assert isinstance(regressed, list)


def test_two_instance_evaluations_compare_by_mask_ap(qtbot, seg, page):
    client, project, ds = seg
    a, ev_a = mf.instance_evaluation(client, project, ds, name="inst-a", seed=1, miss=0.05, confuse=0.05)
    b, ev_b = mf.instance_evaluation(client, project, ds, name="inst-b", seed=2, miss=0.3, confuse=0.3)
    page.set_models([a.id, b.id])
    page.tabs.setCurrentWidget(page.eval_tab)
    assert page.group_kind == "masks"
    rows = table_rows(page)
    assert list(rows)[:3] == ["mask mAP", "mask AP50", "mask AP75"]
    assert rows["mask AP50"] == pytest.approx([ev_a.results["summary"]["mAP50"], ev_b.results["summary"]["mAP50"]])
    assert page.class_metric.itemText(0) == "per class: mask AP"
    assert page.pr_box.isVisible() and "mask IoU" in page.pr.title_text()
    assert all(p.matrix.clickable and not p.matrix.normalize for p in page.matrix_panels)
    assert page.review_button.isEnabled()
    with qtbot.waitSignal(page.navigate) as sig:
        page.review_button.click()
    assert sig.args == ["review", f"{ev_a.id},{ev_b.id}"]


def test_a_mixed_pair_is_refused_with_a_sentence(qtbot, seg, page):
    client, project, ds = seg
    a, _ = mf.instance_evaluation(client, project, ds, name="inst-a")
    b, _ = mf.semantic_evaluation(client, project, ds, name="sem-b")
    page.set_models([a.id, b.id])
    page.tabs.setCurrentWidget(page.eval_tab)
    assert page.group_kind == "mixed"
    assert page.kinds_note.isVisible() and "score different things" in page.kinds_note.text()
    assert "semantic segmentation (pixels)" in page.kinds_note.text()
    assert not page.review_button.isEnabled()
    with qtbot.assertNotEmitted(page.navigate), qtbot.waitSignal(page.message) as sig:
        page.open_review()
    assert "do not compare" in sig.args[0]


def test_segmentation_headline_metrics_come_first():
    keys = ["validation/loss", "validation/map50", "validation/mask_map", "validation/mask_map50",
            "train/loss", "test/eval/mAP"]
    assert default_metrics(keys)[0] == "validation/mask_map50"
    cols = lb.default_columns({"metrics": ["validation/loss", "validation/miou", "validation/pixel_accuracy",
                                           "test/eval/miou"]})
    assert cols[2] == lb.metric_column("validation/miou")
    assert lb.default_columns({"metrics": keys})[2] == lb.metric_column("validation/mask_map50")
    for key in ("validation/miou", "validation/mask_map50", "test/eval/miou", "test/eval/pixel_accuracy",
                "test/eval/mean_accuracy"):
        assert lb.higher_better(lb.metric_column(key)) is True


def test_the_instance_pair_opens_in_the_review_with_the_core_regressions(qtbot, seg, page):
    from desktop_app.evaluation.compare import regressions
    from desktop_app.gui.views.review_page import ReviewPage
    client, project, ds = seg
    a, ev_a = mf.instance_evaluation(client, project, ds, name="inst-a", seed=1, miss=0.05, confuse=0.05)
    b, ev_b = mf.instance_evaluation(client, project, ds, name="inst-b", seed=2, miss=0.3, confuse=0.3)
    page.set_models([a.id, b.id])
    with qtbot.waitSignal(page.navigate) as sig:
        page.review_button.click()
    review = ReviewPage(client)
    qtbot.addWidget(review)
    with qtbot.waitSignal(review.loaded, timeout=30_000):
        review.set_evaluations(sig.args[1])
    va, vb = (EvaluationView(client.catalog, client.catalog.get_evaluation(e.id)).review() for e in (ev_a, ev_b))
    want = regressions(va.item_errors(), vb.item_errors(), va.table.item_ids.tolist(), vb.table.item_ids.tolist())
    assert want and review.item_lists()["regressions"] == want
    assert review.list.count() == len(want)
    review.shutdown()
