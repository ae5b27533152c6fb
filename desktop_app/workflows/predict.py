"""Predict with a catalog model over items (a dataset, a filter or ids), storing its predictions."""

from __future__ import annotations

from typing import Callable, Sequence

from desktop_app.catalog import Catalog
from desktop_app.ml.handle import ItemView, item_views

from .adapters import build_adapter

BATCH = 64   # items per predict_items call: predictions stored, progress and cancel checked between them


def predict(catalog: Catalog, model_id: str, *, item_ids: Sequence[int] | None = None, dataset_id: str | None = None,
            filters: dict | None = None, progress: Callable[[float, str], None] | None = None,
            check: Callable[[], None] | None = None) -> dict:
    """Predict the items (by id, else the dataset's that `filters` selects; the model's dataset by default);
    each batch's predictions replace the model's earlier ones on those items. check() raises to stop."""
    adapter = build_adapter(catalog, model_id)
    if item_ids is None:
        items = item_views(catalog, dataset_id or adapter.model_entity.dataset_id, filters or None)
    else:
        items = [ItemView.of(catalog, catalog.get_item(int(i))) for i in item_ids]
    done = n_ann = 0
    for k in range(0, len(items), BATCH):
        if check:
            check()
        _, anns = adapter.predict_items(items[k:k + BATCH])
        n_ann += sum(len(a) for a in anns)
        done += len(items[k:k + BATCH])
        if progress:
            progress(100.0 * done / max(len(items), 1), f"{done}/{len(items)} items")
    return {"items": len(items), "annotations": n_ann}
