"""Whether a model can run (evaluate, predict, deploy): one rule, checked when the work is asked for.

It is the rule deploy always used. A model that is training, waiting to train or failed its training is
refused. A built-in package's adapter needs the model's own weights file (pretrained weights are never
downloaded), so a built-in model without one is refused; a user's adapter decides for itself what load()
needs (it may build its model without weights), so its models are not refused for lacking files.
"""

from __future__ import annotations

from typing import Any

from desktop_app.catalog.records import ModelStatus
from desktop_app.errors import ValidationError

NOT_RUNNABLE = (ModelStatus.PENDING, ModelStatus.TRAINING, ModelStatus.FAILED)
WEIGHTS = "weights.pt"         # the built-in adapters' weights file (ml.packages.torchvision_adapter.WEIGHTS)
ACTIONS = {"evaluate": ("evaluate it", "evaluated"), "predict": ("predict with it", "run"),
           "deploy": ("deploy it", "deployed"), "embed": ("embed items with it", "run")}


def why_cannot_run(catalog: Any, model: Any, action: str) -> str | None:
    """None when `model` (a record or an SDK entity) can `action` ('evaluate', 'predict', 'deploy'), else why
    not: the message every way in shows (SDK, CLI, the window's notification bar and tooltips)."""
    do, done = ACTIONS[action]
    name, status = model.name, model.status
    if status in ModelStatus.BUSY:
        return f"model {name!r} is {status}: only a trained model can be {done}; {do} once training has ended"
    if status == ModelStatus.FAILED:
        return f"model {name!r} is failed: only a trained model can be {done}; train it again first"
    if catalog.get_package(model.package_id).kind != "builtin":
        return None
    if any(a.filename == WEIGHTS for a in catalog.list_artifacts(model.id)):
        return None
    own = "a pre-trained built-in has no weights of its own, " if status == ModelStatus.PRE_TRAINED else ""
    return (f"model {name!r} has no {WEIGHTS} yet ({own}pretrained weights are never downloaded): train it, or "
            f"clone a trained model, before you {do}")


def require_runnable(catalog: Any, model_id: str, action: str) -> None:
    """Refuse at once (ValidationError) what why_cannot_run refuses, before any job or service starts."""
    reason = why_cannot_run(catalog, catalog.get_model(model_id), action)
    if reason is not None:
        raise ValidationError(reason)
