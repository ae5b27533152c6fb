"""Embed items with a catalog model into its feature set (the "embed" job), and search a feature set.

The job body runs the adapter's embed_items (items by id) or embed_dataset (per dataset): items embedded before
with the same weights are skipped, so a second run embeds only what is new. `search` finds an item's (or a
vector's) nearest neighbours in a model's feature set by cosine distance (ml.vector_search).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from desktop_app.catalog import Catalog, ExecutionRecord, ItemRecord
from desktop_app.catalog.feature_sets import FeatureSetRecord, queries
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.ml.handle import DatasetView, ItemView

from .adapters import build_adapter

KIND = "embed"


def embed(catalog: Catalog, model_id: str, *, item_ids: Sequence[int] | None = None,
          dataset_ids: Sequence[str] | None = None, filters: dict | None = None,
          progress: Callable[[float, str], None] | None = None, should_stop: Callable[[], bool] | None = None,
          execution_id: str | None = None) -> dict:
    """Embed the items (by id, else those `filters` selects in each dataset) into the model's feature set, those
    embedded before by the same weights skipped. Returns what the job keeps as its output."""
    adapter = build_adapter(catalog, model_id, context={"should_stop": should_stop, "execution_id": execution_id})
    totals = {"items": 0, "embedded": 0, "skipped": 0}
    if item_ids is not None:
        found = queries(catalog).existing_items(item_ids)
        items = [ItemView.of(catalog, found[int(i)]) for i in dict.fromkeys(int(i) for i in item_ids)
                 if int(i) in found]    # an item deleted since it was asked for is left out
        done, _ = adapter.embed_items(items, skip_embedded=True, progress=progress)
        totals = {"items": len(items), "embedded": len(done), "skipped": len(items) - len(done)}
    else:
        ids = list(dataset_ids or [])
        for n, ds_id in enumerate(ids):
            part = _part(progress, n, len(ids))
            out = adapter.embed_dataset(DatasetView(catalog, ds_id), filters or None, progress=part)
            for key in totals:
                totals[key] += int(out.get(key, 0)) if isinstance(out, dict) else 0
    rec = queries(catalog).of_model(model_id)
    if rec is None:
        return {**totals, "feature_set_id": None, "count": 0}
    _index_ahead(catalog, rec, progress)
    return {**totals, "feature_set_id": rec.id, "feature_set": rec.name, "count": rec.count, "size": rec.size}


def _index_ahead(catalog: Catalog, rec: FeatureSetRecord, progress: Callable[[float, str], None] | None) -> None:
    """Build (or bring up to date) a large set's approximate index in the job, so its first search does not pay for
    it (about a minute at 1,000,000 vectors); a set under ann_index.MIN_VECTORS is searched exactly and gets none."""
    from desktop_app.ml import ann_index
    if rec.count < ann_index.MIN_VECTORS or not ann_index.available():
        return
    if progress is not None:
        progress(100.0, f"indexing {rec.count:,} vectors for search")
    ann_index.for_feature_set(catalog, rec, *queries(catalog).read(rec))


def _part(progress: Callable[[float, str], None] | None, n: int, of: int) -> Callable[[float, str], None] | None:
    """The progress of dataset n of `of`, as a share of the whole job's."""
    if progress is None:
        return None

    def report(percent: float, message: str = "") -> None:
        progress((100.0 * n + percent) / of, f"dataset {n + 1}/{of}: {message}" if of > 1 else message)
    return report


def run_job(catalog: Catalog, ex: Any, control: Any) -> dict:
    """The worker's body of an "embed" execution (registered in workflows.worker)."""
    return embed(catalog, ex.model_id, item_ids=ex.input.get("item_ids"), dataset_ids=ex.input.get("dataset_ids"),
                 filters=ex.input.get("filters") or None, progress=control.progress,
                 should_stop=control.should_stop, execution_id=ex.id)


def submit_embed(catalog: Catalog, model_id: str, *, item_ids: Sequence[int] | None = None,
                 dataset_ids: Sequence[str] | None = None, filters: dict | None = None, wait: bool = True,
                 show_progress: bool | None = None) -> ExecutionRecord:
    """Queue an embed job (refused now, before any job, for a model that cannot run, an unknown item or dataset,
    or nothing to embed)."""
    from desktop_app.jobs import runner
    from desktop_app.ml.readiness import ACTIONS, require_runnable

    require_runnable(catalog, model_id, KIND if KIND in ACTIONS else "predict")
    if item_ids is None and not dataset_ids:
        raise ValidationError("embed needs item_ids or dataset_ids")
    inp: dict[str, Any] = {"device": "auto", "filters": filters or {}}
    if item_ids is not None:
        ids = [int(i) for i in item_ids]
        if not ids:
            raise ValidationError("item_ids is empty: nothing to embed")
        missing = sorted(set(ids) - set(queries(catalog).existing_items(ids)))
        if missing:
            raise NotFoundError(f"no item with id {missing[0]}" + (f" (and {len(missing) - 1} more)"
                                                                   if len(missing) > 1 else ""))
        inp["item_ids"] = ids
    else:
        inp["dataset_ids"] = [catalog.get_dataset(d).id for d in dataset_ids]   # NotFoundError for a wrong one
        if sum(catalog.count_items(d, **(filters or {})) for d in inp["dataset_ids"]) == 0:
            raise ValidationError(f"nothing to embed: the filter {filters or {}} selects no items")
    return runner.submit(catalog, KIND, model_id=model_id, input=inp, wait=wait, show_progress=show_progress)


# -- search -------------------------------------------------------------------------------------
def feature_set_of(catalog: Catalog, model_id: str) -> FeatureSetRecord:
    """The model's feature set, if it is fresh (a stale one is dropped here); NotFoundError saying how to make it."""
    fs = queries(catalog)
    rec = fs.of_model(model_id)
    fresh = fs.fresh([rec]) if rec is not None else []
    if not fresh:
        name = catalog.get_model(model_id).name
        why = "its weights changed since its items were embedded (the old vectors are dropped)" if rec else \
            "none of its items is embedded"
        raise NotFoundError(f"model {name!r} has no feature set: {why}; embed items first (model.embed_datasets"
                            f"([...]) or `desktop-app embed {name} --dataset D`)")
    return fresh[0]


def search(catalog: Catalog, rec: FeatureSetRecord, query: Any, k: int = 10, *,
           method: str = "auto") -> list[tuple[ItemRecord, float]]:
    """The `k` items nearest `query` (an item id whose vector the set holds, or a vector of the set's size),
    nearest first, with their cosine distances; ml.vector_search.search_feature_set says how ("auto": the
    set's approximate index from ann_index.MIN_VECTORS vectors on)."""
    from desktop_app.ml.vector_search import search_feature_set
    return search_feature_set(catalog, rec, query, k, method=method)
