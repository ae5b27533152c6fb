"""The gate and the definition, without a catalog: primary metric, per-class drops, K-of-checks, triggers."""

from __future__ import annotations

import pytest

from desktop_app.errors import ValidationError
from desktop_app.pipelines.definition import PipelineDefinition, Trigger, parse_duration
from desktop_app.pipelines.gate import GateSpec, decide


def ev(acc, f1s, **more):
    return {"summary": {"accuracy": acc, "macro_f1": sum(f1s.values()) / len(f1s), **more},
            "per_class": {k: {"f1": v, "precision": v, "recall": v, "support": 10} for k, v in f1s.items()}}


CHAMP = ev(0.60, {"circle": 0.6, "square": 0.6, "star": 0.6})


def spec(**kw):
    return GateSpec.from_dict(kw, method="classification")


def test_primary_metric_needs_its_minimum_improvement_and_a_tie_never_promotes():
    better = ev(0.70, {"circle": 0.7, "square": 0.7, "star": 0.7})
    d = decide(spec(), CHAMP, better)
    assert d.promote and d.figures["primary"]["delta"] == pytest.approx(0.10)
    assert not decide(spec(min_improvement=0.2), CHAMP, better).promote
    assert not decide(spec(), CHAMP, CHAMP).promote
    assert "a tie never promotes" in decide(spec(), CHAMP, CHAMP).reasons[0]
    worse = ev(0.50, {"circle": 0.5, "square": 0.5, "star": 0.5})
    assert not decide(spec(), CHAMP, worse).promote


def test_a_class_that_drops_too_far_blocks_an_overall_better_challenger():
    lopsided = ev(0.75, {"circle": 0.2, "square": 0.95, "star": 0.95})
    assert decide(spec(), CHAMP, lopsided).promote  # no class rule: the average wins
    d = decide(spec(max_class_drop=0.1), CHAMP, lopsided)
    assert not d.promote
    cd = d.figures["class_drop"]
    assert cd["failed_classes"] == ["circle"] and cd["worst_class"] == "circle"
    assert cd["worst_delta"] == pytest.approx(-0.4)
    assert any("circle 0.600 -> 0.200" in r for r in d.reasons)
    # A class the challenger lost entirely counts as 0; a class without test examples is not judged.
    champ = ev(0.6, {"circle": 0.6, "square": 0.6})
    champ["per_class"]["ghost"] = {"f1": None, "support": 0}
    champ["per_class"]["(no prediction)"] = {"f1": 0.0, "support": 3}
    chall = ev(0.9, {"square": 0.9, "circle": 0.9})
    del chall["per_class"]["circle"]
    d = decide(spec(max_class_drop=0.5), champ, chall)
    assert set(d.figures["per_class"]["classes"]) == {"circle", "square"}
    assert d.figures["class_drop"]["failed_classes"] == ["circle"]


def test_wins_at_least_k_of_the_chosen_checks():
    chall = ev(0.70, {"circle": 0.7, "square": 0.5, "star": 0.55})  # macro_f1 0.583 < 0.6
    s = spec(checks=["accuracy", "macro_f1", "classes"], min_wins=3)
    d = decide(s, CHAMP, chall)
    w = d.figures["wins"]
    assert (w["won"], w["of"], w["needed"]) == (2, 5, 3)  # accuracy and circle
    assert not d.promote
    assert decide(spec(checks=["accuracy", "macro_f1", "classes"], min_wins=2), CHAMP, chall).promote
    # A fraction: 0.6 of 5 checks is 3.
    assert decide(spec(checks=["accuracy", "macro_f1", "classes"], min_wins=0.6), CHAMP, chall).figures["wins"][
        "needed"] == 3
    # Default: every check.
    assert decide(spec(checks=["accuracy", "class:circle"]), CHAMP, chall).promote
    assert not decide(spec(checks=["accuracy", "class:square"]), CHAMP, chall).promote


def test_lower_is_better_for_error_counts_in_detection():
    s = GateSpec.from_dict({"metric": "mAP", "checks": ["fp", "fn", "mAP50"], "min_wins": 2}, method="coco")
    old = {"summary": {"mAP": 0.5, "mAP50": 0.7, "fp": 10, "fn": 8}, "per_class": {"a": {"AP": 0.5, "support": 3}}}
    new = {"summary": {"mAP": 0.55, "mAP50": 0.69, "fp": 6, "fn": 9}, "per_class": {"a": {"AP": 0.55, "support": 3}}}
    d = decide(s, old, new)
    assert [r["won"] for r in d.figures["wins"]["checks"]] == [True, False, False]
    assert not d.promote
    assert s.class_metric == "AP"


def test_bad_gates_are_refused_with_the_known_names():
    with pytest.raises(ValidationError, match="mAP.*not reported by classification"):
        spec(metric="mAP")
    with pytest.raises(ValidationError, match="unknown gate key"):
        spec(threshold=0.1)
    with pytest.raises(ValidationError, match="min_improvement"):
        spec(min_improvement=-0.1)
    with pytest.raises(ValidationError, match="min_wins needs a list of checks"):
        spec(min_wins=2)
    with pytest.raises(ValidationError, match="class_metric"):
        spec(class_metric="AP")
    with pytest.raises(ValidationError, match="check 'mAP'"):
        spec(checks=["mAP"])


def test_triggers_parse_from_strings_and_dicts():
    assert Trigger.parse(None).type == "manual"
    t = Trigger.parse("annotations:25")
    assert (t.type, t.count) == ("annotations", 25)
    assert Trigger.parse({"type": "schedule", "every": "6h"}).every_s == 6 * 3600
    assert Trigger.parse("schedule:90s").describe() == "every 90s"
    assert Trigger.parse("schedule:1d").describe() == "every 1d"
    assert parse_duration(30) == 30.0 and parse_duration("30m") == 1800.0
    for bad in ("annotations:0", "annotations:x", "schedule", "hourly", {"type": "manual", "when": 1}):
        with pytest.raises(ValidationError):
            Trigger.parse(bad)
    with pytest.raises(ValidationError):
        parse_duration("-5m")


def test_definition_round_trips_and_checks_its_fields():
    d = PipelineDefinition(package_id="p", dataset_id="d", trigger=Trigger.parse("annotations:5"),
                           max_items=10, gate={"max_class_drop": 0.05})
    d.validate("class")
    assert d.max_items == {"train": 10, "validation": 10, "test": 10}
    assert d.gate["metric"] == "accuracy" and d.gate["class_metric"] == "f1"
    again = PipelineDefinition.from_dict(d.to_dict())
    assert again.trigger.count == 5 and again.to_dict() == d.to_dict()
    bad = PipelineDefinition(package_id="p", dataset_id="d", subsets={"test": {"colour": "red"}})
    with pytest.raises(ValidationError, match="unknown filter key"):
        bad.validate("class")
    with pytest.raises(ValidationError, match="unknown pipeline field"):
        PipelineDefinition.from_dict({**d.to_dict(), "schedule": "now"})
