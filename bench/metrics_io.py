"""Metric writes and reads: Model Desk's catalog beside MLflow's SQLite and file stores, one run, many points.

For each size (default 20,000 and 2,000,000 points over --keys series of one model / run):
  write: Model Desk catalog.add_metric_samples, MLflow MlflowClient.log_batch, both in batches of 1,000
         (MLflow's batch limit);
  read:  Model Desk model.metrics.list() (every point as a PlotSample), model.metrics.list(figure, legend) per
         series, model.metrics.series(figure, legend) per series (columnar numpy, what the charts read);
         MLflow MlflowClient.get_metric_history per key, and for the file store also the store's own
         get_metric_history(max_results=None) (one pass over each file: MlflowClient pages 25,000 at a time and
         the file store parses the whole file again for every page, which makes long histories quadratic).
Prints points/s (median of --repeats; a slow MLflow step is repeated only while --budget seconds last, and the
MLflow SQLite store's write stops at --budget seconds: its line says how many points it holds then), and last

    ratio metrics read (model desk / mlflow file store): X

the smallest over the sizes of Model Desk's model.metrics.list() rate over the faster of MLflow's file-store reads.

    MLFLOW_ALLOW_FILE_STORE=true python bench/metrics_io.py [--sizes 20000 2000000] [--keys 10] [--repeats 3]
                                                            [--budget 150] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 1000
FIGURES = ["loss", "accuracy", "lr", "precision", "recall", "f1", "map50", "map", "grad_norm", "epoch_time_s",
           "cpu_percent", "memory_percent", "rss_mb", "gpu0_utilization", "gpu0_memory_mb", "iou"]


def series_keys(n_keys: int) -> list[tuple[str, str]]:
    legends = ("train", "validation")
    return [(FIGURES[k // 2 % len(FIGURES)] + ("" if k < 2 * len(FIGURES) else str(k)), legends[k % 2])
            for k in range(n_keys)]


def points(n: int, keys: list[tuple[str, str]]) -> list[tuple[str, str, int, float]]:
    """n points spread evenly over the series, logged step by step as a training does (keys interleaved)."""
    per = n // len(keys)
    return [(f, leg, step, 1.0 / (step + 1) + k) for step in range(per) for k, (f, leg) in enumerate(keys)]


def timed(fn: Callable[[], object], repeats: int, budget: float) -> tuple[float, int, object]:
    """Median seconds of up to `repeats` calls (fewer once `budget` seconds are spent), calls made, last result."""
    times, result, start = [], None, time.perf_counter()
    for _ in range(repeats):
        result = None
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget:
            break
    return statistics.median(times), len(times), result


# -- Model Desk -----------------------------------------------------------------------------------------
class ModelDesk:
    def __init__(self, root: Path):
        from desktop_app.sdk.client import Client
        self.client = Client(home=root / "model-desk")
        self.base = self.client.packages.get("resnet").models.get("pretrained-resnet")
        self.model = None
        self.runs = 0

    def write(self, pts: list) -> None:
        self.runs += 1
        self.model = self.base.clone(model_name=f"bench-{self.runs}")
        cat, mid = self.client.catalog, self.model.id
        batches = [[{"figure": f, "legend": leg, "x": x, "y": y} for f, leg, x, y in pts[i:i + BATCH]]
                   for i in range(0, len(pts), BATCH)]
        t = time.perf_counter()
        for b in batches:
            cat.add_metric_samples(mid, b)
        self.last_write_s = time.perf_counter() - t

    def read_all(self) -> int:
        return sum(1 for p in self.model.metrics.list() if p.y == p.y)   # touch every point

    def read_per_key(self, keys) -> int:
        return sum(1 for f, leg in keys for p in self.model.metrics.list(figure=f, legend=leg) if p.y == p.y)

    def read_columnar(self, keys) -> int:
        return sum(len(self.model.metrics.series(f, leg)[1]) for f, leg in keys)


# -- MLflow ---------------------------------------------------------------------------------------------
class MLflow:
    def __init__(self, uri: str):
        from mlflow.tracking import MlflowClient
        self.client = MlflowClient(tracking_uri=uri)
        self.experiment = self.client.create_experiment("metrics-io")
        self.run_id = None
        self.logged = 0

    def write(self, pts: list, budget: float | None = None) -> None:
        from mlflow.entities import Metric
        run = self.client.create_run(self.experiment)
        self.run_id = run.info.run_id
        ts = int(time.time() * 1000)
        batches = [[Metric(f"{leg}/{f}", y, ts, x) for f, leg, x, y in pts[i:i + BATCH]]
                   for i in range(0, len(pts), BATCH)]
        self.logged = 0
        t = time.perf_counter()
        for b in batches:
            self.client.log_batch(self.run_id, metrics=b)
            self.logged += len(b)
            if budget is not None and time.perf_counter() - t > budget:
                break
        self.last_write_s = time.perf_counter() - t

    def read(self, keys) -> int:
        return sum(1 for f, leg in keys for m in self.client.get_metric_history(self.run_id, f"{leg}/{f}")
                   if m.value == m.value)

    def read_store_one_pass(self, keys) -> int:
        store = self.client._tracking_client.store
        return sum(1 for f, leg in keys for m in store.get_metric_history(self.run_id, f"{leg}/{f}")
                   if m.value == m.value)


def row(name: str, n: int, seconds: float, calls: int, note: str = "") -> float:
    rate = n / seconds
    print(f"  {name:<58} {n:>10,} pts {rate:>13,.0f} pts/s   (median of {calls}){note}", flush=True)
    return rate


def bench_size(n: int, keys, args, root: Path) -> float:
    pts = points(n, keys)
    n = len(pts)
    print(f"\n{n:,} points over {len(keys)} series of one model / run", flush=True)

    md = ModelDesk(root / f"md-{n}")
    writes = []
    for _ in range(args.repeats):
        md.write(pts)
        writes.append(md.last_write_s)
    row("write  Model Desk catalog.add_metric_samples", n, statistics.median(writes), len(writes))
    s, c, got = timed(md.read_all, args.repeats, 1e9)
    assert got == n, (got, n)
    md_list = row("read   Model Desk model.metrics.list()", n, s, c)
    s, c, got = timed(lambda: md.read_per_key(keys), args.repeats, 1e9)
    assert got == n, (got, n)
    row("read   Model Desk model.metrics.list(figure, legend) each", n, s, c)
    s, c, got = timed(lambda: md.read_columnar(keys), args.repeats, 1e9)
    assert got == n, (got, n)
    row("read   Model Desk model.metrics.series() each (numpy)", n, s, c)

    fs = MLflow(str(root / f"mlruns-{n}"))
    writes, start = [], time.perf_counter()
    for _ in range(args.repeats):
        fs.write(pts)
        writes.append(fs.last_write_s)
        if time.perf_counter() - start > args.budget:
            break
    row("write  MLflow file store log_batch", n, statistics.median(writes), len(writes))
    s, c, got = timed(lambda: fs.read(keys), args.repeats, args.budget)
    assert got == n, (got, n)
    fs_client = row("read   MLflow file store get_metric_history each", n, s, c)
    s, c, got = timed(lambda: fs.read_store_one_pass(keys), args.repeats, args.budget)
    assert got == n, (got, n)
    fs_store = row("read   MLflow file store, the store's one-pass read each", n, s, c)

    if not args.no_sqlite:
        sq = MLflow(f"sqlite:///{root / f'mlflow-{n}.db'}")
        sq.write(pts, budget=args.budget)
        capped = sq.logged < n
        note = f"   CAPPED: stopped after {args.budget:.0f} s at {sq.logged:,} of {n:,} points" if capped else ""
        row("write  MLflow SQLite store log_batch", sq.logged, sq.last_write_s, 1, note)
        # a capped run holds the first steps of every series: all of them are read
        s, c, got = timed(lambda: sq.read(keys), args.repeats, args.budget)
        assert got == sq.logged, (got, sq.logged)
        row("read   MLflow SQLite store get_metric_history each", got, s, c, "   (capped run)" if capped else "")

    best = max(fs_client, fs_store)
    ratio = md_list / best
    print(f"  ratio read at {n:,} (model desk list() / faster mlflow file store read): {ratio:.2f}", flush=True)
    return ratio


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 2_000_000])
    ap.add_argument("--keys", type=int, default=10, help="series (MLflow metric keys) the points are spread over")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=150.0,
                    help="seconds after which a slow MLflow step is not repeated (and its SQLite write stops)")
    ap.add_argument("--no-sqlite", action="store_true", help="leave MLflow's SQLite store out")
    ap.add_argument("--dir", type=Path, default=None, help="where the stores go (default: a temporary folder)")
    args = ap.parse_args()
    # MLflow 3 refuses its file store unless asked; the benchmark compares against it on purpose.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    keys = series_keys(args.keys)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ratios = [bench_size(n, keys, args, Path(tmp)) for n in args.sizes]
    print(f"\nratio metrics read (model desk / mlflow file store): {min(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
