"""`evaluate-coco`: COCO metrics for a ground-truth file and a results file, with input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from desktop_app.errors import FormatError
from desktop_app.evaluation.coco import COCOEvaluator
from desktop_app.evaluation.inputs import Detections, EntryError, GroundTruth
from desktop_app.evaluation.result import STAT_NAMES


def _load(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FormatError("file not found", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", file=str(path)) from None


def _negative_size(boxes: np.ndarray, what: str, ids, file: str) -> None:
    bad = np.flatnonzero((boxes[:, 2] < 0) | (boxes[:, 3] < 0))
    if bad.shape[0]:
        i = int(bad[0])
        raise FormatError(f"bbox {boxes[i].tolist()} has a negative width or height (COCO boxes are x, y, w, h)",
                          file=file, entry=f"{what} {ids(i)}")


def load_coco_pair(gt_path, dt_path, iou_type: str = "bbox") -> tuple[GroundTruth, Detections, dict]:
    """Read and check both files; returns columns plus {category id: name}."""
    gt_file, dt_file = str(gt_path), str(dt_path)
    data = _load(Path(gt_path))
    if not isinstance(data, dict):
        raise FormatError("ground truth must be a JSON object with images, annotations and categories", file=gt_file)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise FormatError(f"missing the '{key}' list", file=gt_file, entry=key)
    if not data["images"]:
        raise FormatError("the ground truth has no images, so there is nothing to evaluate", file=gt_file,
                          entry="images")
    for where, items in (("images", data["images"]), ("categories", data["categories"])):
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "id" not in item:
                raise FormatError("needs an 'id'", file=gt_file, entry=f"{where}[{i}]")
    try:
        gt = GroundTruth.from_coco(data["images"], data["categories"], data["annotations"],
                                   need_segmentation=iou_type == "segm")
    except EntryError as exc:
        raise FormatError(exc.reason, file=gt_file, entry=exc.entry) from None
    except ValueError as exc:  # ValidationError (duplicate ids, ...) included
        raise FormatError(str(exc), file=gt_file) from None
    _negative_size(gt.boxes, "annotation id", lambda i: gt.ids[i], gt_file)

    results = _load(Path(dt_path))
    if isinstance(results, dict) and isinstance(results.get("annotations"), list):
        results = results["annotations"]  # some tools write results as a dataset
    if not isinstance(results, list):
        raise FormatError("results must be a JSON list of detections", file=dt_file)
    try:
        dt = Detections.from_coco(results, gt, iou_type=iou_type)
    except EntryError as exc:
        raise FormatError(exc.reason, file=dt_file, entry=exc.entry) from None
    except ValueError as exc:
        raise FormatError(str(exc), file=dt_file) from None
    _negative_size(dt.boxes, "result", lambda i: i, dt_file)
    names = {c["id"]: str(c.get("name", c["id"])) for c in data["categories"]}
    return gt, dt, names


def evaluate_coco_files(gt_path, dt_path, iou_type: str = "bbox") -> dict:
    """The 12 COCO stats (pycocotools' order) and per-class AP for a GT file and a results file.

    Refused (FormatError naming the file and the first entry at fault): unreadable or malformed JSON;
    a ground truth without images / annotations / categories lists, or without any image; entries
    lacking required keys or with a bbox that is not 4 numbers; boxes with negative width or height;
    NaN or non-numeric scores; results naming an image the ground truth lacks (pycocotools asserts).
    As COCO: results with a category the dataset does not know are left out (listed in `warnings`);
    detections on images without ground truth are false positives; ground truth nobody detected is
    missed; classes without ground truth get AP -1. An empty results list (pycocotools crashes on it)
    gives AP 0 for every class with ground truth.
    """
    gt, dt, names = load_coco_pair(gt_path, dt_path, iou_type)
    result = COCOEvaluator(iou_type).evaluate(gt, dt)
    result.category_names = names
    # per-class keys are names; a name used twice gets its id added so no class is lost
    counts: dict = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1

    def key(cid):
        return names[cid] if counts[names[cid]] == 1 else f"{names[cid]} ({cid})"

    warnings = list(result.warnings)
    if not len(gt):
        warnings.append("the ground truth has no annotations: every stat is -1")
    if not len(dt):
        warnings.append("the results file is empty")
    return {
        "iou_type": iou_type,
        "stat_names": list(STAT_NAMES),
        "stats": [float(x) for x in result.stats],
        "per_class_ap": {key(c): v for c, v in result.per_class_ap.items()},
        "per_class_ap50": {key(c): v for c, v in result.per_class_ap50.items()},
        "counts": {"images": int(gt.image_ids.shape[0]), "ground_truth": len(gt), "detections": len(dt)},
        "warnings": warnings,
    }
