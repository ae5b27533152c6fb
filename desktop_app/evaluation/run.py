"""Score a model's stored predictions against the ground truth and keep the evaluation (no model runs here:
predicting is workflows.evaluate's, through the adapter's evaluate_model)."""

from __future__ import annotations

import io
import time

import numpy as np

from desktop_app.catalog import Catalog
from desktop_app.errors import ValidationError

from .classification import evaluate_classification
from .coco import COCOEvaluator
from .detection_cache import DetectionInputs, inputs_from_npz, inputs_to_npz
from .inputs import Detections, GroundTruth

__all__ = ["DetectionInputs", "inputs_from_npz", "inputs_to_npz"]      # the detection cache, read and written here


def _item_ids(catalog: Catalog, dataset_id: str, filters: dict | None) -> np.ndarray:
    ids = catalog.item_ids(dataset_id, **(filters or {}))
    if not ids:
        raise ValidationError(f"the filter {filters or {}} selects no items of the dataset")
    return np.asarray(ids, np.int64)


MASK_OUTPUTS = ("binary", "semantic")      # segmentation models: instance masks, or a class per pixel


def ground_truth_types(output_type: str) -> tuple[str, ...]:
    """The annotation types a model's predictions are scored against: class labels, masks and polygons (a
    segmentation model), or boxes (polygons' bounds)."""
    if output_type == "class":
        return ("class",)
    return ("binary", "segment") if output_type in MASK_OUTPUTS else ("box", "segment")


def ground_truth_counts(catalog: Catalog, dataset_id: str) -> dict[str, dict[str, int]]:
    """Items with ground truth of each type, by subset ('all' too): {'test': {'class': 150, 'box': 150}, ...}."""
    out: dict[str, dict[str, int]] = {"all": {}}
    for subset, kind, n in catalog.scoring.ground_truth_item_counts(dataset_id):
        out.setdefault(subset, {})[kind] = n
        out["all"][kind] = out["all"].get(kind, 0) + n   # an item is in one subset: the counts add up
    return out


def describe_selection(dataset_name: str, filters: dict | None) -> str:
    """'the test subset of shapes', 'shapes', 'the items of shapes that {...} selects'."""
    if not filters:
        return dataset_name
    if set(filters) == {"subset"}:
        return f"the {filters['subset']} subset of {dataset_name}"
    return f"the items of {dataset_name} that {filters} selects"


def why_no_ground_truth(output_type: str, selection: str, counts: dict[str, int]) -> str | None:
    """None when some items hold ground truth the model's predictions can be scored against, else why not."""
    if any(counts.get(k, 0) for k in ground_truth_types(output_type)):
        return None
    what, who = {"class": ("class labels", "a classifier"),
                 "binary": ("masks or polygons", "an instance segmentation model"),
                 "semantic": ("masks or polygons", "a semantic segmentation model")}.get(
        output_type, ("boxes or polygons", "a detector"))
    has = ", ".join(f"{n} with {k}" for k, n in sorted(counts.items()) if n) or "no annotations"
    return (f"{selection} holds no ground-truth {what} to score {who} against (items: {has}); "
            f"pick a dataset annotated for this task")


def require_ground_truth(catalog: Catalog, model_id: str, dataset_id: str, filters: dict | None = None,
                         item_ids: np.ndarray | None = None) -> None:
    """Refuse before predicting when scoring would find nothing to score against (after minutes of inference)."""
    output_type = catalog.get_model(model_id).output_type
    wanted = ground_truth_types(output_type)
    ids = set((item_ids if item_ids is not None else _item_ids(catalog, dataset_id, filters)).tolist())
    counts: dict[str, int] = {}
    for item_id, kind in catalog.scoring.ground_truth_item_types(dataset_id):
        if item_id in ids:
            if kind in wanted:
                return
            counts[kind] = counts.get(kind, 0) + 1
    selection = describe_selection(catalog.get_dataset(dataset_id).name, filters)
    raise ValidationError(why_no_ground_truth(output_type, selection, counts))


