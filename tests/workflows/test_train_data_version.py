"""Training on a dataset version: a snapshot, a label fix, a second snapshot and their diff; training on the first
snapshot after the fix sees the OLD label (what the adapter was given, recorded by a tiny adapter); every training
and evaluation records the version it used (the model's data_version, the job's input, the evaluation's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.catalog.dataset_versions import DatasetVersions, auto_name
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.workflows.adapters import build_adapter
from desktop_app.workflows.data_versions import use_training_version
from desktop_app.workflows.evaluate import evaluate_model

PACKAGE_DIR = Path(__file__).parent / "label_recorder_package"


@pytest.fixture
def fixed(dl, tmp_path):
    """shapes frozen as v1, one train item's class label fixed, frozen again as v2; a model of a label recorder."""
    ds = dl.datasets.get("shapes")
    cat = dl.default_client().catalog
    v1 = ds.snapshot("v1", description="before the fix")
    item = cat.list_items(ds.id, subset="train", limit=1)[0]
    [cls] = cat.list_annotations(item_ids=[item.id], ground_truth=True, types=["class"])
    new = next(x for x in ds.labels if x != cls.label)
    cat.update_annotation(cls.id, label=new, who="reviewer")
    v2 = ds.snapshot("v2", description="after the fix")
    pkg = dl.packages.push(package_name="recorder", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="LabelRecorder", output_type="class")
    model = pkg.models.create(model_name="recorder-v1", dataset_id=ds.id, labels=ds.labels,
                              project_id=ds.project.id, configuration={"record": str(tmp_path / "seen.json")})
    return {"ds": ds, "cat": cat, "v1": v1, "v2": v2, "item": item, "ann": cls, "old": cls.label, "new": new,
            "model": model, "record": tmp_path / "seen.json"}


def _layout_labels(data_path: str, name: str) -> list[str]:
    for subset in ("train", "validation"):
        data = json.loads((Path(data_path) / subset / "annotations.json").read_text())
        for it in data["items"]:
            if it["filename"] == name:
                return [a["label"] for a in it["annotations"]]
    raise AssertionError(f"{name} is not in the layout")


def test_training_on_the_first_snapshot_after_a_label_fix_sees_the_old_label(fixed):
    ds, cat, model, item = fixed["ds"], fixed["cat"], fixed["model"], fixed["item"]
    d = ds.diff("v1", "v2")
    [changed] = d["annotations_changed"]
    assert (changed["id"], changed["item_id"], changed["before"], changed["after"]) == (
        fixed["ann"].id, item.id, fixed["old"], fixed["new"])
    assert d["counts"]["annotations_changed"] == 1 and not d["items_added"] and not d["items_removed"]
    assert ds.diff("v2")["same"]                                    # v2 is the data as it is now

    ex = model.train(data_version="v1")
    assert ex.status == "success", ex.logs()
    seen = json.loads(fixed["record"].read_text())
    assert seen["seen"][item.name] == [fixed["old"]]                # the label as v1 froze it, not the fixed one
    assert seen["context"]["data_version"] == "v1"
    assert model.refresh().data_version == "v1"
    job = cat.get_execution(ex.id)
    assert job.input["data_version"] == "v1" and job.input["data_sha"] == fixed["v1"].sha
    assert job.output["data_version"] == "v1"
    assert cat.get_model(model.id).data_version == "v1"             # stored: the search module reads it there

    # An evaluation records the data it scored: the live dataset, frozen under its automatic name (= v2's content).
    out = evaluate_model(cat, model.id, ds.id, filters={"subset": "test"}, name="on-test")
    assert out["data_version"] == auto_name(fixed["v2"].sha)
    assert cat.get_evaluation(out["evaluation_id"]).data_version == out["data_version"]
    assert ds.get_version(out["data_version"]).sha == fixed["v2"].sha


def test_unpinning_trains_on_the_live_data_again(fixed):
    cat, model, item = fixed["cat"], fixed["model"], fixed["item"]
    assert model.train(data_version="v1").status == "success"
    assert model.refresh().data_version == "v1"
    assert model.unpin_data_version() is model and model.data_version is None
    assert cat.get_model(model.id).data_version is None
    ex = model.train()
    assert ex.status == "success", ex.logs()
    seen = json.loads(fixed["record"].read_text())
    assert seen["seen"][item.name] == [fixed["new"]]                # the fixed label: the live data, not v1
    assert model.refresh().data_version == auto_name(fixed["v2"].sha)   # recorded as what it used, not pinned
    assert model.unpin_data_version().data_version == auto_name(fixed["v2"].sha)   # an auto name is kept


