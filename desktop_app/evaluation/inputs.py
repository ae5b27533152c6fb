"""Columnar ground truth and detections, the form every detection evaluator here takes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from desktop_app.errors import ValidationError


class EntryError(ValidationError):
    """Bad input that can be traced to one entry (annotation, result) of the input."""

    def __init__(self, message: str, entry: str):
        self.entry = entry
        self.reason = message
        super().__init__(f"{entry}: {message}")


def _floats(rows: list, width: int, what: str, label: str) -> np.ndarray:
    """Stack lists of `width` numbers (np.fromiter over a flat chain beats np.array on 1e5+ rows)."""
    n = len(rows)
    try:
        if set(map(len, rows)) - {width}:
            raise ValueError
        flat = np.fromiter(itertools.chain.from_iterable(rows), np.float64, count=n * width)
    except (TypeError, ValueError):
        for i, row in enumerate(rows):
            if not isinstance(row, (list, tuple, np.ndarray)) or len(row) != width:
                raise EntryError(f"{what} must be a list of {width} numbers, got {row!r}", f"{label} {i}") from None
            try:
                [float(v) for v in row]
            except (TypeError, ValueError):
                raise EntryError(f"{what} holds a value that is not a number: {row!r}", f"{label} {i}") from None
        raise
    return flat.reshape(n, width)


def _index_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each wanted id in ids (unsorted, unique); -1 where absent."""
    if ids.shape[0] == 0:
        return np.full(wanted.shape[0], -1, np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    try:
        pos = np.searchsorted(sorted_ids, wanted)
    except TypeError:  # mixed id types (str vs int): fall back to a dict
        lookup = {v: i for i, v in enumerate(ids.tolist())}
        return np.array([lookup.get(v, -1) for v in wanted.tolist()], np.int64)
    pos = np.minimum(pos, sorted_ids.shape[0] - 1)
    found = sorted_ids[pos] == wanted
    return np.where(found, order[pos], -1).astype(np.int64)


def _ids(values, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValidationError(f"{what} must be a flat list of ids")
    if arr.shape[0] != np.unique(arr).shape[0]:
        raise ValidationError(f"{what} holds duplicate ids")
    return arr


@dataclass(eq=False)
class GroundTruth:
    """Ground-truth instances as columns; `image_ids` lists every image, annotated or not."""

    image_ids: np.ndarray
    category_ids: np.ndarray
    image_idx: np.ndarray
    cat_idx: np.ndarray
    boxes: np.ndarray
    area: np.ndarray | None = None
    iscrowd: np.ndarray | None = None
    ids: np.ndarray | None = None
    segmentation: list | None = None
    image_sizes: np.ndarray | None = None  # (images, 2) height, width; polygons need them
    dropped: dict = field(default_factory=dict)

    def __post_init__(self):
        self.image_ids = _ids(self.image_ids, "image ids")
        self.category_ids = _ids(self.category_ids, "category ids")
        self.image_idx = np.asarray(self.image_idx, np.int64).reshape(-1)
        self.cat_idx = np.asarray(self.cat_idx, np.int64).reshape(-1)
        n = self.image_idx.shape[0]
        self.boxes = np.asarray(self.boxes, np.float64).reshape(n, 4)
        # COCO reads the area field; boxes without one get w*h
        self.area = self.boxes[:, 2] * self.boxes[:, 3] if self.area is None else np.asarray(self.area, np.float64)
        self.iscrowd = np.zeros(n, bool) if self.iscrowd is None else np.asarray(self.iscrowd).astype(bool)
        self.ids = np.arange(1, n + 1, dtype=np.int64) if self.ids is None else np.asarray(self.ids)
        for name in ("cat_idx", "area", "iscrowd", "ids"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(f"ground truth column {name} has {getattr(self, name).shape[0]} rows, "
                                      f"expected {n}")
        if n and (self.image_idx.min() < 0 or self.image_idx.max() >= self.image_ids.shape[0]):
            raise ValidationError("ground truth image_idx points outside image_ids")
        if n and (self.cat_idx.min() < 0 or self.cat_idx.max() >= self.category_ids.shape[0]):
            raise ValidationError("ground truth cat_idx points outside category_ids")
        bad = np.flatnonzero(~np.isfinite(self.boxes).all(axis=1) | ~np.isfinite(self.area))
        if bad.shape[0]:
            raise EntryError("box or area is not a finite number", f"annotation id {self.ids[bad[0]]}")
        if self.segmentation is not None and len(self.segmentation) != n:
            raise ValidationError("ground truth segmentation list does not match the instances")

    def __len__(self) -> int:
        return self.image_idx.shape[0]

    @classmethod
    def from_coco(cls, images: list, categories: list, annotations: list, *, need_segmentation: bool = False):
        """From COCO dataset lists; annotations of unknown images or categories are dropped, as COCO does."""
        try:
            image_ids = np.asarray([img["id"] for img in images])
            sizes = None
            if need_segmentation:
                sizes = np.array([[img.get("height", 0), img.get("width", 0)] for img in images], np.int64)
            cat_ids = np.asarray([c["id"] for c in categories])
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"every image and category needs an 'id' ({exc})") from None
        if not len(annotations):
            return cls(image_ids, cat_ids, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)),
                       segmentation=[] if need_segmentation else None, image_sizes=sizes)
        try:
            img_idx = _index_of(image_ids, np.asarray([a["image_id"] for a in annotations]))
            cat_idx = _index_of(cat_ids, np.asarray([a["category_id"] for a in annotations]))
            boxes = _floats([a["bbox"] for a in annotations], 4, "bbox", "annotation")
        except (KeyError, TypeError):
            _diagnose(annotations, ("image_id", "category_id", "bbox"), "annotation")
            raise
        area = np.array([a.get("area", b[2] * b[3]) for a, b in zip(annotations, boxes.tolist())], np.float64)
        crowd = np.array([bool(a.get("iscrowd", 0)) for a in annotations])
        ids = np.asarray([a.get("id", i + 1) for i, a in enumerate(annotations)])
        keep = (img_idx >= 0) & (cat_idx >= 0)
        dropped = {}
        if not keep.all():
            dropped = {"unknown_image": int((img_idx < 0).sum()),
                       "unknown_category": int(((img_idx >= 0) & (cat_idx < 0)).sum())}
        segm = None
        if need_segmentation:
            for i, a in enumerate(annotations):
                if keep[i] and "segmentation" not in a:
                    raise EntryError("missing segmentation", f"annotation {i} (id {a.get('id')})")
            segm = [a.get("segmentation") for a, k in zip(annotations, keep) if k]
        return cls(image_ids, cat_ids, img_idx[keep], cat_idx[keep], boxes[keep], area[keep], crowd[keep],
                   ids[keep], segm, sizes, dropped)