def detection_inputs(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray,
                     labels: list[str]) -> DetectionInputs:
    """Ground-truth boxes and the model's box predictions as columns, straight from SQLite."""
    wanted = set(item_ids.tolist())
    pos = {iid: k for k, iid in enumerate(item_ids.tolist())}
    gt_rows = [r for r in catalog.scoring.ground_truth_geometry(dataset_id, "box") if r[1] in wanted]
    if not gt_rows:  # polygon-only ground truth: their bounds are the boxes
        gt_rows = [r for r in catalog.scoring.ground_truth_geometry(dataset_id, "segment") if r[1] in wanted]
    dt_rows = [r for r in catalog.scoring.prediction_geometry(model_id, "box") if r[1] in wanted]
    labels = list(labels)
    for r in gt_rows:  # ground truth may know labels the model was not trained on
        if r[2] not in labels:
            labels.append(r[2])
    cat_index = {lb: i for i, lb in enumerate(labels)}

    def columns(rows, is_gt):
        n = len(rows)
        arr = np.array([(r[3], r[4], r[5], r[6]) for r in rows], np.float64).reshape(n, 4)
        boxes = np.column_stack([arr[:, 0], arr[:, 1], arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1]]) if n else \
            np.zeros((0, 4))
        img = np.array([pos[r[1]] for r in rows], np.int64)
        cat = np.array([cat_index.get(r[2], -1) for r in rows], np.int64)
        ids = np.array([r[0] for r in rows], np.int64)
        if is_gt:
            area = np.array([r[7] if r[7] is not None else (r[5] - r[3]) * (r[6] - r[4]) for r in rows], np.float64)
            crowd = np.array([bool(r[8]) for r in rows], bool)
            return img, cat, boxes, area, crowd, ids
        scores = np.array([r[9] if r[9] is not None else 1.0 for r in rows], np.float64)
        return img, cat, boxes, scores, ids

    g_img, g_cat, g_box, g_area, g_crowd, g_ids = columns(gt_rows, True)
    d_img, d_cat, d_box, d_score, d_ids = columns(dt_rows, False)
    gt = GroundTruth(item_ids, np.arange(1, len(labels) + 1), g_img, g_cat, g_box, g_area, g_crowd, g_ids)
    dt = Detections(d_img, d_cat, d_box, d_score, ids=d_ids)
    return DetectionInputs(gt, dt, labels, item_ids)


def score_detection(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray, labels: list[str],
                    iou_threshold: float, conf_threshold: float) -> tuple[dict, bytes]:
    inp = detection_inputs(catalog, model_id, dataset_id, item_ids, labels)
    return coco_results(inp, iou_threshold, conf_threshold), inputs_to_npz(inp)


def score_masks(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray, labels: list[str],
                iou_threshold: float, conf_threshold: float) -> tuple[dict, bytes]:
    """COCO segm of an instance segmentation model's mask predictions (evaluation.instance_masks)."""
    from .instance_masks import inputs_to_npz as masks_to_npz, mask_inputs
    inp = mask_inputs(catalog, model_id, dataset_id, item_ids, labels)
    return coco_results(inp, iou_threshold, conf_threshold, iou_type="segm", iou_fn=inp.pairs), masks_to_npz(inp)


