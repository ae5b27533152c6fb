"""Active learning on scikit-learn's handwritten digits: uncertainty sampling (entropy, dataset.rank_for_labeling)
against random sampling at the same label counts, every round trained, predicted and scored through Model Desk.

The digits are written as 32 x 32 grey PNGs and uploaded into a fresh catalog (a temporary DESKTOP_APP_HOME) as a
user would: 500 fixed test items labelled (subset 'test'), the other 1,297 an unlabelled pool. Each seed starts
both arms from the same 50 random pool items labelled (subset 'train'); every round clones the built-in ResNet-18
(random initialisation: no pretrained weights offline), trains it on the labelled items (validation: the same
items, since a split of 50 labels would leave nothing to train on), scores it on the test subset, and labels 50
more: the 50 of highest entropy in its stored predictions on the pool (dataset.rank_for_labeling), or 50 drawn at
random. 50, 100, ..., 300 labels, 3 seeds; the arms share their first model (the same 50 labels and seed).
Prints the table and, last, the ratio of the two arms' median test accuracy at 300 labels; draws the curves (median,
min-max band) into docs/active_learning.png with pyqtgraph's exporter.

Needs scikit-learn (the `test` extra) for the digits.

    python bench/active_learning.py                        # 31 minutes on a busy 2-core machine (load 5-9)
    python bench/active_learning.py --seeds 1 --rounds 1 --epochs 3     # a smoke run (~1 minute)
    python bench/active_learning.py --replot docs/active_learning.json  # redraw the PNG from saved results
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _digits import LABELS, label_items, write_digits  # noqa: E402

ARMS = ("uncertainty", "random")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--start", type=int, default=50, help="labels to start from (default 50)")
    p.add_argument("--step", type=int, default=50, help="labels added each round (default 50)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of labelling (default 5)")
    p.add_argument("--test", type=int, default=500, help="fixed test items (default 500)")
    p.add_argument("--strategy", default="entropy", choices=["entropy", "margin", "least_confidence"])
    p.add_argument("--package", default="resnet", help="built-in package to clone from (default resnet)")
    p.add_argument("--model", default="pretrained-resnet", help="its model to clone (default pretrained-resnet)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads of each job (default 1: on a busy 2-core machine 2 threads ran 5x slower)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "active_learning.png", help="the curve (PNG)")
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "active_learning.json",
                   help="where the figures go (JSON), for --replot")
    p.add_argument("--replot", type=Path, help="only draw the PNG from a results JSON")
    p.add_argument("--keep", action="store_true", help="keep the temporary catalog (its path is printed)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.replot:
        results = json.loads(a.replot.read_text())
        plot(results, a.out)
        print(f"wrote {a.out}")
        return 0
    # Before anything imports torch: the job workers inherit it.
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    home = Path(tempfile.mkdtemp(prefix="model-desk-al-"))
    os.environ["DESKTOP_APP_HOME"] = str(home / "catalog")
    started = time.time()
    try:
        results = run(a, home)
    finally:
        if a.keep:
            print(f"catalog kept in {home / 'catalog'}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    results["seconds"] = round(time.time() - started, 1)
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(results, indent=1) + "\n")
    report(results)
    plot(results, a.out)
    print(f"wrote {a.out} and {a.results} ({results['seconds'] / 60:.1f} minutes)")
    ratio = median_at_end(results, "uncertainty") / median_at_end(results, "random")
    print(f"ratio test accuracy at {results['labels'][-1]} labels (uncertainty / random, median of "
          f"{len(results['seeds'])} seeds): {ratio:.3f}")
    return 0


def run(a: argparse.Namespace, home: Path) -> dict:
    import desktop_app.sdk as dl

    classes = write_digits(home / "digits", a.image_size)
    n = len(classes)
    order = np.random.default_rng(12345).permutation(n)
    test, pool = order[:a.test], order[a.test:]
    labels = [a.start + r * a.step for r in range(a.rounds + 1)]
    if labels[-1] > len(pool):
        raise SystemExit(f"{labels[-1]} labels asked for, the pool holds {len(pool)}")
    project = dl.projects.create("active-learning")
    base = dl.packages.get(package_name=a.package).models.get(model_name=a.model)
    config = {"epochs": a.epochs, "batch_size": a.batch_size, "learning_rate": a.learning_rate,
              "image_size": a.image_size, "pretrained": False, "augment_flip": False,
              "augment_color_jitter": False, "num_workers": 0}
    print(f"{n} digits as {a.image_size}px PNGs: {len(test)} test, {len(pool)} pool; {a.package}/{a.model} "
          f"retrained each round ({a.epochs} epochs, batch {a.batch_size}, lr {a.learning_rate}); "
          f"{a.strategy} vs random, seeds 0..{a.seeds - 1}", flush=True)
    out: dict = {"labels": labels, "seeds": list(range(a.seeds)), "strategy": a.strategy,
                 "model": f"{a.package}/{a.model}", "config": config, "test_items": len(test),
                 "pool_items": len(pool), "accuracy": {arm: {} for arm in ARMS}, "best_epochs": []}
    for seed in range(a.seeds):
        first = np.random.default_rng(seed).choice(pool, a.start, replace=False)
        arms = [Arm(dl, project, base, home / "digits", classes, test, first, seed, config, a) for _ in ARMS]
        unc = arms[0].run_uncertainty(labels)
        out["accuracy"]["uncertainty"][str(seed)] = unc
        out["accuracy"]["random"][str(seed)] = arms[1].run_random(labels, pool, first_accuracy=unc[0])
        out["best_epochs"] += arms[0].best_epochs + arms[1].best_epochs
    return out


class Arm:
    """One seed's run of one arm: its own dataset (the digits uploaded again), labelled as the rounds go."""

    def __init__(self, dl, project, base, folder: Path, classes, test, first, seed: int, config: dict, a):
        self.dl, self.project, self.base, self.classes, self.seed, self.a = dl, project, base, classes, seed, a
        self.config = dict(config, seed=seed)
        self.test, self.first = test, first
        self.folder = folder
        self.best_epochs: list[tuple[int, int]] = []

    def _dataset(self, arm: str):
        ds = self.project.datasets.create(f"digits-{arm}-s{self.seed}", labels=LABELS)
        items = ds.items.upload(str(self.folder))
        self.by_index = {int(it.name.split(".")[0]): it for it in items}
        self.index_of = {it.id: i for i, it in self.by_index.items()}
        self._label(self.test, "test")
        self._label(self.first, "train")
        return ds

    def _label(self, indices, subset: str) -> None:
        label_items(self.dl, [self.by_index[int(i)] for i in indices], [self.classes[int(i)] for i in indices],
                    subset)

    def _train_and_score(self, ds, arm: str, n_labels: int, predict_pool: bool):
        t = time.time()
        model = self.base.clone(model_name=f"{arm}-s{self.seed}-{n_labels}", dataset=ds, configuration=self.config,
                                train_filter={"subset": "train"}, validation_filter={"subset": "train"})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*random initialisation")   # said once, in the docstring
            ex = model.train()
        _check(ex, f"training {model.name}")
        self.best_epochs.append((int(ex.output.get("best_epoch", -1)), int(ex.output.get("epochs_completed", 0))))
        # the pool's predictions are what rank_for_labeling reads; the test subset's are scored
        _check(model.predict(dataset_id=ds.id, filters=None if predict_pool else {"subset": "test"}), "predict")
        ev = model.evaluate(ds, filters={"subset": "test"}, predict=False, name=f"{model.name}-test")
        _check(ev, "evaluate")
        acc = float(ev.output["summary"]["accuracy"])
        print(f"  seed {self.seed} {arm:<11} {n_labels:>4} labels: test accuracy {acc:.3f} "
              f"(best epoch {ex.output.get('best_epoch')}, {time.time() - t:.0f} s)", flush=True)
        return model, acc

    def run_uncertainty(self, labels: list[int]) -> list[float]:
        ds = self._dataset("uncertainty")
        accs = []
        for r, n_labels in enumerate(labels):
            last = r == len(labels) - 1
            model, acc = self._train_and_score(ds, "uncertainty", n_labels, predict_pool=not last)
            accs.append(acc)
            if last:
                break
            queue = ds.rank_for_labeling(model, strategy=self.a.strategy, k=self.a.step)
            if queue.strategy != self.a.strategy or len(queue) != self.a.step:
                raise SystemExit(f"rank_for_labeling gave {len(queue)} items by {queue.strategy} ({queue.note})")
            scores = [s for _, s in queue]
            if len(set(scores)) < len(scores):
                print(f"    note: {len(scores) - len(set(scores))} tied scores in the queue", flush=True)
            self._label([self.index_of[it.id] for it, _ in queue], "train")
        return accs

    def run_random(self, labels: list[int], pool, first_accuracy: float) -> list[float]:
        ds = self._dataset("random")
        rng = np.random.default_rng(1000 + self.seed)
        unlabelled = sorted(set(int(i) for i in pool) - set(int(i) for i in self.first))
        accs = [first_accuracy]     # the same 50 labels and seed as the uncertainty arm's first model
        for n_labels in labels[1:]:
            picked = rng.choice(unlabelled, self.a.step, replace=False)
            self._label(picked, "train")
            unlabelled = sorted(set(unlabelled) - set(int(i) for i in picked))
            _, acc = self._train_and_score(ds, "random", n_labels, predict_pool=False)
            accs.append(acc)
        return accs


