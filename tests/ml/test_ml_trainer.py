from __future__ import annotations

import shutil
import threading
import time

import pytest
import torch

from desktop_app.ml.callbacks import Callback, Cancellation, MetricsRecorder, StopTraining
from desktop_app.ml.errors import TrainingError
from desktop_app.ml.layout import read_labels, read_layout, write_layout
from desktop_app.ml.trainer import train



# As conftest's `fast` fixture: tiny model work per step, a few steps per epoch.
FAST_CONFIG = {"arch": "resnet18", "image_size": 32, "batch_size": 16, "epochs": 2, "learning_rate": 1e-3,
               "pretrained": False, "num_workers": 0, "device": "cpu"}


def _run(layout, out, callbacks=(), resume_from=None, **overrides):
    rec = MetricsRecorder()
    result = train("classification", layout, out, {**FAST_CONFIG, **overrides}, [rec, *callbacks],
                   resume_from=resume_from)
    return result, rec


def _model_state(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_reports_metrics_and_writes_checkpoints(cls_layout, tmp_path):
    result, rec = _run(cls_layout, tmp_path / "out")
    assert result.status == "completed" and result.epochs_completed == 2
    steps = 42 // 16   # 42 train items, batch 16, the ragged tail dropped
    assert [s for s, _ in rec.losses] == list(range(1, 2 * steps + 1))
    assert [m["epoch"] for m in rec.metrics] == [0, 1]
    assert [m["step"] for m in rec.metrics] == [steps, 2 * steps]
    for m in rec.metrics:
        assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(m)
        assert 0.0 <= m["val_accuracy"] <= 1.0
    assert (tmp_path / "out" / "weights.pt").exists() and (tmp_path / "out" / "checkpoints" / "last.pt").exists()
    assert result.weights_path == tmp_path / "out" / "weights.pt"
    assert ("last" in {k for _, k in rec.checkpoints}) and ("best" in {k for _, k in rec.checkpoints})
    assert any("random initialisation" in m for m in result.messages)
    assert not list((tmp_path / "out" / "checkpoints").glob("*.tmp"))


def test_same_seed_same_losses(cls_layout, tmp_path):
    _, a = _run(cls_layout, tmp_path / "a", epochs=1)
    _, b = _run(cls_layout, tmp_path / "b", epochs=1)
    _, c = _run(cls_layout, tmp_path / "c", epochs=1, seed=1)
    assert a.losses == b.losses
    assert a.losses != c.losses


class StopAt(Callback):
    def __init__(self, step=None, epoch=None):
        self.step, self.epoch = step, epoch

    def on_train_batch_end(self, step, loss):
        if step == self.step:
            raise StopTraining("cancelled")

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.epoch:
            self.trainer.request_stop("cancelled")


@pytest.mark.parametrize("stop", [StopAt(epoch=0), StopAt(step=3)], ids=["epoch-boundary", "mid-epoch"])
def test_resume_continues_like_an_uninterrupted_run(cls_layout, tmp_path, stop):
    # 2 steps per epoch: stopping at epoch 0's end is a boundary, at step 3 is inside epoch 1
    full, full_rec = _run(cls_layout, tmp_path / "full")
    part, part_rec = _run(cls_layout, tmp_path / "part", [stop])
    assert part.status == "cancelled" and part.checkpoint_path is not None
    rest, rest_rec = _run(cls_layout, tmp_path / "part", resume_from=part.checkpoint_path)
    assert rest.status == "completed"
    assert rest.global_step == full.global_step
    assert part_rec.losses + rest_rec.losses == full_rec.losses          # same steps, same values
    assert [m["val_loss"] for m in rest.history] == pytest.approx([m["val_loss"] for m in full.history])
    a, b = _model_state(full.checkpoint_path), _model_state(rest.checkpoint_path)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cancel_takes_effect_within_seconds(cls_layout, tmp_path):
    event = threading.Event()
    set_at = []

    class SetAfterFirstSteps(Callback):
        def on_train_batch_end(self, step, loss):
            if step == 3:   # training is under way: cancel from another thread, as the GUI would
                threading.Timer(0.2, lambda: (set_at.append(time.perf_counter()), event.set())).start()

    result, _ = _run(cls_layout, tmp_path / "out", [SetAfterFirstSteps(), Cancellation(event)], epochs=500)
    latency = time.perf_counter() - set_at[0]
    assert result.status == "cancelled"
    # one batch plus writing the resumable checkpoint: ~1 s on two idle cores; the margin is for busy CI
    assert latency < 6.0, f"cancel took {latency:.1f} s"
    assert result.checkpoint_path is not None   # resumable


def test_nan_loss_fails_with_the_step(cls_layout, tmp_path):
    class Poison(Callback):
        def on_train_batch_end(self, step, loss):
            if step == 2:
                with torch.no_grad():
                    for p in self.trainer.model.parameters():
                        p.fill_(float("nan"))

    seen = []

    class Seen(Callback):
        def on_exception(self, exc):
            seen.append(exc)

    with pytest.raises(TrainingError, match=r"loss became NaN at epoch 1 step 3"):
        _run(cls_layout, tmp_path / "out", [Poison(), Seen()])
    assert len(seen) == 1


def test_empty_subset_fails_at_once(cls_layout, tmp_path):
    labels = read_labels(cls_layout)
    write_layout(tmp_path / "data", {"train": [], "validation": read_layout(cls_layout, "validation")}, labels)
    t0 = time.perf_counter()
    with pytest.raises(TrainingError, match="'train' subset is empty"):
        _run(tmp_path / "data", tmp_path / "out")
    assert time.perf_counter() - t0 < 5


def test_corrupt_image_is_skipped_with_a_warning(cls_layout, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(cls_layout, data, symlinks=False)
    bad = read_layout(data, "train")[5]
    bad.source.unlink()
    bad.source.write_bytes(b"this is not a PNG")
    result, rec = _run(data, tmp_path / "out", epochs=2)
    assert result.status == "completed"
    warnings = [w for w in rec.warnings if bad.name in w]
    assert len(warnings) == 1 and "unreadable" in warnings[0]
    assert warnings[0] in result.messages


def test_early_stopping(cls_layout, tmp_path):
    result, rec = _run(cls_layout, tmp_path / "out", epochs=6, learning_rate=1e-7, early_stopping_patience=1,
                       scheduler="none")
    assert result.status == "early_stopped"
    assert len(result.history) < 6 and result.best_epoch is not None
    assert any("early stopping" in w for w in rec.warnings)


def test_bad_device_and_resume_file(cls_layout, tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="device"):
            _run(cls_layout, tmp_path / "out", device="cuda")
    with pytest.raises(TrainingError, match="resume_from"):
        _run(cls_layout, tmp_path / "out", resume_from=tmp_path / "missing.pt")


def test_a_resumed_run_says_where_it_continues(cls_layout, tmp_path, caplog):
    import logging
    part, _ = _run(cls_layout, tmp_path / "part", [StopAt(step=3)])   # 2 steps an epoch: inside the second
    with caplog.at_level(logging.INFO, logger="desktop_app.ml"):
        rest, rec = _run(cls_layout, tmp_path / "part", resume_from=part.checkpoint_path)
    assert "resumed from epoch 2/2 (batch 2 of 2), step 3" in caplog.text
    assert [s for s, _ in rec.losses] == [4]   # only the steps after the checkpoint run again


def test_a_tie_on_the_monitored_metric_goes_to_the_lower_validation_loss(cls_layout, tmp_path, monkeypatch):
    from desktop_app.ml.trainer import Trainer
    seen = iter([{"val_loss": 1.0, "val_accuracy": 0.5}, {"val_loss": 0.9, "val_accuracy": 1.0},
                 {"val_loss": 0.4, "val_accuracy": 1.0}, {"val_loss": 0.6, "val_accuracy": 1.0}])
    monkeypatch.setattr(Trainer, "_validate", lambda self: dict(next(seen)))
    result, _ = _run(cls_layout, tmp_path / "out", epochs=4)
    assert (result.best_epoch, result.best_metric) == (2, 1.0)     # saturated from epoch 1; epoch 2 fits better
