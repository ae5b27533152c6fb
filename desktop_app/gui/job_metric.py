"""The jobs panel's "Current metric" of a training: the epoch's mean loss with the last batch loss beside it."""

from __future__ import annotations

from typing import Any

# The series the training loop writes (ml/packages/torchvision_adapter.CatalogReporter): the epoch mean of the
# train loss, and the mean of the last few batches, logged every few batches while the epoch runs.
EPOCH_LOSS = ("loss", "train")
BATCH_LOSS = ("loss", "train_batch")


def training_metric(latest: dict[tuple[str, str], Any]) -> str:
    """'epoch loss 0.3123 · last batch 0.2871 · validation/accuracy 0.55': the epoch mean loss and the last batch
    loss side by side, then the newest validation figure (the newest sample alone showed one loss or the other,
    flickering between them); a job that logs neither is described as sdk.views.describe_current does."""
    from desktop_app.sdk.views import describe_current, format_metric
    epoch, batch = latest.get(EPOCH_LOSS), latest.get(BATCH_LOSS)
    if epoch is None and batch is None:
        return describe_current(latest)
    parts = []
    if epoch is not None:
        parts.append(f"epoch loss {_number(epoch.y)}")
    if batch is not None:
        parts.append(f"last batch {_number(batch.y)}" if epoch is not None else f"batch loss {_number(batch.y)}")
    samples = sorted(latest.values(), key=lambda s: s.id)
    val = [s for s in samples if s.legend != "value" and "val" in s.legend.lower()]
    if val:
        parts.append(format_metric(val[-1]))
    return " · ".join(parts)


def _number(y: float) -> str:
    import math
    return f"{y:.4g}" if math.isfinite(y) else str(y)