def _check(ex, what: str) -> None:
    if ex.status != "success":
        raise SystemExit(f"{what} failed: {ex.status} {ex.error or ''}")


def median_at_end(results: dict, arm: str) -> float:
    return statistics.median(v[-1] for v in results["accuracy"][arm].values())


def report(results: dict) -> None:
    seeds = [str(s) for s in results["seeds"]]
    head = (["labels"] + [f"unc s{s}" for s in seeds] + [f"rand s{s}" for s in seeds]
            + ["unc median", "rand median", "diff"])
    print("\ntest accuracy (" + f"{results['test_items']} test items; uncertainty = {results['strategy']} through "
          f"dataset.rank_for_labeling)")
    print("  ".join(f"{h:>11}" for h in head))
    for r, n in enumerate(results["labels"]):
        unc = [results["accuracy"]["uncertainty"][s][r] for s in seeds]
        rnd = [results["accuracy"]["random"][s][r] for s in seeds]
        mu, mr = statistics.median(unc), statistics.median(rnd)
        row = [f"{n}"] + [f"{v:.3f}" for v in unc + rnd] + [f"{mu:.3f}", f"{mr:.3f}", f"{mu - mr:+.3f}"]
        print("  ".join(f"{c:>11}" for c in row))
    best = results.get("best_epochs") or []
    if best:
        print(f"best epoch kept (0-based, of {best[0][1]}): median {statistics.median(b for b, _ in best)}, "
              f"earliest {min(b for b, _ in best)}")


