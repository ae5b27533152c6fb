"""Seeded synthetic COCO sets and a pycocotools reference runner for the evaluation tests."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np

from desktop_app.evaluation.inputs import Detections, GroundTruth


def make_coco_set(seed: int, n_images: int = 40, n_cats: int = 6, *, polygons: bool = False,
                  big_group: bool = True, zero_id: bool = False):
    """(dataset dict, results list) exercising the corners of the COCO protocol.

    Crowds, boxes in all three area ranges, images without annotations or without detections, a class
    only in the ground truth, a class only in the detections, a label the dataset does not know,
    one image/category with more than 100 detections, and scores rounded so that ties happen.
    """
    rng = np.random.default_rng(seed)
    W, H = 320, 240
    image_ids = rng.choice(np.arange(1, 10 * n_images), n_images, replace=False).tolist()
    images = [{"id": int(i), "width": W, "height": H, "file_name": f"{i}.jpg"} for i in image_ids]
    cat_ids = [int(c) for c in (np.arange(n_cats) * 2 + 1)]
    categories = [{"id": c, "name": f"c{c}"} for c in cat_ids]
    gt_only, dt_only = cat_ids[-1], cat_ids[-2]
    anns, results = [], []
    next_id = 0 if zero_id else 1

    def rand_box(scale=None):
        s = scale if scale is not None else float(np.exp(rng.uniform(np.log(3), np.log(200))))
        w = s * rng.uniform(0.5, 1.5)
        h = s * rng.uniform(0.5, 1.5)
        x = rng.uniform(-5, W - min(w, W - 1))
        y = rng.uniform(-5, H - min(h, H - 1))
        return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]

    def poly(b):
        x, y, w, h = b
        # a diamond-ish polygon inside the box so mask area differs from box area
        return [[x + w / 2, y, x + w, y + h / 2, x + w / 2, y + h, x, y + h / 2]]

    for n, img in enumerate(image_ids):
        if n % 7 == 3:
            n_gt = 0  # image without annotations
        else:
            n_gt = int(rng.poisson(4))
        gts = []
        for _ in range(n_gt):
            cat = int(rng.choice([c for c in cat_ids if c != dt_only]))
            b = rand_box()
            crowd = int(rng.random() < 0.08)
            ann = {"id": next_id, "image_id": img, "category_id": cat, "bbox": b,
                   "area": round(b[2] * b[3] * rng.uniform(0.5, 1.0), 3), "iscrowd": crowd}
            if polygons:
                ann["segmentation"] = poly(b)
            next_id += 1
            anns.append(ann)
            gts.append(ann)
        if n % 11 == 5:
            continue  # image without detections
        for ann in gts:
            if ann["category_id"] == gt_only:
                continue
            for _ in range(int(rng.integers(0, 4))):
                x, y, w, h = ann["bbox"]
                j = rng.normal(0, 0.12, 4)
                b = [round(x + j[0] * w, 2), round(y + j[1] * h, 2), round(w * (1 + j[2]), 2), round(h * (1 + j[3]), 2)]
                cat = ann["category_id"] if rng.random() < 0.85 else int(rng.choice(cat_ids[:-1]))
                results.append({"image_id": img, "category_id": cat, "bbox": b,
                                "score": round(float(rng.random()), 2)})
        for _ in range(int(rng.integers(0, 8))):
            cat = int(rng.choice(cat_ids[:-1] + [999]))  # 999: a label the dataset does not know
            results.append({"image_id": img, "category_id": cat, "bbox": rand_box(),
                            "score": round(float(rng.random()), 1)})
    if big_group:
        img = image_ids[0]
        base = [a for a in anns if a["image_id"] == img]
        cat = base[0]["category_id"] if base else cat_ids[0]
        for _ in range(130):
            results.append({"image_id": img, "category_id": cat, "bbox": rand_box(40),
                            "score": round(float(rng.random()), 2)})
    rng.shuffle(results)
    if polygons:
        for r in results:
            r["segmentation"] = poly(r["bbox"])
    dataset = {"images": images, "categories": categories, "annotations": anns}
    return dataset, results


def make_dense_set(seed: int, n_images: int = 20):
    """Crowded scenes: many overlapping objects of few classes, 0-150 detections per image, scores in
    quarter steps (heavy ties), 15% crowds - the greedy matching's hardest case."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "width": 100, "height": 100} for i in range(1, n_images + 1)]
    categories = [{"id": c, "name": f"k{c}"} for c in (1, 2, 3)]
    anns, results, aid = [], [], 1
    for img in range(1, n_images + 1):
        gts = []
        for _ in range(int(rng.integers(0, 12))):
            cx, cy = rng.uniform(20, 60, 2)
            s = float(rng.choice([5, 20, 50, 120]))
            b = [float(cx), float(cy), s * float(rng.uniform(.8, 1.2)), s * float(rng.uniform(.8, 1.2))]
            a = {"id": aid, "image_id": img, "category_id": int(rng.integers(1, 4)), "bbox": b,
                 "area": b[2] * b[3], "iscrowd": int(rng.random() < .15)}
            aid += 1
            anns.append(a)
            gts.append(a)
        for _ in range(int(rng.integers(0, 150))):
            if gts and rng.random() < .8:
                a = gts[int(rng.integers(len(gts)))]
                x, y, w, h = a["bbox"]
                j = rng.normal(0, .05, 4)
                b = [x + j[0] * w, y + j[1] * h, w * (1 + j[2]), h * (1 + j[3])]
                c = a["category_id"]
            else:
                b = [float(v) for v in rng.uniform(0, 80, 4)]
                c = int(rng.integers(1, 4))
            results.append({"image_id": img, "category_id": c, "bbox": b, "score": float(rng.integers(0, 5)) / 4})
    return {"images": images, "categories": categories, "annotations": anns}, results


