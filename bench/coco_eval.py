"""Bench: COCO bbox evaluation of a generated COCO-sized set by pycocotools, faster-coco-eval and Model Desk.

    python bench/coco_eval.py [--images 5000] [--repeats 3] [--skip-pycocotools]

Prints each time, the ratios, and the largest difference of any stat / precision entry from pycocotools.
Every evaluator starts from the same in-memory dataset dict and results list (pycocotools' loadRes
edits its input, so each gets its own copy, made outside the timing).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_coco_like(n_images: int = 5000, n_cats: int = 80, gt_per_image: float = 7.0,
                   dets_per_image: int = 100, seed: int = 0):
    """A COCO-shaped set: skewed class frequencies, all area ranges, ~1% crowds, and `dets_per_image`
    scored detections per image (jittered copies of the objects plus background boxes)."""
    rng = np.random.default_rng(seed)
    W, H = 640, 480
    images = [{"id": int(i), "width": W, "height": H, "file_name": f"{i:012d}.jpg"}
              for i in rng.choice(np.arange(1, 20 * n_images), n_images, replace=False)]
    cat_ids = np.arange(1, n_cats + 1) + (np.arange(n_cats) // 11)  # gaps like COCO's ids
    categories = [{"id": int(c), "name": f"class{c}"} for c in cat_ids]
    freq = 1.0 / np.arange(1, n_cats + 1) ** 0.8
    freq /= freq.sum()
    img_ids = np.array([im["id"] for im in images])

    n_gt = rng.poisson(gt_per_image, n_images)
    g_img = np.repeat(np.arange(n_images), n_gt)
    G = g_img.shape[0]
    g_cat = rng.choice(n_cats, G, p=freq)
    side = np.exp(rng.uniform(np.log(6), np.log(350), G))
    gw = np.minimum(side * rng.uniform(0.6, 1.4, G), W - 1)
    gh = np.minimum(side * rng.uniform(0.6, 1.4, G), H - 1)
    gx = rng.uniform(0, W - gw)
    gy = rng.uniform(0, H - gh)
    g_box = np.round(np.stack([gx, gy, gw, gh], 1), 2)
    g_area = np.round(g_box[:, 2] * g_box[:, 3] * rng.uniform(0.45, 0.9, G), 2)
    g_crowd = rng.random(G) < 0.01

    # detections: for each object a few jittered copies, then background boxes up to dets_per_image
    copies = rng.poisson(2.5, G)
    per_img_copies = np.bincount(g_img, weights=copies, minlength=n_images).astype(int)
    over = np.maximum(per_img_copies - dets_per_image, 0)
    d_src = np.repeat(np.arange(G), copies)
    d_img = g_img[d_src]
    jit = rng.normal(0, 0.1, (d_src.shape[0], 4))
    d_box = np.stack([g_box[d_src, 0] + jit[:, 0] * g_box[d_src, 2], g_box[d_src, 1] + jit[:, 1] * g_box[d_src, 3],
                      g_box[d_src, 2] * (1 + jit[:, 2]), g_box[d_src, 3] * (1 + jit[:, 3])], 1)
    d_cat = np.where(rng.random(d_src.shape[0]) < 0.9, g_cat[d_src], rng.choice(n_cats, d_src.shape[0], p=freq))
    d_score = np.clip(rng.beta(4, 2, d_src.shape[0]) - np.abs(jit).sum(1) * 0.5, 0.01, 1)
    n_bg = np.maximum(dets_per_image - per_img_copies, 0)
    b_img = np.repeat(np.arange(n_images), n_bg)
    B = b_img.shape[0]
    bs = np.exp(rng.uniform(np.log(4), np.log(300), B))
    bw, bh = bs * rng.uniform(0.6, 1.4, B), bs * rng.uniform(0.6, 1.4, B)
    b_box = np.stack([rng.uniform(0, W - np.minimum(bw, W - 1)), rng.uniform(0, H - np.minimum(bh, H - 1)), bw, bh], 1)
    b_cat = rng.choice(n_cats, B, p=freq)
    b_score = rng.beta(1.2, 6, B)
    del over
    all_img = np.concatenate([d_img, b_img])
    all_box = np.round(np.concatenate([d_box, b_box]), 2)
    all_cat = np.concatenate([d_cat, b_cat])
    all_score = np.round(np.concatenate([d_score, b_score]), 4)
    order = np.argsort(all_img, kind="stable")  # results files come grouped by image
    annotations = [
        {"id": i + 1, "image_id": int(img_ids[gi]), "category_id": int(cat_ids[c]), "bbox": b, "area": a,
         "iscrowd": int(cr)}
        for i, (gi, c, b, a, cr) in enumerate(zip(g_img.tolist(), g_cat.tolist(), g_box.tolist(), g_area.tolist(),
                                                  g_crowd.tolist()))
    ]
    results = [
        {"image_id": int(img_ids[i]), "category_id": int(cat_ids[c]), "bbox": b, "score": s}
        for i, c, b, s in zip(all_img[order].tolist(), all_cat[order].tolist(), all_box[order].tolist(),
                              all_score[order].tolist())
    ]
    return {"images": images, "categories": categories, "annotations": annotations}, results


def run_pycocotools(dataset, results, module="pycocotools", iou_type="bbox"):
    if module == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval as Eval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as Eval
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        gt = COCO()
        gt.dataset = dataset
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = Eval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        elapsed = time.perf_counter() - t0
    return elapsed, np.asarray(ev.stats), ev.eval["precision"], ev.eval["recall"]


def run_model_desk(dataset, results, iou_type="bbox"):
    from desktop_app.evaluation.coco import COCOEvaluator

    t0 = time.perf_counter()
    res = COCOEvaluator(iou_type).evaluate_dicts(dataset["images"], dataset["categories"], dataset["annotations"],
                                               results)
    return time.perf_counter() - t0, res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3, help="repeats for faster-coco-eval and Model Desk (median)")
    ap.add_argument("--skip-pycocotools", action="store_true")
    args = ap.parse_args(argv)

    from desktop_app.evaluation.coco import COCOEvaluator
    from desktop_app.evaluation.inputs import Detections, GroundTruth

    t0 = time.perf_counter()
    dataset, results = make_coco_like(args.images)
    print(f"set: {len(dataset['images'])} images, {len(dataset['categories'])} classes, "
          f"{len(dataset['annotations'])} boxes, {len(results)} detections "
          f"(generated in {time.perf_counter() - t0:.1f}s)")

    md_times, md = [], None
    for _ in range(args.repeats):
        t, md = run_model_desk(dataset, copy.deepcopy(results))
        md_times.append(t)
    gt = GroundTruth.from_coco(dataset["images"], dataset["categories"], dataset["annotations"])
    dt = Detections.from_coco(results, gt)
    col_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        COCOEvaluator("bbox").evaluate(gt, dt)
        col_times.append(time.perf_counter() - t0)

    fce_times, fce = [], None
    for _ in range(args.repeats):
        ds, rs = copy.deepcopy(dataset), copy.deepcopy(results)
        t, *fce = run_pycocotools(ds, rs, "faster_coco_eval")
        fce_times.append(t)
    ref = None
    if not args.skip_pycocotools:
        ds, rs = copy.deepcopy(dataset), copy.deepcopy(results)
        t_ref, *ref = run_pycocotools(ds, rs, "pycocotools")

    t_md, t_col, t_fce = statistics.median(md_times), statistics.median(col_times), statistics.median(fce_times)
    print(f"Model Desk (from dicts)      {t_md:8.3f} s   (median of {len(md_times)})")
    print(f"Model Desk (columns)         {t_col:8.3f} s   (median of {len(col_times)})")
    print(f"faster-coco-eval             {t_fce:8.3f} s   (median of {len(fce_times)})")
    if ref is not None:
        print(f"pycocotools                  {t_ref:8.3f} s   (once)")
    print(f"ratio faster-coco-eval / Model Desk: {t_fce / t_md:6.1f}x  (columns: {t_fce / t_col:.1f}x)")
    if ref is not None:
        print(f"ratio pycocotools / Model Desk:      {t_ref / t_md:6.1f}x  (columns: {t_ref / t_col:.1f}x)")
        base, name = ref, "pycocotools"
    else:
        base, name = fce, "faster-coco-eval"
    d_stats = float(np.abs(md.stats - base[0]).max())
    d_prec = float(np.abs(md.precision - base[1]).max())
    d_rec = float(np.abs(md.recall - base[2]).max())
    print(f"largest difference from {name}: stats {d_stats:.3g}, precision {d_prec:.3g}, recall {d_rec:.3g}")
    if ref is not None:
        print(f"largest difference faster-coco-eval vs pycocotools: stats {float(np.abs(fce[0] - ref[0]).max()):.3g}")
    print("stats:", " ".join(f"{n}={v:.4f}" for n, v in md.stats_dict.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
