"""Bench: find the best models by two metric conditions and an order, beside MLflow's search_runs (aim: < 100 ms).

    python bench/search.py [--models 10000] [--metrics 20] [--points 10] [--mlflow-points 1] [--repeats 7]
                           [--dir PATH] [--no-mlflow]

Builds a Model Desk catalog of --models models x --metrics metric series x --points points (2,000,000 points by
default; catalog.add_metric_samples, which keeps metric_summary, in transactions of 500 models) and the same runs
in MLflow's local SQLite tracking store (MlflowClient.create_run + log_batch: the same metric keys, params and
latest values). Then times, in rounds where each takes its turn (median of --repeats after one warm-up each):

    metrics.`validation/accuracy` > 0.9 and metrics.`train/loss` < 0.2, order by accuracy DESC, max_results 100

  Model Desk: catalog.model_search.search (ModelRecords), then .values() for the two metrics (what `desktop-app
              models list --where ... --json` prints beside each model); search alone; dl.models.search (SDK
              Model entities).
  MLflow:     MlflowClient.search_runs over the experiment (Runs with their metrics, params and tags).

Checks that both return the same runs in the same order with the same values. MLflow's writes cost 25-30 ms a run
(measured here) whatever the points (create_run + log_batch through its ORM) and about 90 ms with 200 points a
run, so by default it gets only the last point of each series (--mlflow-points 1): the latest value of every
series, its latest_metrics table and so every query's answer are the same as Model Desk's (its search reads
latest_metrics, never the points). Building takes about 5 minutes at that pace (14 here on a busy 2-core machine);
both stores live in one folder (/dev/shm when there is one: MLflow's commits fsync its SQLite file, 110 ms a run
on disk); --dir keeps them, and a later run with the same sizes reuses them. Last line:
`ratio search (mlflow / model desk): X`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERY = "metrics.`validation/accuracy` > 0.9 and metrics.`train/loss` < 0.2"
ORDER = ["metrics.`validation/accuracy` DESC"]
MAX_RESULTS = 100
BATCH = 500
ACC, LOSS = "validation/accuracy", "train/loss"


def metric_keys(n: int) -> list[str]:
    """accuracy and loss first, then others named as the jobs panel names them ('<legend>/<figure>')."""
    others = [f"{legend}/{figure}" for figure in ("precision", "recall", "f1", "auc", "error", "lr", "top5", "iou",
                                                  "map")
              for legend in ("train", "validation")]
    return ([ACC, LOSS] + [k for k in others if k not in (ACC, LOSS)])[:n]


def make_data(n_models: int, n_metrics: int, n_points: int, seed: int = 0):
    """(names, keys, series[model, metric, point], params per model). The last point of accuracy is uniform in
    0.5..1 and of loss in 0..1, so about 4% of the models match the query; other series random walks."""
    rng = np.random.default_rng(seed)
    keys = metric_keys(n_metrics)
    series = rng.random((n_models, len(keys), n_points))
    series[:, 0, -1] = rng.uniform(0.5, 1.0, n_models)
    series[:, 1, -1] = rng.uniform(0.0, 1.0, n_models)
    names = [f"model-{i:05d}" for i in range(n_models)]
    lrs = rng.choice([1e-4, 3e-4, 1e-3, 3e-3, 1e-2], n_models)
    batches = rng.choice([8, 16, 32, 64], n_models)
    params = [{"learning_rate": float(lr), "batch_size": int(b)} for lr, b in zip(lrs, batches)]
    return names, keys, series, params


def build_model_desk(home: Path, names, keys, series, params) -> float:
    from desktop_app.catalog import Catalog
    t0 = time.perf_counter()
    cat = Catalog(home)
    project = cat.create_project("bench")
    pkg = cat.create_package("bench-package", project_id=project.id)
    split = [k.split("/", 1) for k in keys]          # legend, figure
    n_points = series.shape[2]
    for start in range(0, len(names), BATCH):
        with cat.transaction():
            for i in range(start, min(start + BATCH, len(names))):
                m = cat.create_model(names[i], project_id=project.id, package_id=pkg.id, status="trained",
                                     configuration=params[i])
                cat.add_metric_samples(m.id, [
                    {"figure": figure, "legend": legend, "x": x, "y": float(series[i, k, x])}
                    for k, (legend, figure) in enumerate(split) for x in range(n_points)])
    cat.close()
    return time.perf_counter() - t0


def quiet_mlflow() -> None:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def build_mlflow(path: Path, names, keys, series, params, points: int) -> float:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    exp = client.create_experiment("bench")
    n_points = series.shape[2]
    steps = range(n_points - points, n_points)
    base = int(time.time() * 1000)
    for i, name in enumerate(names):
        run = client.create_run(exp, run_name=name)
        metrics = [Metric(key, float(series[i, k, x]), base + x, x) for k, key in enumerate(keys) for x in steps]
        client.log_batch(run.info.run_id, metrics=metrics,
                         params=[Param(k, str(v)) for k, v in params[i].items()])
        if (i + 1) % 2000 == 0:
            print(f"  mlflow: {i + 1} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    return time.perf_counter() - t0


def timed(fns: dict, repeats: int) -> dict[str, tuple[float, float, float, object]]:
    """name -> (median, min, max seconds, last answer); one warm-up each (it brings the pages into the cache),
    then the functions take turns, so a busy spell of the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    out = {name: fn() for name, fn in fns.items()}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            out[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(t), min(t), max(t), out[name]) for name, t in times.items()}


