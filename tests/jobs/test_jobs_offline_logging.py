"""Offline mode: TensorBoard event files from a user's own training become comparable metrics."""

from __future__ import annotations

import pytest

from desktop_app.cli.main import main
from desktop_app.errors import FormatError


def _write_events(logdir):
    from torch.utils.tensorboard import SummaryWriter
    w = SummaryWriter(str(logdir / "run_a"))
    for step in range(5):
        w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_scalar("val/accuracy", step / 5, step)
    w.close()
    # A TF2-style tensor scalar, as Keras / tf.summary write them.
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    w2 = EventFileWriter(str(logdir / "run_b"))
    for step in range(3):
        t = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[0.5 * step])
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="lr", tensor=t)])
        w2.add_event(event_pb2.Event(wall_time=1000.0 + step, step=step * 10, summary=s))
    w2.close()


def test_import_tensorboard_scalars(dl, tmp_path, capsys):
    _write_events(tmp_path)
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="offline-tb")
    assert main(["import-tensorboard", str(tmp_path), "--model", m.id]) == 0
    assert "imported 13 scalar points" in capsys.readouterr().out
    loss = m.metrics.list(figure="loss", legend="run_a/train")
    assert [s.x for s in loss] == [0, 1, 2, 3, 4]
    assert [s.y for s in loss] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5], rel=1e-6)
    acc = m.metrics.list(figure="accuracy", legend="run_a/val")
    assert [s.y for s in acc] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8], rel=1e-6)
    lr = m.metrics.list(figure="lr", legend="run_b")
    assert [(s.x, s.y) for s in lr] == [(0, 0.0), (10, 0.5), (20, 1.0)]


def test_import_tensorboard_refuses_what_is_not_an_event_file(dl, tmp_path):
    from desktop_app.ml.tensorboard import import_tensorboard
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="offline-bad")
    cat = dl.default_client().catalog
    with pytest.raises(FormatError, match="no TensorBoard event files"):
        import_tensorboard(cat, m.id, tmp_path)
    bad = tmp_path / "events.out.tfevents.123.host"
    bad.write_bytes(b"\x40\x00\x00\x00\x00\x00\x00\x00garbage")
    with pytest.raises(FormatError, match="events.out.tfevents.123.host"):
        import_tensorboard(cat, m.id, tmp_path)
    assert m.metrics.list() == []
