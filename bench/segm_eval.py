"""Bench: COCO segm (mask) evaluation of a generated COCO-sized set by pycocotools, faster-coco-eval and Model Desk.

    python bench/segm_eval.py [--images 5000] [--dets 20] [--repeats 3] [--skip-pycocotools]

The set is bench/coco_eval.py's (skewed classes, every area range, ~1% crowds) with a mask for every object and
every detection: the ellipse inscribed in its box (a 16-point polygon for the ground truth, compressed RLE for
the results, as COCO's results format has them). Every evaluator starts from the same
in-memory dataset dict and results list (each gets its own copy, made outside the timing). Prints each time, the
ratios, and the largest difference of any stat / precision / recall entry from pycocotools (or faster-coco-eval).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from coco_eval import make_coco_like, run_model_desk, run_pycocotools  # noqa: E402

_ANGLES = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)


def ellipse(box: list[float]) -> list[list[float]]:
    """The 16-point polygon of the ellipse inscribed in a COCO box [x, y, w, h] (COCO's flat ring form)."""
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0
    ring = np.stack([cx + np.cos(_ANGLES) * w / 2.0, cy + np.sin(_ANGLES) * h / 2.0], 1)
    return [np.round(ring, 2).reshape(-1).tolist()]


def make_segm_like(n_images: int, dets_per_image: int, seed: int = 0):
    dataset, results = make_coco_like(n_images, dets_per_image=dets_per_image, seed=seed)
    sizes = {im["id"]: (im["width"], im["height"]) for im in dataset["images"]}
    for a in dataset["annotations"]:
        a["segmentation"] = ellipse(a["bbox"])
        a["area"] = round(float(np.pi * a["bbox"][2] * a["bbox"][3] / 4.0), 2)
    kept = []
    for r in results:
        w, h = sizes[r["image_id"]]
        x, y, bw, bh = r["bbox"]
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(w), x + bw), min(float(h), y + bh)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue                         # a mask needs pixels inside the image
        kept.append({"image_id": r["image_id"], "category_id": r["category_id"], "score": r["score"],
                     "segmentation": ellipse([x0, y0, x1 - x0, y1 - y0]), "size": (h, w)})
    # Results carry masks as compressed RLE (COCO's results format: pycocotools' loadRes takes nothing else).
    from pycocotools import mask as mu
    for r in kept:
        h, w = r.pop("size")
        rle = mu.merge(mu.frPyObjects(r["segmentation"], h, w))
        r["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
    return dataset, kept


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=20, help="detections per image (with masks)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats for faster-coco-eval and Model Desk (median)")
    ap.add_argument("--skip-pycocotools", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    dataset, results = make_segm_like(args.images, args.dets)
    print(f"set: {len(dataset['images'])} images, {len(dataset['categories'])} classes, "
          f"{len(dataset['annotations'])} masks, {len(results)} detections with masks "
          f"(generated in {time.perf_counter() - t0:.1f}s)")

    md_times, md = [], None
    for _ in range(args.repeats):
        t, md = run_model_desk(copy.deepcopy(dataset), copy.deepcopy(results), "segm")
        md_times.append(t)
    fce_times, fce = [], None
    for _ in range(args.repeats):
        t, *fce = run_pycocotools(copy.deepcopy(dataset), copy.deepcopy(results), "faster_coco_eval", "segm")
        fce_times.append(t)
    ref = None
    if not args.skip_pycocotools:
        t_ref, *ref = run_pycocotools(copy.deepcopy(dataset), copy.deepcopy(results), "pycocotools", "segm")

    t_md, t_fce = statistics.median(md_times), statistics.median(fce_times)
    print(f"Model Desk (segm, from dicts) {t_md:8.3f} s   (median of {len(md_times)})")
    print(f"faster-coco-eval (segm)       {t_fce:8.3f} s   (median of {len(fce_times)})")
    if ref is not None:
        print(f"pycocotools (segm)            {t_ref:8.3f} s   (once)")
        print(f"ratio pycocotools / Model Desk: {t_ref / t_md:.2f}x")
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
    print(f"ratio segm evaluation (faster-coco-eval / model desk): {t_fce / t_md:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
