"""The logic behind the screens, tested without one (desktop_app.sdk.views imports no Qt)."""

from __future__ import annotations

import math
import sys

import pytest

from desktop_app.catalog.records import ExecutionRecord, MetricSample, ModelRecord
from desktop_app.errors import ValidationError
from desktop_app.sdk import views


def _s(i, figure, legend, x, y, execution_id=None):
    return MetricSample(id=i, model_id="m", figure=figure, legend=legend, x=x, y=y, execution_id=execution_id)


def test_series_set_groups_samples_and_ignores_ones_it_has_seen():
    ss = views.SeriesSet()
    changed = ss.add([_s(1, "loss", "train", 0, 1.0), _s(2, "loss", "val", 0, 1.2), _s(3, "loss", "train", 1, 0.5)])
    assert changed == {("loss", "train"), ("loss", "val")}
    assert ss.add([_s(2, "loss", "val", 0, 9.9)]) == set()  # a poll that overlaps adds nothing twice
    ss.add([_s(4, "accuracy", "val", 0, 0.7)])
    assert ss.last_id == 4 and len(ss) == 4
    assert ss.figures() == ["accuracy", "loss"]
    assert ss.legends("loss") == ["train", "val"]
    assert ss.series("loss", "train").xs == [0.0, 1.0]
    assert ss.latest.figure == "accuracy"
    assert ss.to_csv().splitlines() == ["figure,legend,x,y", "accuracy,val,0.0,0.7", "loss,train,0.0,1.0",
                                        "loss,train,1.0,0.5", "loss,val,0.0,1.2"]


def test_series_sorted_by_x_after_a_resumed_run_logs_steps_again():
    s = views.Series("loss", "train", [0, 1, 2, 1, 2, 3], [5, 4, 3, 4.5, 3.5, 2])
    xs, ys = s.sorted_by_x()
    assert xs == [0, 1, 1, 2, 2, 3] and ys == [5, 4, 4.5, 3, 3.5, 2]


def test_ema_is_debiased_and_keeps_gaps():
    assert views.ema([1, 2, 3], 0.0) == [1, 2, 3]
    out = views.ema([10, 10, 10], 0.9)
    assert out == pytest.approx([10, 10, 10])  # debiased: no ramp from zero
    out = views.ema([0, 10], 0.5)
    assert out == pytest.approx([0, 10 * 0.5 / 0.75])
    gap = views.ema([1, math.nan, 1], 0.5)
    assert math.isnan(gap[1]) and gap[2] == pytest.approx(1)
    with pytest.raises(ValidationError):
        views.ema([1], 1.0)
    assert [math.isnan(v) for v in views.positive_or_nan([1, 0, -2])] == [False, True, True]


def test_current_metric_prefers_validation_and_named_curves():
    latest = {("loss", "train_batch"): _s(5, "loss", "train_batch", 10, 1.3161),
              ("accuracy", "validation"): _s(4, "accuracy", "validation", 9, 0.5),
              ("lr", "value"): _s(6, "lr", "value", 10, 0.002)}
    assert views.describe_current(latest) == "validation/accuracy 0.5 · train_batch/loss 1.316"
    assert views.describe_current({("lr", "value"): _s(1, "lr", "value", 0, 0.1)}) == "lr 0.1"
    assert views.describe_current({}) == ""
    # the machine's readings never stand for the training's metric
    sysm = {("cpu_percent", "system"): _s(9, "cpu_percent", "system", 10, 55.0)}
    assert views.describe_current(sysm) == ""
    assert views.describe_current({**sysm, ("lr", "value"): _s(1, "lr", "value", 0, 0.1)}) == "lr 0.1"


def test_eta_and_durations():
    assert views.eta_seconds(0, 10) is None
    assert views.eta_seconds(25, 10) == pytest.approx(30)
    assert views.eta_seconds(100, 10) is None
    assert views.format_duration(None) == ""
    assert views.format_duration(65) == "1:05"
    assert views.format_duration(3723) == "1:02:03"