def coco_results(inp, iou_threshold: float, conf_threshold: float, *, iou_type: str = "bbox",
                 iou_fn=None) -> dict:
    """A "coco" evaluation's figures: COCO's stats, per-class AP and counts, PR curves, the confusion matrix
    at the thresholds (boxes, or masks with iou_type 'segm': the matcher then reads `iou_fn`'s IoUs)."""
    res = COCOEvaluator(iou_type).evaluate(inp.gt, inp.dt, iou_fn=iou_fn)
    from .matching import InstanceMatcher
    matches = InstanceMatcher(inp.gt, inp.dt, iou_type=iou_type, iou_fn=iou_fn).match(iou_threshold, conf_threshold)
    names = {i + 1: lb for i, lb in enumerate(inp.labels)}
    per_class_counts = matches.per_class()
    stats = res.stats_dict
    per_class = {}
    for k, cid in enumerate(res.category_ids.tolist()):
        pr = res.precision[0, :, k, 0, 2]
        ap = res.precision[:, :, k, 0, 2]
        valid = ap[ap > -1]
        per_class[names[cid]] = {
            "AP": float(valid.mean()) if valid.size else -1.0,
            "AP50": float(pr[pr > -1].mean()) if (pr > -1).any() else -1.0,
            **{key: per_class_counts[cid][key] for key in ("tp", "fp", "fn", "precision", "recall", "f1")},
            "support": int((inp.gt.cat_idx == k).sum() - (inp.gt.iscrowd & (inp.gt.cat_idx == k)).sum()),
        }
    counts = matches.summary()
    summary = {"mAP": stats["AP"], "mAP50": stats["AP50"], "mAP75": stats["AP75"], "AR100": stats["AR100"],
               **{k: v for k, v in counts.items() if k in ("precision", "recall", "f1")},
               "tp": counts["tp"], "fp": counts["fp"], "fn": counts["fn"]}
    if iou_type != "bbox":
        summary["iou_type"] = iou_type
    recall_pts = res.recall_thresholds.tolist()
    curves = {names[cid]: {"recall": recall_pts, "precision_50": res.precision[0, :, k, 0, 2].tolist(),
                           "precision_75": res.precision[5, :, k, 0, 2].tolist()}
              for k, cid in enumerate(res.category_ids.tolist())}
    return {"method": "coco", "iou_type": iou_type, "summary": summary, "stats": stats, "per_class": per_class,
            "confusion": {"labels": inp.labels + ["background"],
                          "matrix": matches.confusion.tolist() if matches.confusion is not None else []},
            "pr_curves": curves, "n_items": int(inp.item_ids.shape[0]), "n_ground_truth": len(inp.gt),
            "n_predictions": len(inp.dt)}


