"""Screenshots of the label-next queue (issue 14, H4): the Label next dialog after ranking, and the queue in the
review viewer with the item's score, the model's proposals and the progress line, to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" \
        .venv/bin/python tools/screenshots_issue14_label_next.py [--out docs/screenshots]

A fresh catalog in a temp folder with the sample project. Sixty training images of 'shapes-detection' lose their
ground truth (the pool to label); a detection model's predictions on them are written directly (no inference): each
true box a little off with a made-up confidence, and now and then a spurious box, so the ranking has something to
rank. The first twelve items of the queue are then labelled as a person would (the confident proposals accepted).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

POOL = 60
LABELLED = 12


def fill(client) -> tuple[str, str]:
    """The pool and the predictions; returns (dataset id, model id)."""
    from desktop_app.domain.annotations import Annotation
    cat = client.catalog
    rnd = random.Random(14)
    ds = client.datasets.get("shapes-detection")
    model = next(m for m in cat.find_models() if m.dataset_id == ds.id and m.output_type != "class")
    ids = cat.item_ids(ds.id, subset="train")[:POOL]
    preds = {}
    for item_id in ids:
        boxes = []
        for a in cat.list_annotations(item_ids=[item_id], ground_truth=True):
            cat.delete_annotation(a.id, who="setup")
            if a.type != "box":             # each shape has a box and a polygon: one proposal per shape
                continue
            l, t, r, b = a.box
            j = lambda v: v + rnd.uniform(-2.5, 2.5)  # noqa: E731 - a little off, as a model is
            boxes.append(Annotation(type="box", label=a.label if rnd.random() > 0.15 else rnd.choice(ds.labels),
                                    coordinates=[j(l), j(t), j(r), j(b)], score=round(rnd.uniform(0.3, 0.98), 3)))
        if rnd.random() < 0.4:
            boxes.append(Annotation(type="box", label=rnd.choice(ds.labels), coordinates=[10, 10, 34, 30],
                                    score=round(rnd.uniform(0.3, 0.45), 3)))
        preds[item_id] = boxes
        cat.update_item(item_id, reviewed=0)
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    return ds.id, model.id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    from screenshots import app_and_client, open_window, prepare

    out, work = prepare(args.out, "shots-issue14-label-next-")
    app, client = app_and_client(work)
    client.create_sample_project()
    dataset_id, model_id = fill(client)
    ctx = open_window(app, client, work, out)
    window = ctx.window
    ctx.process(1.0)
    window.main.setSizes([260, 1140])

    window.navigate("dataset", dataset_id)
    ctx.process(0.5)
    dlg = window.open_label_next_dialog()
    dlg.model.setCurrentIndex(dlg.model.findData(model_id))
    dlg.k.setValue(50)
    specs: list = []
    dlg.ranked.connect(specs.append)
    dlg.rank()
    ctx.wait_until(lambda: bool(specs), 60, "the ranking")
    ctx.grab_over(dlg, "issue14-label-next-dialog")
    dlg.ok.click()
    page = window.pages.currentWidget()
    panel = page.panel
    for _ in range(LABELLED):                   # a person at work: the confident proposals accepted, then Done
        viewer = panel.viewers[0]
        for drawn in viewer.boxes("pred"):
            if (drawn.annotation.score or 0) >= 0.6:
                viewer.select_annotation(drawn.annotation.id)
                panel.accept_selected()
        page.done()
    while len(panel.viewers[0].boxes("pred")) < 3 and panel.pos < len(panel.item_ids) - 1:
        page.skip()                             # on screen: an image with a few shapes
    ctx.process(0.5)
    viewer = panel.viewers[0]
    proposals = sorted(viewer.boxes("pred"), key=lambda d: -(d.annotation.score or 0))
    if proposals:                               # one accepted on the item on screen, one selected to accept next
        viewer.select_annotation(proposals[0].annotation.id)
        panel.accept_selected()
        if len(proposals) > 1:
            viewer.select_annotation(proposals[1].annotation.id)
    ctx.wait_until(lambda: panel.images.get(client.catalog.get_item(panel.current_item_id).sha256) is not None, 30,
                   "the image")
    viewer.fit()
    ctx.grab(window, "issue14-label-next")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
