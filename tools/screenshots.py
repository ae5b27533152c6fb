"""Screenshots for docs/screenshots: a demo catalog in a temp folder, one model trained, the window grabbed.

    python tools/screenshots.py                 # re-runs itself under xvfb-run when there is no display
    python tools/screenshots.py --only clone_dialog --out /tmp/shots

Each shot is a function `shot(ctx) -> list[Path]` listed in SHOTS (add one with the @shot decorator);
they run in order on one window, while a second model trains so the charts are live.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WINDOW_SIZE = (1440, 900)
# A small, quick configuration: the shapes train in well under a minute per epoch on a laptop CPU.
TINY = {"epochs": 2, "image_size": 32, "batch_size": 16, "num_workers": 0}
LIVE = {"epochs": 5, "image_size": 32, "batch_size": 16, "num_workers": 0}


@dataclass
class ShotContext:
    app: Any
    window: Any
    client: Any
    out: Path
    models: dict[str, str] = field(default_factory=dict)     # role ('trained', 'training') -> model id

    def process(self, seconds: float = 0.3) -> None:
        """Let the event loop run (pollers deliver, layouts settle, charts redraw)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 300.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError(f"waited {timeout:.0f} s for {what or condition}")
            self.process(0.1)

    def grab(self, widget: Any, name: str) -> Path:
        self.process(0.5)
        path = self.out / f"{name}.png"
        if not widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)
        return path


    def grab_over(self, dialog: Any, name: str) -> Path:
        """The window dimmed behind a dialog, the dialog centred on it: one picture whatever the display."""
        from PySide6.QtGui import QColor, QPainter
        self.process(0.5)
        pm = self.window.grab()
        over = dialog.grab()
        painter = QPainter(pm)
        painter.fillRect(pm.rect(), QColor(0, 0, 0, 70))
        painter.drawPixmap((pm.width() - over.width()) // 2, (pm.height() - over.height()) // 2, over)
        painter.end()
        path = self.out / f"{name}.png"
        if not pm.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)
        return path


SHOTS: list[Callable[[ShotContext], list[Path]]] = []


def prepare(out: str | Path, prefix: str, work: str | Path | None = None) -> tuple[Path, Path]:
    """A shot script's folders: `out` (made) and its work folder (`work`, else a new temporary one), with the
    app's catalog and settings pointed into it. Call it before anything reads DESKTOP_APP_HOME / _CONFIG."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DESKTOP_APP_HOME"] = str(work / "catalog")
    os.environ["DESKTOP_APP_CONFIG"] = str(work / "config")
    return out, work


def app_and_client(work: Path) -> tuple[Any, Any]:
    """The styled QApplication and an SDK client on the work folder's catalog."""
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.style import apply_style
    from desktop_app.sdk import Client
    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    return app, Client(home=work / "catalog")


def open_window(app: Any, client: Any, work: Path, out: Path, size: tuple[int, int] = (1400, 900)) -> ShotContext:
    """The main window on `client`, shown at `size` with the jobs panel hidden (the page gets the height)."""
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    window = MainWindow(SettingsStore(work / "gui.ini"), jobs_interval=0.3, metrics_interval=0.3)
    window.resize(*size)
    window.use_client(client)
    window.show()
    window.jobs_action.setChecked(False)
    window.jobs.setVisible(False)
    return ShotContext(app, window, client, out)


def shot(fn: Callable[[ShotContext], list[Path]]) -> Callable[[ShotContext], list[Path]]:
    SHOTS.append(fn)
    return fn


# -- the shots ---------------------------------------------------------------------------------
@shot
def welcome(ctx: ShotContext) -> list[Path]:
    ctx.window.pages.show_welcome()
    return [ctx.grab(ctx.window, "welcome")]


