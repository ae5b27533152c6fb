"""Screenshot of the review of an instance segmentation evaluation (issue 15), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_mask_review.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with a generated shapes-segmentation set (masks) and an instance segmentation
model whose stored predictions are the ground truth perturbed (tests/gui/mask_eval_fixtures.py: shifted, missed,
confused, spurious), scored by the evaluation core (COCO segm). The evaluation page shows the images with
mistakes; the one with the most kinds of them opens in the review viewer: TP, FP and FN masks in their colours,
a false positive selected. Writes masks-review.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "gui"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    from screenshots import app_and_client, open_window, prepare

    out, work = prepare(args.out, "shots-mask-review-")
    import mask_eval_fixtures as mf

    from desktop_app.evaluation.review import InstanceFilter
    app, client = app_and_client(work)
    project, ds = mf.dataset(client, work, n=40, name="shapes-segmentation", size=256)
    _, ev = mf.instance_evaluation(client, project, ds, name="tinyinst-shapes", miss=0.25, confuse=0.15)
    ctx = open_window(app, client, work, out)
    window = ctx.window
    window.refresh_tree()
    ctx.process(1.0)
    window.main.setSizes([240, 1160])

    window.navigate("evaluation", ev.id)
    page = window.pages.pages["evaluation"]
    ctx.wait_until(lambda: page.session is not None and page.view.id == ev.id, 120, "the evaluation")
    page.split.setSizes([420, 980])
    page.show_filter(InstanceFilter(kinds=("fp", "fn"), sort="most_wrong"), "images")
    m = page.gallery.model
    t = m.table

    def kinds_on(row: int) -> tuple[int, int]:
        rows = m.rows_of_item(m.item_id_at(row))
        return len({int(k) for k in t.kind[rows]}), len(rows)
    busiest = max(range(min(m.rowCount(), 40)), key=kinds_on)       # an image with TP, FP and FN masks
    page.open_row(busiest)
    review = page.review
    ctx.wait_until(lambda: review.images.get(client.catalog.get_item(review.current_item_id).sha256) is not None,
                   30, "the image")
    viewer = review.viewers[0]
    fp = [rec for rec, kind, _ in viewer.masks() if kind == "fp"]
    if fp:
        viewer.select_annotation(fp[0].id)
    ctx.process(1.0)
    ctx.grab(window, "masks-review")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
