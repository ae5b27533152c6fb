"""Screenshots of the operations pages (pipelines, services) for docs/screenshots, on a demo catalog.

    xvfb-run -a -s "-screen 0 1600x1060x24" python tools/screenshots_ops.py     # or let it re-run itself
    python tools/screenshots_ops.py --only services_page --out /tmp/shots

The models are the tests' deterministic no-torch packages (a 'dial' classifier whose skill is set, a
'brightbox' detector), so the whole set-up takes about a minute: a pipeline with one promoted and one
discarded run, and two running services that have answered some requests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import ROOT, WINDOW_SIZE, ShotContext  # noqa: E402  (the harness: process, wait_until, grab)

TESTS = ROOT / "tests"
SHOTS: list[Callable[[ShotContext], list[Path]]] = []


def shot(fn: Callable[[ShotContext], list[Path]]) -> Callable[[ShotContext], list[Path]]:
    SHOTS.append(fn)
    return fn


# -- set-up ------------------------------------------------------------------------------------
def build_pipeline(client: Any, work: Path, log: Callable[[str], None]) -> str:
    """Pipeline 'shapes-nightly' over a dial champion: run 1 (skill 0.9) promoted, run 2 (0.35) discarded."""
    sys.path.insert(0, str(TESTS / "pipelines"))
    from pipehelpers import SMALL, make_champion, push_dial
    t0 = time.monotonic()
    pkg = push_dial(client)
    champion = make_champion(client, pkg, work, name="shapes-dial-v1", skill=0.55)
    p = client.pipelines.create("shapes-nightly", champion=champion, training={"skill": 0.9}, max_items=SMALL,
                                gate={"min_improvement": 0.01, "max_class_drop": 0.15},
                                description="retrain on reviewed shapes; promote only if better on every class")
    for skill, want in ((0.9, "promoted"), (0.35, "discarded")):
        p.update(training={"skill": skill, "epochs": 3})
        run = p.run()
        if run.status != want:
            raise RuntimeError(f"the demo run ended {run.status}, not {want}: {run.error}\n{run.logs()[-2000:]}")
    p.update(trigger="annotations:50")
    log(f"pipeline with two runs in {time.monotonic() - t0:.0f} s")
    return p.id


def start_services(client: Any, work: Path, log: Callable[[str], None]) -> list[Any]:
    """Two services with traffic: the brightbox detector (a few failed requests too) and the champion, behind a
    token (its figures come from the copy it keeps in the catalog)."""
    import httpx
    import numpy as np
    sys.path.insert(0, str(TESTS / "serving"))
    from servehelpers import Facade, make_model, png_bytes, push_brightbox, spot_image
    dl = Facade(client)
    ds = client.datasets.get("shapes-detection")
    detector = make_model(dl, push_brightbox(dl, work), work, name="brightbox-v3", dataset=ds, delay_s=0.004)
    services = [detector.deploy(service_config={"max_batch_size": 8})]
    token = "screenshot-token-0123"
    for s in client.pipelines.list():
        services.append(s.champion.deploy(service_config={"token": token}))
    for k in range(37):
        body = png_bytes(spot_image(k % 20, k % 14))
        httpx.post(f"{services[0].url}/predictions/{detector.name}", content=body, timeout=10)
    black = png_bytes(np.zeros((24, 32, 3), np.uint8))
    for _ in range(2):   # the model refuses a black image: the service counts a server error
        httpx.post(f"{services[0].url}/predictions/{detector.name}", content=black, timeout=10)
    name = services[1].model.name
    for k in range(12):
        httpx.post(f"{services[1].url}/predictions/{name}", content=png_bytes(spot_image(k, k)), timeout=10,
                   headers={"Authorization": f"Bearer {token}"})
    log(f"{len(services)} services started and asked")
    return services


# -- the shots ---------------------------------------------------------------------------------
def _pipelines_page(ctx: ShotContext) -> Any:
    w = ctx.window
    w.navigate("pipelines", ctx.client.sample_project.id)
    page = w.pages.pages["pipelines"]
    ctx.wait_until(lambda: page.view is not None and len(page.view.runs) >= 2, 60, "the pipeline's runs")
    return page


@shot
def pipelines_page(ctx: ShotContext) -> list[Path]:
    """The timeline (one chip per step), the discarded run's decision with the figures, the champion history."""
    page = _pipelines_page(ctx)
    ctx.window.jobs.setVisible(False)       # the timeline and the figures need the height
    page.runs.setCurrentItem(page.runs.topLevelItem(0))
    ctx.process(0.5)
    path = ctx.grab(ctx.window, "pipelines_page")
    ctx.window.jobs.setVisible(ctx.window.jobs_action.isChecked())
    return [path]


