"""The Dataloop-style SDK: repositories hanging off their parents, entities, clone, annotations, metrics."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from desktop_app.domain.status import ModelStatus, TransitionError
from desktop_app.errors import NotFoundError, ValidationError


def test_fresh_catalog_holds_builtins_and_the_sample_project(dl):
    names = {p.name for p in dl.packages.list()}
    assert {"resnet", "mobilenet", "tinydet", "fasterrcnn"} <= names
    resnet = dl.packages.get(package_name="resnet")
    models = {m.name: m for m in resnet.models.list()}
    assert models["pretrained-resnet"].configuration["arch"] == "resnet18"
    assert models["pretrained-resnet50"].configuration["arch"] == "resnet50"
    assert models["pretrained-resnet"].status == "pre-trained"
    sample = dl.projects.get(project_name="Sample project")
    shapes = sample.datasets.get(dataset_name="shapes")
    assert shapes.items_count == 1000
    counts = shapes.subset_counts()  # 70/15/15, stratified by class
    assert counts["train"] == 700 and abs(counts["validation"] - 150) <= 4 and abs(counts["test"] - 150) <= 4
    assert models["pretrained-resnet"].dataset == shapes
    det = sample.datasets.get("shapes-detection")
    counts = det.label_counts()
    assert set(counts) == {"circle", "square", "triangle", "star"}
    hp = {h["name"]: h for h in resnet.hyperparameters}
    assert hp["learning_rate"]["kind"] == "float" and hp["epochs"]["minimum"] == 1


def test_clone_snippet_runs_as_written(dl):
    project = dl.projects.create(project_name="my project")
    PROJECT_ID = project.id  # noqa: N806  ("$PROJECT_ID" in the Dataloop docs)

    package = dl.packages.get(package_name='resnet')
    pretrained_model = package.models.get(model_name='pretrained-resnet50')

    model = pretrained_model.clone(model_name='my pretrained',
                                   description='pretrained cloned in to my project',
                                   project_id=PROJECT_ID)

    assert model.name == "my pretrained" and model.project_id == PROJECT_ID
    assert model.parent == pretrained_model and model.package == package
    assert model.status == "created"
    assert model.configuration == pretrained_model.configuration
    assert model.labels == pretrained_model.labels and model.dataset_id == pretrained_model.dataset_id
    assert pretrained_model.children == [model]
    assert [m.name for m in model.lineage()] == ["pretrained-resnet50", "my pretrained"]
    assert project.models.get(model_name="my pretrained") == model


def test_clone_merges_configuration_without_touching_the_source(dl):
    src = dl.packages.get("resnet").models.get("pretrained-resnet")
    before = dict(src.configuration)
    m = src.clone(model_name="exp", description="higher lr", configuration={"learning_rate": 0.05},
                  tags=["lr"])
    assert m.configuration["learning_rate"] == 0.05
    assert m.configuration["epochs"] == before["epochs"]
    assert src.refresh().configuration == before
    assert m.tags == ["lr"] and m.description == "higher lr"
    with pytest.raises(NotFoundError):
        src.clone(model_name="x", project_id="no-such-project")
    with pytest.raises(Exception, match="already exists"):
        src.clone(model_name="exp")


def test_clone_onto_another_dataset_takes_its_labels(dl, tmp_path):
    project = dl.projects.create("p")
    ds = project.datasets.create("mine", labels=["ok", "defect"])
    src = dl.packages.get("resnet").models.get("pretrained-resnet")
    m = src.clone(model_name="mine", project_id=project.id, dataset=ds)
    assert m.dataset == ds and m.labels == ["ok", "defect"]
    assert m.id_to_label_map == {0: "ok", 1: "defect"} and m.label_to_id_map == {"ok": 0, "defect": 1}


def test_model_fields_update_and_status(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="e")
    m.configuration["epochs"] = 3
    m.description = "short"
    m.update()
    again = dl.models.get(model_id=m.id)
    assert again.configuration["epochs"] == 3 and again.description == "short"
    for status in ("pending", "training", "trained", "deployed", "failed", ModelStatus.TRAINED):
        before = dl.models.get(model_id=m.id).status
        m.status = status                     # the snapshot only, as Dataloop: update() saves it
        assert m.status == status and dl.models.get(model_id=m.id).status == before
        m.update()
        assert m.status == status and dl.models.get(model_id=m.id).status == status
    m.status = "pre-trained"                  # a built-in's, given at creation: no transition leads there
    m.description = "longer"
    with pytest.raises(TransitionError, match=f"model {m.id} cannot go from trained to pre-trained"):
        m.update()
    saved = dl.models.get(model_id=m.id)
    assert (saved.status, saved.description) == ("trained", "short")   # one transaction: no edit saved
    with pytest.raises(ValidationError, match="unknown model status 'cloning-forever'"):
        m.status = "cloning-forever"
    assert m.status == "pre-trained"          # the snapshot keeps its edits
    assert dl.models.get(m.id) == m  # positional: name or id
    assert dl.models.get("e") == m


def _png(path, color=(200, 10, 10), size=(40, 30)):
    Image.new("RGB", size, color).save(path)
    return path


def test_items_annotations_builder_and_model_info(dl, tmp_path):
    project = dl.projects.create("p")
    ds = project.datasets.create("d")
    item = ds.items.upload(_png(tmp_path / "a.png"), remote_path="/folder", subset="train")
    assert item.filename == "/folder/a.png" and item.width == 40 and item.height == 30
    assert ds.items.get(filepath="/folder/a.png") == item
    builder = item.annotations.builder()
    builder.add(annotation_definition=dl.Box(left=1, top=2, right=11, bottom=12, label="cat"))
    builder.add(annotation_definition=dl.Classification(label="indoor"))
    builder.add(annotation_definition=dl.Polygon(geo=[[0, 0], [10, 0], [5, 8]], label="dog"),
                model_info={"name": "my-model", "confidence": 0.8})
    uploaded = item.annotations.upload(builder)
    assert len(uploaded) == 3
    anns = {a.label: a for a in item.annotations.list()}
    assert anns["cat"].type == "box" and anns["cat"].is_ground_truth
    assert (anns["cat"].left, anns["cat"].top, anns["cat"].right, anns["cat"].bottom) == (1, 2, 11, 12)
    assert anns["cat"].coordinates == [{"x": 1.0, "y": 2.0, "z": 0}, {"x": 11.0, "y": 12.0, "z": 0}]
    assert anns["indoor"].type == "class"
    assert anns["dog"].type == "segment"
    assert anns["dog"].model_info == {"name": "my-model", "model_id": None, "confidence": 0.8}
    assert [a.label for a in item.annotations.list(ground_truth=True)] == ["cat", "indoor"]
    assert set(ds.refresh().labels) == {"cat", "indoor", "dog"}
    with pytest.raises(ValidationError, match="confidence"):
        item.annotations.builder().add(annotation_definition=dl.Classification("x"),
                                       model_info={"name": "m", "confidence": 1.5})
    with pytest.raises(ValidationError, match="negative size"):
        dl.Box(10, 10, 5, 5, "x")
    anns["cat"].update(label="lion")
    assert item.annotations.get(anns["cat"].id).label == "lion"
    anns["indoor"].delete()
    assert len(item.annotations.list()) == 2


def test_dataset_subsets_and_filters(dl, tmp_path):
    ds = dl.projects.create("p").datasets.create("d")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(10):
        _png(folder / f"{i}.png", color=(i * 20, 0, 0))
    items = ds.items.upload(folder)
    assert len(items) == 10 and ds.items_count == 10
    assert len(ds.get_items_missing_ml_subset()) == 10
    counts = ds.split_ml_subsets(percentages={"train": 60, "validation": 20, "test": 20})
    assert counts == {"train": 6, "validation": 2, "test": 2}
    assert ds.items.count(dl.Filters(field="metadata.system.tags.train", values=True)) == 6
    assert ds.items.count({"subset": "test"}) == 2
    item = ds.items.list({"subset": "test"})[0]
    item.assign_subset("validation")
    assert item.get_current_subset() == "validation"
    assert ds.subset_counts() == {"train": 6, "validation": 3, "test": 1}
    with pytest.raises(ValidationError):
        item.assign_subset("holdout")


def test_metrics_plot_samples_and_log_run(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="offline")
    m.metrics.create(samples=[dl.PlotSample(figure="loss", legend="train", x=i, y=1 / (i + 1)) for i in range(3)])
    got = m.metrics.list(figure="loss")
    assert got == [dl.PlotSample("loss", "train", 0, 1.0), dl.PlotSample("loss", "train", 1, 0.5),
                   dl.PlotSample("loss", "train", 2, 1 / 3)]
    assert got[0].to_json() == {"figure": "loss", "legend": "train", "data": {"x": 0, "y": 1.0}}
    with m.log_run() as run:
        for step in range(4):
            run.log(step, **{"train/loss": 1.0 - step / 10, "val/loss": 1.2 - step / 10, "accuracy": step / 4})
    assert [s.y for s in m.metrics.list(figure="loss", legend="val")] == pytest.approx([1.2, 1.1, 1.0, 0.9])
    assert len(m.metrics.list(figure="accuracy")) == 4


def test_artifacts_upload_download_and_clone_shares_weights(dl, tmp_path):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="w")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "weights.pt").write_bytes(b"x" * 64)
    (tmp_path / "out" / "config.json").write_text("{}")
    m.artifacts.upload(tmp_path / "out")
    assert sorted(a.filename for a in m.artifacts.list()) == ["config.json", "weights.pt"]
    child = m.clone(model_name="w2")
    assert sorted(a.filename for a in child.artifacts.list()) == ["config.json", "weights.pt"]
    dest = child.artifacts.download(tmp_path / "dl")
    assert (dest / "weights.pt").read_bytes() == b"x" * 64
    with pytest.raises(ValidationError, match="overwrite"):
        m.artifacts.upload(tmp_path / "out" / "weights.pt", overwrite=False)


def test_module_level_repositories_use_desktop_app_home(tmp_path):
    script = textwrap.dedent("""
        import desktop_app.sdk as dl
        print(dl.default_client().catalog.home)
        print(len(dl.projects.list()))
    """)
    env = {"DESKTOP_APP_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == str(tmp_path / "h") and int(lines[1]) >= 1
    assert (tmp_path / "h" / "catalog.db").exists()
