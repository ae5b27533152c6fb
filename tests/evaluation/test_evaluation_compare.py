"""Comparison and review logic without a screen: tables with the best per row, config diff, curves on three
x axes, instances under filters, "most wrong" order, confusion cells, P/R sweeps, regressions."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest

from desktop_app.evaluation import compare, review
from desktop_app.evaluation.review import InstanceFilter, ReviewSession
from desktop_app.evaluation.run import score_model
from desktop_app.workflows.evaluate import evaluate_model
from desktop_app.errors import ValidationError
from desktop_app.evaluation.store import EvaluationView
from desktop_app.formats.base import Annotation

ORACLE = Path(__file__).parent / "oracle_package"


@pytest.fixture
def oracle_eval(client):
    """The oracle box model evaluated (in this process) on the detection sample's test subset."""
    pkg = client.packages.push(package_name="oracle", src_path=ORACLE, entry_point="adapter.py",
                               class_name="OracleBoxAdapter", output_type="box")
    ds = client.datasets.get("shapes-detection")
    model = pkg.models.create(model_name="oracle-v1", dataset_id=ds.id, project_id=client.sample_project.id,
                              labels=ds.labels)
    out = evaluate_model(client.catalog, model.id, ds.id, filters={"subset": "test"}, name="test")
    return EvaluationView(client.catalog, client.catalog.get_evaluation(out["evaluation_id"]))


def ids(rows):
    return sorted(r["annotation_id"] for r in rows)


# ---------------------------------------------------------------- review: instances

def _core_instances(view, kind, iou, score, label=None, min_score=None):
    """Annotation ids of one kind straight from the evaluation core's matcher tags (not the review code)."""
    from desktop_app.evaluation.matching import FN, FP, TP
    inp = view.detection_inputs()
    m = view.session().update(iou_threshold=iou, score_threshold=score)
    if kind == "fn":
        sel = np.flatnonzero(m.gt_tag == FN)
        labs, ids_, scores = inp.gt.cat_idx[sel], inp.gt.ids[sel], None
    else:
        sel = np.flatnonzero(m.dt_tag == (TP if kind == "tp" else FP))
        labs, ids_, scores = inp.dt.cat_idx[sel], inp.dt.ids[sel], inp.dt.scores[sel]
    keep = np.ones(len(sel), bool)
    if label is not None:
        keep &= labs == inp.labels.index(label)
    if min_score is not None:
        keep &= scores >= min_score
    return sorted(ids_[keep].tolist())


@pytest.mark.parametrize("iou,score", [(0.5, 0.0), (0.5, 0.6), (0.75, 0.3), (0.3, 0.9)])
def test_instances_agree_with_the_evaluation_core(oracle_eval, iou, score):
    s = ReviewSession(oracle_eval)
    t = s.update(iou_threshold=iou, score_threshold=score)
    core = oracle_eval.at_thresholds(iou_threshold=iou, score_threshold=score)["summary"]
    assert t.counts() == {k: core[k] for k in ("tp", "fp", "fn")}
    assert core["fp"] > 0 and core["fn"] > 0
    for kind in ("tp", "fp", "fn"):
        want = _core_instances(oracle_eval, kind, iou, score)
        assert ids(t.rows(s.select(InstanceFilter(kinds=(kind,))))) == want
        assert ids(oracle_eval.instances(kind, iou_threshold=iou, score_threshold=score)) == want   # the SDK
    want = _core_instances(oracle_eval, "fp", iou, score, label="star", min_score=0.2)
    got = oracle_eval.instances("fp", label="star", min_score=0.2, iou_threshold=iou, score_threshold=score)
    assert ids(got) == want and (got or score > 0.6)


