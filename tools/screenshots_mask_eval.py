"""Screenshots of segmentation evaluations (issue 15), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_mask_eval.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with a generated shapes-segmentation set (masks), an instance segmentation model
and a semantic one whose stored predictions are the ground truth perturbed (tests/gui/mask_eval_fixtures.py),
both scored by the evaluation core. Writes masks-eval-instance.png (the COCO segm evaluation page: mask AP, mask
IoU slider, the mistakes' crops) and masks-eval-semantic.png (the semantic evaluation page: mIoU, per-class IoU,
the pixel confusion matrix as row shares, the images worst first).
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

    out, work = prepare(args.out, "shots-mask-eval-")
    import mask_eval_fixtures as mf
    app, client = app_and_client(work)
    project, ds = mf.dataset(client, work, n=60, name="shapes-segmentation", size=160)
    _, inst = mf.instance_evaluation(client, project, ds, name="tinyinst-shapes")
    _, sem = mf.semantic_evaluation(client, project, ds, name="tinyseg-shapes")
    ctx = open_window(app, client, work, out)
    window = ctx.window
    window.refresh_tree()
    ctx.process(1.0)
    window.main.setSizes([240, 1160])

    window.navigate("evaluation", inst.id)
    page = window.pages.pages["evaluation"]
    ctx.wait_until(lambda: page.session is not None and page.view.id == inst.id, 120, "the instance evaluation")
    g, m = page.gallery.gallery, page.gallery.model
    ctx.process(0.5)
    ctx.wait_until(lambda: all(m.row_ready(i) for i in range(g.visible_rows[0], g.visible_rows[1] + 1)), 60,
                   "the gallery's crops")
    g.viewport().update()
    ctx.grab(window, "masks-eval-instance")

    window.navigate("evaluation", sem.id)
    ctx.wait_until(lambda: page.view is not None and page.view.id == sem.id and page.worst.table.rowCount() > 0,
                   120, "the semantic evaluation")
    page.figures.setCurrentWidget(page.confusion)
    ctx.process(1.0)
    ctx.grab(window, "masks-eval-semantic")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
