"""What to label next, near-duplicates and leakage for one dataset: a model's stored predictions and its vectors
(feature set) read from the catalog, scored by evaluation.uncertainty and evaluation.similarity.

What the stored predictions allow: a class prediction keeps its top-1 confidence (the annotation's score) and, from
the built-in classifiers (ml.predict), every class's probability in metadata['scores'] (the model's label order); a
box keeps its own confidence, and only boxes at or above the model's conf_threshold are stored. So entropy and
margin need metadata['scores'] on every prediction ranked, else the ranking falls back to least confidence from the
top-1 score and says so (Ranking.strategy, Ranking.note); a detection image with no stored box cannot be scored and
is listed in Ranking.unscored, as is an item with no prediction of the model's at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from desktop_app.errors import ValidationError
from desktop_app.evaluation.similarity import (DEFAULT_DUPLICATE_THRESHOLD, DuplicateGroup, Leak, leakage,
                                               near_duplicate_groups)
from desktop_app.evaluation.uncertainty import (STRATEGIES, Ranking, classification_scores, detection_scores,
                                                rank_items)

if TYPE_CHECKING:
    from desktop_app.catalog import Catalog

HELD_OUT = ("validation", "test")


def align(ids, values, item_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a feature set (`ids` [m], `values` [m, d]) for `item_ids`, in that order, those without a vector
    left out: (item ids kept, their vectors [n, d] float32)."""
    ids = np.asarray(ids, np.int64)
    want = np.asarray(list(item_ids), np.int64)
    if ids.size == 0 or want.size == 0:
        dim = np.shape(values)[1] if np.ndim(values) == 2 else 0
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], want)
    pos = np.minimum(pos, ids.size - 1)
    hit = ids[order][pos] == want
    rows = order[pos[hit]]
    return want[hit], np.asarray(values[rows], np.float32)


def uncertainty_scores(catalog: Catalog, model_id: str, dataset_id: str, item_ids: Sequence[int],
                       strategy: str) -> tuple[np.ndarray, str, str]:
    """(one score per item, NaN where the model's stored predictions cannot score it; the strategy used; a note)."""
    if strategy not in STRATEGIES:
        raise ValidationError(f"strategy is one of {', '.join(STRATEGIES)}, got {strategy!r}")
    wanted = {int(i): n for n, i in enumerate(item_ids)}
    scores = np.full(len(wanted), np.nan)
    if strategy == "detection":
        boxes: dict[int, list[float]] = {}
        for a in catalog.list_annotations(dataset_id=dataset_id, model_id=model_id, ground_truth=False):
            if a.type != "class" and a.item_id in wanted and a.score is not None:
                boxes.setdefault(a.item_id, []).append(float(a.score))
        have = sorted(boxes)
        scores[[wanted[i] for i in have]] = detection_scores([boxes[i] for i in have])
        return scores, strategy, ""
    best: dict[int, Any] = {}           # an item's most confident class prediction (ties: the first stored)
    for a in catalog.list_annotations(dataset_id=dataset_id, model_id=model_id, types=["class"], ground_truth=False):
        if a.item_id in wanted and a.score is not None:
            if a.item_id not in best or float(a.score) > float(best[a.item_id].score):
                best[a.item_id] = a
    if not best:
        return scores, strategy, ""
    have = sorted(best)
    vectors = [(best[i].metadata or {}).get("scores") for i in have]
    full = all(isinstance(v, list) and len(v) >= 2 for v in vectors)
    if full:
        width = max(len(v) for v in vectors)
        probs = np.zeros((len(have), width))
        for r, v in enumerate(vectors):
            probs[r, :len(v)] = v
        result = classification_scores(strategy, probs=probs)
    else:
        result = classification_scores(strategy, top1=[float(best[i].score) for i in have])
    scores[[wanted[i] for i in have]] = result.scores
    return scores, result.strategy, result.note


def rank_for_labeling(catalog: Catalog, dataset_id: str, model_id: str, *, strategy: str = "entropy", k: int = 50,
                      diversity: float = 0.0, unlabeled_only: bool = True,
                      vectors: tuple[Any, Any] | None = None) -> Ranking:
    """The `k` items of the dataset (those without ground truth when `unlabeled_only`) most worth labelling, by the
    model's uncertainty on them; `diversity` > 0 mixes in greedy k-center over the model's `vectors` ((item ids,
    values) of its feature set), counting the labelled items' vectors as already covered. Items without a vector
    then cannot take part and are listed in `unscored` with the ones without a prediction."""
    pool = catalog.item_ids(dataset_id, has_annotations=False) if unlabeled_only else catalog.item_ids(dataset_id)
    scores, used, note = uncertainty_scores(catalog, model_id, dataset_id, pool, strategy)
    if np.isnan(scores).all() and pool:
        note = _join(note, f"the model has no stored {'box' if strategy == 'detection' else 'class'} predictions "
                           f"on these items: predict them first (model.predict(dataset_id=...))")
    if diversity <= 0:
        return rank_items(pool, scores, k, strategy=used, note=note)
    if vectors is None:
        raise ValidationError("diversity needs the model's embeddings: embed the dataset first "
                              "(model.embed_datasets([...]))")
    ids, values = vectors
    kept, x = align(ids, values, pool)
    missing = len(pool) - len(kept)
    by_id = dict(zip(pool, scores.tolist()))
    covered = None
    if unlabeled_only:
        _, covered = align(ids, values, catalog.item_ids(dataset_id, has_annotations=True))
    r = rank_items(kept.tolist(), [by_id[i] for i in kept.tolist()], k, vectors=x, diversity=diversity,
                   covered=covered if covered is not None and len(covered) else None, strategy=used, note=note)
    if missing:
        in_set = set(kept.tolist())
        r.unscored = sorted(set(r.unscored) | {i for i in pool if i not in in_set})
        r.note = _join(r.note, f"{missing} item(s) have no vector in the model's feature set and were left out "
                               f"(embed them: model.embed_datasets([...]))")
    return r