def test_the_sdk_queries_are_the_error_gallerys(oracle_eval):
    """evaluation.instances / confusion_instances / regressions: the GUI's filters, cells and order."""
    ev = oracle_eval
    s = ReviewSession(ev)
    s.update(iou_threshold=0.5, score_threshold=0.3)
    both = ev.instances(["fp", "fn"], iou_threshold=0.5, score_threshold=0.3)
    assert both == s.table.rows(s.select(InstanceFilter(kinds=("fp", "fn"))))        # same rows, same order
    assert ev.instances("errors") == both                                            # thresholds kept
    assert len(ev.instances("all")) == sum(s.table.counts().values())
    assert ev.instances("errors", limit=3) == both[:3]
    ranged = ev.instances(["tp", "fp"], label="square", min_iou=0.3, max_iou=0.8, sort="score")
    assert ranged == s.table.rows(s.select(InstanceFilter(kinds=("tp", "fp"), label="square", min_iou=0.3,
                                                          max_iou=0.8, sort="score")))
    assert ranged and all(0.3 <= r["iou"] <= 0.8 and r["label"] == "square" for r in ranged)
    assert [r["score"] for r in ranged] == sorted((r["score"] for r in ranged), reverse=True)
    for bad, message in ((dict(kind="gt"), "kind is"), (dict(kind=[]), "kind is"), (dict(min_iou=1.5), "min_iou"),
                         (dict(sort="size"), "sort is one of")):
        with pytest.raises(ValidationError, match=message):
            ev.instances(**bad)
    matrix = np.array(s.figures["confusion"]["matrix"])
    names = s.figures["confusion"]["labels"]
    assert names[-1] == "background"
    for i, true in enumerate(names):
        for j, pred in enumerate(names):
            cell = ev.confusion_instances(true, pred)
            assert len(cell) == matrix[i, j] and cell == s.table.rows(s.confusion_cell(i, j))
    assert all(r["kind"] == "fp" for r in ev.confusion_instances("background", "star"))
    with pytest.raises(ValidationError, match="not a row or column"):
        ev.confusion_instances("dog", "star")
    assert ev.item_errors() == s.item_errors()


def test_classification_evaluations_answer_the_same_queries(client):
    view = _classified(client)
    at = view.at_thresholds(score_threshold=0.75)
    conf, names = np.array(at["confusion"]["matrix"]), at["confusion"]["labels"]
    none = names.index("(no prediction)")
    rows = view.instances("all", score_threshold=0.75)
    n_items = len(view.results["items"]["item_ids"])
    counts = {k: sum(r["kind"] == k for r in rows) for k in ("tp", "fp", "fn")}
    assert counts["tp"] == int(np.trace(conf[:none, :none]))
    # a wrong class is an FP of the class predicted and an FN of the true class; no prediction an FN only
    assert counts["fp"] == int(conf[:none, :none].sum() - np.trace(conf[:none, :none]))
    assert counts["fn"] == n_items - counts["tp"] == int(conf[:, none].sum()) + counts["fp"]
    assert len(rows) == counts["tp"] + counts["fp"] + counts["fn"]
    per = at["per_class"]
    assert {k: sum(p[k] for p in per.values()) for k in ("tp", "fp", "fn")} == counts
    wrong = view.instances("fp")
    assert wrong and all(r["label"] != r["true_label"] and r["score"] >= 0.75 for r in wrong)
    assert [r["score"] for r in wrong] == sorted((r["score"] for r in wrong), reverse=True)  # surest first
    i, j = next((i, j) for i in range(none) for j in range(none) if i != j and conf[i, j])
    cell = view.confusion_instances(names[i], names[j])
    assert len(cell) == conf[i, j] and {(r["true_label"], r["label"]) for r in cell} == {(names[i], names[j])}


def test_filters_narrow_and_counts_follow(oracle_eval):
    s = ReviewSession(oracle_eval)
    everything = InstanceFilter(kinds=("tp", "fp", "fn"))
    rows = s.table.rows(s.select(everything))
    assert len(rows) == sum(s.counts(everything).values())
    flt = InstanceFilter(kinds=("tp", "fp", "fn"), label="square", min_score=0.5, max_score=0.9,
                         min_iou=0.6, max_iou=1.0)
    got = s.table.rows(s.select(flt))
    assert got and all(r["label"] == "square" and 0.6 <= r["iou"] <= 1.0 for r in got)
    assert all(0.5 <= r["score"] <= 0.9 for r in got if r["kind"] != "fn")
    assert s.counts(flt) == {k: sum(r["kind"] == k for r in got) for k in ("tp", "fp", "fn")}
    # restricting to rows keeps the other filters
    some = s.select(InstanceFilter(kinds=("fp",)))[:5]
    assert set(s.select(InstanceFilter(kinds=("fp", "fn")), restrict=some).tolist()) == set(some.tolist())


def test_most_wrong_puts_confident_false_positives_and_big_misses_first(oracle_eval):
    s = ReviewSession(oracle_eval)
    rows = s.table.rows(s.select(InstanceFilter(kinds=("fp",), sort="most_wrong")))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    fns = s.table.rows(s.select(InstanceFilter(kinds=("fn",), sort="most_wrong")))
    assert [r["area"] for r in fns] == sorted((r["area"] for r in fns), reverse=True)
    both = s.table.rows(s.select(InstanceFilter(kinds=("fp", "fn"), sort="most_wrong")))
    assert len(both) == len(rows) + len(fns)
    assert both[0]["kind"] in ("fp", "fn") and (both[0] == rows[0] or both[0] == fns[0])
    by_score = s.table.rows(s.select(InstanceFilter(kinds=("fp", "fn"), sort="score")))
    assert [r["kind"] for r in by_score] == ["fp"] * len(rows) + ["fn"] * len(fns)
    tps = s.table.rows(s.select(InstanceFilter(kinds=("tp",), sort="most_wrong")))
    assert [r["iou"] for r in tps] == sorted(r["iou"] for r in tps)     # worst overlap first