@dataclass(eq=False)
class Detections:
    """Scored predictions as columns; `cat_idx` -1 marks a label the dataset does not know (ignored, as COCO)."""

    image_idx: np.ndarray
    cat_idx: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    area: np.ndarray | None = None
    ids: np.ndarray | None = None
    segmentation: list | None = None
    dropped: dict = field(default_factory=dict)

    def __post_init__(self):
        self.image_idx = np.asarray(self.image_idx, np.int64).reshape(-1)
        self.cat_idx = np.asarray(self.cat_idx, np.int64).reshape(-1)
        n = self.image_idx.shape[0]
        self.boxes = np.asarray(self.boxes, np.float64).reshape(n, 4)
        self.scores = np.asarray(self.scores, np.float64).reshape(-1)
        self.area = self.boxes[:, 2] * self.boxes[:, 3] if self.area is None else np.asarray(self.area, np.float64)
        # results get ids 1..n, as pycocotools' loadRes gives them
        self.ids = np.arange(1, n + 1, dtype=np.int64) if self.ids is None else np.asarray(self.ids)
        for name in ("cat_idx", "scores", "area", "ids"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(f"detection column {name} has {getattr(self, name).shape[0]} rows, expected {n}")
        bad = np.flatnonzero(np.isnan(self.scores))
        if bad.shape[0]:
            raise EntryError("score is NaN", f"detection {bad[0]} (id {self.ids[bad[0]]})")
        bad = np.flatnonzero(~np.isfinite(self.boxes).all(axis=1))
        if bad.shape[0]:
            raise EntryError("box is not finite", f"detection {bad[0]} (id {self.ids[bad[0]]})")
        if self.segmentation is not None and len(self.segmentation) != n:
            raise ValidationError("detection segmentation list does not match the detections")

    def __len__(self) -> int:
        return self.image_idx.shape[0]

    def check_images(self, n_images: int) -> None:
        bad = np.flatnonzero((self.image_idx < 0) | (self.image_idx >= n_images))
        if bad.shape[0]:
            raise EntryError("image is not in the ground truth", f"detection {bad[0]} (id {self.ids[bad[0]]})")

    @classmethod
    def from_coco(cls, results: list, gt: GroundTruth, *, iou_type: str = "bbox") -> "Detections":
        """From a COCO results list, with pycocotools' loadRes rules.

        Results naming an image the ground truth lacks are refused (the first one is named); results
        with an unknown category are kept out of the evaluation, as COCO does, and counted in `dropped`.
        As in loadRes, the first result decides the form: with a bbox, area is w*h (even for segm);
        otherwise area and bbox come from the mask.
        """
        if not isinstance(results, list):
            raise ValidationError("results must be a list of objects")
        n = len(results)
        if n == 0:
            return cls(np.zeros(0), np.zeros(0), np.zeros((0, 4)), np.zeros(0),
                       segmentation=[] if iou_type == "segm" else None)
        try:
            img_ids = np.asarray([r["image_id"] for r in results])
            cat_ids = np.asarray([r["category_id"] for r in results])
            raw_scores = [r["score"] for r in results]
        except (KeyError, TypeError):
            _diagnose(results, ("image_id", "category_id", "score"), "result")
            raise
        img_idx = _index_of(gt.image_ids, img_ids)
        bad = np.flatnonzero(img_idx < 0)
        if bad.shape[0]:
            i = int(bad[0])
            raise EntryError(f"image_id {results[i]['image_id']!r} is not in the ground truth", f"result {i}")
        cat_idx = _index_of(gt.category_ids, cat_ids)
        if set(map(type, raw_scores)) - {float, int}:  # np.array would quietly parse "0.5"
            i = next(i for i, v in enumerate(raw_scores) if type(v) not in (float, int))
            raise EntryError(f"score {raw_scores[i]!r} is not a number", f"result {i}")
        scores = np.array(raw_scores, np.float64)
        bad = np.flatnonzero(np.isnan(scores))
        if bad.shape[0]:
            raise EntryError("score is NaN", f"result {int(bad[0])}")
        first = results[0]
        segm = None
        if "bbox" in first and len(first["bbox"]):
            try:
                boxes = _floats([r["bbox"] for r in results], 4, "bbox", "result")
            except KeyError:
                i = next(i for i, r in enumerate(results) if "bbox" not in r)
                raise EntryError("missing bbox (the first result has one, so all need one)", f"result {i}") from None
            area = boxes[:, 2] * boxes[:, 3]
            if iou_type == "segm":
                segm = [r["segmentation"] if "segmentation" in r else _box_polygon(b)
                        for r, b in zip(results, boxes.tolist())]
        elif "segmentation" in first:
            from desktop_app.evaluation import masks

            for i, r in enumerate(results):
                if "segmentation" not in r:
                    raise EntryError("missing segmentation", f"result {i}")
                seg = r["segmentation"]
                if not (isinstance(seg, dict) and "size" in seg and "counts" in seg):
                    # as pycocotools' loadRes: area and box come from an RLE; a polygon has no image size here
                    raise EntryError("a segmentation without a bbox must be a COCO RLE {size, counts} (give a "
                                     "polygon result its bbox too)", f"result {i}")
            segm = [r["segmentation"] for r in results]
            area = masks.area(segm)
            boxes = np.array([r["bbox"] if "bbox" in r else b
                              for r, b in zip(results, masks.to_bbox(segm).tolist())], np.float64)
        else:
            raise EntryError("needs a bbox or a segmentation", "result 0")
        bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
        if bad.shape[0]:
            raise EntryError(f"bbox {boxes[bad[0]].tolist()} is not finite", f"result {int(bad[0])}")
        dropped = {"unknown_category": int((cat_idx < 0).sum())} if (cat_idx < 0).any() else {}
        return cls(img_idx, cat_idx, boxes, scores, area, None, segm, dropped)


def _diagnose(entries: list, keys: tuple, what: str) -> None:
    """Name the first entry that is not an object or lacks a key (the slow path, after a failure)."""
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise EntryError(f"{what} is not an object", f"{what} {i}")
        missing = [k for k in keys if k not in e]
        if missing:
            ident = f" (id {e['id']})" if "id" in e else ""
            raise EntryError("missing " + ", ".join(missing), f"{what} {i}{ident}")


def _box_polygon(b) -> list:
    x1, y1, w, h = b
    x2, y2 = x1 + w, y1 + h
    return [[x1, y1, x1, y2, x2, y2, x2, y1]]
