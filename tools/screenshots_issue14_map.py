"""Screenshot of the embedding map (issue 14): the sample shapes dataset embedded by a ResNet-18 trained 8 epochs,
coloured by label, a lasso around one cluster filtering the gallery beside it, and a point's hover card.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_issue14_map.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with the sample project; the model trains, embeds and is evaluated as jobs (some
minutes on two cores; --work keeps them for the next run), then the window opens the dataset with Dataset >
Embedding map.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

# Long enough to tell the shapes apart (two epochs from random weights are still at chance, and so is their map).
CONFIG = {"epochs": 8, "image_size": 32, "batch_size": 32, "num_workers": 0}


def log(text: str) -> None:
    print(text, flush=True)


def embedded_model(client) -> tuple:
    """A resnet trained on shapes, its feature set of every shapes item, and an evaluation on the test subset."""
    shapes = client.datasets.get("shapes")
    found = client.catalog.find_models(name="resnet-shapes")
    if found and client.catalog.list_evaluations(model_id=found[0].id):     # made by an earlier run (--work)
        return shapes, client.models.get(model_id=found[0].id)
    model = client.models.get("pretrained-resnet").clone(model_name="resnet-shapes", configuration=CONFIG,
                                                         description="ResNet-18 on 32 px shapes, eight epochs")
    t0 = time.monotonic()
    for what, run in (("train", lambda: model.train(progress=False)),
                      ("embed", lambda: model.embed_datasets([shapes.id])),
                      ("evaluate", lambda: model.evaluate(dataset_id=shapes.id, filters={"subset": "test"}))):
        ex = run()
        if ex.status != "success":
            raise RuntimeError(f"{what}: {ex.status}: {ex.error}")
        log(f"{what} done at {time.monotonic() - t0:.0f} s")
    return shapes, model


def hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of 2-D points, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(map(tuple, np.asarray(points, float).tolist()))

    def half(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) -
                                     (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out
    return np.array(half(pts)[:-1] + half(pts[::-1])[:-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    p.add_argument("--work", help="a folder kept between runs (the trained model is reused); default: a new one")
    args = p.parse_args(argv)
    from screenshots import app_and_client, open_window, prepare

    out, work = prepare(args.out, "shots-issue14-map-", args.work)
    from PySide6.QtCore import Qt

    app, client = app_and_client(work)
    client.create_sample_project()
    shapes, model = embedded_model(client)
    ctx = open_window(app, client, work, out)
    window = ctx.window
    ctx.process(1.0)
    window.main.setSizes([230, 1170])
    window.navigate("dataset", shapes.id)
    page = window.open_embedding_map()
    window.resizeDocks([window.map_dock], [720], Qt.Orientation.Horizontal)
    ctx.wait_until(lambda: len(page.map.item_ids) > 0, 120, "the map")
    page.feature_combo.setCurrentIndex(max(0, page.feature_combo.findText("resnet-shapes",
                                                                          Qt.MatchFlag.MatchStartsWith)))
    ctx.wait_until(lambda: page.data is not None and page.data.name == "resnet-shapes", 120, "the model's map")
    ctx.process(0.5)

    # A lasso around the core of the label that stands most apart: the hull of its points nearest its centre.
    m = page.map
    centres = np.array([np.median(m.xy[m.codes == k], axis=0) for k in range(len(m.names))])
    spread = np.array([np.median(np.linalg.norm(m.xy[m.codes == k] - centres[k], axis=1))
                       for k in range(len(m.names))])
    apart = [min(np.linalg.norm(centres[k] - centres[j]) for j in range(len(m.names)) if j != k) / spread[k]
             for k in range(len(m.names))]
    best = int(np.argmax(apart))
    pts = m.xy[m.codes == best]
    near = pts[np.linalg.norm(pts - centres[best], axis=1) <= np.percentile(
        np.linalg.norm(pts - centres[best], axis=1), 70)]
    lasso = centres[best] + (hull(near) - centres[best]) * 1.08
    m.box.lassoed.emit(lasso)
    dataset_page = window.pages.pages["dataset"]
    ctx.wait_until(lambda: getattr(dataset_page, "showing_only", True), 30, "the gallery filtered")
    ctx.process(1.5)

    # Hover a point inside the lasso: its card with the thumbnail.
    inside = np.flatnonzero(m.selected)
    k = int(inside[np.argmin(np.linalg.norm(m.xy[inside] - centres[best], axis=1))]) if len(inside) else 0
    m.hover(k)
    ctx.wait_until(lambda: m.card.image.pixmap() is not None and not m.card.image.pixmap().isNull(), 30,
                   "the thumbnail")
    m.hover(k)
    ctx.grab(window, "issue14-embedding-map")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