def pycocotools_eval(dataset: dict, results: list, iou_type: str = "bbox"):
    """COCOeval run on deep copies (loadRes edits its input); returns the evaluator."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


# -- per-instance matching: small random sets and a literal reference ----------------------------


def _iou(d, g, crowd):
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if w <= 0 or h <= 0:
        return 0.0
    i = w * h
    da = d[2] * d[3]
    return i / (da if crowd else da + g[2] * g[3] - i)


def reference(gt: GroundTruth, dt: Detections, iou_thr, score_thr, classwise=True):
    """FiftyOne's _compute_matches, literally: a loop per prediction (crowd preds tagged ignored)."""
    thr = np.broadcast_to(np.asarray(score_thr, float), (len(gt.category_ids),))
    iou_thr = min(iou_thr, 1 - 1e-10)
    dt_match, gt_match = {}, {}
    for img in range(len(gt.image_ids)):
        buckets = {}
        for i in np.flatnonzero(gt.image_idx == img):
            buckets.setdefault(gt.cat_idx[i] if classwise else 0, ([], []))[0].append(i)
        for i in np.flatnonzero(dt.image_idx == img):
            c = dt.cat_idx[i]
            if c < 0 or dt.scores[i] < thr[c]:
                continue
            buckets.setdefault(c if classwise else 0, ([], []))[1].append(i)
        for gts, preds in buckets.values():
            preds = sorted(preds, key=lambda i: -dt.scores[i])  # stable
            gts = sorted(gts, key=lambda i: bool(gt.iscrowd[i]))
            for p in preds:
                best, best_iou = None, iou_thr
                for g in gts:
                    crowd = bool(gt.iscrowd[g])
                    if g in gt_match and not crowd:
                        continue
                    if crowd and gt.cat_idx[g] != dt.cat_idx[p]:
                        continue
                    if best is not None and not gt.iscrowd[best] and crowd:
                        break
                    iou = _iou(dt.boxes[p], gt.boxes[g], crowd)
                    if iou == 0 or iou < best_iou:
                        continue
                    best, best_iou = g, iou
                if best is not None:
                    dt_match[p] = (best, best_iou)
                    gt_match.setdefault(best, p)
    return dt_match, gt_match


def random_set(seed, n_img=12, n_cat=3):
    rng = np.random.default_rng(seed)
    G = int(rng.integers(20, 60))
    g_img = rng.integers(0, n_img, G)
    g_box = np.column_stack([rng.uniform(0, 50, (G, 2)), rng.uniform(4, 30, (G, 2))]).round(1)
    gt = GroundTruth(image_ids=np.arange(n_img) * 3 + 1, category_ids=[5, 2, 9][:n_cat], image_idx=g_img,
                     cat_idx=rng.integers(0, n_cat, G), boxes=g_box, iscrowd=rng.random(G) < 0.15,
                     ids=np.arange(G) + 100)
    D = int(rng.integers(40, 200))
    src = rng.integers(0, G, D)
    d_box = g_box[src] + rng.normal(0, 3, (D, 4)).round(1)
    d_box[:, 2:] = np.abs(d_box[:, 2:]) + 0.5
    d_cat = np.where(rng.random(D) < 0.7, gt.cat_idx[src], rng.integers(-1, n_cat, D))
    dt = Detections(image_idx=g_img[src], cat_idx=d_cat, boxes=d_box, scores=rng.integers(0, 6, D) / 5)
    return gt, dt
