"""Screenshots of the dataset page (gallery + viewer) and the image viewer, on the sample "shapes-detection".

    python tools/screenshots.py --only dataset_gallery     # with the other shots (re-runs under xvfb-run)
    xvfb-run -a python tools/screenshot_dataset.py [out_dir]       # standalone, on a temporary catalog

`shot_dataset_gallery(window_or_client, out_dir)` is what tools/screenshots.py's `dataset_gallery` shot calls:
it takes the main window (anything with a `.client`, or holding a DatasetPage) or an SDK client, and writes
dataset_gallery.png and image_viewer.png. Both runs first store demo predictions (the ground truth jittered,
stored as a model named "demo: jittered ground truth") so the dashed prediction layer shows.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATASET = "shapes-detection"
PAGE_SIZE = (1440, 860)
VIEWER_SIZE = (1000, 760)
DEMO_MODEL_NAME = "demo: jittered ground truth"


def _wait(pred, timeout_s: float = 20.0) -> bool:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return True


def _client_of(window_or_client):
    if hasattr(window_or_client, "catalog") and hasattr(window_or_client, "datasets"):
        return window_or_client
    client = getattr(window_or_client, "client", None)
    if client is None:
        from desktop_app.gui.views.dataset_page import DatasetPage
        page = window_or_client.findChild(DatasetPage)
        client = page.client if page is not None else None
    if client is None:
        raise ValueError("shot_dataset_gallery needs an SDK client or a window that has one")
    return client


def _busiest_row(page, limit: int = 40) -> int:
    """A row showing several shapes (and predictions, when there are any) makes the better picture."""
    best, score = 0, -1
    for i in range(min(limit, page.model.rowCount())):
        r = page.model.row(i)
        if r is None:
            continue
        s = len({a.label for a in r.annotations}) * 10 + len(r.annotations)
        if s > score:
            best, score = i, s
    return best


def shot_dataset_gallery(window_or_client, out_dir: str | Path) -> list[Path]:
    """Render the dataset page on the sample detection set with the viewer open; returns the PNG paths."""
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.views.dataset_page import DatasetPage

    app = QApplication.instance() or QApplication([])
    client = _client_of(window_or_client)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = client.catalog.get_dataset(DATASET)

    page = DatasetPage(client)
    page.resize(*PAGE_SIZE)
    page.show()
    page.set_dataset(ds.id)
    complete = {"ok": False}
    page.gallery.painted.connect(lambda f, l, ok: complete.__setitem__("ok", ok and l > f))
    _wait(lambda: page.model.settled and bool(page.summary.subset_counts))
    _wait(lambda: complete["ok"])
    page.open_row(_busiest_row(page))
    page.splitter.setSizes([200, 640, 600])
    shown = page.current_item()
    _wait(lambda: shown is not None and page.full_images.get(shown.sha256) is not None)
    complete["ok"] = False
    page.gallery.viewport().update()
    _wait(lambda: complete["ok"])
    app.processEvents()
    paths = [out / "dataset_gallery.png", out / "image_viewer.png"]
    page.grab().save(str(paths[0]))

    page.focus_viewer(True)
    page.resize(*VIEWER_SIZE)
    app.processEvents()
    page.viewer.fit()
    app.processEvents()
    page.grab().save(str(paths[1]))
    page.shutdown()
    page.close()
    page.deleteLater()
    app.processEvents()
    return paths


def add_demo_predictions(client, n_items: int = 60, seed: int = 0) -> str:
    """Jittered copies of the ground truth on the first items, stored as predictions of a built-in model."""
    from desktop_app.formats.base import Annotation

    cat = client.catalog
    ds = cat.get_dataset(DATASET)
    model = cat.find_models(dataset_id=ds.id)[0]
    rng = random.Random(seed)
    ids = cat.item_ids(ds.id)[:n_items]
    preds: dict[int, list[Annotation]] = {}
    for a in cat.list_annotations(item_ids=ids, ground_truth=True, types=["box"]):
        if rng.random() < 0.15:
            continue   # a miss
        d = lambda: rng.uniform(-4, 4)  # noqa: E731
        l, t, r, b = a.box
        box = [max(0.0, l + d()), max(0.0, t + d()), r + d(), b + d()]
        box[2], box[3] = max(box[2], box[0] + 2), max(box[3], box[1] + 2)
        preds.setdefault(a.item_id, []).append(Annotation(type="box", label=a.label, coordinates=box,
                                                          score=round(rng.uniform(0.55, 0.99), 2)))
    cat.replace_predictions(model.id, DEMO_MODEL_NAME, preds, ds.id)
    return model.id


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    from PySide6.QtWidgets import QApplication

    from desktop_app.sdk import Client

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as home:
        client = Client(home=home)
        client.create_sample_project()
        add_demo_predictions(client)
        for p in shot_dataset_gallery(client, out_dir):
            print(p)
        client.catalog.close()
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
