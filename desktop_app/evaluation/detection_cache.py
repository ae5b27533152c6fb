"""A detection evaluation's inputs (ground truth and predictions as columns) and its cache: written at scoring,
read back (as hostile input: evaluation.cache) by the live thresholds and the review."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cache import BOOL, FLOAT, INT, TEXT, check_range, check_same_length, decode_cache, encode_cache
from .inputs import Detections, GroundTruth


@dataclass
class DetectionInputs:
    gt: GroundTruth
    dt: Detections
    labels: list[str]
    item_ids: np.ndarray


def inputs_to_npz(inp: DetectionInputs) -> bytes:
    return encode_cache(
        labels=list(inp.labels), item_ids=inp.item_ids,
        g_img=inp.gt.image_idx, g_cat=inp.gt.cat_idx, g_box=inp.gt.boxes, g_area=inp.gt.area,
        g_crowd=inp.gt.iscrowd, g_ids=inp.gt.ids, d_img=inp.dt.image_idx, d_cat=inp.dt.cat_idx,
        d_box=inp.dt.boxes, d_score=inp.dt.scores, d_ids=inp.dt.ids)


DETECTION_CACHE = {"labels": TEXT, "item_ids": INT, "g_img": INT, "g_cat": INT, "g_box": FLOAT, "g_area": FLOAT,
                    "g_crowd": BOOL, "g_ids": INT, "d_img": INT, "d_cat": INT, "d_box": FLOAT, "d_score": FLOAT,
                    "d_ids": INT}


def inputs_from_npz(data: bytes, *, where: str = "the evaluation cache") -> DetectionInputs:
    """A detection evaluation's cached inputs; a malformed or hostile cache is a ValidationError naming `where`."""
    z = decode_cache(data, DETECTION_CACHE, where=where)
    labels = [str(x) for x in z["labels"].tolist()]
    n_items = check_same_length(z, ["item_ids"], where=where)
    check_same_length(z, ["labels"], where=where)
    check_same_length(z, ["g_img", "g_cat", "g_box", "g_area", "g_crowd", "g_ids"], where=where)
    check_same_length(z, ["d_img", "d_cat", "d_box", "d_score", "d_ids"], where=where)
    for key in ("g_img", "d_img"):
        check_range(z, key, 0, n_items, where=where)
    for key in ("g_cat", "d_cat"):
        check_range(z, key, -1, len(labels), where=where)
    gt = GroundTruth(z["item_ids"], np.arange(1, len(labels) + 1), z["g_img"], z["g_cat"], z["g_box"], z["g_area"],
                     z["g_crowd"], z["g_ids"])
    dt = Detections(z["d_img"], z["d_cat"], z["d_box"], z["d_score"], ids=z["d_ids"])
    return DetectionInputs(gt, dt, labels, z["item_ids"])
