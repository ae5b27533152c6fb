"""Screenshot of masks in the image viewer (issue 15), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_masks.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with a 'shapes-segmentation' dataset (ml.sample_segmentation: 40 images of 1-4
shapes, one mask a shape), the window on it with an image open in the viewer. Writes masks-viewer.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    from screenshots import app_and_client, open_window, prepare

    out, work = prepare(args.out, "shots-masks-")
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
    app, client = app_and_client(work)
    bundle = generate_shapes_segmentation(work / "images", n=40, size=256, seed=3)
    project = client.projects.create("Segmentation")
    ds = project.datasets.create("shapes-segmentation", labels=list(bundle.labels))
    client.catalog.import_bundle(ds.id, bundle)
    ctx = open_window(app, client, work, out)
    window = ctx.window
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