def score_classification(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray,
                         labels: list[str]) -> tuple[dict, bytes]:
    """Each item's first ground-truth class against the model's most confident class prediction.

    The prediction's score is its confidence (Dataloop's model_info confidence); a full per-class
    vector in its metadata['scores'], where every item has one, adds top-k accuracy and PR curves."""
    wanted = set(item_ids.tolist())
    gt: dict[int, tuple[str, int]] = {}
    for ann_id, item_id, label in catalog.scoring.ground_truth_classes(dataset_id):
        if item_id in wanted:
            gt.setdefault(item_id, (label, ann_id))
    preds: dict[int, tuple] = {}
    for ann_id, item_id, label, score, meta in catalog.scoring.class_predictions(model_id):
        if item_id in wanted:
            preds.setdefault(item_id, (label, score, meta, ann_id))
    classes = list(labels)
    for lb in [g[0] for g in gt.values()] + [p[0] for p in preds.values()]:
        if lb not in classes:
            classes.append(lb)
    index = {lb: i for i, lb in enumerate(classes)}
    items = [i for i in item_ids.tolist() if i in gt]
    if not items:
        raise ValidationError("none of the evaluated items has a ground-truth class annotation")
    import json
    y_true = np.array([index[gt[i][0]] for i in items], np.int64)
    # An item the model gave no answer for is a miss of its true class (-1: no prediction).
    pred_idx = np.array([index[preds[i][0]] if i in preds else -1 for i in items], np.int64)
    item_score = np.array([np.nan if i not in preds or preds[i][1] is None else float(preds[i][1]) for i in items])
    scores = None
    vectors = []
    for i in items:
        meta = json.loads(preds[i][2]) if i in preds and preds[i][2] else {}
        vectors.append(_score_vector(meta.get("scores"), i, len(classes)))
    if all(v is not None for v in vectors):
        scores = np.zeros((len(items), len(classes)))
        for r, v in enumerate(vectors):
            scores[r, :len(v)] = v
    res = evaluate_classification(y_true, pred_idx, scores, labels=classes,
                                  top_k=(1, 3) if scores is not None else (1,))
    d = res.to_dict(curves=scores is not None)
    summary = {"accuracy": res.accuracy, "macro_f1": res.macro["f1"], "weighted_f1": res.weighted["f1"],
               "macro_precision": res.macro["precision"], "macro_recall": res.macro["recall"]}
    if scores is not None:
        summary["top3_accuracy"] = float(res.top_k.get(3, res.accuracy))
    labels = res.labels                        # the classes, then "(no prediction)" when an item got none
    none = len(classes)
    per_item = {"item_ids": items, "true": [classes[i] for i in y_true.tolist()],
                "pred": [labels[none if i < 0 else i] for i in pred_idx.tolist()],
                "score": [None if np.isnan(v) else float(v) for v in item_score.tolist()],
                "correct": res.item_correct.tolist(),
                "true_id": [gt[i][1] for i in items], "pred_id": [preds[i][3] if i in preds else -1 for i in items]}
    results = {"method": "classification", "summary": summary, **d, "n_items": len(items)}
    y_pred = np.where(pred_idx < 0, none, pred_idx)
    buf = io.BytesIO()
    np.savez_compressed(buf, items=np.array(items), y_true=y_true, y_pred=y_pred,
                        scores=scores if scores is not None else np.zeros((0, 0)),
                        labels=np.array(labels, dtype=str))  # never objects: read without pickle
    results["items"] = per_item
    return results, buf.getvalue()


def _score_vector(vector, item_id: int, n_classes: int) -> list | None:
    """A prediction's metadata['scores'] (one score per class), or None when it has none."""
    if vector is None:
        return None
    ok = isinstance(vector, list) and len(vector) <= n_classes and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in vector)
    if not ok:
        raise ValidationError(f"item {item_id}: the prediction's metadata['scores'] must be a list of at most "
                              f"{n_classes} finite numbers (one per class), got {str(vector)[:80]}")
    return vector


def score_model(catalog: Catalog, model_id: str, dataset_id: str, *, filters: dict | None = None,
                name: str | None = None, iou_threshold: float | None = None, conf_threshold: float | None = None,
                execution_id: str | None = None) -> dict:
    """Score the model's stored predictions on the filtered items; store an evaluation record.

    A threshold left None is the one the model's evaluation of that name was scored at (re-scoring keeps
    its settings), else IoU 0.5 and confidence 0."""
    item_ids = _item_ids(catalog, dataset_id, filters)
    require_ground_truth(catalog, model_id, dataset_id, filters, item_ids)
    name = name or default_name(catalog.get_dataset(dataset_id).name, filters)
    if iou_threshold is None or conf_threshold is None:
        old = next((e for e in catalog.list_evaluations(model_id=model_id) if e.name == name), None)
        if iou_threshold is None:
            iou_threshold = old.iou_threshold if old is not None else 0.5
        if conf_threshold is None:
            conf_threshold = old.conf_threshold if old is not None else 0.0
    return _score_items(catalog, model_id, dataset_id, item_ids, filters=filters, name=name,
                        iou_threshold=iou_threshold, conf_threshold=conf_threshold, execution_id=execution_id)


def rescore(catalog: Catalog, evaluation_id: str, *, iou_threshold: float | None = None,
            conf_threshold: float | None = None) -> dict:
    """Score an evaluation's stored predictions again (the ground truth may have been fixed), on its items, under
    its name, at its own thresholds unless told otherwise; no model runs."""
    rec = catalog.get_evaluation(evaluation_id)
    return score_model(catalog, rec.model_id, rec.dataset_id, filters=rec.filter or None, name=rec.name,
                       iou_threshold=rec.iou_threshold if iou_threshold is None else iou_threshold,
                       conf_threshold=rec.conf_threshold if conf_threshold is None else conf_threshold)