def test_job_row_from_an_execution():
    ex = ExecutionRecord(id="e1", kind="train", status="in-progress", model_id="m", progress=40.0,
                         started_at="2024-01-01T00:00:00.000000Z", created_at="2024-01-01T00:00:00Z",
                         log_path="logs/executions/e1.log")
    start = views.parse_iso(ex.started_at)
    row = views.job_row(ex, "my-model", "loss 0.5", now=start + 20)
    assert row.elapsed_s == pytest.approx(20) and row.eta_s == pytest.approx(30)
    assert row.title == "train my-model" and row.can_cancel and not row.can_resume and not row.done
    done = views.job_row(ExecutionRecord(id="e2", kind="train", status="canceled", started_at=ex.started_at,
                                         finished_at="2024-01-01T00:00:05Z"), now=start + 100)
    assert done.elapsed_s == pytest.approx(5) and done.eta_s is None and done.can_resume and done.done


def test_lineage_forest_nests_clones_under_their_parents():
    def m(i, parent=None, t="2024"):
        return ModelRecord(id=i, name=f"n{i}", project_id="p", package_id="k", parent_id=parent, created_at=t + i)
    forest = views.lineage_forest([m("a"), m("b", "a"), m("c", "b"), m("d", "a"), m("e", "missing")])
    assert [r.id for r in forest] == ["a", "e"]
    assert [c.id for c in forest[0].children] == ["b", "d"]
    assert [n.id for n in forest[0].walk()] == ["a", "b", "c", "d"]


def test_form_fields_from_declared_and_inferred_parameters():
    hp = [{"name": "epochs", "kind": "int", "default": 10, "help": "Passes.", "minimum": 1, "maximum": 100,
           "choices": [], "advanced": False, "allow_auto": False},
          {"name": "seed", "kind": "int", "default": 0, "help": "", "minimum": 0, "maximum": None,
           "choices": [], "advanced": True, "allow_auto": False}]
    fields = views.form_fields(hp, {"epochs": 3, "sleep": 0.5, "fast": True, "id_to_label_map": {"0": "a"}})
    assert [(f["name"], f["kind"], f["value"]) for f in fields] == [
        ("epochs", "int", 3), ("seed", "int", 0), ("sleep", "float", 0.5), ("fast", "bool", True)]
    values, errors = views.coerce_form(fields, {"epochs": "7", "seed": 1, "sleep": "abc", "fast": "no"})
    assert values == {"epochs": 7, "seed": 1, "fast": False}
    assert "sleep" in errors and "number" in errors["sleep"]
    _, errors = views.coerce_form(fields, {"epochs": 1000})
    assert "above the maximum" in errors["epochs"]
    assert views.changed_values({"epochs": 3, "seed": 0}, {"epochs": 7, "seed": 0}) == {"epochs": 7}
    assert views.display_value(0.002) == "0.002" and views.display_value(True) == "true"


def test_names_sizes_and_subsets():
    assert views.unique_name("pretrained-resnet", ["pretrained-resnet"]) == "pretrained-resnet-v2"
    assert views.unique_name("resnet-v2", ["resnet-v2", "resnet-v3"]) == "resnet-v4"
    assert views.human_size(512) == "512 B" and views.human_size(2048) == "2.0 KB"
    assert views.human_size(5 * 1024 ** 2) == "5.0 MB"
    assert views.subset_of(None, "train") == "train"
    assert views.subset_of({"subset": "test"}, "train") == "test"
    assert views.subset_of({"subset": "train", "label": "x"}, "train") is None


def test_views_module_is_headless():
    assert "PySide6" not in getattr(views, "__dict__", {})
    with open(views.__file__, encoding="utf-8") as f:
        src = f.read()
    assert "PySide6" not in src and "pyqtgraph" not in src and "import torch" not in src
    assert "desktop_app.sdk.views" in sys.modules
