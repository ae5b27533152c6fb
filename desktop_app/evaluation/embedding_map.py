"""What the embedding map shows of a dataset: its items' 2-D positions from a model's feature set, and each item's
category in every colour mode (ground-truth label, subset, the model's prediction, right / wrong in its latest
evaluation on the dataset).

Read from the catalog (named queries only) and projected by evaluation.projection, on the caller's thread: the
window calls `build_map` on a worker. A feature set is projected whole (cached by its version), so a set's map looks
the same from every dataset it covers; the dataset's items are then picked out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from desktop_app.catalog.feature_sets import FeatureSetRecord, queries
from desktop_app.domain.annotations import SUBSETS
from desktop_app.errors import NotFoundError, ValidationError

from .projection import METHODS, Projection, ProjectionCache, project

MODES = ("label", "subset", "prediction", "correct")
MODE_TITLES = {"label": "Label", "subset": "Subset", "prediction": "Prediction", "correct": "Right / wrong"}
NO_LABEL, NO_SUBSET, NO_PREDICTION, NOT_EVALUATED = "(no label)", "(no subset)", "(no prediction)", "(not evaluated)"
RIGHT, WRONG = "right", "wrong"
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Categories:
    """One colour mode: `names` in legend order, `codes` [n] int32 indexes into names, one per point."""
    names: list[str]
    codes: np.ndarray
    note: str = ""          # where the categories come from, or why there are none

    def counts(self) -> list[int]:
        return np.bincount(self.codes, minlength=len(self.names)).tolist()


def categorize(item_ids: Sequence[int], of_item: Mapping[int, str], *, order: Sequence[str] = (), missing: str,
               note: str = "") -> Categories:
    """Each item's category (`of_item`, `missing` where it has none): names listed in `order` first, in that order,
    then the others alphabetically, `missing` last."""
    values = [of_item.get(int(i), missing) for i in item_ids]
    present = set(values)
    names = [v for v in dict.fromkeys(order) if v in present and v != missing]
    names += sorted(v for v in present if v not in names and v != missing)
    if missing in present:
        names.append(missing)
    index = {v: k for k, v in enumerate(names)}
    return Categories(names, np.fromiter((index[v] for v in values), np.int32, len(values)), note)


# -- what each item is ---------------------------------------------------------------------------
def ground_truth_labels(catalog: Any, dataset_id: str) -> dict[int, str]:
    """item id -> its class (its first class annotation); an item without one: its most frequent box or segment
    label (ties: the first stored)."""
    labels: dict[int, str] = {}
    for row in catalog.scoring.ground_truth_classes(dataset_id):
        labels.setdefault(row.item_id, row.label)
    for kind in ("box", "segment"):
        counts: dict[int, dict[str, int]] = {}
        for row in catalog.scoring.ground_truth_geometry(dataset_id, kind):
            if row.item_id not in labels:
                per = counts.setdefault(row.item_id, {})
                per[row.label] = per.get(row.label, 0) + 1
        for item, per in counts.items():
            labels[item] = max(per, key=per.get)      # max keeps the first of equal counts (insertion order)
    return labels


def item_subsets(catalog: Any, dataset_id: str) -> dict[int, str]:
    """item id -> its subset (items in none are absent)."""
    return {i: s for s in SUBSETS for i in catalog.item_ids(dataset_id, subset=s)}


def predicted_labels(catalog: Any, model_id: str) -> dict[int, str]:
    """item id -> the model's stored prediction: its most confident class, else its most confident box's label."""
    out: dict[int, str] = {}
    for row in catalog.scoring.class_predictions(model_id):     # most confident first
        out.setdefault(row.item_id, row.label)
    best: dict[int, tuple[float, str]] = {}
    for row in catalog.scoring.prediction_geometry(model_id, "box"):
        if row.item_id not in out:
            score = -1.0 if row.score is None else float(row.score)
            if row.item_id not in best or score > best[row.item_id][0]:
                best[row.item_id] = (score, row.label)
    out.update({i: label for i, (_, label) in best.items()})
    return out


def correctness(catalog: Any, model_id: str, dataset_id: str) -> tuple[dict[int, str], str]:
    """(item id -> RIGHT / WRONG in the model's latest evaluation on the dataset, at its own thresholds: wrong
    when it holds a false positive or a missed ground truth; a note naming the evaluation, or why there is none)."""
    from .store import EvaluationView
    evals = catalog.list_evaluations(model_id=model_id, dataset_id=dataset_id)
    if not evals:
        return {}, "no evaluation of this model on this dataset: evaluate it to colour right / wrong"
    rec = evals[-1]
    try:
        review = EvaluationView(catalog, rec).review()
        errors = review.item_errors()
        evaluated = review.table.item_ids.tolist()
    except ValidationError as e:
        return {}, f"evaluation {rec.name!r}: {e}"
    out = {int(i): WRONG if errors.get(int(i)) else RIGHT for i in evaluated}
    return out, f"from evaluation {rec.name!r} ({rec.created_at[:16].replace('T', ' ')})"


def item_categories(catalog: Any, dataset_id: str, item_ids: Sequence[int], model_id: str | None,
                    labels: Sequence[str] = ()) -> dict[str, Categories]:
    """The items' categories in every colour mode (MODES)."""
    ids = [int(i) for i in item_ids]
    out = {"label": categorize(ids, ground_truth_labels(catalog, dataset_id), order=labels, missing=NO_LABEL),
           "subset": categorize(ids, item_subsets(catalog, dataset_id), order=SUBSETS, missing=NO_SUBSET)}
    if model_id:
        preds = predicted_labels(catalog, model_id)
        out["prediction"] = categorize(ids, preds, order=labels, missing=NO_PREDICTION,
                                       note="" if preds else "the model has no stored predictions on these items")
        right, note = correctness(catalog, model_id, dataset_id)
        out["correct"] = categorize(ids, right, order=(RIGHT, WRONG), missing=NOT_EVALUATED, note=note)
    else:
        for mode, missing in (("prediction", NO_PREDICTION), ("correct", NOT_EVALUATED)):
            out[mode] = categorize(ids, {}, missing=missing, note="no model")
    return out