@shot
def main_window(ctx: ShotContext) -> list[Path]:
    """The sample project: navigator with the lineage, the project page, a job running in the panel."""
    w = ctx.window
    w.navigate("project", ctx.client.sample_project.id)
    _wait_for_progress(ctx, 5.0)
    return [ctx.grab(w, "main_window")]


@shot
def dataset_gallery(ctx: ShotContext) -> list[Path]:
    """The dataset page: gallery, filters, counts and the viewer, with demo predictions as a second layer
    (tools/screenshot_dataset.py draws it; it also runs alone)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from screenshot_dataset import add_demo_predictions, shot_dataset_gallery
    add_demo_predictions(ctx.client)
    paths = shot_dataset_gallery(ctx.client, ctx.out)
    for path in paths:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)
    return paths


@shot
def model_overview(ctx: ShotContext) -> list[Path]:
    w = ctx.window
    w.navigate("model", ctx.models["trained"])
    page = w.pages.model_page
    page.tabs.setCurrentIndex(0)
    return [ctx.grab(w, "model_overview")]


@shot
def model_training(ctx: ShotContext) -> list[Path]:
    """The model page mid-training: live charts, the job's progress, ETA and current metric."""
    w = ctx.window
    w.navigate("model", ctx.models["training"])
    page = w.pages.model_page
    page.show_metrics()
    _wait_for_progress(ctx, 45.0)  # two epochs done: every chart has lines, not dots
    ctx.wait_until(lambda: len(page.charts.plots) >= 2 and len(page.charts.series) >= 12, 600,
                   "at least two charts with points")
    w.jobs.select(_active_execution(ctx))
    return [ctx.grab(w, "model_training")]


@shot
def model_configuration(ctx: ShotContext) -> list[Path]:
    w = ctx.window
    w.navigate("model", ctx.models["trained"])
    page = w.pages.model_page
    page.tabs.setCurrentIndex(1)
    page.config_form.advanced.expand(animate=False)
    return [ctx.grab(w, "model_configuration")]


@shot
def clone_dialog(ctx: ShotContext) -> list[Path]:
    dlg = ctx.window.open_clone_dialog(ctx.models["trained"])
    dlg.description.setText("smaller learning rate, more epochs")
    dlg.config_form.set_value("epochs", 20)
    dlg.config_form.set_value("learning_rate", "0.0005")
    path = ctx.grab(dlg, "clone_dialog")
    dlg.reject()
    return [path]



@shot
def evaluate_dialog(ctx: ShotContext) -> list[Path]:
    """Evaluate… on the trained model: dataset, subset, the name it gets, the confidence threshold."""
    w = ctx.window
    w.navigate("model", ctx.models["trained"])
    dlg = w.open_evaluate_dialog(ctx.models["trained"])
    ctx.wait_until(lambda: dlg.isVisible(), 10, "the evaluate dialog")
    path = ctx.grab_over(dlg, "evaluate_dialog")
    dlg.conf.setText("1.5")                 # a refused value: the core's message under the field
    boxes_only = ctx.client.datasets.get("shapes-detection")   # and no class labels for a classifier
    dlg.dataset.setCurrentIndex(dlg.dataset.findData(boxes_only.id))
    refused = ctx.grab_over(dlg, "evaluate_dialog_refused")
    dlg.reject()
    return [path, refused]


@shot
def export_dialog(ctx: ShotContext) -> list[Path]:
    """Export… on the detection set, the gallery filtered to the test subset: COCO, the live count."""
    from desktop_app.gui.itemmodels.gallery_model import GalleryFilter
    w = ctx.window
    ds = ctx.client.datasets.get("shapes-detection")
    w.navigate("dataset", ds.id)
    page = w.pages.pages["dataset"]
    ctx.wait_until(lambda: page.model.settled, 60, "the gallery")
    page.model.set_filter(GalleryFilter(subset="test"))
    ctx.wait_until(lambda: page.model.settled and page.model.rowCount() == 150, 60, "the test subset")
    dlg = page.export_dialog()
    dlg.dest_edit.setText("~/exports/shapes-detection-test-coco")
    ctx.wait_until(lambda: "150" in dlg.count_label.text(), 30, "the live count")
    path = ctx.grab_over(dlg, "export_dialog")
    dlg.close()
    return [path]


