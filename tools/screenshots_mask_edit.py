"""Screenshots of fixing masks and polygons in place in the review (issue 15), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_mask_edit.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with two 'shapes-segmentation' datasets (ml.sample_segmentation: masks, and the
same shapes as polygons), the review panel on an image of each in Edit mask mode. Writes masks-edit-brush.png (a
brush stroke under way: the disc cursor, the pixels painted so far) and masks-edit-vertices.png (a polygon with its
vertex handles, one vertex being dragged).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


def _dataset(client, project, work: Path, form: str):
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
    bundle = generate_shapes_segmentation(work / f"images-{form}", n=12, size=256, seed=3, form=form)
    ds = project.datasets.create(f"shapes-{form}", labels=list(bundle.labels))
    client.catalog.import_bundle(ds.id, bundle)
    return client.catalog.list_items(dataset_id=ds.id)


def _panel(ctx, client, item_id: int):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from desktop_app.gui.views.review_page import ReviewPanel
    win = QWidget()
    win.setWindowTitle("Model Desk: review")
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    panel = ReviewPanel(client)
    panel.close_button.hide()
    QVBoxLayout(win).addWidget(panel)
    win.resize(1100, 760)
    win.show()
    panel.set_items([item_id])
    ctx.wait_until(lambda: panel.images.get(client.catalog.get_item(item_id).sha256) is not None, timeout=30,
                   what="the image")
    panel.show_index(0)
    ctx.process(0.5)
    return win, panel


def brush_shot(ctx, client, items) -> Path:
    from desktop_app.domain import masks
    item = max(items, key=lambda it: len(client.catalog.list_annotations(item_ids=[it.id], types=["binary"])))
    win, panel = _panel(ctx, client, item.id)
    recs = client.catalog.list_annotations(item_ids=[item.id], ground_truth=True, types=["binary"])
    rec = max(recs, key=lambda r: masks.area(r.coordinates))
    viewer = panel.viewers[0]
    viewer.select_annotation(rec.id)
    panel.set_edit_mode(True)
    ed = panel.editor
    ed.set_radius(9)
    l, t, r, b = rec.box
    # a stroke from the shape's middle out towards the image's, past its edge, the disc still down at its end
    cx, cy = (l + r) / 2, (t + b) / 2
    w, h = viewer.image_size
    dx, dy = w / 2 - cx, h / 2 - cy
    n = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    dx, dy = (dx / n, dy / n) if n > 8 else (1.0, 0.3)
    length = max(r - l, b - t) / 2 + 45
    ed.begin_stroke(cx, cy)
    for k in range(1, 13):
        x, y = cx + dx * length * k / 12, cy + dy * length * k / 12 + 6 * (k / 12) ** 2
        ed.stroke_to(x, y)
    ed.cursor.setPos(x, y)
    ed.cursor.setVisible(True)
    path = ctx.grab(win, "masks-edit-brush")
    ed.end_stroke()
    win.close()
    panel.shutdown()
    return path


def vertices_shot(ctx, client, items) -> Path:
    item = max(items, key=lambda it: len(client.catalog.list_annotations(item_ids=[it.id], types=["segment"])))
    win, panel = _panel(ctx, client, item.id)
    recs = client.catalog.list_annotations(item_ids=[item.id], ground_truth=True, types=["segment"])
    rec = min(recs, key=lambda r: (r.label != "star", -len(r.coordinates[0])))     # a star: few, sharp vertices
    panel.viewers[0].select_annotation(rec.id)
    panel.set_edit_mode(True)
    ed = panel.editor
    if ed.target is None or ed.target.id != rec.id:
        ed.set_target(rec)
    ring = ed.rings[0]
    j = max(range(len(ring)), key=lambda i: ring[i][0])          # the rightmost vertex, pulled out a little
    x, y = ring[j]
    ed.overlay.selected = (0, j)
    ed._drag = (0, j)
    ed._drag_rings = [[list(p) for p in r] for r in ed.rings]
    ed._move(min(x + 12, 255), y - 8)
    path = ctx.grab(win, "masks-edit-vertices")
    win.close()
    panel.shutdown()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    from screenshots import ShotContext, app_and_client, prepare

    out, work = prepare(args.out, "shots-mask-edit-")
    app, client = app_and_client(work)
    project = client.projects.create("Segmentation")
    ctx = ShotContext(app, None, client, out)
    brush_shot(ctx, client, _dataset(client, project, work, "mask"))
    vertices_shot(ctx, client, _dataset(client, project, work, "polygon"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