# -- the map ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureSetChoice:
    """A feature set that holds vectors of the dataset's items: what the page's chooser lists."""
    id: str
    model_id: str
    name: str
    size: int
    count: int          # vectors in the set
    in_dataset: int     # of them, the dataset's items

    @property
    def title(self) -> str:
        return f"{self.name} ({self.in_dataset:,} items, {self.size}-d)"


def feature_sets_for(catalog: Any, dataset_id: str) -> list[FeatureSetChoice]:
    """The fresh feature sets holding vectors of the dataset's items, most items first (stale ones are dropped
    when read, as everywhere)."""
    q = queries(catalog)
    wanted = np.asarray(catalog.item_ids(dataset_id), np.int64)
    out = []
    for rec in q.fresh(q.find()):
        n = int(np.isin(q.read(rec).ids, wanted).sum()) if rec.count else 0
        if n:
            out.append(FeatureSetChoice(rec.id, rec.model_id, rec.name, rec.size, rec.count, n))
    return sorted(out, key=lambda c: (-c.in_dataset, c.name))


@dataclass(frozen=True)
class MapData:
    """A dataset's points on the map: `item_ids` [n] and `xy` [n, 2] row for row, `categories` by mode."""
    dataset_id: str
    feature_set_id: str
    model_id: str
    name: str                    # the feature set's (the model's)
    method: str
    item_ids: np.ndarray
    xy: np.ndarray
    categories: dict[str, Categories] = field(default_factory=dict)
    dataset_items: int = 0       # items in the dataset
    embedded: int = 0            # of them, with a vector (shown: all, or a sample of MAX_POINTS)

    def __len__(self) -> int:
        return len(self.item_ids)


def version_key(rec: FeatureSetRecord, method: str) -> tuple:
    """The projection cache's key: a set's vectors live in content-addressed files, so their digests name them."""
    return (rec.id, rec.sha, rec.ids_sha, rec.weights_sha, method)


def projection_of(catalog: Any, rec: FeatureSetRecord, method: str, cache: ProjectionCache | None = None,
                  ) -> Projection:
    """The whole feature set projected by `method` (its vectors scaled to unit length: what cosine distance
    compares), from `cache` when this version of it was projected before."""
    if method not in METHODS:
        raise ValidationError(f"projection {method!r}: one of {', '.join(METHODS)}")

    def make() -> Projection:
        vectors = queries(catalog).read(rec)
        return Projection(np.array(vectors.ids, np.int64), project(vectors.values, method, unit=True), method)
    if cache is None:
        return make()
    return cache.get_or_make(version_key(rec, method), make)


def build_map(catalog: Any, dataset_id: str, feature_set_id: str, method: str = "pca",
              cache: ProjectionCache | None = None, *, max_points: int = MAX_POINTS, seed: int = 0) -> MapData:
    """The dataset's items in the feature set, projected, with their categories. Over `max_points` embedded
    items, a random sample of that many (the same one each time)."""
    q = queries(catalog)
    rec = q.get(feature_set_id)
    if not q.fresh([rec]):
        raise NotFoundError(f"feature set {rec.name!r} is gone: its model was trained again; embed its items again")
    ds = catalog.get_dataset(dataset_id)
    wanted = np.asarray(catalog.item_ids(dataset_id), np.int64)
    proj = projection_of(catalog, rec, method, cache)
    rows = np.flatnonzero(np.isin(proj.ids, wanted))
    embedded = len(rows)
    if embedded > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_points, replace=False))
    ids = proj.ids[rows]
    return MapData(dataset_id=ds.id, feature_set_id=rec.id, model_id=rec.model_id, name=rec.name, method=method,
                   item_ids=ids, xy=np.ascontiguousarray(proj.xy[rows], np.float32),
                   categories=item_categories(catalog, ds.id, ids.tolist(), rec.model_id, ds.labels),
                   dataset_items=len(wanted), embedded=embedded)