# -- the app around the catalog: settings, tour, housekeeping, about -----------------------------------
def _app_settings(ctx: ShotContext) -> Any:
    """Settings in a temp folder: the shots never touch the user's settings.json."""
    from desktop_app.settings import Settings
    services = ctx.window.services
    if services._settings is None:
        services.settings = Settings(Path(tempfile.mkdtemp(prefix="model-desk-shots-config-")))
    return services.settings


@shot
def settings_dialog(ctx: ShotContext) -> list[Path]:
    """Built from the typed schema; the second picture shows a refused value with its message beside it."""
    _app_settings(ctx)
    dlg = ctx.window.services.open_settings()
    dlg.resize(740, 600)
    paths = [ctx.grab(dlg, "settings")]
    dlg.editors["parallel_cpu_jobs"].line.setText("0")
    dlg.editors["service_port_range"].first.setText("80")
    paths.append(ctx.grab(dlg, "settings_invalid"))
    dlg.reject()
    return paths


@shot
def tour(ctx: ShotContext) -> list[Path]:
    """The first-run tour: the navigator step, and the Train step on the sample model's page."""
    _app_settings(ctx)
    overlay = ctx.window.services.start_tour()
    paths = [ctx.grab(ctx.window, "tour_navigator")]
    overlay.go(2)
    paths.append(ctx.grab(ctx.window, "tour"))
    overlay.finish()
    return paths


@shot
def housekeeping(ctx: ShotContext) -> list[Path]:
    """Space by kind, the models with their files, after looking for unreferenced files."""
    dlg = ctx.window.services.open_housekeeping()
    ctx.wait_until(lambda: dlg.work is None, 120, "the sizes")
    dlg.collect_garbage(dry_run=True)
    ctx.wait_until(lambda: dlg.work is None, 120, "the garbage scan")
    dlg.select_model(ctx.models["trained"])
    path = ctx.grab(dlg, "housekeeping")
    dlg.close()
    return [path]


@shot
def about(ctx: ShotContext) -> list[Path]:
    dlg = ctx.window.services.open_about()
    dlg.adjustSize()
    path = ctx.grab(dlg, "about")
    dlg.close()
    return [path]


# -- set-up ------------------------------------------------------------------------------------
def _active_execution(ctx: ShotContext) -> str:
    active = ctx.client.catalog.list_executions(model_id=ctx.models["training"], kind="train")
    return active[0].id if active else ""


def _wait_for_progress(ctx: ShotContext, percent: float) -> None:
    def reached() -> bool:
        eid = _active_execution(ctx)
        ex = ctx.client.catalog.get_execution(eid) if eid else None
        if ex is not None and ex.status in ("failed", "canceled", "interrupted"):
            raise RuntimeError(f"the live training {ex.status}: {ex.error}")
        return ex is not None and ex.progress >= percent
    ctx.wait_until(reached, 900, f"the live training to pass {percent:.0f}%")


def build_catalog(home: Path, log: Callable[[str], None], base: Path | None = None) -> dict[str, str]:
    """The demo catalog: a trained clone of pretrained-resnet, and a clone of it to train live.

    `base`: a catalog this script saved before (--save-base) that already holds the trained clone."""
    from desktop_app.sdk import Client
    t0 = time.monotonic()
    if base is not None:
        shutil.copytree(base, home)
    client = Client(home=home)
    client.create_sample_project()
    log(f"catalog with the sample project in {time.monotonic() - t0:.0f} s")
    found = client.catalog.find_models(name="resnet-small")
    if found and found[0].status == "trained":
        trained = client.models.get(model_id=found[0].id)
    else:
        base_model = client.models.get("pretrained-resnet")
        trained = base_model.clone(model_name="resnet-small", description="ResNet-18 on 32 px shapes, two epochs",
                                   configuration=TINY)
        t0 = time.monotonic()
        ex = trained.train(progress=False)
        if ex.status != "success":
            raise RuntimeError(f"training resnet-small {ex.status}: {ex.error}\n{ex.logs()[-2000:]}")
        log(f"trained resnet-small in {time.monotonic() - t0:.0f} s")
    client.catalog.close()
    return {"trained": trained.id}


