"""Bench: the review screens on a big evaluation (aim: < 100 ms per gallery filter or threshold redraw,
< 16 ms per frame drawing 1,000 boxes).

    python bench/review.py [--predictions 500000] [--repeats 7]

1. An evaluation with 500,000 predictions is generated straight into a temporary catalog (items, ground
   truth and predictions via catalog.import_bundle / replace_predictions, scored with
   evaluation.run.score_model) and opened in the evaluation page (offscreen).
2. Filter: the error gallery filtered to one class's false positives, the Qt model reset, counts and the
   gallery repaint included. Peer: the SDK's `evaluation.instances('fp', label=...)` for the same rows.
3. Redraw after a confidence (and an IoU) threshold change: the evaluation core's recomputation, then every
   figure (summary, per-class table, confusion matrix, P/R markers or curves) and the gallery, and one
   synchronous paint of the whole page. Each IoU value is new to the matcher's cache except the first
   (0.5, the page's starting value). Peer: the core's `at_thresholds` alone (its own session).
4. The review viewer drawing 1,000 boxes with their labels: one full repaint of the view. Peer: 16 ms.
Medians are printed, with the ratio against each peer.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LABELS = ["person", "car", "bicycle", "dog", "cat", "bus", "truck", "bird", "boat", "chair"]
GT_PER_ITEM, PRED_PER_ITEM = 8, 10
SIZE = 640


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def build_catalog(home: Path, n_predictions: int, log) -> tuple:
    """Items with ground truth, and a model whose predictions jitter, miss, confuse and hallucinate."""
    from desktop_app.catalog import Catalog
    from desktop_app.evaluation.run import score_model
    from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry

    cat = Catalog(home)
    project = cat.create_project("bench")
    ds = cat.create_dataset(project.id, "boxes", labels=LABELS)
    n_items = max(1, n_predictions // PRED_PER_ITEM)
    rng = random.Random(0)
    entries, truth = [], []
    for i in range(n_items):
        anns = []
        for _ in range(GT_PER_ITEM):
            w, h = rng.uniform(20, 200), rng.uniform(20, 200)
            x, y = rng.uniform(0, SIZE - w), rng.uniform(0, SIZE - h)
            anns.append(Annotation(type="box", label=rng.choice(LABELS), coordinates=[x, y, x + w, y + h]))
        entries.append(ImageEntry(source=None, name=f"img_{i:06d}.jpg", width=SIZE, height=SIZE, subset="test",
                                  annotations=anns))
        truth.append(anns)
    t, ids = timed(lambda: cat.import_bundle(ds.id, DatasetBundle(labels=LABELS, items=entries)))
    log(f"catalog: {n_items:,} items, {n_items * GT_PER_ITEM:,} ground-truth boxes in {t:.1f} s")
    pkg = cat.create_package("bench-boxes", output_type="box")
    model = cat.create_model("bench-model", project_id=project.id, package_id=pkg.id, labels=LABELS,
                             output_type="box", dataset_id=ds.id)
    preds = {}
    for item_id, anns in zip(ids, truth):
        out = []
        for a in anns:
            if rng.random() < 0.12:
                continue                                   # a miss
            l, t_, r, b = a.coordinates
            j = [rng.gauss(0, 4) for _ in range(4)]
            label = a.label if rng.random() > 0.08 else rng.choice(LABELS)
            out.append(Annotation(type="box", label=label, coordinates=[l + j[0], t_ + j[1], max(l + j[0] + 1, r + j[2]),
                                                                        max(t_ + j[1] + 1, b + j[3])],
                                  score=round(rng.uniform(0.3, 1.0), 3)))
        while len(out) < PRED_PER_ITEM:                    # hallucinations fill up to 10 per image
            w, h = rng.uniform(15, 120), rng.uniform(15, 120)
            x, y = rng.uniform(0, SIZE - w), rng.uniform(0, SIZE - h)
            out.append(Annotation(type="box", label=rng.choice(LABELS), coordinates=[x, y, x + w, y + h],
                                  score=round(rng.uniform(0.0, 0.8), 3)))
        preds[item_id] = out
    t, n = timed(lambda: cat.replace_predictions(model.id, model.name, preds, ds.id))
    log(f"predictions: {n:,} stored in {t:.1f} s")
    t, out = timed(lambda: score_model(cat, model.id, ds.id, name="bench"))
    log(f"scored (COCO + matching) in {t:.1f} s: {out['summary']['tp']:,} TP, {out['summary']['fp']:,} FP, "
        f"{out['summary']['fn']:,} FN")
    return cat, out["evaluation_id"]


def bench_page(cat, evaluation_id: str, repeats: int, log) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from desktop_app.evaluation.review import InstanceFilter
    from desktop_app.evaluation.store import EvaluationView
    from desktop_app.gui.views.evaluation_page import EvaluationPage
    from desktop_app.sdk.client import Client

    app = QApplication.instance() or QApplication([])
    page = EvaluationPage(Client(cat, bootstrap=False))
    page.resize(1440, 900)
    page.show()
    t0 = time.perf_counter()
    page.set_evaluation(evaluation_id)
    while page.session is None:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    log(f"evaluation page loaded (cached predictions, matcher, instance table) in {time.perf_counter() - t0:.1f} s")
    view = EvaluationView(cat, cat.get_evaluation(evaluation_id))
    out: dict[str, float] = {}

    def repaint():
        page.gallery.gallery.viewport().repaint()

    # 1. one class's false positives
    times, peer, counts = [], [], []
    for k in range(repeats):
        label = LABELS[k % len(LABELS)]
        flt = InstanceFilter(kinds=("fp",), label=label)
        t, _ = timed(lambda: (page.show_filter(flt), repaint()))
        times.append(t)
        counts.append(page.gallery.model.rowCount())
        tp, rows = timed(lambda: view.instances("fp", label=label))
        peer.append(tp)
        assert len(rows) == counts[-1], (len(rows), counts[-1])
    out["filter"] = median_ms(times)
    log(f"gallery filtered to one class's FPs ({statistics.median(counts):,.0f} rows)   "
        f"{out['filter']:8.1f} ms  (peer: evaluation.instances {median_ms(peer):.1f} ms, "
        f"ratio {median_ms(peer) / out['filter']:.1f}x faster)")

    # 2. threshold changes, everything redrawn
    page.show_filter(InstanceFilter(kinds=("fp", "fn")))
    page.figures.setCurrentWidget(page.confusion)

    def redraw(conf, iou):
        # one synchronous paint of the whole page (figures, table, gallery) after the recomputation; a
        # repaint() of one widget would also flush the others' pending updates, painting some twice
        page.set_thresholds(conf, iou)
        page.repaint()
    for name, make in (("confidence", lambda k: (0.3 + 0.05 * (k % 8), 0.5)),
                       ("IoU", lambda k: (0.3, 0.45 + 0.05 * (k % 6)))):
        times, peer = [], []
        for k in range(repeats):
            conf, iou = make(k + 1)
            t, _ = timed(lambda: redraw(conf, iou))
            times.append(t)
            tp, _ = timed(lambda: view.at_thresholds(iou_threshold=iou, score_threshold=conf))
            peer.append(tp)
        out[name] = median_ms(times)
        log(f"redraw after a {name} threshold change {'':12s} {out[name]:8.1f} ms  "
            f"(peer: core at_thresholds alone {median_ms(peer):.1f} ms, GUI share "
            f"{(out[name] - median_ms(peer)) / out[name]:.0%})")
    page.shutdown()
    page.close()
    return out


def bench_viewer(repeats: int, log) -> float:
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication

    from desktop_app.catalog import AnnotationRecord
    from desktop_app.gui.widgets.review_viewer import ReviewViewer

    app = QApplication.instance() or QApplication([])
    rng = random.Random(1)
    recs, tags = [], {}
    for k in range(1000):
        w, h = rng.uniform(10, 80), rng.uniform(10, 80)
        x, y = rng.uniform(0, 1024 - w), rng.uniform(0, 1024 - h)
        pred = k % 2 == 1
        recs.append(AnnotationRecord(id=k + 1, item_id=1, dataset_id="d", type="box", label=rng.choice(LABELS),
                                     left=x, top=y, right=x + w, bottom=y + h, model_id="m" if pred else None,
                                     score=rng.random() if pred else None))
        tags[k + 1] = ("tp", "fp")[k % 4 == 1] if pred else ("gt", "fn")[k % 4 == 0]
    v = ReviewViewer()
    v.resize(1280, 900)
    v.show()
    pm = QPixmap(1024, 1024)
    pm.fill()
    v.set_image(pm, (1024, 1024))
    t_build, _ = timed(lambda: v.show_annotations(recs, tags))
    app.processEvents()
    for _ in range(3):                 # the first frames fill the label-tag and glyph caches
        v.viewport().repaint()
    times = []
    for _ in range(max(repeats, 10)):
        t, _ = timed(lambda: v.viewport().repaint())
        times.append(t)
    frame = median_ms(times)
    v.zoom_to(3.0)
    zoomed = []
    for _ in range(max(repeats, 10)):
        t, _ = timed(lambda: v.viewport().repaint())
        zoomed.append(t)
    log(f"viewer: 1,000 boxes built in {t_build * 1e3:.0f} ms; a frame {frame:8.1f} ms fitted, "
        f"{median_ms(zoomed):.1f} ms zoomed 3x (peer: a 16 ms frame, ratio {16 / max(frame, 1e-6):.1f}x)")
    v.close()
    return max(frame, median_ms(zoomed))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictions", type=int, default=500_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    def log(m: str) -> None:
        print(m, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="model-desk-review-bench-"))
    try:
        cat, eid = build_catalog(tmp / "catalog", args.predictions, log)
        res = bench_page(cat, eid, args.repeats, log)
        frame = bench_viewer(args.repeats, log)
        cat.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    worst = max(res.values())
    print(f"slowest interaction {worst:.1f} ms (aim < 100 ms): {'OK' if worst < 100 else 'over'}; "
          f"viewer frame {frame:.1f} ms (aim < 16 ms): {'OK' if frame < 16 else 'over'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
