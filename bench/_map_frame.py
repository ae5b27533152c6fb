"""The embedding map's pan / zoom frame at 100,000 points (run alone, or by bench/embeddings.py in a subprocess).

    python bench/_map_frame.py                 # 100,000 points, 60 frames
    python bench/_map_frame.py --n 20000 --frames 120

Builds the map widget (desktop_app.gui.widgets.embedding_map) offscreen, 1000 x 700, with `n` points in 12
clusters coloured by cluster, then per frame changes the view range (alternately a pan and a zoom) and grabs the
plot (a synchronous repaint into a pixmap, what the screen would show). Prints median / p90 milliseconds per frame
and the same for an empty plot (the axes and the grab alone). Target: median under 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _clusters(n: int, k: int = 12, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(k, 2))
    codes = rng.integers(0, k, n).astype(np.int32)
    xy = centres[codes] + rng.normal(scale=rng.uniform(0.8, 2.5, size=(k, 1))[codes], size=(n, 2))
    return xy.astype(np.float32), codes, k


def _frames(widget, frames: int) -> list[float]:
    box = widget.box
    (x0, x1), (y0, y1) = box.viewRange()
    cx, cy, wx, wy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    times = []
    for f in range(frames):
        if f % 2:        # a zoom in and out around the centre
            s = 0.6 + 0.4 * abs(((f / frames) * 4) % 2 - 1)
            xr, yr = (cx - wx * s, cx + wx * s), (cy - wy * s, cy + wy * s)
        else:            # a pan across
            d = (f / frames - 0.5) * wx
            xr, yr = (x0 + d, x1 + d), (y0 + d / 2, y1 + d / 2)
        t = time.perf_counter()
        box.setRange(xRange=xr, yRange=yr, padding=0)
        widget.canvas.grab()
        times.append((time.perf_counter() - t) * 1000)
    return times


def _stats(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def measure(n: int = 100_000, frames: int = 60) -> dict:
    """{median_ms, p90_ms, n, frames, empty_median_ms}: milliseconds per pan / zoom frame of the map with n points."""
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.widgets.embedding_map import EmbeddingMap, category_colours
    app = QApplication.instance() or QApplication([])
    xy, codes, k = _clusters(n)
    names = [f"class {c}" for c in range(k)]

    def build(points: int) -> EmbeddingMap:
        w = EmbeddingMap()
        w.resize(1000, 700)
        w.show()
        w.set_points(list(range(points)), xy[:points])
        w.set_categories(codes[:points], names, category_colours(names, "label", names))
        app.processEvents()
        w.canvas.grab()            # the first paint (layout, fonts) is not a pan / zoom frame
        return w

    empty = build(0)
    empty_times = _frames(empty, max(10, frames // 3))
    empty.close()
    widget = build(n)
    times = _frames(widget, frames)
    widget.close()
    median, p90 = _stats(times)
    return {"median_ms": round(median, 2), "p90_ms": round(p90, 2), "n": n, "frames": frames,
            "empty_median_ms": round(_stats(empty_times)[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = ap.parse_args()
    out = measure(args.n, args.frames)
    if args.json:
        print(json.dumps(out))
        return
    verdict = "under" if out["median_ms"] < 16 else "OVER"
    print(f"map pan/zoom frame, {out['n']:,} points: median {out['median_ms']:.1f} ms, p90 {out['p90_ms']:.1f} ms "
          f"({verdict} the 16 ms target); empty plot {out['empty_median_ms']:.1f} ms")


if __name__ == "__main__":
    main()