def test_every_confusion_cell_maps_to_its_rows(oracle_eval):
    s = ReviewSession(oracle_eval)
    s.update(iou_threshold=0.5, score_threshold=0.4)
    matrix = np.array(s.figures["confusion"]["matrix"])
    K = len(s.labels)
    assert matrix.shape == (K + 1, K + 1)
    seen: set[int] = set()
    for i in range(K + 1):
        for j in range(K + 1):
            cell = s.confusion_cell(i, j)
            assert len(cell) == matrix[i, j], (i, j)
            rows = s.table.rows(cell)
            if j < K:
                assert all(r["label"] == s.labels[j] and r["score"] is not None for r in rows)
            if j == K and i < K:
                assert all(r["score"] is None and r["label"] == s.labels[i] for r in rows)
            assert not seen & set(cell.tolist())
            seen |= set(cell.tolist())
    # off the diagonal, a prediction's matched ground truth (by overlap) has the row's class
    off = [(i, j) for i in range(K) for j in range(K) if i != j and matrix[i, j]]
    assert off, "the oracle confuses some classes"
    gts = {a.id: a.label for a in oracle_eval.catalog.list_annotations(dataset_id=oracle_eval.dataset_id,
                                                                       ground_truth=True)}
    i, j = off[0]
    d, g, _, _ = s._agnostic()
    rows = s.table.rows(s.confusion_cell(i, j))
    assert all(r["true_label"] is not None for r in rows)     # each overlaps a ground truth by >= .5
    assert sum(r["true_label"] == s.labels[i] for r in rows) >= len(rows) / 2
    for r in rows:
        k = int(np.flatnonzero(s.table.annotation_id[d] == r["annotation_id"])[0])
        assert gts[int(s.table.annotation_id[s._n_dt + g[k]])] == s.labels[i]


def test_pr_sweep_points_are_the_per_class_figures(oracle_eval):
    s = ReviewSession(oracle_eval)
    sweeps = s.pr_sweeps()
    for thr in (0.35, 0.6, 0.85):
        per = oracle_eval.at_thresholds(iou_threshold=0.5, score_threshold=thr)["per_class"]
        for lb, sw in sweeps.items():
            pt = review.point_at(sw, thr)
            if per[lb]["tp"] + per[lb]["fp"] == 0:
                continue
            assert pt == pytest.approx((per[lb]["recall"], per[lb]["precision"]))


def test_item_tags_and_errors(oracle_eval):
    s = ReviewSession(oracle_eval)
    fp = s.table.rows(s.select(InstanceFilter(kinds=("fp",))))[0]
    tags = s.item_tags(fp["item_id"])
    assert tags[fp["annotation_id"]] == "fp"
    errors = s.item_errors()
    assert errors[fp["item_id"]] >= 1
    assert sum(errors.values()) == sum(s.table.counts()[k] for k in ("fp", "fn"))


def _classified(client) -> EvaluationView:
    """pretrained-resnet's made-up answers on the shapes test subset: every 4th item a wrong class."""
    from desktop_app.evaluation.run import score_classification  # noqa: F401 - the path under test
    cat = client.catalog
    ds = client.datasets.get("shapes")
    model = client.models.get("pretrained-resnet")
    items = cat.item_ids(ds.id, subset="test")
    labels = list(ds.labels)
    preds = {}
    for k, item_id in enumerate(items):
        true = cat.list_annotations(item_ids=[item_id], ground_truth=True)[0].label
        label = true if k % 4 else labels[(labels.index(true) + 1) % len(labels)]
        score = 0.5 + (k % 5) / 10
        vec = [(1 - score) / (len(labels) - 1)] * len(labels)
        vec[labels.index(label)] = score
        preds[item_id] = [Annotation(type="class", label=label, coordinates=None, score=score,
                                     metadata={"scores": vec})]
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    out = score_model(cat, model.id, ds.id, filters={"subset": "test"}, name="t")
    return EvaluationView(cat, cat.get_evaluation(out["evaluation_id"]))