def _score_items(catalog: Catalog, model_id: str, dataset_id: str, item_ids: np.ndarray, *, filters: dict | None,
                 name: str | None, iou_threshold: float, conf_threshold: float, execution_id: str | None) -> dict:
    """score_model once the items are selected and known to hold ground truth of the model's kind."""
    model = catalog.get_model(model_id)
    ds = catalog.get_dataset(dataset_id)
    labels = list(model.labels) or list(ds.labels)
    if model.output_type == "class":
        results, cache = score_classification(catalog, model_id, dataset_id, item_ids, labels)
        method = "classification"
    elif model.output_type == "binary":
        results, cache = score_masks(catalog, model_id, dataset_id, item_ids, labels, iou_threshold, conf_threshold)
        method = "coco"
    elif model.output_type == "semantic":
        from .semantic_scoring import score_semantic
        results, cache = score_semantic(catalog, model_id, dataset_id, item_ids, labels)
        method = "semantic"
    else:
        results, cache = score_detection(catalog, model_id, dataset_id, item_ids, labels, iou_threshold,
                                         conf_threshold)
        method = "coco"
    return keep_evaluation(catalog, model_id, dataset_id, name or default_name(ds.name, filters), method=method,
                           results=results, cache=cache, filters=filters, iou_threshold=iou_threshold,
                           conf_threshold=conf_threshold, execution_id=execution_id)


def keep_evaluation(catalog: Catalog, model_id: str, dataset_id: str, name: str, *, method: str, results: dict,
                    cache: bytes | None = None, filters: dict | None = None, iou_threshold: float = 0.5,
                    conf_threshold: float = 0.0, execution_id: str | None = None) -> dict:
    """Store an evaluation (replacing the model's one of the same name) and its figures beside the training
    curves; returns {'evaluation_id', 'name', 'method', 'summary'}."""
    cache_sha = catalog.store.put_bytes(cache) if cache is not None else None
    weights = [a.sha256 for a in catalog.list_artifacts(model_id) if a.filename.endswith(".pt")]
    with catalog.transaction():
        for old in catalog.list_evaluations(model_id=model_id):
            if old.name == name:
                catalog.delete_evaluation(old.id)
        rec = catalog.create_evaluation(
            model_id, dataset_id, name, method=method, filter=filters or {},
            iou_thresholds=[round(0.5 + 0.05 * i, 2) for i in range(10)] if method == "coco" else [],
            conf_threshold=conf_threshold, iou_threshold=iou_threshold, weights_sha=weights[0] if weights else None,
            results=results, cache_sha=cache_sha, execution_id=execution_id)
        _log_metric_samples(catalog, model_id, dataset_id, name, results["summary"], execution_id)
    return {"evaluation_id": rec.id, "name": name, "method": method, "summary": results["summary"]}


def default_name(dataset_name: str, filters: dict | None) -> str:
    """'shapes-test' for a subset, the dataset's name otherwise (what an evaluation without a name gets)."""
    subset = (filters or {}).get("subset")
    return f"{dataset_name}-{subset}" if subset else dataset_name


def _log_metric_samples(catalog: Catalog, model_id: str, dataset_id: str, name: str, summary: dict,
                        execution_id: str | None) -> None:
    """Evaluation figures beside the training curves: one point per metric, at the model's last step."""
    last = catalog.scoring.last_training_step(model_id) or 0.0
    rows = [{"figure": f"eval/{k}", "legend": name, "x": last, "y": float(v), "wall_time": time.time()}
            for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    catalog.add_metric_samples(model_id, rows, dataset_id=dataset_id, execution_id=execution_id)
