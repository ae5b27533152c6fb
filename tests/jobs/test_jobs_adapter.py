"""The adapter contract and the job queue, with a tiny deterministic user package (no torch)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from desktop_app.errors import ValidationError

PACKAGE_DIR = Path(__file__).parent / "centroid_package"


@pytest.fixture
def centroid(dl):
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="CentroidAdapter", default_configuration={"epochs": 3},
                           output_type="class")
    shapes = dl.datasets.get("shapes")
    project = dl.projects.get("Sample project")
    return pkg.models.create(model_name="centroid-v1", dataset_id=shapes.id, project_id=project.id,
                             labels=shapes.labels)


def _wait_status(ex, statuses, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ex.status in statuses:
            return ex.status
        time.sleep(0.1)
    raise AssertionError(f"execution still {ex.status} after {timeout} s; log:\n{ex.logs()}")


def test_push_copies_the_code_and_checks_the_adapter(dl, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter.py").write_text("import desktop_app.sdk as dl\nclass A(dl.BaseModelAdapter):\n"
                                    "    def load(self, p): pass\n")
    with pytest.raises(ValidationError, match="does not implement predict, save"):
        dl.packages.push(package_name="bad", src_path=bad, entry_point="adapter.py")
    with pytest.raises(ValidationError, match="not found"):
        dl.packages.push(package_name="bad", src_path=bad, entry_point="missing.py")
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py")
    assert pkg.class_name == "CentroidAdapter" and pkg.kind == "user"
    assert pkg.metadata["supported_methods"] == {"load": True, "save": True, "train": True, "predict": True}
    # The code lives in the store: the package works after the source folder is gone.
    assert dl.default_client().catalog.store.exists(pkg._record.codebase_sha)


def test_train_through_a_worker_process_records_everything(centroid, dl):
    ex = centroid.train()
    assert ex.status == "success", ex.logs()
    assert centroid.refresh().status == "trained"
    assert [a.filename for a in centroid.artifacts.list()] == ["centroids.json"]
    losses = centroid.metrics.list(figure="loss", legend="train")
    assert [s.y for s in losses] == pytest.approx([1.0, 0.5, 1 / 3])
    assert ex.record.pid and ex.record.pid != os.getpid()
    assert "training model centroid-v1" in ex.logs()
    # predict_items through the adapter stores predictions with model_info, replacing earlier ones.
    adapter = centroid.package.build(model_entity=centroid)
    items = dl.datasets.get("shapes").items.list({"subset": "test"}, limit=5)
    adapter.predict_items(items)
    adapter.predict_items(items)
    preds = [a for it in items for a in it.annotations.list(ground_truth=False)]
    assert len(preds) == 5
    assert all(p.model_info["name"] == "centroid-v1" and p.model_info["model_id"] == centroid.id for p in preds)


def test_the_model_code_failing_marks_the_job_failed_with_its_error(centroid):
    centroid.configuration["fail"] = True
    centroid.update()
    ex = centroid.train()
    assert ex.status == "failed"
    assert "the model code failed on purpose" in ex.error
    assert "Traceback" in ex.logs()
    assert centroid.refresh().status == "failed"


def test_cancel_stops_a_job_within_seconds(centroid):
    centroid.configuration.update({"epochs": 100, "sleep": 0.2})
    centroid.update()
    ex = centroid.train(wait=False)
    _wait_status(ex, ("in-progress",))
    time.sleep(1.0)
    t = time.monotonic()
    ex.cancel()
    assert _wait_status(ex, ("canceled",), timeout=15) == "canceled"
    assert time.monotonic() - t < 10
    assert centroid.refresh().status == "created"


def test_bad_hyperparameters_and_empty_subsets_are_refused_before_any_job(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="bad")
    m.configuration["learning_rate"] = "fast"
    m.update()
    with pytest.raises(ValidationError, match="learning_rate"):
        m.train()
    m.configuration["learning_rate"] = 0.01
    m.configuration["epochs"] = 0
    m.update()
    with pytest.raises(ValidationError, match="epochs"):
        m.train()
    project = dl.projects.get("Sample project")
    empty = project.datasets.create("empty")
    m2 = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="nodata", dataset=empty)
    with pytest.raises(ValidationError, match="train subset of dataset 'empty' is empty"):
        m2.train()
    assert dl.executions.list() == []


def test_kill_9_of_a_worker_leaves_the_catalog_consistent_and_resumable(centroid, dl):
    centroid.configuration.update({"epochs": 60, "sleep": 0.1})
    centroid.update()
    ex = centroid.train(wait=False)
    _wait_status(ex, ("in-progress",))
    cat = dl.default_client().catalog
    deadline = time.monotonic() + 30
    while len(centroid.metrics.list(figure="loss")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(ex.record.pid, signal.SIGKILL)
    status = _wait_status(ex, ("failed", "interrupted"))
    assert "signal 9" in (ex.error or "") or status == "interrupted"
    logged = len(centroid.metrics.list(figure="loss"))
    assert logged >= 3
    assert cat.integrity_check() == "ok"
    assert centroid.refresh().status == "failed"
    # resume: the same execution runs again to the end
    centroid.configuration.update({"epochs": 4, "sleep": 0})
    centroid.update()
    again = centroid.train(resume=True)
    assert again.id == ex.id and again.status == "success"
    assert centroid.refresh().status == "trained"


def test_dataloop_train_snippet_runs_as_written(dl, monkeypatch):
    # The built-in resnet is real training; keep it to one short epoch here (the full run is in test_builtin).
    project = dl.projects.create(project_name="exp project")
    projectId = project.id  # noqa: N806

    package = dl.packages.get(package_name='resnet')
    pretrained_model = package.models.get(model_name='pretrained-resnet')

    model = pretrained_model.clone(model_name='my first exp',
                                   description='with higher lr',
                                   project_id=projectId,
                                   configuration={"epochs": 1, "image_size": 32})

    with pytest.warns(UserWarning, match="random initialisation"):  # no ImageNet weights offline: said plainly
        execution = model.train()

    assert execution.status == "success", execution.logs()
    assert model.status == "trained"
    assert {a.filename for a in model.artifacts.list()} >= {"weights.pt"}
    assert model.metrics.list(figure="accuracy", legend="validation")
