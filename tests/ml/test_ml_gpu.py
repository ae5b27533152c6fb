"""The GPU path: bf16 autocast, channels-last, pinned memory with workers, torch.compile, NVML readings, and a whole
job through the SDK on a GPU slot. The CUDA tests run where a GPU is (they are skipped in CI, which has none);
the NVML fallback is tested everywhere."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from desktop_app.jobs import gpu_stats
from desktop_app.ml.callbacks import Callback, MetricsRecorder, StopTraining
from desktop_app.ml.trainer import train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

GPU_CONFIG = {"arch": "resnet18", "image_size": 32, "batch_size": 16, "epochs": 2, "learning_rate": 1e-3,
              "pretrained": False, "num_workers": 2, "device": "cuda", "mixed_precision": "bf16",
              "channels_last": True}


class StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, step, loss):
        if step == self.step:
            raise StopTraining("cancelled")


def _run(layout, out, task="classification", callbacks=(), resume_from=None, **overrides):
    rec = MetricsRecorder()
    result = train(task, layout, out, {**GPU_CONFIG, **overrides}, [rec, *callbacks], resume_from=resume_from)
    return result, rec


@cuda
def test_bf16_channels_last_training_with_workers_and_resume_on_cuda(cls_layout, tmp_path):
    full, full_rec = _run(cls_layout, tmp_path / "full")
    assert full.status == "completed", full.messages
    assert all(math.isfinite(loss) for _, loss in full_rec.losses)
    part, part_rec = _run(cls_layout, tmp_path / "part", callbacks=[StopAt(3)])
    assert part.status == "cancelled" and part.checkpoint_path is not None
    rest, rest_rec = _run(cls_layout, tmp_path / "part", resume_from=part.checkpoint_path)
    assert rest.status == "completed" and rest.global_step == full.global_step
    # on CUDA step S's loss is read once S+1 is queued: a stop at S's report keeps S+1, and reports it
    assert [s for s, _ in part_rec.losses + rest_rec.losses] == [s for s, _ in full_rec.losses]
    # weights written on the GPU load on a machine without one
    state = torch.load(rest.weights_path, map_location="cpu", weights_only=True)["state_dict"]
    assert all(t.device.type == "cpu" for t in state.values())


@cuda
def test_compiled_training_saves_weights_a_plain_model_loads(cls_layout, tmp_path):
    result, rec = _run(cls_layout, tmp_path / "compiled", epochs=1, compile=True)
    assert result.status == "completed", result.messages
    state = torch.load(result.weights_path, map_location="cpu", weights_only=True)["state_dict"]
    assert not any("_orig_mod" in k for k in state)       # the compiled wrapper's names never reach the file
    from desktop_app.ml.models import build_model
    model, _ = build_model("resnet18", 3, image_size=32, pretrained=False)
    model.load_state_dict(state)


@cuda
def test_detection_trains_on_cuda_and_says_compile_is_not_used(det_layout, tmp_path):
    result, rec = _run(det_layout, tmp_path / "det", task="detection", arch="tinydet", image_size=64, batch_size=8,
                       epochs=1, compile=True, num_workers=0)
    assert result.status == "completed", result.messages
    assert any("compile is used for classification models only" in w for w in rec.warnings)


@cuda
def test_nvml_reads_the_gpu():
    pytest.importorskip("pynvml")
    gpu_stats._reset_for_tests()
    reading = gpu_stats.read(0)
    assert reading is not None and 0 <= reading.utilization <= 100
    assert 0 < reading.memory_used <= reading.memory_total
    assert reading.name and "GPU 0:" in reading.describe()
    assert gpu_stats.read(10_000) is None                 # no such GPU: nothing, not an error


def test_without_nvml_there_are_no_readings_and_no_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)     # the package not installed
    gpu_stats._reset_for_tests()
    try:
        assert gpu_stats.available() is False
        assert gpu_stats.read(0) is None and gpu_stats.read_all() == []
    finally:
        gpu_stats._reset_for_tests()


def test_a_stop_under_the_lagged_loss_read_reports_the_step_already_taken(cls_layout, tmp_path, monkeypatch):
    # The lagged read is CUDA's; forced here on the CPU, where it behaves the same.
    from desktop_app.ml.trainer import Trainer
    setup = Trainer._setup

    def lagged(self):
        setup(self)
        self._lag = True
    monkeypatch.setattr(Trainer, "_setup", lagged)
    full, full_rec = _run(cls_layout, tmp_path / "full", device="cpu", num_workers=0)
    part, part_rec = _run(cls_layout, tmp_path / "part", callbacks=[StopAt(3)], device="cpu", num_workers=0)
    rest, rest_rec = _run(cls_layout, tmp_path / "part", resume_from=part.checkpoint_path, device="cpu",
                          num_workers=0)
    assert [s for s, _ in part_rec.losses] == [1, 2, 3, 4]   # step 4 was taken when step 3's stop was read
    assert part_rec.losses + rest_rec.losses == full_rec.losses
    assert rest.global_step == full.global_step


def test_compile_is_ignored_on_cpu(cls_layout, tmp_path):
    result, rec = _run(cls_layout, tmp_path / "cpu", epochs=1, device="cpu", num_workers=0, compile=True)
    assert result.status == "completed"
    assert not any("compile" in w for w in rec.warnings)


@cuda
def test_a_job_through_the_sdk_runs_on_the_gpu_slot(dl, monkeypatch):
    monkeypatch.delenv("DESKTOP_APP_GPUS", raising=False)
    model = dl.packages.get("resnet").models.get("pretrained-resnet").clone(
        model_name="on the gpu", configuration={"epochs": 1, "image_size": 32, "device": "cuda", "num_workers": 2})
    with pytest.warns(UserWarning, match="random initialisation"):
        ex = model.train()
    assert ex.status == "success", ex.logs()
    assert "CUDA_VISIBLE_DEVICES=0" in ex.logs()          # the scheduler gave it GPU 0's slot
    assert model.status == "trained" and model.metrics.list(figure="accuracy", legend="validation")