@shot
def pipeline_dialog(ctx: ShotContext) -> list[Path]:
    """New pipeline… over the pipelines page: prefilled from the champion; then a refused gate value."""
    page = _pipelines_page(ctx)
    page.new_button.click()
    dlg = page.dialog
    ctx.wait_until(lambda: dlg.isVisible(), 10, "the dialog")
    dlg.description.setText("retrain every night; promote only if no class gets worse")
    dlg.trigger.setCurrentIndex(dlg.trigger.findData("schedule"))
    dlg.every.setText("1d")
    dlg.overrides.setText('{"epochs": 3}')
    dlg.gate.editors["min_improvement"].setText("0.01")
    dlg.gate.editors["max_class_drop"].setText("0.05")
    paths = [ctx.grab_over(dlg, "pipeline_dialog")]
    dlg.name.setText("shapes-nightly")
    dlg.gate.editors["min_improvement"].setText("-0.01")
    dlg.overrides.setText('{"epochs": 3')
    paths.append(ctx.grab_over(dlg, "pipeline_dialog_refused"))
    dlg.reject()
    return paths


@shot
def services_page(ctx: ShotContext) -> list[Path]:
    w = ctx.window
    w.navigate("services", ctx.client.sample_project.id)
    page = w.pages.pages["services"]
    ctx.wait_until(lambda: len(page.rows) >= 2 and all(r["requests"] for r in page.rows), 60,
                   "the services' figures")
    page.table.setCurrentItem(page.table.topLevelItem(0))
    page.copy_curl()
    return [ctx.grab(w, "services_page")]


# -- running -------------------------------------------------------------------------------------
def run_shots(out: Path, only: list[str] | None, keep: bool) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.app import application
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.sdk import Client

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="model-desk-ops-shots-"))
    home = tmp / "catalog"
    os.environ["DESKTOP_APP_HOME"] = str(home)
    services: list[Any] = []
    client = None
    try:
        t0 = time.monotonic()
        client = Client(home=home)
        client.create_sample_project()
        print(f"catalog with the sample project in {time.monotonic() - t0:.0f} s", flush=True)
        build_pipeline(client, tmp, lambda m: print(m, flush=True))
        services = start_services(client, tmp, lambda m: print(m, flush=True))
        app = application()
        window = MainWindow(SettingsStore(tmp / "settings.ini"))
        window.resize(*WINDOW_SIZE)
        window.use_client(client)
        window.show()
        ctx = ShotContext(app, window, client, out)
        ctx.process(1.0)
        for fn in SHOTS:
            if not only or fn.__name__ in only:
                fn(ctx)
        window.shutdown()
        window.close()
        QApplication.processEvents()
        return 0
    finally:
        for s in services:
            s.stop()
        if client is not None:
            client.catalog.close()
        if keep:
            print(f"kept the demo catalog at {home}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--only", nargs="*", help="shot function names (default: all)")
    p.add_argument("--keep", action="store_true", help="keep the demo catalog")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen" \
            and shutil.which("xvfb-run") and not os.environ.get("MODEL_DESK_UNDER_XVFB"):
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {WINDOW_SIZE[0] + 160}x{WINDOW_SIZE[1] + 160}x24",
               sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])]
        return subprocess.call(cmd, env={**os.environ, "MODEL_DESK_UNDER_XVFB": "1"})
    return run_shots(args.out.resolve(), args.only, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
