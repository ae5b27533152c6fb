"""The fast metric reads (records, SDK points, numpy series) give the points in the order they were logged."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from desktop_app.catalog.bulk_reads import gc_paused


@pytest.fixture
def model(catalog):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    return catalog.create_model("m", project_id=p.id, package_id=pkg.id)


def _log(catalog, model):
    # two series logged step by step (interleaved ids), then a resumed run logging steps 1-2 of the loss again:
    # id order is not x order, which the index would give
    catalog.add_metric_samples(model.id, [{"figure": f, "legend": "train", "x": x, "y": 10 * k + x}
                                          for x in range(4) for k, f in enumerate(("loss", "acc"))],
                               execution_id="e1")
    catalog.add_metric_samples(model.id, [{"figure": "loss", "legend": "train", "x": x, "y": -x} for x in (1, 2)])


def test_records_points_and_series_agree_in_logged_order(catalog, model):
    _log(catalog, model)
    recs = catalog.list_metrics(model.id)
    ids = [r.id for r in recs]
    assert ids == sorted(ids) and len(ids) == 10
    assert [(r.figure, r.x, r.y) for r in recs[:4]] == [("loss", 0, 0), ("acc", 0, 10), ("loss", 1, 1), ("acc", 1, 11)]
    assert recs[0].execution_id == "e1" and recs[0].model_id == model.id and recs[0].wall_time > 0
    assert recs[-1].execution_id is None
    points = catalog.metric_points(model.id)
    assert points == [(r.id, r.figure, r.legend, r.x, r.y) for r in recs]
    xs, ys = catalog.metric_series(model.id, "loss", "train")
    assert xs.dtype == np.float64 and xs.flags["C_CONTIGUOUS"] and ys.flags["C_CONTIGUOUS"]
    assert xs.tolist() == [0, 1, 2, 3, 1, 2] and ys.tolist() == [0, 1, 2, 3, -1, -2]
    loss = catalog.list_metrics(model.id, figure="loss", legend="train")
    assert [r.x for r in loss] == xs.tolist() and [r.y for r in loss] == ys.tolist()
    assert [p[3] for p in catalog.metric_points(model.id, figure="acc")] == [0, 1, 2, 3]


def test_after_id_and_empty_reads(catalog, model):
    xs, ys = catalog.metric_series(model.id, "loss", "train")
    assert xs.shape == ys.shape == (0,)
    assert catalog.list_metrics(model.id) == [] and catalog.metric_points(model.id) == []
    _log(catalog, model)
    recs = catalog.list_metrics(model.id)
    after = recs[5].id
    assert [r.id for r in catalog.list_metrics(model.id, after_id=after)] == [r.id for r in recs[6:]]
    assert [p[0] for p in catalog.metric_points(model.id, after_id=after)] == [r.id for r in recs[6:]]
    xs, _ = catalog.metric_series(model.id, "loss", "train", after_id=after)
    assert xs.tolist() == [3, 1, 2]


def test_the_collector_is_back_on_after_a_read_even_a_failed_one(catalog, model):
    _log(catalog, model)
    assert gc.isenabled()
    catalog.list_metrics(model.id)
    catalog.metric_points(model.id)
    catalog.metric_series(model.id, "loss", "train")
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:   # a caller that turned it off keeps it off
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_sdk_list_and_series(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="reads")
    m.metrics.create([dl.PlotSample("loss", "train", x, 1.0 / (x + 1)) for x in range(50)]
                     + [dl.PlotSample("acc", "val", x, x / 50) for x in range(50)])
    got = m.metrics.list()
    assert len(got) == 100 and all(type(p) is dl.PlotSample for p in got)
    assert got[0] == dl.PlotSample("loss", "train", 0, 1.0) and got[-1] == dl.PlotSample("acc", "val", 49, 49 / 50)
    assert m.metrics.list(figure="acc", legend="val") == [dl.PlotSample("acc", "val", x, x / 50) for x in range(50)]
    xs, ys = m.metrics.series("loss", "train")
    assert xs.tolist() == list(range(50)) and ys[1] == 0.5


def test_runs_logged_together_or_alone_read_the_same(catalog, model, monkeypatch):
    from desktop_app.catalog import runs
    p = catalog.list_projects()[0]
    others = [catalog.create_model(f"o{k}", project_id=p.id, package_id=model.package_id) for k in range(3)]
    for step in range(30):   # four trainings logging at once: each model's ids are a quarter of its id range
        for k, m in enumerate([model, *others]):
            catalog.add_metric_samples(m.id, [{"figure": f, "legend": "train", "x": step, "y": 100 * k + step}
                                              for f in ("loss", "acc")])
    got = {}
    for share in (0.0, 1.1):   # every read through the id range, then none
        monkeypatch.setattr(runs, "DENSE_SHARE", share)
        got[share] = (catalog.list_metrics(model.id), catalog.metric_points(model.id),
                      catalog.metric_points(model.id, figure="acc", legend="train"),
                      catalog.list_metrics(others[2].id, legend="train"))
    assert got[0.0] == got[1.1]
    recs, points, acc, other = got[0.0]
    assert len(recs) == 60 and [r.id for r in recs] == sorted(r.id for r in recs)
    assert {r.model_id for r in recs} == {model.id} and {r.model_id for r in other} == {others[2].id}
    assert [p[3] for p in acc] == list(range(30)) and {p[1] for p in acc} == {"acc"}