def add_live_model(client, trained_id: str) -> str:
    trained = client.models.get(model_id=trained_id)
    return trained.clone(model_name="resnet-small-v2", description="more epochs", configuration=LIVE).id


def save_base(home: Path, dest: Path) -> None:
    """Keep the catalog before the live run, to start the next run from it (--base)."""
    import sqlite3
    from desktop_app.catalog import Catalog
    Catalog(home).close()
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(home, dest, ignore=shutil.ignore_patterns("work", "logs", "*.lock"))
    print(f"saved the base catalog to {dest}", flush=True)


def run_shots(out: Path, only: list[str] | None, keep: bool, base: Path | None = None,
              save_to: Path | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.app import application
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.jobs.runner import submit_train
    from desktop_app.sdk import Client

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="model-desk-shots-"))
    home = tmp / "catalog"
    os.environ["DESKTOP_APP_HOME"] = str(home)
    try:
        models = build_catalog(home, lambda m: print(m, flush=True), base)
        if save_to is not None:
            save_base(home, save_to)
        app = application()
        client = Client(home=home, bootstrap=False)
        models["training"] = add_live_model(client, models["trained"])
        window = MainWindow(SettingsStore(tmp / "settings.ini"))
        window.resize(*WINDOW_SIZE)
        window.use_client(client)
        window.show()
        ctx = ShotContext(app, window, client, out, models)
        ctx.process(1.0)
        submit_train(client.catalog, models["training"], wait=False)
        for fn in SHOTS:
            if only and fn.__name__ not in only:
                continue
            fn(ctx)
        for ex in client.catalog.list_executions(status=["created", "in-progress"]):
            client.catalog.request_cancel(ex.id)
        window.shutdown()
        window.close()
        QApplication.processEvents()
        client.catalog.close()
        return 0
    finally:
        if keep:
            print(f"kept the demo catalog at {home}")
        else:
            _wait_jobs_gone(home)
            shutil.rmtree(tmp, ignore_errors=True)


def _wait_jobs_gone(home: Path, timeout: float = 30.0) -> None:
    from desktop_app.jobs.scheduler import scheduler_running
    end = time.monotonic() + timeout
    while time.monotonic() < end and home.exists() and scheduler_running(home):
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--only", nargs="*", help="shot function names (default: all)")
    p.add_argument("--keep", action="store_true", help="keep the demo catalog")
    p.add_argument("--base", type=Path, help="start from a catalog saved by --save-base (skips the first training)")
    p.add_argument("--save-base", type=Path, help="save the catalog with the trained model here, for --base")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen" \
            and shutil.which("xvfb-run") and not os.environ.get("MODEL_DESK_UNDER_XVFB"):
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {WINDOW_SIZE[0] + 160}x{WINDOW_SIZE[1] + 160}x24",
               sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])]
        return subprocess.call(cmd, env={**os.environ, "MODEL_DESK_UNDER_XVFB": "1"})
    return run_shots(args.out.resolve(), args.only, args.keep, args.base, args.save_base)