def near_duplicates(catalog: Catalog, dataset_id: str, vectors: tuple[Any, Any],
                    threshold: float = DEFAULT_DUPLICATE_THRESHOLD) -> list[DuplicateGroup]:
    """Groups of the dataset's items whose vectors lie within `threshold` (cosine distance) of each other."""
    kept, x = align(*vectors, catalog.item_ids(dataset_id))
    return near_duplicate_groups(x, kept, threshold)


def leakage_report(catalog: Catalog, dataset_id: str, vectors: tuple[Any, Any],
                   threshold: float = DEFAULT_DUPLICATE_THRESHOLD) -> list[Leak]:
    """Validation / test items of the dataset with a near-duplicate in its train subset, closest first."""
    item_ids, subsets = [], []
    for subset in ("train", *HELD_OUT):
        ids = catalog.item_ids(dataset_id, subset=subset)
        item_ids += ids
        subsets += [subset] * len(ids)
    kept, x = align(*vectors, item_ids)
    subset_of = dict(zip(item_ids, subsets))
    return leakage(x, kept, [subset_of[i] for i in kept.tolist()], threshold)


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a and b else a or b


# -- the label-next queue's marks -----------------------------------------------------------------------------------
# An item labelled in the queue keeps who labelled it, when, and from which queue in its metadata under REVIEW_KEY
# (the catalog's items.metadata; items.reviewed is set with it). The pipelines' "annotations" trigger counts such an
# item once (pipelines.triggers.pending_changes), however many annotations its labelling created or fixed.
REVIEW_KEY = "review"
QUEUE = "label-next"


def mark_reviewed(catalog: Catalog, item_id: int, *, who: str, via: str = QUEUE, model_id: str | None = None,
                  at: str | None = None) -> dict:
    """Mark the item reviewed (labelled) by `who` now, through `via`; returns the item's metadata before, for
    `restore_review` (undo)."""
    from desktop_app.catalog.stamps import now_iso
    item = catalog.get_item(item_id)
    before = {"metadata": dict(item.metadata or {}), "reviewed": int(item.reviewed)}
    mark = {"by": who, "at": at or now_iso(), "via": via}
    if model_id:
        mark["model_id"] = model_id
    catalog.update_item(item_id, reviewed=1, metadata={**(item.metadata or {}), REVIEW_KEY: mark})
    return before


def restore_review(catalog: Catalog, item_id: int, before: dict) -> None:
    """Undo of `mark_reviewed`: the item's metadata and reviewed flag as they were."""
    catalog.update_item(item_id, reviewed=int(before["reviewed"]), metadata=dict(before["metadata"]))


def review_mark(item: Any) -> dict | None:
    """An item record's review mark ({by, at, via, model_id?}), None when it was not marked."""
    mark = (getattr(item, "metadata", None) or {}).get(REVIEW_KEY)
    return dict(mark) if isinstance(mark, dict) and mark.get("at") else None


def reviewed_items(catalog: Catalog, dataset_id: str, *, since: str | None = None,
                   via: str | None = None) -> dict[int, dict]:
    """The dataset's reviewed items with a review mark ({item id: mark}), marked after `since` (ISO time, as the
    catalog writes it) and through `via` ('label-next': the queue) when given."""
    out = {}
    for item in catalog.list_items(dataset_id, reviewed=True):
        mark = review_mark(item)
        if mark is None or (since is not None and mark["at"] <= since) or (via is not None and mark.get("via") != via):
            continue
        out[item.id] = mark
    return out


def queue_label_count(catalog: Catalog, dataset_id: str, since: str) -> int:
    """New labels for the pipelines' trigger since `since`: ground-truth annotation changes on reviewed items, one
    per annotation (the catalog's ground_truth_changes), but an item labelled in the queue counts once, however many
    of its annotations changed."""
    queued = reviewed_items(catalog, dataset_id, since=since, via=QUEUE)
    return catalog.data_versions.ground_truth_changes(dataset_id, since, except_items=queued) + len(queued)
