"""Instance segmentation scoring inputs: ground-truth masks and polygons and a model's mask predictions from the
catalog as COCO segm columns, their pairwise mask IoUs (computed once), and the evaluation cache that keeps them.

Ground truth is every item's "binary" (COCO RLE, crowd or not) and "segment" (polygons, rasterised at the item's
size by domain.masks.polygon_to_mask: the pixels the viewer and a label map draw) annotations; predictions are
the model's "binary" annotations. Each prediction's IoU with every ground truth of its image (any class,
pycocotools' mask IoU; a crowd's union is the prediction's area) is computed here once; the live thresholds, the
review session and COCO's tables all read these numbers, so the cache holds them, never the masks: moving a
threshold decodes nothing, and a hostile cache is a few checked arrays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from desktop_app.catalog import Catalog
from desktop_app.domain import masks as dmasks
from desktop_app.errors import ValidationError

from . import masks
from .cache import FLOAT, INT, TEXT, check_range, decode_cache, encode_cache, invalid
from .detection_cache import DETECTION_CACHE, inputs_from_npz as detection_from_npz
from .inputs import Detections, GroundTruth

IOU_TYPE = "segm"


class PairIoU:
    """The mask IoU of (prediction, ground truth) pairs looked up from the nonzero ones kept: `iou_fn` of
    matching.InstanceMatcher and coco.COCOEvaluator. A pair not kept has IoU 0."""

    def __init__(self, d: np.ndarray, g: np.ndarray, iou: np.ndarray, n_gt: int):
        self.d = np.asarray(d, np.int64)
        self.g = np.asarray(g, np.int64)
        self.iou = np.asarray(iou, np.float64)
        self.n_gt = max(int(n_gt), 1)
        key = self.d * self.n_gt + self.g
        order = np.argsort(key, kind="stable")
        self._keys, self._vals = key[order], self.iou[order]

    def __len__(self) -> int:
        return int(self.d.shape[0])

    def __call__(self, d: np.ndarray, g: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
        want = np.asarray(d, np.int64) * self.n_gt + np.asarray(g, np.int64)
        out = np.zeros(want.shape[0])
        if not self._keys.shape[0] or not want.shape[0]:
            return out
        pos = np.minimum(np.searchsorted(self._keys, want), self._keys.shape[0] - 1)
        hit = self._keys[pos] == want
        out[hit] = self._vals[pos[hit]]
        return out


@dataclass
class MaskInputs:
    """What scoring a mask model reads, as detection_inputs gives boxes: columns plus the pairwise IoUs."""
    gt: GroundTruth
    dt: Detections
    labels: list[str]
    item_ids: np.ndarray
    pairs: PairIoU


def _rle_of(row, coords, h: int, w: int, who: str) -> dict:
    """A stored mask or polygon as a compressed COCO RLE at the item's size; ValidationError naming it."""
    where = f"{who} annotation {row.id} ({row.type} {row.label!r}) on item {row.item_id}"
    if row.type == "binary":
        problem = dmasks.rle_problem(coords, w, h, allow_empty=True)
        if problem:
            raise ValidationError(f"{where}: {problem}")
        counts = coords["counts"]
        if not isinstance(counts, str):        # uncompressed (a COCO crowd): the compressed string
            counts = dmasks.counts_string(dmasks.counts_of(coords))
        return {"size": [h, w], "counts": counts}
    problem = dmasks.polygon_problem(coords, w, h)
    if problem:
        raise ValidationError(f"{where}: {problem}")
    return dmasks.encode(dmasks.polygon_to_mask(coords, h, w))


def item_sizes(catalog: Catalog, item_ids: list[int]) -> dict[int, tuple[int, int, dict]]:
    """item id -> (height, width, metadata); an item without a size is refused (a mask needs one)."""
    out = {}
    for r in catalog.scoring.item_sizes(item_ids):
        if not r.width or not r.height:
            raise ValidationError(f"item {r.item_id} has no width / height; masks are scored at the image's size "
                                  f"(re-import the item)")
        meta = json.loads(r.metadata_json) if r.metadata_json else {}
        out[r.item_id] = (int(r.height), int(r.width), meta if isinstance(meta, dict) else {})
    return out


