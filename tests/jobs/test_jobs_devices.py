"""The queue gives each job a device: one job per GPU at a time, CUDA_VISIBLE_DEVICES set for the worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from waiting import wait_for

from desktop_app.jobs.devices import Slot, pick_slots

PACKAGE_DIR = Path(__file__).parent / "centroid_package"

GPUS = [Slot("cuda:0", 0), Slot("cuda:1", 1)]
CPU = [Slot("cpu:0", None)]


def test_pick_slots_rules():
    all_ = GPUS + CPU
    assert pick_slots("auto", all_, all_) == [GPUS[0]]
    assert pick_slots("auto", [GPUS[1], CPU[0]], all_) == [GPUS[1]]
    assert pick_slots("auto", CPU, all_) is None  # GPUs busy: wait for one rather than crawl on the CPU
    assert pick_slots("auto", CPU, CPU) == CPU    # no GPU machine: the CPU
    assert pick_slots("cpu", all_, all_) == CPU
    assert pick_slots("cuda:1", all_, all_) == [GPUS[1]]
    assert pick_slots("cuda:1", [GPUS[0]], all_) is None
    assert pick_slots("all", all_, all_) == GPUS
    assert pick_slots("all", [GPUS[0], CPU[0]], all_) is None
    with pytest.raises(RuntimeError, match="no such GPU"):
        pick_slots("cuda:5", all_, all_)
    with pytest.raises(RuntimeError, match="has none"):
        pick_slots("cuda", CPU, CPU)


def test_three_jobs_on_two_gpus_run_two_at_a_time(dl, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_GPUS", "2")  # simulated GPU slots: the scheduler inherits this
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="CentroidAdapter", output_type="class")
    shapes = dl.datasets.get("shapes")
    pid = dl.projects.get("Sample project").id
    models, execs = [], []
    for i in range(3):
        m = pkg.models.create(model_name=f"gpu-job-{i}", dataset_id=shapes.id, project_id=pid, labels=shapes.labels,
                              configuration={"epochs": 3, "sleep": 1.0, "record_env": str(tmp_path / f"env{i}")})
        models.append(m)
        execs.append(m.train(wait=False))
    wait_for(lambda: all(e.refresh().done for e in execs), 180, poll=0.2, what="the three jobs to end",
             details=lambda: [e.status for e in execs])
    assert [e.status for e in execs] == ["success"] * 3, [e.logs() for e in execs]
    envs = [(tmp_path / f"env{i}").read_text() for i in range(3)]
    devices = [e.record.device for e in execs]
    assert sorted(envs) in (["0", "0", "1"], ["0", "1", "1"])
    assert all(d == f"cuda:{v}" for d, v in zip(devices, envs))
    # Never two jobs on one GPU at once: jobs sharing a device did not overlap in time.
    recs = [e.record for e in execs]
    for a in range(3):
        for b in range(a + 1, 3):
            if recs[a].device == recs[b].device:
                first, second = sorted((recs[a], recs[b]), key=lambda r: r.started_at)
                assert first.finished_at <= second.started_at
