"""A classification evaluation in the window: every figure it shows (summary at the slider's threshold, chips,
per-class table, confusion matrix, review colours, Compare's side-by-side review) read from the widgets and
checked against scikit-learn on the same stored predictions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))  # the digits helpers

from digits import LABELS, digits_dataset, digits_model, sklearn_at, stored_predictions  # noqa: E402
from sklearn.metrics import top_k_accuracy_score  # noqa: E402

from desktop_app.evaluation.review import InstanceFilter  # noqa: E402
from desktop_app.workflows.evaluate import evaluate_model  # noqa: E402
from desktop_app.gui.views.evaluation_page import EvaluationPage  # noqa: E402
from desktop_app.gui.views.review_page import ReviewPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def digits(client, tmp_path):
    ds = digits_dataset(client, tmp_path)
    out = {}
    for name, c in (("lr-a", 0.002), ("lr-b", 0.0004)):
        model = digits_model(client, ds, tmp_path, name=name, c=c, vector=True)
        out[name] = (model, evaluate_model(client.catalog, model.id, ds.id, name="digits")["evaluation_id"],
                     stored_predictions(client.catalog, model.id, ds.id))
    return out


@pytest.fixture
def page(qtbot, client, digits):
    p = EvaluationPage(client)
    qtbot.addWidget(p)
    p.resize(1400, 850)
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=WAIT_MS):
        p.set_evaluation(digits["lr-a"][1])
    yield p
    p.shutdown()


def _slide(qtbot, page, value: float) -> float:
    """Move the confidence slider (a value it already shows redraws through the page's own slot)."""
    with qtbot.waitSignal(page.refreshed, timeout=WAIT_MS):
        if abs(page.thresholds.values()[0] - value) < 1e-9:
            page.set_thresholds(*page.thresholds.values())
        else:
            page.thresholds.confidence.setValue(value)
    return page.thresholds.values()[0]


def _shown(label) -> float:
    """A summary value as the window holds it (its tooltip keeps the full number)."""
    return float(label.toolTip().split(": ", 1)[1])


def test_the_summary_chips_table_and_matrix_follow_the_slider_as_sklearn_does(qtbot, page, digits):
    p = digits["lr-a"][2]
    assert set(page.summary_labels) == {"accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall"}
    assert page.summary_box.title() == "At this confidence threshold"
    # top-k ranks the score vector whatever the threshold: stored, and apart from the threshold's figures
    assert set(page.stored_labels) == {"top3_accuracy"} and page.stored_box.isVisible()
    top3 = top_k_accuracy_score(p["true"], p["vectors"], k=3, labels=list(range(10)))
    assert _shown(page.stored_labels["top3_accuracy"]) == pytest.approx(top3, abs=1e-12)
    seen = set()
    for target in (0.0, 0.5, 0.96, 1.0):
        thr = _slide(qtbot, page, target)
        sk = sklearn_at(p, thr)
        for key, label in page.summary_labels.items():
            assert _shown(label) == pytest.approx(sk[key], abs=1e-12), (thr, key)
            assert float(label.text()) == pytest.approx(sk[key], abs=5.01e-5)
        seen.add(page.summary_values()["weighted_f1"])
        # the chips: a wrong class is an FP of the class predicted and an FN of the true class
        assert page.gallery.shown_counts() == {"tp": sk["tp"], "fp": sk["fp"], "fn": sk["fn"]}
        t = page.class_table
        cols = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
        for r in range(t.rowCount()):
            row = {cols[c]: t.item(r, c).text() for c in range(t.columnCount())}
            want = sk["per_class"][row["class"]]
            c = int(row["class"])
            tp = int(sk["confusion"][c, c])
            for key in ("recall", "precision", "f1"):      # shown to 4 decimals
                assert float(row[key]) == pytest.approx(want[key], abs=5.01e-5), (thr, key, row)
            assert (int(row["tp"]), int(row["fn"])) == (tp, want["support"] - tp), (thr, row)
            assert int(row["fp"]) == int(sk["confusion"][:, c].sum()) - tp, (thr, row)
        assert [r for r in range(t.rowCount())] and sorted(t.item(r, 0).text() for r in range(t.rowCount())) == LABELS
        assert page.confusion.matrix.matrix.tolist() == sk["confusion"].tolist()
    assert len(seen) == 4                  # weighted F1 moved with the slider


def test_the_review_viewer_colours_as_the_gallery_counts(qtbot, page, digits):
    thr = _slide(qtbot, page, 0.6)
    p = digits["lr-a"][2]
    score = dict(zip(p["item_ids"], p["score"]))
    pred = dict(zip(p["item_ids"], p["pred"]))
    true = dict(zip(p["item_ids"], p["true"]))
    for kind in ("tp", "fp", "fn"):
        page.close_review()
        page.show_filter(InstanceFilter(kinds=(kind,)))
        m = page.gallery.model
        assert m.rowCount() > 0
        for row in range(min(m.rowCount(), 4)):
            inst = m.instance(row)
            page.open_row(row)
            chips = {ann.is_prediction: (k, text) for ann, k, text in page.review.viewers[0].class_chips()}
            item = inst["item_id"]
            if score[item] < thr:        # the prediction is under the threshold: not drawn, its class missed
                assert kind == "fn" and True not in chips and chips[False][0] == "fn"
                continue
            right = pred[item] == true[item]
            assert chips[True][0] == ("tp" if right else "fp"), (kind, inst)
            assert chips[False][0] == ("gt" if right else "fn"), (kind, inst)
            assert chips[True][1].startswith(f"Prediction: {'TP' if right else 'FP'} {pred[item]}")
            # the gallery's row: the prediction (TP or FP) or the missed true class (FN)
            assert right == (kind == "tp")
            assert inst["label"] == (str(true[item]) if kind == "fn" else str(pred[item]))


def test_compare_side_by_side_draws_each_model_as_its_list_counts(qtbot, client, digits):
    (_, ea, pa), (_, eb, pb) = digits["lr-a"], digits["lr-b"]
    page = ReviewPage(client)
    qtbot.addWidget(page)
    page.resize(1400, 800)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.set_evaluations(f"{ea},{eb}")
    thr = float(client.catalog.get_evaluation(ea).conf_threshold or 0.0)
    right_a = {i: a == b for i, a, b in zip(pa["item_ids"], pa["pred"], pa["true"])}
    right_b = {i: a == b for i, a, b in zip(pb["item_ids"], pb["pred"], pb["true"])}
    for key in ("regressions", "improvements"):
        page.filter.setCurrentIndex(page.filter.findData(key))
        n = page.list.count()
        assert n > 0, key
        for row in range(min(n, 5)):
            page.list.setCurrentRow(row)
            item = page.list.item(row).data(0x0100)
            text = page.list.item(row).text()
            # a wrong class is one FP and one FN; a right one no mistake
            want_a, want_b = (0 if right_a[item] else 2), (0 if right_b[item] else 2)
            assert text.endswith(f"A {want_a} · B {want_b} mistakes"), text
            for viewer, right in zip(page.panel.viewers, (right_a[item], right_b[item])):
                kinds = {ann.is_prediction: k for ann, k, _ in viewer.class_chips()}
                assert kinds == {True: "tp" if right else "fp", False: "gt" if right else "fn"}, (key, item)
    assert thr == 0.0
    page.shutdown()
