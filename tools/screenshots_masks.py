"""Screenshot of masks in the image viewer (issue 15), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_masks.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with a 'shapes-segmentation' dataset (ml.sample_segmentation: 40 images of 1-4
shapes, one mask a shape), the window on it with an image open in the viewer. Writes masks-viewer.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shots-masks-"))
    os.environ["DESKTOP_APP_HOME"] = str(work / "catalog")
    os.environ["DESKTOP_APP_CONFIG"] = str(work / "config")

    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.gui.style import apply_style
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
    from desktop_app.sdk import Client
    from screenshots import ShotContext

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    client = Client(home=work / "catalog")
    bundle = generate_shapes_segmentation(work / "images", n=40, size=256, seed=3)
    project = client.projects.create("Segmentation")
    ds = project.datasets.create("shapes-segmentation", labels=list(bundle.labels))
    client.catalog.import_bundle(ds.id, bundle)

    window = MainWindow(SettingsStore(work / "gui.ini"), jobs_interval=0.3, metrics_interval=0.3)
    window.resize(1400, 900)
    window.use_client(client)
    window.show()
    window.jobs_action.setChecked(False)
    window.jobs.setVisible(False)
    ctx = ShotContext(app, window, client, out)
    ctx.process(1.0)
    window.main.setSizes([260, 1140])
    window.navigate("dataset", ds.id)
    page = window.pages.currentWidget()
    ctx.wait_until(lambda: page.model.settled, what="the gallery")
    page.open_row(2)
    ctx.wait_until(lambda: page.current_item() is not None and page.viewer.annotation_items(), timeout=60,
                   what="the item in the viewer")
    ctx.process(1.5)
    ctx.grab(window, "masks-viewer")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
