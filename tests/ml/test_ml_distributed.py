from __future__ import annotations

import pytest

from desktop_app.ml.callbacks import MetricsRecorder, StopTraining
from desktop_app.ml.distributed import train_distributed



@pytest.mark.slow
def test_ddp_gloo_two_processes(cls_layout, tmp_path, fast):
    rec = MetricsRecorder()
    result = train_distributed("classification", cls_layout, tmp_path, {**fast, "batch_size": 8}, [rec],
                               world_size=2, backend="gloo")
    assert result.status == "completed"
    steps = 21 // 8   # 42 train items over 2 ranks: 21 each, batches of 8, the ragged tail dropped
    assert [s for s, _ in rec.losses] == list(range(1, 2 * steps + 1))
    assert [m["epoch"] for m in rec.metrics] == [0, 1]
    assert result.global_step == 2 * steps
    assert (tmp_path / "weights.pt").exists() and (tmp_path / "checkpoints" / "last.pt").exists()
    assert rec.result is result


@pytest.mark.slow
def test_ddp_cancel_from_the_caller_stops_every_rank(cls_layout, tmp_path, fast):
    class CancelAtFirstStep(MetricsRecorder):
        def on_train_batch_end(self, step, loss):
            super().on_train_batch_end(step, loss)
            raise StopTraining("cancelled")

    rec = CancelAtFirstStep()
    result = train_distributed("classification", cls_layout, tmp_path, {**fast, "batch_size": 4, "epochs": 50},
                               [rec], world_size=2, backend="gloo")
    assert result.status == "cancelled"
    assert result.global_step < 5 and result.checkpoint_path is not None