def plot(results: dict, path: Path) -> None:
    """Median test accuracy against labels, a min-max band over seeds, per arm: pyqtgraph's ImageExporter."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6 import QtCore, QtGui, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    widget = pg.PlotWidget()
    widget.resize(900, 560)
    plot_item = widget.getPlotItem()
    n_seeds = len(results["seeds"])
    plot_item.setTitle(f"Active learning on handwritten digits ({results['test_items']} test images, "
                       f"median of {n_seeds} seeds, band: min-max)", size="12pt")
    plot_item.setLabel("bottom", "labelled images")
    plot_item.setLabel("left", "test accuracy")
    plot_item.showGrid(x=True, y=True, alpha=0.25)
    legend = plot_item.addLegend(offset=(-10, -10), labelTextSize="11pt")
    x = np.asarray(results["labels"], float)
    colours = {"uncertainty": (31, 119, 180), "random": (255, 127, 14)}
    names = {"uncertainty": f"uncertainty ({results['strategy']})", "random": "random"}
    for arm in reversed(ARMS):          # uncertainty drawn last, on top; random dashed, seen where they meet
        runs = np.asarray(list(results["accuracy"][arm].values()), float)
        lo, hi, med = runs.min(0), runs.max(0), np.median(runs, 0)
        c = colours[arm]
        low = pg.PlotDataItem(x, lo, pen=pg.mkPen((*c, 90), width=1))
        high = pg.PlotDataItem(x, hi, pen=pg.mkPen((*c, 90), width=1))
        plot_item.addItem(low)
        plot_item.addItem(high)
        plot_item.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush((*c, 50))))
        style = QtCore.Qt.PenStyle.DashLine if arm == "random" else QtCore.Qt.PenStyle.SolidLine
        plot_item.addItem(pg.PlotDataItem(x, med, pen=pg.mkPen(c, width=3, style=style), symbol="o", symbolSize=8,
                                          symbolBrush=c, symbolPen=pg.mkPen(c), name=names[arm]))
    all_acc = np.asarray([v for arm in ARMS for run in results["accuracy"][arm].values() for v in run])
    plot_item.setXRange(x[0] - 10, x[-1] + 10, padding=0)
    plot_item.setYRange(max(0.0, all_acc.min() - 0.03), min(1.0, all_acc.max() + 0.02), padding=0)
    plot_item.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in x]])
    for axis in ("bottom", "left"):
        plot_item.getAxis(axis).setTickFont(QtGui.QFont("DejaVu Sans", 10))
    legend.setBrush(pg.mkBrush(255, 255, 255, 220))
    app.processEvents()
    exporter = ImageExporter(plot_item)
    exporter.parameters()["width"] = 900
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter.export(str(path))
    QtCore.QCoreApplication.processEvents()


if __name__ == "__main__":
    sys.exit(main())