def test_classification_review(client):
    view = _classified(client)
    labels = client.datasets.get("shapes").labels
    s = ReviewSession(view)
    t = s.update(score_threshold=0.75)
    conf = np.array(s.figures["confusion"]["matrix"])
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            assert len(s.confusion_cell(i, j)) == conf[i, j]
    c = t.counts()
    assert c["tp"] == int(np.trace(conf[:len(labels), :len(labels)]))
    assert c["fn"] == int(conf[:, s.labels.index("(no prediction)")].sum()) + c["fp"]
    wrong = t.rows(s.select(InstanceFilter(kinds=("fp",))))
    assert wrong and all(r["label"] != r["true_label"] for r in wrong)


# ---------------------------------------------------------------- compare: tables, curves, config

def test_direction_of_metrics():
    for name in ("validation/loss", "train_batch/loss", "epoch_time_s", "fp", "fn", "error_rate"):
        assert not compare.higher_is_better(name), name
    for name in ("validation/accuracy", "mAP50", "f1", "tp", "value/images_per_s", "recall"):
        assert compare.higher_is_better(name), name


def curve(steps, ys, epochs=None, walls=None):
    n = len(steps)
    return compare.Curve(list(map(float, steps)), list(epochs or [None] * n), list(walls or [None] * n),
                         list(map(float, ys)))


def test_metrics_table_highlights_the_best_per_row():
    curves = {
        "a": {"validation/loss": curve([1, 2, 3], [0.9, 0.4, 0.5]), "validation/accuracy": curve([1, 2], [0.5, 0.8])},
        "b": {"validation/loss": curve([1, 2, 3], [0.8, 0.6, 0.45]), "validation/accuracy": curve([1, 2], [0.7, 0.8])},
        "c": {"validation/loss": curve([1], [2.0])},
    }
    t = compare.metrics_table(curves, ["validation/loss", "validation/accuracy"], ["a", "b", "c"],
                              names={"a": "model-a", "b": "model-b", "c": "model-c"})
    assert t.columns == ["model-a", "model-b", "model-c"]
    assert t.best_of("validation/loss", "final") == ["model-b"]        # 0.45 < 0.5 < 2.0
    assert t.best_of("validation/loss", "best") == ["model-a"]         # 0.4
    assert t.best_of("validation/accuracy", "final") == ["model-a", "model-b"]   # a tie: both
    assert t.best_of("validation/accuracy", "best") == ["model-a", "model-b"]
    acc = [r for r in t.rows if r.name == "validation/accuracy"][0]
    assert acc.values[2] is None
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert rows[0] == ["metric", "stat", "model-a", "model-b", "model-c", "best", "direction"]
    assert rows[1][:2] == ["validation/loss", "final"] and rows[1][-2:] == ["model-b", "lower"]
    assert float(rows[1][2]) == 0.5


def test_curves_on_step_epoch_and_wall_time():
    c = curve([10, 20, 30], [1, 2, 3], epochs=[1, None, 3], walls=[1000.0, 1010.0, 1030.0])
    assert c.points("step") == ([10, 20, 30], [1, 2, 3])
    assert c.points("epoch") == ([1, 3, 20], [1, 3, 2])                 # no epoch: the step stands in
    assert c.points("wall_time") == ([0.0, 10.0, 30.0], [1, 2, 3])
    assert c.points("wall_time", t0=990.0)[0] == [10.0, 20.0, 40.0]
    assert c.final() == 3 and c.best(True) == 3 and c.best(False) == 1
    with pytest.raises(ValueError):
        c.points("hours")


def test_load_curves_from_the_catalog(client):
    cat = client.catalog
    a, b = (m.id for m in cat.find_models()[:2])
    cat.add_metric_samples(a, [{"figure": "loss", "legend": "validation", "x": s, "y": 1 / s, "epoch": s,
                                "wall_time": 100.0 + s} for s in (1, 2, 3)])
    cat.add_metric_samples(b, [{"figure": "loss", "legend": "validation", "x": s, "y": 2 / s} for s in (1, 2)])
    cat.add_metric_samples(b, [{"figure": "lr", "legend": "value", "x": 1, "y": 0.1}])
    curves = compare.load_curves(cat, [a, b])
    assert curves[a]["validation/loss"].ys == [1.0, 0.5, 1 / 3]
    assert compare.metric_keys(cat, [a, b]) == ["lr", "validation/loss"]
    assert compare.model_start(curves[a]) == 101.0
    t = compare.metrics_table(curves, ["validation/loss"], [a, b])
    assert t.best_of("validation/loss", "final") == [a]


