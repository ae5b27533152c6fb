"""A catalog model's adapter: its package's class over a model handle, weights loaded when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.ml.adapter import BaseModelAdapter, load_adapter_class
from desktop_app.ml.handle import ModelHandle


def model_handle(catalog: Catalog, model_id: str) -> ModelHandle:
    return ModelHandle(catalog, model_id)


def build_adapter(catalog: Catalog, model: str | ModelHandle, *, load: bool = True,
                  local_path: str | Path | None = None, device: str | None = None,
                  context: dict[str, Any] | None = None) -> BaseModelAdapter:
    """The model's adapter (its package's code: a built-in module, or user code from the store).

    load: read the weights now (load_from_model, into local_path or the catalog's work folder); device: this
    process's device for the model (its configuration in the catalog stays as it is); context: the job's hooks
    (progress, should_stop, log_metrics, ...), set before anything runs."""
    handle = model if isinstance(model, ModelHandle) else ModelHandle(catalog, model)
    if device:
        handle.configuration["device"] = device
    cls = load_adapter_class(catalog, catalog.model_package(handle.id))   # the version the model is on
    if load and local_path is None:
        adapter = cls(model_entity=handle)      # Dataloop's way: the constructor loads the weights
    else:
        adapter = cls()
        adapter.model_entity = handle
        if load:
            adapter.load_from_model(handle, local_path=str(local_path))
    adapter.context.update(context or {})
    return adapter
