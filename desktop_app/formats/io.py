"""Glue between the formats and the catalog: import a set into a dataset, export a dataset to a set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from desktop_app.catalog import Catalog
from desktop_app.domain.annotations import DatasetBundle, ImageEntry
from desktop_app.domain.keywords import check_keywords

ID_CHUNK = 900


def import_dataset(catalog: Catalog, dataset_id: str, path: str | Path, fmt: str | None = None, *,
                   verify: bool = True, progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None, new_dataset: dict | None = None,
                   **kwargs: Any) -> list[int]:
    """Read and validate the whole set first, then insert it in one transaction (all or nothing); with
    ``new_dataset`` (create_dataset's arguments) that transaction also creates the dataset ``dataset_id``."""
    from desktop_app import formats
    from .images import verify_images

    fmt = fmt or formats.detect_format(Path(path))
    _check_options("import_dataset", fmt, formats.option_names(fmt, "read") | {"verify", "progress", "cancelled"},
                   kwargs)
    bundle = formats.read(fmt, Path(path), **kwargs)
    if verify:
        verify_images(bundle, full=True)
    return catalog.import_bundle(dataset_id, bundle, creator=f"import:{fmt}", progress=progress,
                                 cancelled=cancelled, new_dataset=new_dataset)


def _check_options(call: str, fmt: str, known: set[str], given: dict[str, Any]) -> None:
    """A misspelt reader / writer option is refused naming the closest one (it would be ignored otherwise)."""
    check_keywords(call, given, known, where=f" for the {fmt} format")


def dataset_bundle(catalog: Catalog, dataset_id: str, *, filters: dict | None = None,
                   include_predictions: bool | str = False) -> DatasetBundle:
    """The dataset's items (``filters`` as Catalog.list_items takes them) with their ground truth, plus
    every model's predictions (``include_predictions=True``) or one model's (its id, or its name for
    predictions imported without a model)."""
    from desktop_app.catalog.data import record_to_annotation

    ds = catalog.get_dataset(dataset_id)
    items = _list_items(catalog, dataset_id, dict(filters or {}))
    anns = catalog.list_annotations(item_ids=[i.id for i in items],
                                    ground_truth=None if include_predictions else True)
    if isinstance(include_predictions, str):
        key = include_predictions
        anns = [a for a in anns if (a.model_id is None and a.model_name is None)
                or a.model_id == key or (a.model_id is None and a.model_name == key)]
    by_item: dict[int, list] = {}
    for a in anns:
        ann = record_to_annotation(a)
        if a.model_id is not None:  # exporters mark predictions with their model (COCO "model", Dataloop model_id)
            ann.metadata["model_id"] = a.model_id
        by_item.setdefault(a.item_id, []).append(ann)
    entries = [ImageEntry(source=catalog.store.path(it.sha256) if it.sha256 else None, name=it.name,
                          width=it.width, height=it.height, subset=it.subset,
                          annotations=by_item.get(it.id, []), metadata=dict(it.metadata))
               for it in items]
    return DatasetBundle(labels=list(ds.labels), items=entries, info={"dataset": ds.name, "dataset_id": ds.id})


def _list_items(catalog: Catalog, dataset_id: str, filters: dict) -> list:
    # A selection of many ids would pass SQLite's limit on query variables: look them up in chunks.
    ids = filters.pop("item_ids", None)
    if ids is None or len(ids) <= ID_CHUNK:
        return catalog.list_items(dataset_id, **filters, **({} if ids is None else {"item_ids": ids}))
    items = []
    for k in range(0, len(ids), ID_CHUNK):
        items += catalog.list_items(dataset_id, item_ids=ids[k:k + ID_CHUNK], **filters)
    return sorted(items, key=lambda it: it.id)


def export_dataset(catalog: Catalog, dataset_id: str, out_dir: str | Path, fmt: str = "coco", *,
                   filters: dict | None = None, include_predictions: bool | str = False,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None, **kwargs: Any) -> Path:
    """Write the dataset as ``fmt`` into ``out_dir`` (new, or merged into an existing folder); returns the
    folder to read it back from. Written to a scratch folder first: a cancel (InterruptedError from the
    writer) or an error leaves ``out_dir`` as it was. Predictions keep their scores and are marked as such
    (export.prediction_kwargs); a format that cannot hold them is refused before anything is written."""
    from desktop_app import formats
    from .export import prediction_kwargs, staged

    _check_options("export_dataset", fmt, formats.option_names(fmt, "write") | {"filters", "include_predictions"},
                   kwargs)
    if include_predictions:
        kwargs = prediction_kwargs(fmt, kwargs)
    bundle = dataset_bundle(catalog, dataset_id, filters=filters, include_predictions=include_predictions)
    out = Path(out_dir).expanduser()
    with staged(out) as tmp:
        written = formats.write(fmt, bundle, tmp, progress=progress, cancelled=cancelled, **kwargs)
    return out / Path(written).relative_to(tmp)


def export_results(catalog: Catalog, dataset_id: str, out_path: str | Path, model: str, *,
                   filters: dict | None = None) -> Path:
    """Write a COCO results file (``[{image_id, category_id, bbox, score[, segmentation]}]``) of ``model``'s
    stored predictions (its id, or its name for predictions imported without a model) on the dataset's items
    (``filters`` as Catalog.list_items takes them). Image and category ids are those ``export_dataset(...,
    'coco')`` writes for the same filters, so the pair goes straight to ``evaluate-coco`` or pycocotools.
    ``out_path`` is the file, or a folder to write ``results.json`` into; written whole or not at all."""
    import os
    import tempfile

    from desktop_app.errors import UserError

    from .coco import write_coco_results

    bundle = dataset_bundle(catalog, dataset_id, filters=filters, include_predictions=model)
    # Category ids as the ground-truth export numbers them: its labels first, the predictions' own after.
    labels = list(dict.fromkeys(bundle.labels))
    for gt in (True, False):
        for it in bundle.items:
            labels += [a.label for a in it.annotations if (a.model_name is None) == gt and a.label not in labels]
    bundle.labels = labels
    kept = 0
    for it in bundle.items:
        it.annotations = [a for a in it.annotations if a.model_name is not None and a.score is not None]
        kept += sum(1 for a in it.annotations if a.type in ("box", "segment", "binary"))
    if not kept:
        ds = catalog.get_dataset(dataset_id)
        raise UserError(f"model {model!r} has no scored box, polygon or mask predictions on the selected items of "
                        f"dataset {ds.name!r}: nothing for a COCO results file (predict or evaluate first)")
    out = Path(out_path).expanduser()
    if out.is_dir():
        out = out / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".results-", suffix=".json")
    os.close(fd)
    try:
        write_coco_results(bundle, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
