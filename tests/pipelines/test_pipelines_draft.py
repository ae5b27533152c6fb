"""The New pipeline form's logic without a screen: defaults from the champion, the gate's texts, one core
message per field, and create."""

from __future__ import annotations

import pytest

from desktop_app.errors import ValidationError
from desktop_app.pipelines import draft as drafts
from desktop_app.pipelines.gate import GateSpec


def test_gate_texts_round_trip_and_blank_keeps_the_default():
    kind = drafts.gate_kind("class")
    texts = drafts.gate_texts(kind, {"min_improvement": 0.02, "checks": ["macro_f1", "classes"]})
    assert texts["metric"] == "accuracy" and texts["min_improvement"] == "0.02"
    assert texts["checks"] == "macro_f1, classes" and texts["max_class_drop"] == "" and texts["iou_threshold"] == ""
    values = drafts.gate_values(texts)
    assert GateSpec.from_dict(values, method="classification").to_dict() == GateSpec.from_dict(
        {"min_improvement": 0.02, "checks": ["macro_f1", "classes"]}, method="classification").to_dict()
    assert drafts.gate_values({"min_improvement": "abc"}) == {"min_improvement": "abc"}   # for the core to refuse


def test_each_gate_field_gets_its_own_core_message():
    errors = drafts.gate_errors("classification", {"metric": "mAP", "min_improvement": "abc", "min_wins": "2"})
    for key, bad in (("metric", {"metric": "mAP"}), ("min_improvement", {"min_improvement": "abc"}),
                     ("min_wins", {"min_wins": 2.0})):
        with pytest.raises(ValidationError) as e:
            GateSpec.from_dict(bad, method="classification")
        assert errors[key] == str(e.value)
    assert drafts.gate_errors("classification", {"checks": "macro_f1", "min_wins": "1"}) == {}


def test_defaults_follow_the_champion_and_create_stores_the_draft(dl, champion):
    project = dl.projects.get("Sample project")
    cat = dl.default_client().catalog
    d = drafts.defaults(cat, project.id)
    assert (d.champion_id, d.dataset_id, d.name) == (champion.id, champion.dataset_id, "dial-v1-retrain")
    assert drafts.check(cat, d, data=True) == {}
    d.trigger, d.every, d.overrides = "schedule", "6h", '{"skill": 0.8}'
    p = dl.pipelines.get(drafts.create(cat, d).id)
    assert p.definition.trigger.every_s == 6 * 3600 and p.definition.training == {"skill": 0.8}
    again = drafts.defaults(cat, project.id)
    assert again.name == "dial-v1-retrain-2"                      # the first free name
    again.name, again.trigger, again.count, again.overrides = p.name, "annotations", 0, "[1]"
    errors = drafts.check(cat, again)
    assert set(errors) == {"name", "trigger", "overrides"}
    assert "already exists" in errors["name"] and "at least 1" in errors["trigger"]
    with pytest.raises(drafts.DraftError) as e:
        drafts.create(cat, again)
    assert e.value.errors == errors and len(dl.pipelines.list()) == 1