# -- comparing models, evaluations and fixing mistakes (review) ---------------------------------
# A deterministic box "model" with real mistakes (it jitters the ground truth, misses, confuses and
# hallucinates), in two variants: detection figures without training a detector for minutes.
REVIEW_ORACLE = ROOT / "tests" / "gui" / "review_oracle"
ORACLE_VARIANTS = {"eval_tight": ("oracle-tight", {"seed": 1, "miss": 0.08, "confuse": 0.06, "jitter": 2.0,
                                                   "spurious": 0.4}),
                   "eval_loose": ("oracle-loose", {"seed": 2, "miss": 0.2, "confuse": 0.15, "jitter": 4.0,
                                                   "spurious": 0.6})}


def _review_evaluations(ctx: ShotContext) -> dict[str, str]:
    """Both oracle variants evaluated on the detection sample's test subset (once per run)."""
    if "eval_loose" in ctx.models:
        return ctx.models
    from desktop_app.workflows.evaluate import evaluate_model
    c = ctx.client
    pkg = c.packages.push(package_name="review-oracle", src_path=REVIEW_ORACLE, entry_point="adapter.py",
                          class_name="ReviewOracleAdapter", output_type="box", default_configuration={"seed": 0})
    ds = c.datasets.get("shapes-detection")
    for key, (name, cfg) in ORACLE_VARIANTS.items():
        m = pkg.models.create(model_name=name, dataset_id=ds.id, project_id=c.sample_project.id, labels=ds.labels,
                              configuration=dict(cfg), description="box oracle with mistakes (screenshots)")
        ctx.models[key] = evaluate_model(c.catalog, m.id, ds.id, filters={"subset": "test"}, name="test")["evaluation_id"]
    ctx.window.refresh_tree()
    return ctx.models


def _evaluation_page(ctx: ShotContext, evaluation_id: str) -> Any:
    w = ctx.window
    w.jobs.setVisible(False)          # the figures and the gallery need the height
    w.navigate("evaluation", evaluation_id)
    page = w.pages.pages["evaluation"]
    ctx.wait_until(lambda: page.session is not None and page.view.id == evaluation_id, 120, "the evaluation")
    return page


def _gallery_drawn(ctx: ShotContext, page: Any) -> None:
    g, m = page.gallery.gallery, page.gallery.model
    ctx.process(0.5)
    ctx.wait_until(lambda: all(m.row_ready(i) for i in range(g.visible_rows[0], g.visible_rows[1] + 1)), 60,
                   "the gallery's crops")
    g.viewport().update()


def _restore_jobs(ctx: ShotContext) -> None:
    ctx.window.jobs.setVisible(ctx.window.jobs_action.isChecked())


@shot
def confusion(ctx: ShotContext) -> list[Path]:
    """The evaluation page: a click on a confusion cell (true star, predicted circle) lists its instances."""
    import numpy as np
    page = _evaluation_page(ctx, _review_evaluations(ctx)["eval_loose"])
    page.split.setSizes([560, 880])
    page.figures.setCurrentWidget(page.confusion)
    page.thresholds.confidence.setValue(0.3)
    ctx.wait_until(lambda: abs(page.session.score_threshold - 0.3) < 1e-6, 30, "the threshold")
    page.confusion.hide_diagonal.setChecked(True)
    m = np.array(page.session.figures["confusion"]["matrix"])
    k = len(page.session.labels)
    off = m[:k, :k].copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    page.show_cell(int(i), int(j))
    _gallery_drawn(ctx, page)
    paths = [ctx.grab(ctx.window, "confusion")]
    page.confusion.hide_diagonal.setChecked(False)
    _restore_jobs(ctx)
    return paths


@shot
def error_gallery(ctx: ShotContext) -> list[Path]:
    """The error gallery filtered to false positives, most wrong (most confident) first, as crops."""
    from desktop_app.evaluation.review import InstanceFilter
    page = _evaluation_page(ctx, _review_evaluations(ctx)["eval_loose"])
    page.split.setSizes([520, 920])
    page.figures.setCurrentIndex(0)
    page.thresholds.confidence.setValue(0.25)
    ctx.wait_until(lambda: abs(page.session.score_threshold - 0.25) < 1e-6, 30, "the threshold")
    page.show_filter(InstanceFilter(kinds=("fp",), sort="most_wrong"), "crops")
    _gallery_drawn(ctx, page)
    paths = [ctx.grab(ctx.window, "error_gallery")]
    page.figures.setCurrentWidget(page.pr_chart)
    paths.append(ctx.grab(ctx.window, "error_gallery_pr"))
    _restore_jobs(ctx)
    return paths


