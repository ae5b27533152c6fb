"""Glue between the formats and the catalog: import a set into a dataset, export a dataset to a set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from desktop_app.catalog import Catalog

from .base import DatasetBundle, ImageEntry


def import_dataset(catalog: Catalog, dataset_id: str, path: str | Path, fmt: str | None = None, *,
                   verify: bool = True, progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None, **kwargs: Any) -> list[int]:
    """Read and validate the whole set first, then insert it in one transaction (all or nothing)."""
    from desktop_app import formats
    from .images import verify_images

    fmt = fmt or formats.detect_format(Path(path))
    bundle = formats.read(fmt, Path(path), **kwargs)
    if verify:
        verify_images(bundle, full=True)
    return catalog.import_bundle(dataset_id, bundle, creator=f"import:{fmt}", progress=progress,
                                 cancelled=cancelled)


def dataset_bundle(catalog: Catalog, dataset_id: str, *, filters: dict | None = None,
                   include_predictions: bool = False) -> DatasetBundle:
    from desktop_app.catalog.data import record_to_annotation

    ds = catalog.get_dataset(dataset_id)
    items = catalog.list_items(dataset_id, **(filters or {}))
    anns = catalog.list_annotations(item_ids=[i.id for i in items],
                                    ground_truth=None if include_predictions else True)
    by_item: dict[int, list] = {}
    for a in anns:
        by_item.setdefault(a.item_id, []).append(record_to_annotation(a))
    entries = [ImageEntry(source=catalog.store.path(it.sha256) if it.sha256 else None, name=it.name,
                          width=it.width, height=it.height, subset=it.subset,
                          annotations=by_item.get(it.id, []), metadata=dict(it.metadata))
               for it in items]
    return DatasetBundle(labels=list(ds.labels), items=entries, info={"dataset": ds.name, "dataset_id": ds.id})


def export_dataset(catalog: Catalog, dataset_id: str, out_dir: str | Path, fmt: str = "coco", *,
                   filters: dict | None = None, include_predictions: bool = False, **kwargs: Any) -> Path:
    from desktop_app import formats

    bundle = dataset_bundle(catalog, dataset_id, filters=filters, include_predictions=include_predictions)
    return formats.write(fmt, bundle, Path(out_dir), **kwargs)