def test_config_diff_differences_only_and_nested():
    configs = {"a": {"lr": 0.01, "epochs": 10, "opt": {"name": "sgd", "momentum": 0.9}, "tags": [1, 2]},
               "b": {"lr": 0.001, "epochs": 10, "opt": {"name": "sgd", "momentum": 0.8}, "tags": [1, 2],
                     "extra": True}}
    diff = compare.config_diff(configs)
    assert [r.key for r in diff] == ["extra", "lr", "opt.momentum"]
    assert diff[0].values == [None, True]
    full = compare.config_diff(configs, differences_only=False)
    assert [r.key for r in full] == ["epochs", "extra", "lr", "opt.momentum", "opt.name", "tags"]
    assert [r.differs for r in full] == [False, True, True, True, False, False]


def test_evaluation_table_and_per_class_values():
    ra = {"method": "coco", "summary": {"mAP": 0.5, "mAP50": 0.7, "fp": 10, "fn": 4},
          "per_class": {"circle": {"AP": 0.5, "f1": 0.6}, "star": {"AP": -1.0, "f1": 0.0}}}
    rb = {"method": "coco", "summary": {"mAP": 0.6, "mAP50": 0.65, "fp": 12, "fn": 3},
          "per_class": {"circle": {"AP": 0.4, "f1": 0.7}, "square": {"AP": 0.9, "f1": 0.8}}}
    t = compare.evaluation_table({"a": ra, "b": rb})
    assert [r.name for r in t.rows] == ["mAP", "mAP50", "fp", "fn"]
    assert t.best_of("mAP") == ["b"] and t.best_of("mAP50") == ["a"]
    assert t.best_of("fp") == ["a"] and t.best_of("fn") == ["b"]
    labels, vals = compare.per_class_values({"a": ra, "b": rb}, "AP")
    assert labels == ["circle", "star", "square"]
    assert vals["a"][0] == 0.5 and math.isnan(vals["a"][1]) and math.isnan(vals["a"][2])
    assert compare.per_class_metrics(ra) == ["AP", "f1"]


def test_common_evaluations_and_regressions(client, oracle_eval):
    cat = client.catalog
    ds_id = oracle_eval.dataset_id
    base = cat.get_model(oracle_eval.model_id)
    other = cat.create_model("oracle-worse", project_id=base.project_id, package_id=base.package_id,
                             labels=base.labels, output_type="box", dataset_id=ds_id)
    # the second model: the first one's predictions, minus every prediction on a few items
    preds = {}
    items = cat.item_ids(ds_id, subset="test")
    for a in cat.list_annotations(item_ids=items, model_id=base.id):
        preds.setdefault(a.item_id, [])
        if a.item_id % 5:
            preds[a.item_id].append(Annotation(type="box", label=a.label, coordinates=a.box, score=a.score))
    cat.replace_predictions(other.id, other.name, preds, ds_id)
    out = score_model(cat, other.id, ds_id, filters={"subset": "test"}, name="test")
    worse = EvaluationView(cat, cat.get_evaluation(out["evaluation_id"]))
    groups = compare.common_evaluations(cat, [base.id, other.id])
    assert len(groups) == 1 and set(groups[0].records) == {base.id, other.id}
    assert groups[0].filter == {"subset": "test"} and groups[0].method == "coco"
    sa, sb = ReviewSession(oracle_eval), ReviewSession(worse)
    reg = compare.regressions(sa.item_errors(), sb.item_errors(), sa.table.item_ids.tolist(),
                              sb.table.item_ids.tolist())
    ea, eb = sa.item_errors(), sb.item_errors()
    assert reg and all(i % 5 == 0 and ea.get(i, 0) == 0 and eb[i] > 0 for i in reg)
    assert worse.regressions(baseline=oracle_eval) == reg                          # the SDK's query
    assert oracle_eval.regressions(baseline=worse) == []
    assert [eb[i] for i in reg] == sorted((eb[i] for i in reg), reverse=True)
    # the other way round nothing regressed: model b only lost predictions
    assert compare.regressions(eb, ea, items, items) == []


def test_annotation_snapshot_restores_a_deleted_annotation(client):
    cat = client.catalog
    ds = cat.get_dataset("shapes-detection")
    rec = cat.list_annotations(dataset_id=ds.id, ground_truth=True)[0]
    snap = review.annotation_snapshot(rec)
    cat.delete_annotation(rec.id, who="me")
    assert cat.restore_annotation(snap, who="me") == rec.id
    back = cat.get_annotation(rec.id)
    assert (back.label, back.box, back.item_id) == (rec.label, rec.box, rec.item_id)
