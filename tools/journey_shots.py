"""The newcomer's journey (tests/gui/journey.py) as a script: a screenshot per step in docs/screenshots/journey-*.png.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/journey_shots.py

A fresh catalog folder (the sample project is made as on a first start), a fresh settings folder, a fresh window
INI and an empty torch hub cache; the screen is grabbed whole (no window manager: dialogs show over the window,
as the user sees them). The steps assert what the user sees, as the test does; a failed one stops the walk.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "gui"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="where the PNGs go")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="journey-"))
    os.environ["DESKTOP_APP_HOME"] = str(work / "catalog")
    os.environ["DESKTOP_APP_CONFIG"] = str(work / "config")
    os.environ["TORCH_HOME"] = str(work / "torch")     # a newcomer has no pretrained weights yet
    os.environ.setdefault("DESKTOP_APP_CPU_JOBS", "1")

    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from journey import Journey

    app = QApplication.instance() or QApplication(["model-desk"])
    window = MainWindow(SettingsStore(work / "gui-settings.ini"), jobs_interval=0.25, metrics_interval=0.25)
    window.move(0, 0)
    window.resize(1400, 900)
    window.show()

    def process(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def wait(condition, seconds: float, what: str = "") -> None:
        end = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError(f"waited {seconds:.0f} s for {what or condition}")
            process(0.05)

    n = [0]

    def shot(name: str, _widget=None) -> None:
        process(0.6)                     # layouts settle, charts redraw, pollers deliver
        n[0] += 1
        path = out / f"journey-{n[0]:02d}-{name}.png"
        QGuiApplication.primaryScreen().grabWindow(0).save(str(path), "PNG")
        print(f"wrote {path}", flush=True)

    ready: list[int] = []
    window.catalog_ready.connect(lambda: ready.append(1))
    window.open_catalog(work / "catalog")
    wait(lambda: bool(ready), 300, "the new catalog (the sample project is made)")
    shot("welcome")
    walk = Journey(window, work, wait=wait, shot=shot)
    started = time.monotonic()
    try:
        walk.walk()
    finally:
        print(f"journey took {time.monotonic() - started:.1f} s; catalog in {work}", flush=True)
        window.shutdown()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
