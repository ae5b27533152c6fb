"""Score a semantic segmentation model ("semantic" output) from its stored masks: a pixel confusion matrix over
the items, streamed a chunk of items at a time (one image's label maps in memory at once), and each item's
per-class intersection and union, kept in the evaluation cache for the review (worst items first).

Label maps (CONTRACT): class 0 is "background", class k + 1 the k-th label. The ground truth paints an item's
"binary" and "segment" annotations in id order (a later one wins) over background, then its metadata
"ignore_mask" (RLE) as 255, left out. The prediction paints the model's "binary" annotations of the item (one a
class, not overlapping) over background. A label the model does not know (ground truth or prediction) gets a
class of its own after the model's.
"""

from __future__ import annotations

import json

import numpy as np

from desktop_app.catalog import Catalog
from desktop_app.domain import masks as dmasks
from desktop_app.errors import ValidationError

from .cache import INT, TEXT, check_same_length, decode_cache, encode_cache, invalid
from .instance_masks import item_sizes
from .semantic import IGNORE_INDEX, confusion, scores

BACKGROUND = "background"
CHUNK = 256            # items read from the catalog at once


def _coords(row, who: str):
    try:
        return json.loads(row.coordinates_json) if row.coordinates_json else None
    except ValueError:
        raise ValidationError(f"{who} annotation {row.id} on item {row.item_id}: its coordinates are not JSON") \
            from None


def _paint(out: np.ndarray, row, k: int, who: str) -> None:
    h, w = out.shape
    coords = _coords(row, who)
    where = f"{who} annotation {row.id} ({row.type} {row.label!r}) on item {row.item_id}"
    if row.type == "binary":
        problem = dmasks.rle_problem(coords, w, h, allow_empty=True)
        if problem:
            raise ValidationError(f"{where}: {problem}")
        out[dmasks.decode(coords)] = k
    else:
        problem = dmasks.polygon_problem(coords, w, h)
        if problem:
            raise ValidationError(f"{where}: {problem}")
        out[dmasks.polygon_to_mask(coords, h, w)] = k


def _ignore(meta: dict, item_id: int, h: int, w: int) -> np.ndarray | None:
    rle = meta.get("ignore_mask")
    if rle is None:
        return None
    problem = dmasks.rle_problem(rle, w, h, allow_empty=True)
    if problem:
        raise ValidationError(f"item {item_id}: metadata 'ignore_mask' is not a mask of the image: {problem}")
    return dmasks.decode(rle)


def label_maps(catalog: Catalog, model_id: str, dataset_id: str, item_ids: list[int], classes: list[str]):
    """(item id, ground-truth map, predicted map) for each item, in order; `classes` ("background" first) grows
    when a label not in it turns up."""
    index = {lb: i for i, lb in enumerate(classes)}

    def k_of(label: str) -> int:
        if label not in index:
            index[label] = len(classes)
            classes.append(label)
        return index[label]

    for start in range(0, len(item_ids), CHUNK):
        part = item_ids[start:start + CHUNK]
        sizes = item_sizes(catalog, part)
        gts: dict[int, list] = {}
        for r in catalog.scoring.ground_truth_shapes(dataset_id, part):
            gts.setdefault(r.item_id, []).append(r)
        dts: dict[int, list] = {}
        for r in catalog.scoring.prediction_masks(model_id, part):
            dts.setdefault(r.item_id, []).append(r)
        for item_id in part:
            h, w, meta = sizes[item_id]
            gt = np.zeros((h, w), np.uint8)
            for r in gts.get(item_id, ()):
                _paint(gt, r, k_of(r.label), "ground-truth")
            ignore = _ignore(meta, item_id, h, w)
            if ignore is not None:
                gt[ignore] = IGNORE_INDEX
            pred = np.zeros((h, w), np.uint8)
            for r in dts.get(item_id, ()):
                _paint(pred, r, k_of(r.label), "predicted")
            if len(classes) > IGNORE_INDEX:
                raise ValidationError(f"{len(classes) - 1} classes: a label map holds at most {IGNORE_INDEX - 1}")
            yield item_id, gt, pred


def _grow(m: np.ndarray, n: int) -> np.ndarray:
    """A confusion matrix with room for n classes (a label that turned up late)."""
    out = np.zeros((n, n), m.dtype)
    out[:m.shape[0], :m.shape[1]] = m
    return out


def score_semantic(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray,
                   labels: list[str]) -> tuple[dict, bytes]:
    """The "semantic" evaluation's figures and its cache (each item's per-class intersection and union)."""
    classes = [BACKGROUND] + [lb for lb in labels if lb != BACKGROUND]
    ids = [int(v) for v in item_ids.tolist()]
    n = len(classes)
    total = np.zeros((n, n), np.int64)
    inter, union, counted = [], [], np.zeros(len(ids), np.int64)
    for p, (item_id, gt, pred) in enumerate(label_maps(catalog, model_id, dataset_id, ids, classes)):
        if len(classes) != n:
            n = len(classes)
            total = _grow(total, n)
        m = confusion(gt, pred, n, where=f"item {item_id}")
        total += m
        tp = np.diag(m)
        inter.append(tp)
        union.append(m.sum(0) + m.sum(1) - tp)
        counted[p] = m.sum()
    res = scores(total, classes)
    d = res.to_dict()
    it_inter = np.zeros((len(ids), n), np.int64)
    it_union = np.zeros((len(ids), n), np.int64)
    for p, (a, b) in enumerate(zip(inter, union)):
        it_inter[p, :a.shape[0]] = a
        it_union[p, :b.shape[0]] = b
    summary = {"miou": d["miou"], "pixel_accuracy": d["pixel_accuracy"], "mean_accuracy": d["mean_accuracy"],
               "miou_foreground": _nanmean(res.iou[1:])}
    results = {"method": "semantic", "summary": summary, "per_class": d["per_class"],
               "confusion": {"labels": list(classes), "matrix": total.tolist()}, "n_items": len(ids),
               "n_pixels": int(total.sum())}
    cache = encode_cache(labels=list(classes), item_ids=np.asarray(ids, np.int64), inter=it_inter, union=it_union,
                         counted=counted)
    return results, cache