@shot
def review_viewer(ctx: ShotContext) -> list[Path]:
    """An image with mistakes in the review viewer (ground truth and predictions, TP/FP/FN colours); then two
    models side by side on an image the second gets wrong and the first right."""
    from desktop_app.evaluation.review import InstanceFilter
    evals = _review_evaluations(ctx)
    page = _evaluation_page(ctx, evals["eval_loose"])
    page.split.setSizes([420, 1020])
    page.thresholds.confidence.setValue(0.3)
    ctx.wait_until(lambda: abs(page.session.score_threshold - 0.3) < 1e-6, 30, "the threshold")
    page.show_filter(InstanceFilter(kinds=("fp", "fn"), sort="most_wrong"), "images")
    m = page.gallery.model
    rows = range(min(m.rowCount(), 40))
    busiest = max(rows, key=lambda r: len(m.rows_of_item(m.item_id_at(r))))   # an image with several kinds
    page.open_row(busiest)
    ctx.wait_until(lambda: page.review.images.get(ctx.client.catalog.get_item(
        page.review.current_item_id).sha256) is not None, 30, "the image")
    paths = [ctx.grab(ctx.window, "review")]
    w = ctx.window
    w.navigate("review", f"{evals['eval_tight']},{evals['eval_loose']}")
    rp = w.pages.pages["review"]
    ctx.wait_until(lambda: bool(rp.sessions) and rp.panel.current_item_id is not None, 60, "the two evaluations")
    ctx.wait_until(lambda: rp.panel.images.get(ctx.client.catalog.get_item(
        rp.panel.current_item_id).sha256) is not None, 30, "the image")
    paths.append(ctx.grab(w, "review_side_by_side"))
    _restore_jobs(ctx)
    return paths


@shot
def compare(ctx: ShotContext) -> list[Path]:
    """Two trained sample models: curves overlaid, final / best table, configuration diff, evaluations."""
    from desktop_app.workflows.evaluate import evaluate_model
    c = ctx.client
    a, b = ctx.models["trained"], ctx.models["training"]
    ctx.wait_until(lambda: c.catalog.get_model(b).status == "trained", 1800, "the second model's training")
    ds = c.datasets.get("shapes")
    for mid in (a, b):
        if not any(e.name == "shapes-test" for e in c.catalog.list_evaluations(model_id=mid)):
            evaluate_model(c.catalog, mid, ds.id, filters={"subset": "test"}, name="shapes-test")
    w = ctx.window
    w.jobs.setVisible(False)
    w.refresh_tree()
    w.navigate("compare", f"{a},{b}")
    page = w.pages.pages["compare"]
    keys = [k for k in page.chosen_metrics() if "eval/" not in k]
    page.set_chosen_metrics(keys[:4])
    page.x_axis.setCurrentIndex(page.x_axis.findData("epoch"))
    page.smoothing.setValue(30)
    page.tabs.setCurrentIndex(0)
    paths = [ctx.grab(w, "compare_curves")]
    page.tabs.setCurrentWidget(page.table)
    paths.append(ctx.grab(w, "compare_table"))
    page.tabs.setCurrentWidget(page.config)
    paths.append(ctx.grab(w, "compare_configuration"))
    page.tabs.setCurrentWidget(page.eval_tab)
    paths.append(ctx.grab(w, "compare_evaluation"))
    _restore_jobs(ctx)
    return paths


if __name__ == "__main__":
    raise SystemExit(main())