def mask_inputs(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray,
                labels: list[str]) -> MaskInputs:
    """Ground-truth masks / polygons and the model's mask predictions of the items as COCO segm columns, with
    every same-image pair's mask IoU."""
    ids = [int(v) for v in item_ids.tolist()]
    pos = {iid: k for k, iid in enumerate(ids)}
    sizes = item_sizes(catalog, ids)
    gt_rows = catalog.scoring.ground_truth_shapes(dataset_id, ids)
    dt_rows = catalog.scoring.prediction_masks(model_id, ids)
    labels = list(labels)
    for r in gt_rows:                 # ground truth may know labels the model was not trained on
        if r.label not in labels:
            labels.append(r.label)
    cat_index = {lb: i for i, lb in enumerate(labels)}

    def rles(rows, who):
        out = []
        for r in rows:
            h, w, _ = sizes[r.item_id]
            try:
                coords = json.loads(r.coordinates_json) if r.coordinates_json else None
            except ValueError:
                coords = None
            out.append(_rle_of(r, coords, h, w, who))
        return out

    g_rle, d_rle = rles(gt_rows, "ground-truth"), rles(dt_rows, "predicted")
    g_img = np.array([pos[r.item_id] for r in gt_rows], np.int64)
    d_img = np.array([pos[r.item_id] for r in dt_rows], np.int64)
    g_crowd = np.array([bool(r.iscrowd) for r in gt_rows], bool)
    g_pix = masks.area(g_rle)
    # COCO reads a ground truth's own area (an imported one's is kept in the column); a mask's is its pixels
    g_area = np.array([r.area if r.area is not None else a for r, a in zip(gt_rows, g_pix.tolist())], np.float64)
    gt = GroundTruth(item_ids, np.arange(1, len(labels) + 1), g_img,
                     np.array([cat_index[r.label] for r in gt_rows], np.int64), masks.to_bbox(g_rle), g_area,
                     g_crowd, np.array([r.id for r in gt_rows], np.int64), g_rle,
                     np.array([sizes[i][:2] for i in ids], np.int64).reshape(-1, 2))
    dt = Detections(d_img, np.array([cat_index.get(r.label, -1) for r in dt_rows], np.int64), masks.to_bbox(d_rle),
                    np.array([r.score if r.score is not None else 1.0 for r in dt_rows], np.float64),
                    masks.area(d_rle), np.array([r.id for r in dt_rows], np.int64), d_rle)
    return MaskInputs(gt, dt, labels, np.asarray(item_ids, np.int64), image_pair_ious(gt, dt))


def image_pair_ious(gt: GroundTruth, dt: Detections) -> PairIoU:
    """Every prediction's mask IoU with every ground truth of its image (nonzero ones kept): one IoU call an
    image."""
    n_img = gt.image_ids.shape[0]
    go = np.argsort(gt.image_idx, kind="stable")
    do = np.argsort(dt.image_idx, kind="stable")
    gs = np.searchsorted(gt.image_idx[go], np.arange(n_img + 1))
    ds = np.searchsorted(dt.image_idx[do], np.arange(n_img + 1))
    dd, gg, vv = [], [], []
    for k in np.flatnonzero((np.diff(gs) > 0) & (np.diff(ds) > 0)).tolist():
        di, gi = do[ds[k]:ds[k + 1]], go[gs[k]:gs[k + 1]]
        block = masks.iou_matrix([dt.segmentation[i] for i in di.tolist()],
                                 [gt.segmentation[i] for i in gi.tolist()], gt.iscrowd[gi])
        r, c = np.nonzero(block > 0)
        dd.append(di[r])
        gg.append(gi[c])
        vv.append(block[r, c])
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    return PairIoU(cat(dd, np.int64), cat(gg, np.int64), cat(vv, np.float64), len(gt))


# -- the evaluation cache ------------------------------------------------------------------------------------

def inputs_to_npz(inp: MaskInputs) -> bytes:
    """The columns detection caches hold (no masks) and the nonzero pairwise IoUs."""
    return encode_cache(
        iou_type=[IOU_TYPE], labels=list(inp.labels), item_ids=inp.item_ids,
        g_img=inp.gt.image_idx, g_cat=inp.gt.cat_idx, g_box=inp.gt.boxes, g_area=inp.gt.area,
        g_crowd=inp.gt.iscrowd, g_ids=inp.gt.ids, d_img=inp.dt.image_idx, d_cat=inp.dt.cat_idx,
        d_box=inp.dt.boxes, d_score=inp.dt.scores, d_area=inp.dt.area, d_ids=inp.dt.ids,
        p_d=inp.pairs.d, p_g=inp.pairs.g, p_iou=inp.pairs.iou)


_PAIR_CACHE = {"iou_type": TEXT, "d_area": FLOAT, "p_d": INT, "p_g": INT, "p_iou": FLOAT}


def inputs_from_npz(data: bytes, *, where: str = "the evaluation cache") -> MaskInputs:
    """A mask evaluation's cached inputs; a malformed or hostile cache is a ValidationError naming `where`."""
    base = detection_from_npz(data, where=where)
    z = decode_cache(data, {**DETECTION_CACHE, **_PAIR_CACHE}, where=where)
    if z["iou_type"].tolist() != [IOU_TYPE]:
        raise invalid(where, f"it is not a mask ({IOU_TYPE}) evaluation's cache")
    n_dt, n_gt = len(base.dt), len(base.gt)
    if z["d_area"].shape != (n_dt,):
        raise invalid(where, f"array 'd_area' has shape {z['d_area'].shape}, not ({n_dt},)")
    n = z["p_d"].shape[0]
    for key in ("p_d", "p_g", "p_iou"):
        if z[key].shape != (n,):
            raise invalid(where, f"array {key!r} has shape {z[key].shape}, not ({n},)")
    check_range(z, "p_d", 0, n_dt, where=where)
    check_range(z, "p_g", 0, n_gt, where=where)
    iou = z["p_iou"]
    if iou.size and not (np.isfinite(iou).all() and iou.min() >= 0.0 and iou.max() <= 1.0):
        raise invalid(where, "array 'p_iou' holds values outside [0, 1]")
    area = z["d_area"]
    if area.size and not (np.isfinite(area).all() and area.min() >= 0.0):
        raise invalid(where, "array 'd_area' holds negative or non-finite areas")
    dt = Detections(base.dt.image_idx, base.dt.cat_idx, base.dt.boxes, base.dt.scores, area, base.dt.ids)
    return MaskInputs(base.gt, dt, base.labels, base.item_ids, PairIoU(z["p_d"], z["p_g"], iou, n_gt))