def _nanmean(v: np.ndarray) -> float | None:
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else None


_SEMANTIC_CACHE = {"labels": TEXT, "item_ids": INT, "inter": INT, "union": INT, "counted": INT}


class SemanticItems:
    """Each evaluated item's per-class IoU (NaN: the class is in neither its ground truth nor its prediction),
    mean IoU over the classes it holds, and pixel accuracy, from the cache."""

    def __init__(self, labels: list[str], item_ids: np.ndarray, inter: np.ndarray, union: np.ndarray,
                 counted: np.ndarray):
        self.labels, self.item_ids = labels, item_ids
        self.inter, self.union, self.counted = inter, union, counted
        with np.errstate(divide="ignore", invalid="ignore"):
            self.iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
            held = ~np.isnan(self.iou)
            self.miou = np.where(held.any(1), np.nansum(np.nan_to_num(self.iou), 1) / np.maximum(held.sum(1), 1),
                                 np.nan)
            self.pixel_accuracy = np.where(counted > 0, inter.sum(1) / np.maximum(counted, 1), np.nan)

    @classmethod
    def from_npz(cls, data: bytes, *, where: str = "the evaluation cache") -> "SemanticItems":
        """A semantic evaluation's cache; a malformed or hostile one is a ValidationError naming `where`."""
        z = decode_cache(data, _SEMANTIC_CACHE, where=where)
        n = check_same_length(z, ["item_ids", "counted"], where=where)
        c = z["labels"].shape[0]
        for key in ("inter", "union"):
            if z[key].shape != (n, c):
                raise invalid(where, f"array {key!r} has shape {z[key].shape}, not {(n, c)}")
            if z[key].size and z[key].min() < 0:
                raise invalid(where, f"array {key!r} holds negative pixel counts")
        if z["counted"].size and z["counted"].min() < 0:
            raise invalid(where, "array 'counted' holds negative pixel counts")
        if (z["inter"] > z["union"]).any():
            raise invalid(where, "an intersection is larger than its union")
        return cls([str(x) for x in z["labels"].tolist()], z["item_ids"], z["inter"], z["union"], z["counted"])

    def errors(self, iou_threshold: float) -> np.ndarray:
        """Per item: how many classes it holds (ground truth or prediction) with an IoU below the threshold."""
        return ((~np.isnan(self.iou)) & (np.nan_to_num(self.iou, nan=1.0) < iou_threshold)).sum(1)

    def worst(self, label: str | None = None, limit: int | None = None, iou_threshold: float = 0.5) -> list[dict]:
        """Rows, worst first: by the item's IoU of `label` (items holding that class only), else its mean IoU
        (ties: lower pixel accuracy, then item id). Each row: item_id, iou (of the label, or the item's mean),
        miou, pixel_accuracy, per_class {label: iou}, below [labels under the threshold]."""
        if label is not None and label not in self.labels:
            raise ValidationError(f"label {label!r} is not a class of this evaluation ({', '.join(self.labels)})")
        key = self.miou if label is None else self.iou[:, self.labels.index(label)]
        sel = np.flatnonzero(~np.isnan(key))
        order = sel[np.lexsort((self.item_ids[sel], np.nan_to_num(self.pixel_accuracy[sel]), key[sel]))]
        if limit is not None:
            order = order[:limit]
        out = []
        for p in order.tolist():
            per = {lb: float(v) for lb, v in zip(self.labels, self.iou[p].tolist()) if v == v}
            out.append({"item_id": int(self.item_ids[p]), "iou": float(key[p]), "miou": float(self.miou[p]),
                        "pixel_accuracy": float(self.pixel_accuracy[p]) if self.counted[p] else None,
                        "per_class": per, "below": [lb for lb, v in per.items() if v < iou_threshold]})
        return out


class SemanticReview:
    """The review of a semantic evaluation: one row per item (no instances), worst first, at an IoU threshold
    that decides which of an item's classes count as mistakes (item_errors, hence regressions)."""

    method = "semantic"
    is_detection = False

    def __init__(self, view):
        self.view = view
        self.items = view.semantic_items()
        self.iou_threshold = float(view.record.iou_threshold or 0.5)
        self.item_ids = self.items.item_ids

    @property
    def labels(self) -> list[str]:
        return list(self.items.labels)

    classes = labels

    def update(self, *, iou_threshold: float | None = None, score_threshold=None) -> None:
        if iou_threshold is not None:
            from .classification import check_threshold
            v = check_threshold(iou_threshold, "iou_threshold")
            if v <= 0.0:
                raise ValidationError(f"iou_threshold must be within (0, 1], got {iou_threshold!r}")
            self.iou_threshold = v

    def worst(self, label: str | None = None, limit: int | None = None) -> list[dict]:
        return self.items.worst(label, limit, self.iou_threshold)

    def item_errors(self) -> dict[int, int]:
        """item id -> classes below the IoU threshold on it (items with none are absent)."""
        e = self.items.errors(self.iou_threshold)
        nz = np.flatnonzero(e)
        return dict(zip(self.item_ids[nz].tolist(), e[nz].tolist()))
