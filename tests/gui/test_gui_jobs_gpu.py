"""The jobs panel shows where each job runs and, for a running GPU job, its GPU's use and memory (NVML)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.catalog import ExecutionStatus  # noqa: E402
from desktop_app.gui.widgets.jobs_panel import COLUMNS, JobsPanel  # noqa: E402
from desktop_app.jobs import gpu_stats  # noqa: E402
from desktop_app.sdk import views  # noqa: E402

GIB = 1024 ** 3
DEVICE = COLUMNS.index("Device")


def _running(cat, device):
    ex = cat.create_execution("train")
    cat.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, device=device)
    return cat.get_execution(ex.id)


def test_a_running_gpu_job_shows_its_gpus_use_and_a_cpu_job_its_slot(qtbot, client, monkeypatch):
    asked = []

    def read(index):
        asked.append(index)
        return gpu_stats.GpuReading(index, "NVIDIA H200", 74.0, int(21.3 * GIB), 141 * GIB)
    monkeypatch.setattr(gpu_stats, "read", read)
    cat = client.catalog
    on_gpu, also_gpu, on_cpu = _running(cat, "cuda:0"), _running(cat, "cuda:0"), _running(cat, "cpu:0")
    done = _running(cat, "cuda:1")
    cat.set_execution_status(done.id, ExecutionStatus.SUCCESS)
    rows = {r.id: r for r in views.job_rows(cat, [cat.get_execution(e.id) for e in (on_gpu, also_gpu, on_cpu, done)])}
    assert rows[on_gpu.id].gpu == "GPU 0: 74% busy, 21.3 of 141 GiB" == rows[also_gpu.id].gpu
    assert asked == [0]                                  # one read per GPU for the whole list
    assert rows[on_cpu.id].gpu == "" and rows[on_cpu.id].device == "cpu:0"
    assert rows[done.id].gpu == "" and rows[done.id].device == "cuda:1"     # finished: no reading
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_rows(list(rows.values()))
    assert panel.items[on_gpu.id].text(DEVICE) == "cuda:0 74% 21/141G"
    assert panel.items[on_gpu.id].toolTip(DEVICE) == "GPU 0: 74% busy, 21.3 of 141 GiB"
    assert panel.items[on_cpu.id].text(DEVICE) == "cpu:0"


def test_without_nvml_a_gpu_job_shows_its_slot_only(qtbot, client, monkeypatch):
    monkeypatch.setattr(gpu_stats, "read", lambda index: None)
    cat = client.catalog
    ex = _running(cat, "cuda:0")
    (row,) = views.job_rows(cat, [ex])
    assert row.gpu == "" and row.device == "cuda:0"
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_rows([row])
    assert panel.items[ex.id].text(DEVICE) == "cuda:0"