def show(label: str, result: tuple, note: str = "") -> None:
    med, lo, hi, _ = result
    print(f"{label:28s}{med * 1e3:8.1f} ms  (median; {lo * 1e3:.1f}-{hi * 1e3:.1f}){note}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--mlflow-points", type=int, default=1, help="points of each series MLflow gets (the last ones)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--dir", type=Path, help="keep the stores here (reused when built with the same sizes)")
    ap.add_argument("--no-mlflow", action="store_true")
    args = ap.parse_args(argv)
    if args.metrics < 2 or not 1 <= args.mlflow_points <= args.points:
        ap.error("--metrics >= 2 and 1 <= --mlflow-points <= --points")

    shm = Path("/dev/shm")
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-search-", dir=shm if shm.is_dir() else None))
    root.mkdir(parents=True, exist_ok=True)
    sizes = {"models": args.models, "metrics": args.metrics, "points": args.points,
             "mlflow_points": args.mlflow_points}
    marker = root / "sizes.json"
    names, keys, series, params = make_data(args.models, args.metrics, args.points)
    total = args.models * len(keys) * args.points
    print(f"set: {args.models:,} models x {len(keys)} metrics x {args.points} points = {total:,} points; "
          f"stores in {root}")
    if hasattr(os, "getloadavg"):     # the timings below are only as quiet as the machine
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    reuse = marker.exists() and json.loads(marker.read_text()) == sizes
    home, mlflow_db = root / "model-desk", root / "mlflow.db"
    if not reuse:
        for p in (marker, mlflow_db):
            p.unlink(missing_ok=True)
        if home.exists():
            import shutil
            shutil.rmtree(home)
        t = build_model_desk(home, names, keys, series, params)
        print(f"build Model Desk: {t:7.1f} s ({total / t:,.0f} points/s, add_metric_samples)")
        if not args.no_mlflow:
            quiet_mlflow()
            t = build_mlflow(mlflow_db, names, keys, series, params, args.mlflow_points)
            n = args.models * len(keys) * args.mlflow_points
            print(f"build MLflow:     {t:7.1f} s ({n:,} points: the last {args.mlflow_points} of each series; "
                  f"{t / args.models * 1e3:.1f} ms a run)")
            marker.write_text(json.dumps(sizes))
    else:
        print("stores reused (built before with the same sizes)")

    from desktop_app.catalog import Catalog
    from desktop_app.sdk.client import Client
    cat = Catalog(home)
    search = cat.model_search
    sdk = Client(cat, bootstrap=False)
    columns = [f"metrics.`{ACC}`", f"metrics.`{LOSS}`"]

    def ours():
        recs = search.search(QUERY, order_by=ORDER, max_results=MAX_RESULTS)
        values = search.values([r.id for r in recs], columns)
        return [(r.name, values[r.id][columns[0]]) for r in recs]

    fns = {"ours": ours, "search": lambda: search.search(QUERY, order_by=ORDER, max_results=MAX_RESULTS),
           "sdk": lambda: sdk.models.search(QUERY, order_by=ORDER, max_results=MAX_RESULTS)}
    if not args.no_mlflow:
        quiet_mlflow()
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri=f"sqlite:///{mlflow_db}")
        exp = client.get_experiment_by_name("bench").experiment_id

        def theirs():
            runs = client.search_runs([exp], filter_string=QUERY, order_by=ORDER, max_results=MAX_RESULTS)
            return [(r.info.run_name, r.data.metrics[ACC]) for r in runs]
        fns["mlflow"] = theirs
    print(f"query: {QUERY}, order by {ORDER[0]}, max_results {MAX_RESULTS}; {args.repeats} rounds, taking turns")
    res = timed(fns, args.repeats)
    found = res["ours"][3]
    show("Model Desk search + values:", res["ours"], f"; {len(found)} models with their two metrics")
    show("Model Desk search alone:", res["search"], " (ModelRecords)")
    show("dl.models.search (SDK):", res["sdk"], " (Model entities)")
    expected = sorted(((float(series[i, 0, -1]), names[i]) for i in range(args.models)
                       if series[i, 0, -1] > 0.9 and series[i, 1, -1] < 0.2), reverse=True)[:MAX_RESULTS]
    med = res["ours"][0]
    print(f"Model Desk answer = the data's own: {[n for _, n in expected] == [n for n, _ in found]}")
    print(f"under 100 ms: {'yes' if med < 0.1 else 'no'} ({med * 1e3:.1f} ms)")
    cat.close()
    if args.no_mlflow:
        return 0
    got = res["mlflow"][3]
    show("MLflow search_runs:", res["mlflow"], f"; {len(got)} runs (with metrics, params, tags)")
    same = [n for n, _ in got] == [n for n, _ in found] and all(
        abs(a - b) < 1e-12 for (_, a), (_, b) in zip(got, found))
    print(f"same runs, same order, same values: {same}")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"ratio search (mlflow / model desk): {res['mlflow'][0] / med:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
