"""A successful training leaves no scratch behind (its results are stored); a failed one keeps its folder to resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.catalog import scratch

PACKAGE_DIR = Path(__file__).parent / "centroid_package"


@pytest.fixture
def centroid(dl):
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="CentroidAdapter", default_configuration={"epochs": 2}, output_type="class")
    shapes = dl.datasets.get("shapes")
    return pkg.models.create(model_name="centroid-v1", dataset_id=shapes.id, project_id=shapes.project.id,
                             labels=shapes.labels)


def test_a_successful_training_frees_its_scratch(centroid, dl):
    cat = dl.default_client().catalog
    first = centroid.train()
    assert first.status == "success", first.logs()
    child = centroid.refresh().clone(model_name="centroid-v2")     # loads its parent's weights first
    ex = child.train()
    assert ex.status == "success", ex.logs()
    assert [a.filename for a in child.artifacts.list()] == ["centroids.json"]    # the results are stored
    for job, model in ((first, centroid), (ex, child)):
        assert not scratch.execution_dir(cat, job.id).exists()
        assert not any(p.exists() for p in scratch.model_dirs(cat, model.id))
    assert not any((cat.home / "work" / "executions").iterdir())
    assert "scratch folder freed" in ex.logs()
    assert cat.garbage_collect(dry_run=True)["scratch_folders"] == 0


def test_a_failed_training_keeps_its_folder_to_resume(centroid, dl):
    cat = dl.default_client().catalog
    centroid.configuration["fail"] = True
    centroid.update()
    ex = centroid.train()
    assert ex.status == "failed"
    assert (scratch.execution_dir(cat, ex.id) / "output").is_dir()
    assert cat.garbage_collect()["scratch_folders"] == 0 and scratch.execution_dir(cat, ex.id).is_dir()
    centroid.configuration["fail"] = False
    centroid.update()
    again = centroid.train(resume=True)
    assert again.id == ex.id and again.status == "success", again.logs()
    assert not scratch.execution_dir(cat, ex.id).exists()
