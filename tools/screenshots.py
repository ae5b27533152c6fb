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


SHOTS: list[Callable[[ShotContext], list[Path]]] = []


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


if __name__ == "__main__":
    raise SystemExit(main())