def test_a_training_without_a_version_freezes_the_live_data_and_reuses_that_version(fixed):
    cat, model, item = fixed["cat"], fixed["model"], fixed["item"]
    ex = cat.create_execution("train", model_id=model.id, input={"resume": False})
    adapter = build_adapter(cat, model.id, load=False)
    version = use_training_version(cat, ex, adapter)
    assert version.name == auto_name(fixed["v2"].sha) and version.sha == fixed["v2"].sha
    assert cat.get_model(model.id).data_version == version.name
    assert cat.get_execution(ex.id).input == {"resume": False, "data_version": version.name,
                                              "data_sha": version.sha}
    _, data, _ = adapter.prepare_data()                              # the adapter's own, live layout
    assert _layout_labels(data, item.name) == [fixed["new"]]
    # The next training of the same data reuses the version; an 'auto-' name on the model is no pin.
    again = use_training_version(cat, cat.create_execution("train", model_id=model.id, input={}),
                                 build_adapter(cat, model.id, load=False))
    assert again.id == version.id
    assert DatasetVersions(cat).for_training(model.id) is None


def test_a_pinned_version_lays_out_its_frozen_items_and_a_resumed_job_keeps_its_version(fixed, tmp_path):
    cat, ds, model, item = fixed["cat"], fixed["ds"], fixed["model"], fixed["item"]
    DatasetVersions(cat).record_model(model.id, "v1")                # what model.train(data_version='v1') pins
    gone = cat.list_items(ds.id, subset="validation", limit=1)[0]
    cat.delete_items([gone.id])                                      # deleted after v1: v1 still trains on it
    ex = cat.create_execution("train", model_id=model.id, input={})
    adapter = build_adapter(cat, model.id, load=False)
    assert use_training_version(cat, ex, adapter).name == "v1"
    _, data, _ = adapter.prepare_data(root_path=str(tmp_path / "v1"))
    assert _layout_labels(data, item.name) == [fixed["old"]]
    assert _layout_labels(data, gone.name) == [a["label"] for a in _frozen_item(cat, fixed["v1"], gone.id)
                                               ["annotations"] if a["type"] == "class"]
    v1 = DatasetVersions(cat).load(fixed["v1"])
    for subset in ("train", "validation"):
        laid = json.loads((Path(data) / subset / "annotations.json").read_text())["items"]
        assert [it["filename"] for it in laid] == [it["name"] for it in v1.select({"subset": subset})]
    # Pinned elsewhere since: a resumed attempt of the job goes on with the data it started on.
    DatasetVersions(cat).record_model(model.id, "v2")
    resumed = cat.get_execution(ex.id)
    adapter = build_adapter(cat, model.id, load=False)
    assert use_training_version(cat, resumed, adapter).name == "v1"
    _, data, _ = adapter.prepare_data(root_path=str(tmp_path / "resumed"))
    assert _layout_labels(data, item.name) == [fixed["old"]]


def _frozen_item(cat, version, item_id: int) -> dict:
    return next(it for it in DatasetVersions(cat).load(version).items if it["id"] == item_id)


def test_train_refuses_an_unknown_or_automatic_version_before_any_job(fixed):
    model, cat, ds = fixed["model"], fixed["cat"], fixed["ds"]
    with pytest.raises(NotFoundError, match="no version named 'nope'.*v2, v1"):
        model.train(data_version="nope")
    auto = DatasetVersions(cat).auto(ds.id)
    with pytest.raises(ValidationError, match=r"snapshot\('my-name', source="):
        model.train(data_version=auto.name)
    assert cat.list_executions(model_id=model.id) == []
    assert model.refresh().data_version is None


def test_a_model_pinned_to_a_deleted_version_says_so(fixed):
    model, cat, ds = fixed["model"], fixed["cat"], fixed["ds"]
    DatasetVersions(cat).record_model(model.id, "v2")
    ds.delete_version("v2")
    with pytest.raises(NotFoundError, match="trains on data version 'v2', which is gone.*versions: v1"):
        DatasetVersions(cat).for_training(model.id)


def test_a_clone_keeps_its_parents_pinned_version_but_not_an_automatic_one(fixed):
    model, cat, ds = fixed["model"], fixed["cat"], fixed["ds"]
    DatasetVersions(cat).record_model(model.id, "v1")
    clone = model.clone(model_name="recorder-v2")
    assert clone.data_version == "v1" and cat.get_model(clone.id).data_version == "v1"
    DatasetVersions(cat).record_model(model.id, DatasetVersions(cat).auto(ds.id).name)
    assert model.clone(model_name="recorder-v3").data_version is None
