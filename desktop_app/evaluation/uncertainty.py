"""What to label next: uncertainty scores from a model's predictions, and a ranking optionally mixed with diversity.

Scores are in [0, 1], higher = less sure = label sooner:
- entropy: -sum p log p / log C (the class distribution's entropy, 1 when uniform);
- margin: 1 - (p1 - p2), the two most likely classes' gap;
- least_confidence: 1 - p1;
- detection: an image's boxes each scored by the binary entropy of their confidence (1 at 0.5, 0 at 0 or 1, in
  bits), averaged over the image's boxes ('mean'; 'max' takes the least sure box). The boxes are those the model
  stored, i.e. at or above its conf_threshold, so an image it stored no box for cannot be scored (see rank_items).

Where predictions keep only their top-1 confidence (a package that fills no metadata['scores']), entropy and margin
cannot be computed; `classification_scores` then falls back to least confidence from that top-1 score and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from desktop_app.errors import ValidationError

from .similarity import k_center

CLASSIFICATION_STRATEGIES = ("entropy", "margin", "least_confidence")
STRATEGIES = CLASSIFICATION_STRATEGIES + ("detection",)


def _probabilities(probs) -> np.ndarray:
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValidationError(f"class probabilities must be [items, classes], got shape {p.shape}")
    if p.size and (not np.isfinite(p).all() or (p < -1e-6).any()):
        raise ValidationError("class probabilities must be finite and non-negative")
    p = np.clip(p, 0.0, None)
    total = p.sum(1, keepdims=True)
    # stored probabilities are rounded (6 decimals): renormalise; an all-zero row becomes uniform
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / p.shape[1])


def entropy(probs) -> np.ndarray:
    """Normalised entropy per row of [items, classes] probabilities: -sum p ln p / ln C (0 for one class)."""
    p = _probabilities(probs)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(1)
    return np.clip(h / np.log(p.shape[1]), 0.0, 1.0)


def margin(probs) -> np.ndarray:
    """1 - (p1 - p2) per row: the gap between the two most likely classes, turned into an uncertainty."""
    p = _probabilities(probs)
    if p.shape[1] < 2:
        return 1.0 - p[:, 0]
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return np.clip(1.0 - (top2[:, 0] - top2[:, 1]), 0.0, 1.0)


def least_confidence(probs_or_top1) -> np.ndarray:
    """1 - p1: from [items, classes] probabilities, or from a 1-D array of top-1 confidences."""
    a = np.asarray(probs_or_top1, np.float64)
    if a.ndim == 1:
        if a.size and (not np.isfinite(a).all() or (a < 0).any() or (a > 1 + 1e-6).any()):
            raise ValidationError("top-1 confidences must lie in [0, 1]")
        return np.clip(1.0 - a, 0.0, 1.0)
    return np.clip(1.0 - _probabilities(a).max(1), 0.0, 1.0)


def box_entropy(scores) -> np.ndarray:
    """Binary entropy (bits) of each box confidence: 1 at 0.5, 0 at 0 or 1."""
    s = np.clip(np.asarray(scores, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(s > 0, s * np.log2(s), 0.0) + np.where(s < 1, (1 - s) * np.log2(1 - s), 0.0))
    return np.clip(h, 0.0, 1.0)


def detection_scores(box_scores: Sequence[Sequence[float]], aggregate: str = "mean") -> np.ndarray:
    """One score per image from its boxes' confidences: the mean (or max) binary entropy of its boxes; an image
    with no box gets NaN (unknown: the model stored nothing to judge it by)."""
    if aggregate not in ("mean", "max"):
        raise ValidationError(f"aggregate is 'mean' or 'max', got {aggregate!r}")
    out = np.full(len(box_scores), np.nan)
    for i, s in enumerate(box_scores):
        if len(s):
            h = box_entropy(s)
            out[i] = h.mean() if aggregate == "mean" else h.max()
    return out


@dataclass
class ClassificationScores:
    scores: np.ndarray           # one per item, in [0, 1]
    strategy: str                # the strategy the scores are: the one asked for, or the fallback
    note: str = ""               # why it is not the one asked for


def classification_scores(strategy: str, probs=None, top1=None) -> ClassificationScores:
    """Scores of `strategy` from full probabilities [items, classes] when given, else from top-1 confidences:
    least confidence is then exact, and entropy / margin (which need every class) fall back to it, named so."""
    if strategy not in CLASSIFICATION_STRATEGIES:
        raise ValidationError(f"strategy is one of {', '.join(CLASSIFICATION_STRATEGIES)}, got {strategy!r}")
    if probs is not None:
        fn = {"entropy": entropy, "margin": margin, "least_confidence": least_confidence}[strategy]
        return ClassificationScores(fn(probs), strategy)
    if top1 is None:
        raise ValidationError("give class probabilities or top-1 confidences")
    scores = least_confidence(np.asarray(top1, np.float64).reshape(-1))
    if strategy == "least_confidence":
        return ClassificationScores(scores, strategy)
    return ClassificationScores(scores, "least_confidence", f"{strategy} needs every class's probability; the "
                                "predictions keep only their top-1 confidence, so least confidence (1 - p1) is used")


@dataclass
class Ranking:
    """Items to label next, most worth it first: `items` with their uncertainty `scores` (same order)."""
    items: list[int]
    scores: list[float]
    strategy: str
    diversity: float = 0.0
    note: str = ""
    unscored: list[int] = field(default_factory=list)   # items the strategy could not score (no prediction)

    def pairs(self) -> list[tuple[int, float]]:
        return list(zip(self.items, self.scores))


def rank_items(item_ids: Sequence[int], scores, k: int, *, vectors=None, diversity: float = 0.0,
               covered=None, strategy: str = "", note: str = "") -> Ranking:
    """The `k` items to label next from their uncertainty `scores` (NaN: unscored, left out and listed).

    diversity 0: the k most uncertain (ties by item id). diversity d in (0, 1]: a pool of the
    k + d * (n - k) most uncertain, then greedy k-center on their `vectors` [n, d] (starting from the most
    uncertain, or from `covered`, the vectors of items already labelled) picks k spread over it, in the order
    picked; d = 1 is pure diversity over every scored item, d = 2k / (n - k) the usual "top 3k, then k-center"."""
    ids = np.asarray(list(item_ids), np.int64)
    s = np.asarray(scores, np.float64).reshape(-1)
    if s.shape[0] != ids.shape[0]:
        raise ValidationError(f"{s.shape[0]} scores for {ids.shape[0]} items")
    if not 0.0 <= float(diversity) <= 1.0:
        raise ValidationError(f"diversity is in [0, 1], got {diversity}")
    if int(k) < 0:
        raise ValidationError(f"k must be at least 0, got {k}")
    scored = np.flatnonzero(~np.isnan(s))
    unscored = ids[np.isnan(s)].tolist()
    order = scored[np.lexsort((ids[scored], -s[scored]))]     # most uncertain first, ties by item id
    k = min(int(k), order.shape[0])
    if diversity <= 0 or k == 0:
        pick = order[:k]
    else:
        if vectors is None:
            raise ValidationError("diversity needs the items' vectors (embeddings)")
        x = np.asarray(vectors)
        if x.shape[0] != ids.shape[0]:
            raise ValidationError(f"{x.shape[0]} vectors for {ids.shape[0]} items")
        m = k + int(round(float(diversity) * (order.shape[0] - k)))
        pool = order[:m]
        pick = np.asarray(k_center(x, k, candidates=pool.tolist(), covered=covered,
                                   first=int(pool[0])), np.int64)
    return Ranking(ids[pick].tolist(), [float(v) for v in s[pick]], strategy, float(diversity), note, unscored)
