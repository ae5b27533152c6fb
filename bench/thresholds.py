"""Bench: recompute every threshold-dependent detection figure after a threshold change (aim: < 100 ms).

    python bench/thresholds.py [--images 5000] [--repeats 5]

Uses the set of bench/coco_eval.py (5,000 images, 80 classes, 100 detections per image). A change
recomputes per-instance TP/FP/FN tags and match ids, per-class and overall P/R/F1, per-image counts
and the confusion matrix with its background row/column. Printed: the one-off session build, then
the median time per kind of change, and a check against a from-scratch computation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coco_eval import make_coco_like  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    from desktop_app.evaluation.inputs import Detections, GroundTruth
    from desktop_app.evaluation.matching import match_detections
    from desktop_app.evaluation.thresholds import ThresholdSession

    dataset, results = make_coco_like(args.images)
    gt = GroundTruth.from_coco(dataset["images"], dataset["categories"], dataset["annotations"])
    dt = Detections.from_coco(results, gt)
    print(f"set: {len(gt.image_ids)} images, {len(gt.category_ids)} classes, {len(gt)} boxes, {len(dt)} detections")

    t_build, session = timed(lambda: ThresholdSession(gt, dt))
    t_first, _ = timed(lambda: session.update(iou_threshold=0.5, score_threshold=0.0))
    print(f"session build (once, candidate pairs + IoUs)   {t_build * 1e3:8.1f} ms")
    print(f"first figures at IoU .50                      {t_first * 1e3:8.1f} ms")

    rng = np.random.default_rng(0)
    cats = gt.category_ids.tolist()
    kinds = {
        "global confidence threshold": lambda i: dict(score_threshold=float(rng.uniform(0.05, 0.6))),
        "one class's confidence threshold": lambda i: dict(
            score_threshold={**{c: 0.3 for c in cats}, cats[i % len(cats)]: float(rng.uniform(0.1, 0.9))}),
        "IoU threshold (new value)": lambda i: dict(iou_threshold=0.52 + 0.04 * i, score_threshold=0.3),
        "IoU threshold (seen before)": lambda i: dict(iou_threshold=0.52 + 0.04 * (i % 2), score_threshold=0.3),
    }
    worst = 0.0
    for name, make in kinds.items():
        times = []
        for i in range(args.repeats):
            step = make(i)
            t, _ = timed(lambda: session.update(**step))
            times.append(t)
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"{name:45s} {med * 1e3:8.1f} ms  (median of {len(times)}, max {max(times) * 1e3:.1f})")
    print(f"slowest kind of change: {worst * 1e3:.1f} ms (aim < 100 ms): {'OK' if worst < 0.1 else 'over'}")

    # check: the last state equals a from-scratch computation
    got = session.update(iou_threshold=0.6, score_threshold={**{c: 0.25 for c in cats}, cats[0]: 0.7})
    t_scratch, fresh = timed(lambda: match_detections(gt, dt, iou_threshold=0.6,
                                                      score_threshold=session.score_threshold))
    same = all(np.array_equal(getattr(got, k), getattr(fresh, k)) for k in
               ("dt_tag", "dt_match", "gt_tag", "gt_match", "confusion", "class_tp", "class_fp", "class_fn"))
    print(f"from scratch at the same thresholds: {t_scratch * 1e3:.1f} ms; identical: {same}; "
          f"ratio from-scratch / recompute: {t_scratch / worst:.1f}x")
    s = got.summary()
    print(f"at IoU .60: TP {s['tp']} FP {s['fp']} FN {s['fn']}  P {s['precision']:.4f} R {s['recall']:.4f} "
          f"F1 {s['f1']:.4f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
