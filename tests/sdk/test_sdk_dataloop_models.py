"""Dataloop's model calls a script makes with only the import changed (issue 18): fields, subsets, artifacts,
services and evaluate(dataset_id, filters)."""

from __future__ import annotations

import pytest

from desktop_app.errors import NotFoundError, ValidationError


@pytest.fixture
def model(dl):
    project = dl.projects.get(project_name="Sample project")
    shapes = project.datasets.get(dataset_name="shapes")
    return dl.models.get(model_name="pretrained-resnet").clone(model_name="mine", dataset=shapes)


def test_model_status_is_an_enumeration_on_the_module(dl):
    assert [s.value for s in dl.ModelStatus] == ["created", "pre-trained", "pending", "training", "trained",
                                                 "deployed", "failed"]
    assert dl.ModelStatus.TRAINED == "trained"


def test_creator_context_version_and_status_logs(dl, model):
    assert isinstance(model.creator, str) and model.creator
    assert model.context == {"project": model.project_id, "org": None}
    assert model.version == "1.0.0"
    logs = model.status_logs
    assert logs[0]["status"] == "created" and logs[0]["createdAt"] == model.created_at
    assert logs[-1]["status"] == model.status


def test_system_metadata_holds_subsets_and_services_and_is_never_saved(dl, model):
    system = model.metadata["system"]
    assert system["subsets"]["train"] == {"subset": "train"}
    assert system["subsets"]["validation"] == {"subset": "validation"}
    assert system["deploy"]["services"] == []
    model.metadata["note"] = "kept"
    model.update()
    assert "system" not in model._client.catalog.get_model(model.id).metadata
    assert model.refresh().metadata["note"] == "kept" and "system" in model.metadata


def test_add_and_delete_a_test_subset(dl, model):
    model.add_subset("test", dl.Filters(field="metadata.system.tags.test", values=True))
    assert model.subsets["test"] == {"subset": "test"}
    assert dl.models.get(model_id=model.id).metadata["system"]["subsets"]["test"] == {"subset": "test"}
    assert "subsets" not in dl.models.get(model_id=model.id).metadata   # kept out of the user's metadata
    model.metadata["note"] = 1
    model.update()                                                    # an update keeps the subset
    assert dl.models.get(model_id=model.id).subsets["test"] == {"subset": "test"}
    model.delete_subset("test")
    assert "test" not in dl.models.get(model_id=model.id).subsets
    with pytest.raises(NotFoundError, match="no subset 'test'"):
        model.delete_subset("test")
    model.add_subset("train", {"subset": "validation"})
    assert model.subsets["train"] == {"subset": "validation"}
    model.delete_subset("train")
    assert model.subsets["train"] == {"subset": "train"}


def test_artifacts_get_and_delete_by_artifact_name(dl, model, tmp_path):
    f = tmp_path / "weights.pt"
    f.write_bytes(b"abc")
    model.artifacts.upload(filepath=str(f), artifact_name="best.pt")
    art = model.artifacts.get(artifact_name="best.pt")
    assert art.filename == "best.pt" and art.size == 3
    assert model.artifacts.get("best.pt") == art
    assert model.artifacts.get(artifact_id=art.id) == art
    with pytest.raises(ValidationError, match="artifact name"):
        model.artifacts.get(artifact_name="../x.pt")
    with pytest.raises(ValidationError, match="artifact name"):
        model.artifacts.delete(artifact_name="/etc/passwd")
    assert model.artifacts.delete(artifact_name="best.pt") is True
    assert model.artifacts.delete(artifact_name="best.pt") is False
    with pytest.raises(NotFoundError):
        model.artifacts.get(artifact_name="best.pt")


def test_model_services_list(dl, model):
    assert model.services.list() == [] and model.services == []


def test_evaluate_takes_the_dataset_id_positionally(dl, model, monkeypatch):
    from desktop_app.jobs import runner
    seen = {}

    def fake_submit(catalog, model_id, dataset_id, *, filters, **kw):
        seen.update(dataset_id=dataset_id, filters=filters)
        raise RuntimeError("stop here")

    monkeypatch.setattr(runner, "submit_evaluate", fake_submit)
    with pytest.raises(RuntimeError, match="stop here"):
        model.evaluate(model.dataset_id, dl.Filters(field="metadata.system.tags.test", values=True))
    assert seen == {"dataset_id": model.dataset_id, "filters": {"subset": "test"}}
    with pytest.raises(RuntimeError, match="stop here"):
        model.evaluate(model.dataset, {"subset": "validation"})
    assert seen == {"dataset_id": model.dataset_id, "filters": {"subset": "validation"}}


def test_service_delete_stops_it_and_takes_it_off_the_model(dl, model):
    rec = model._client.catalog.create_service(model.id, "svc", status="running", port=8601)
    model.refresh()
    assert model.metadata["system"]["deploy"]["services"] == [rec.id]
    (service,) = model.services.list()
    assert service.delete() is True
    assert service.status == "stopped"
    assert model.refresh().metadata["system"]["deploy"]["services"] == []
