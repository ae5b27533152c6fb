"""Model bundles between two catalogs: weights bit-identical, metrics, evaluations, lineage, package code, no
duplicates on a second import."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from desktop_app.catalog.bundle import MANIFEST, read_manifest
from desktop_app.errors import AlreadyExistsError, ValidationError

CENTROID = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _weights(tmp_path: Path, seed: int = 0) -> Path:
    """A small real torch weights file, as Model Desk writes them (state dict and metadata)."""
    import torch
    torch.manual_seed(seed)
    p = tmp_path / f"weights-{seed}.pt"
    torch.save({"state_dict": torch.nn.Linear(4, 3).state_dict(), "task": "classification", "arch": "resnet18",
                "labels": ["circle", "square", "triangle"], "config": {"lr": 0.01}}, p)
    return p


def _evaluation_cache() -> bytes:
    from desktop_app.evaluation.cache import encode_cache
    return encode_cache(scores=[0.9, 0.2, 0.7], labels=["circle", "square"])


@pytest.fixture
def source(dl, tmp_path):
    """In the bootstrapped catalog: a trained child of pretrained-resnet (weights, metrics, an evaluation with
    cached predictions) and its own child, so the grandchild has two ancestors."""
    from desktop_app.evaluation.run import keep_evaluation
    client = dl.default_client()
    cat = client.catalog
    pretrained = dl.packages.get("resnet").models.get("pretrained-resnet")
    shapes = dl.datasets.get("shapes")
    first = pretrained.clone(model_name="first")
    second = first.clone(model_name="second")
    for model, seed in ((first, 1), (second, 2)):
        model.artifacts.upload(_weights(tmp_path, seed), artifact_name="weights.pt")
        cat.set_model_status(model.id, "trained")
        cat.add_metric_samples(model.id, [{"figure": "loss", "legend": "train", "x": i, "y": 1.0 / (i + 1 + seed),
                                           "epoch": i} for i in range(5)])
        keep_evaluation(cat, model.id, shapes.id, "shapes-test", method="classification",
                        results={"summary": {"accuracy": 0.5 + seed / 10}, "per_class": {}},
                        cache=_evaluation_cache())
    return {"pretrained": pretrained, "first": first.refresh(), "second": second.refresh(), "client": client}


def _other(tmp_path, name: str = "other"):
    """Another catalog: the built-ins only (other ids than the first one's), no sample data."""
    from desktop_app.sdk.client import Client
    return Client(home=tmp_path / name)


def _content(client, model_id):
    cat = client.catalog
    model = cat.get_model(model_id)
    files = {a.filename: _sha(cat.store.path(a.sha256)) for a in cat.list_artifacts(model_id)}
    metrics = [(s.figure, s.legend, s.x, s.y, s.epoch) for s in cat.list_metrics(model_id)]
    evals = {e.name: (e.method, e.results, e.iou_threshold, e.conf_threshold, e.weights_sha,
                      _sha(cat.store.path(e.cache_sha))) for e in cat.list_evaluations(model_id=model_id)}
    return {"files": files, "metrics": metrics, "evaluations": evals, "configuration": model.configuration,
            "labels": model.labels, "status": model.status, "name": model.name}


def test_round_trip_keeps_weights_metrics_evaluations_and_lineage(source, tmp_path):
    second = source["second"]
    bundle = second.export_bundle(tmp_path / "second.mdbundle")
    manifest = read_manifest(bundle)
    assert manifest["format_version"] == 1
    assert [r["name"] for r in manifest["lineage"]] == ["first", "pretrained-resnet"]
    assert manifest["package"]["code"] is None            # a built-in travels by name only
    before = _content(source["client"], second.id)

    other = _other(tmp_path)
    try:
        model = other.models.import_bundle(bundle)
        assert model.bundle_report.created
        assert model.id == second.id
        after = _content(other, model.id)
        assert after == before                            # weights bit-identical (sha256), every point, scores
        assert model.package.name == "resnet" and model.package.id != second.package.id
        # The parent is not in the other catalog: recorded by id and name, not linked.
        assert model.parent_id is None
        assert model.metadata["bundle"]["lineage"] == manifest["lineage"]
        ev = model.evaluations.list()[0]
        assert ev.summary == {"accuracy": pytest.approx(0.7)}
        ds = other.catalog.get_dataset(ev.dataset_id)
        assert ds.metadata.get("bundle_reference") and ds.name == "shapes"

        # Importing the parent, then the child again in a third catalog: there the parent is linked, and the
        # parent's parent, a built-in, is linked to that catalog's own pretrained-resnet (another id).
        first_bundle = source["first"].export_bundle(tmp_path / "first.mdbundle")
        assert read_manifest(first_bundle)["lineage"] == [{"id": source["pretrained"].id, "name": "pretrained-resnet",
                                                           "builtin": True, "package": "resnet"}]
        third = _other(tmp_path, "third")
        try:
            first_there = third.models.import_bundle(first_bundle)
            own = third.packages.get("resnet").models.get("pretrained-resnet")
            assert first_there.parent_id == own.id != source["pretrained"].id
            child = third.models.import_bundle(bundle)
            assert child.parent_id == source["first"].id
            assert [m.name for m in child.lineage()] == ["pretrained-resnet", "first", "second"]
            # lineage travels on: exporting from here still names the pretrained ancestor
            again = read_manifest(child.export_bundle(tmp_path / "again.mdbundle"))
            assert [r["name"] for r in again["lineage"]] == ["first", "pretrained-resnet"]
        finally:
            third.catalog.close()
    finally:
        other.catalog.close()


def test_importing_twice_or_into_the_source_adds_nothing(source, tmp_path):
    from hostile.conftest import snapshot
    second = source["second"]
    bundle = second.export_bundle(tmp_path / "second.mdbundle")
    # Into the catalog it came from: already there.
    before = snapshot(source["client"])
    back = source["client"].models.import_bundle(bundle)
    assert not back.bundle_report.created and "already" in back.bundle_report.message
    assert back.id == second.id and snapshot(source["client"]) == before
    other = _other(tmp_path)
    try:
        other.models.import_bundle(bundle)
        once = snapshot(other)
        again = other.models.import_bundle(bundle)
        assert not again.bundle_report.created
        assert snapshot(other) == once
        # The same model with other weights: refused, naming it.
        second.artifacts.upload(_weights(tmp_path, 9), artifact_name="weights.pt")
        changed = second.export_bundle(tmp_path / "changed.mdbundle")
        with pytest.raises(AlreadyExistsError, match="'second'.*weights"):
            other.models.import_bundle(changed)
        assert snapshot(other) == once
    finally:
        other.catalog.close()


def test_a_user_package_travels_with_its_code_and_becomes_a_new_version_where_the_name_has_other_code(
        dl, tmp_path):
    pkg = dl.packages.push(package_name="centroid", src_path=CENTROID, entry_point="adapter.py",
                           class_name="CentroidAdapter", default_configuration={"epochs": 3}, output_type="class")
    project = dl.projects.get("Sample project")
    model = pkg.models.create(model_name="centroid-v1", project_id=project.id, labels=["a", "b"])
    (tmp_path / "centroids.json").write_text('{"a": [1, 2], "b": [3, 4]}')
    model.artifacts.upload(tmp_path / "centroids.json")
    bundle = model.export_bundle(tmp_path / "centroid.mdbundle")
    assert read_manifest(bundle)["package"]["code"].startswith("package/")

    other = _other(tmp_path)
    try:
        # The other catalog has a package of that name with other code.
        changed = tmp_path / "changed_pkg"
        changed.mkdir()
        (changed / "adapter.py").write_text((CENTROID / "adapter.py").read_text() + "\n# another version\n")
        other.packages.push(package_name="centroid", src_path=changed, entry_point="adapter.py",
                            class_name="CentroidAdapter", output_type="class")
        got = other.models.import_bundle(bundle, project_id="Sample project")
        pkg_there = other.packages.get("centroid")
        assert other.catalog.package_versions(pkg_there.id) == ["1.0.0", "1.0.1"]
        assert got.package_version == "1.0.1"
        assert other.catalog.model_package(got.id).codebase_sha == pkg._record.codebase_sha
        assert any("1.0.1" in n for n in got.bundle_report.notes)
        # The adapter class loads from the imported code.
        from desktop_app.ml.adapter import load_adapter_class
        assert load_adapter_class(other.catalog, other.catalog.model_package(got.id)).__name__ == "CentroidAdapter"
        assert _sha(other.catalog.store.path(other.catalog.list_artifacts(got.id)[0].sha256)) == \
            _sha(tmp_path / "centroids.json")
    finally:
        other.catalog.close()


def test_a_project_that_has_another_model_of_that_name_is_refused(source, tmp_path):
    bundle = source["second"].export_bundle(tmp_path / "second.mdbundle")
    other = _other(tmp_path)
    try:
        pretrained = other.packages.get("resnet").models.get("pretrained-resnet")
        pretrained.clone(model_name="second")
        with pytest.raises(AlreadyExistsError, match="another model named 'second'"):
            other.models.import_bundle(bundle, project_id="Sample project")
        other.projects.create("Elsewhere")
        assert other.models.import_bundle(bundle, project_id="Elsewhere").project.name == "Elsewhere"
    finally:
        other.catalog.close()


def test_a_newer_format_asks_for_an_update(source, tmp_path):
    bundle = source["second"].export_bundle(tmp_path / "second.mdbundle")
    newer = tmp_path / "newer.mdbundle"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(newer, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == MANIFEST:
                m = json.loads(data)
                m["format_version"] = 99
                data = json.dumps(m).encode()
            out.writestr(info.filename, data)
    with pytest.raises(ValidationError, match="format version 99.*update Model Desk"):
        read_manifest(newer)


def test_the_data_version_travels_and_is_kept_only_where_that_version_exists(source, tmp_path):
    first = source["first"]
    shapes = source["client"].datasets.get("shapes")
    v1 = shapes.snapshot("v1")
    from desktop_app.catalog.dataset_versions import DatasetVersions
    DatasetVersions(source["client"].catalog).record_model(first.id, "v1")   # pinned as train(data_version=) does
    bundle = first.refresh().export_bundle(tmp_path / "first.mdbundle")
    m = read_manifest(bundle)["model"]
    assert (m["data_version"], m["data_version_sha"]) == ("v1", v1.sha)

    other = _other(tmp_path)
    try:                                           # no such dataset there: said, kept as where it came from
        model = other.models.import_bundle(bundle)
        assert model.data_version is None
        assert model.metadata["bundle"]["data_version"] == {"name": "v1", "sha": v1.sha}
        assert any("data version 'v1'" in n for n in model.bundle_report.notes)
    finally:
        other.catalog.close()

    first.delete()                                 # back into its own catalog: its dataset has v1, the same data
    back = source["client"].models.import_bundle(bundle)
    assert back.data_version == "v1" and "data_version" not in back.metadata["bundle"]
