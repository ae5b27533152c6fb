"""GUI latency: the event loop's longest stall while a model trains, and time to the first window.

    python bench/gui_latency.py                    # 60 s of training, 5 start-ups of each kind
    python bench/gui_latency.py --duration 20 --runs 3

1. Stall: the window shows a model training (live charts, jobs panel, pollers); a 5 ms QTimer measures
   the longest gap between its ticks. Peer: the same window idle. Target: under 50 ms.
2. Start-up: seconds from process start to the first window shown, Model Desk vs a bare PySide6 window,
   each in fresh subprocesses (median). Target: at most 2x. Also whether torch got imported (it must not).
Without a display it uses Qt's offscreen platform for every process alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN = {"epochs": 200, "image_size": 32, "batch_size": 16, "num_workers": 0}
TICK_MS = 5

BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.setWindowTitle("bare")
w.resize(1400, 880)
w.show()
QTimer.singleShot(0, lambda: (print("probe shown torch=" + str("torch" in sys.modules), flush=True), app.quit()))
app.exec()
"""

APP = """
import sys
from desktop_app.gui import app
sys.exit(app.run(["--home", {home!r}, "--settings", {settings!r}, "--probe"]))
"""


# -- start-up ----------------------------------------------------------------------------------
def _time_child(code: str, env: dict) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    out: dict = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("probe shown"):
            out["shown"] = time.perf_counter() - t0
            out["torch"] = "torch=True" in line
        elif line.startswith("probe ready"):
            out["ready"] = time.perf_counter() - t0
            out["torch"] = out.get("torch") or "torch=True" in line
    proc.wait(timeout=120)
    if "shown" not in out:
        raise RuntimeError(f"child printed no probe line; stderr:\n{proc.stderr.read()[-2000:]}")
    return out


def startup(home: Path, runs: int, env: dict) -> dict:
    settings = Path(tempfile.mkdtemp()) / "s.ini"
    app_code = APP.format(home=str(home), settings=str(settings))
    _time_child(BARE, env)          # warm the file cache for both, outside the measurement
    _time_child(app_code, env)
    bare, app = [], []
    for _ in range(runs):           # interleaved, so a busy moment hurts both alike
        bare.append(_time_child(BARE, env))
        app.append(_time_child(app_code, env))
    med = statistics.median
    return {"bare_shown": med(r["shown"] for r in bare), "app_shown": med(r["shown"] for r in app),
            "app_ready": med(r["ready"] for r in app if "ready" in r),
            "torch": any(r.get("torch") for r in app)}


# -- stall -------------------------------------------------------------------------------------
def measure_stall(app, seconds: float) -> dict:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    last[0] = time.perf_counter()
    timer.start()
    loop.exec()
    timer.stop()
    stalls = sorted(max(g * 1000 - TICK_MS, 0.0) for g in gaps)
    return {"max_ms": stalls[-1] if stalls else 0.0, "p99_ms": stalls[int(len(stalls) * 0.99)] if stalls else 0.0,
            "ticks": len(gaps), "over_50ms": sum(1 for s in stalls if s > 50)}


def stall_while_training(home: Path, seconds: float, worker_nice: int = 0) -> dict:
    from desktop_app.gui.app import application
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.jobs.runner import submit_train
    from desktop_app.sdk import Client

    app = application()
    client = Client(home=home, bootstrap=False)
    base = client.models.get("pretrained-resnet")
    model = base.clone(model_name=f"bench-{int(time.time())}", configuration=TRAIN)
    window = MainWindow(SettingsStore(Path(tempfile.mkdtemp()) / "s.ini"))
    window.resize(1400, 880)
    window.use_client(client)
    window.show()
    window.navigate("model", model.id)
    page = window.pages.model_page
    page.show_metrics()
    idle = measure_stall(app, min(10.0, max(seconds / 6, 3.0)))
    ex = submit_train(client.catalog, model.id, wait=False)
    # Measure once the worker is really training (its start-up is not the GUI's business).
    deadline = time.monotonic() + 300
    while client.catalog.get_execution(ex.id).progress <= 0 and time.monotonic() < deadline:
        measure_stall(app, 0.2)
    if worker_nice:  # what a lower-priority worker would give (the job queue starts workers at nice 0)
        import contextlib
        with contextlib.suppress(OSError, TypeError):
            os.setpriority(os.PRIO_PROCESS, client.catalog.get_execution(ex.id).pid, worker_nice)
    busy = measure_stall(app, seconds)
    rec = client.catalog.get_execution(ex.id)
    points = len(page.charts.series)
    client.catalog.request_cancel(ex.id)
    torch_loaded = "torch" in sys.modules
    window.shutdown()
    window.close()
    while client.catalog.get_execution(ex.id).status not in ("canceled", "success", "failed", "interrupted"):
        time.sleep(0.2)
    client.catalog.close()
    return {"idle": idle, "busy": busy, "progress": rec.progress, "status": rec.status, "chart_points": points,
            "torch": torch_loaded}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of training to measure (default 60)")
    p.add_argument("--runs", type=int, default=5, help="start-ups of each kind (median; default 5)")
    p.add_argument("--home", type=Path, help="an existing catalog to copy (default: build one, ~30 s)")
    p.add_argument("--worker-nice", type=int, default=0,
                   help="renice the training worker by this much, to compare (default 0: as the job queue starts it)")
    p.add_argument("--skip-stall", action="store_true")
    p.add_argument("--skip-startup", action="store_true")
    args = p.parse_args(argv)
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = os.environ["QT_QPA_PLATFORM"] = env.get("QT_QPA_PLATFORM") or "offscreen"
    platform = env.get("QT_QPA_PLATFORM") or ("xcb" if env.get("DISPLAY") else "default")
    tmp = Path(tempfile.mkdtemp(prefix="model-desk-bench-"))
    home = tmp / "catalog"
    try:
        if args.home:
            shutil.copytree(args.home, home)
        else:
            from desktop_app.sdk import Client
            t0 = time.monotonic()
            client = Client(home=home)
            client.create_sample_project()
            client.catalog.close()
            print(f"built a demo catalog in {time.monotonic() - t0:.0f} s", flush=True)
        env["DESKTOP_APP_HOME"] = os.environ["DESKTOP_APP_HOME"] = str(home)
        print(f"platform: {platform}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs", flush=True)
        if not args.skip_startup:
            s = startup(home, args.runs, env)
            print(f"start-up to first window (median of {args.runs}): bare PySide6 {s['bare_shown']:.3f} s, "
                  f"Model Desk {s['app_shown']:.3f} s -> ratio {s['app_shown'] / s['bare_shown']:.2f}x "
                  f"(target <= 2x); catalog open and navigator filled at {s['app_ready']:.3f} s; "
                  f"torch imported in the GUI process: {s['torch']}", flush=True)
        if not args.skip_stall:
            r = stall_while_training(home, args.duration, args.worker_nice)
            i, b = r["idle"], r["busy"]
            print(f"event-loop stall, idle window: longest {i['max_ms']:.1f} ms, p99 {i['p99_ms']:.1f} ms "
                  f"({i['ticks']} ticks)", flush=True)
            nice = f" (worker at nice {args.worker_nice})" if args.worker_nice else ""
            print(f"event-loop stall while training {args.duration:.0f} s{nice}: longest {b['max_ms']:.1f} ms "
                  f"(target < 50 ms), p99 {b['p99_ms']:.1f} ms, {b['over_50ms']} ticks over 50 ms of {b['ticks']}; "
                  f"ratio to idle {b['max_ms'] / max(i['max_ms'], 0.1):.1f}x; job at {r['progress']:.0f}% "
                  f"({r['status']}), {r['chart_points']} points charted live; torch in the GUI process: "
                  f"{r['torch']}", flush=True)
        return 0
    finally:
        from desktop_app.jobs.scheduler import scheduler_running
        end = time.monotonic() + 30
        while home.exists() and scheduler_running(home) and time.monotonic() < end:
            time.sleep(0.5)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
