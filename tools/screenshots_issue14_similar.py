"""Screenshots of find similar and the leakage report (issue 14), to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_issue14_similar.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with a 'scenes' dataset: 300 generated images (gradients and random shapes, as
tests/evaluation/test_near_duplicates.py draws them), split 70/15/15, and augmented copies of 13 train images
(cropped, flipped, colour-jittered, JPEG-recompressed), 6 of them landing in test and 3 in validation (leaks), 4 in
train. The feature set is that test's colour-layout descriptor, stored as the vectors of a model named
"colour-layout": no pretrained weights are on this machine, and a CNN with random weights put distinct images
closer than copies (measured there), so a real model's vectors would show nothing. The window code under the
pictures only sees a model's feature set. Writes issue14-find-similar.png (the gallery sorted by similarity to an
image with copies, distances as captions, the banner) and issue14-leakage.png (the duplicates dialog's Leakage tab).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))         # colour_layout: the scenes and descriptor of the near-duplicate test

from colour_layout import SIZE as SIDE, describe, make_image  # noqa: E402

N_IMAGES = 300
COPIES = {"test": 6, "validation": 3, "train": 4}   # augmented copies of train images, by the subset they land in


def augment(im, rng):
    """A copy cropped to 88-94 %, maybe flipped, colour-jittered, recompressed as a low-quality JPEG."""
    import io

    from PIL import Image, ImageEnhance, ImageOps
    w = int(SIDE * rng.uniform(0.88, 0.94))
    x0, y0 = (int(v) for v in rng.integers(0, SIDE - w + 1, 2))
    im = im.crop((x0, y0, x0 + w, y0 + w)).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        im = ImageOps.mirror(im)
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.85, 1.15))
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.8, 1.2))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(rng.integers(30, 50)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def fill(client, folder: Path) -> tuple[str, int]:
    """A 'scenes' dataset of generated images (70/15/15) with augmented copies of train images, and a model whose
    feature set holds their colour-layout vectors. Returns (dataset id, an original that has a copy)."""
    import numpy as np

    from desktop_app.catalog.feature_sets import queries
    cat = client.catalog
    project = client.projects.create("Scenes")
    ds = project.datasets.create("scenes")
    rng = np.random.default_rng(14)
    folder.mkdir(parents=True, exist_ok=True)
    images, vectors, ids = [], [], []
    subsets = rng.choice(["train", "validation", "test"], size=N_IMAGES, p=[0.7, 0.15, 0.15])
    for n in range(N_IMAGES):
        im = make_image(rng)
        path = folder / f"{n:04d}.png"
        im.save(path)
        rec = cat.add_item(ds.id, path, subset=str(subsets[n]), name=f"scenes/{n:04d}.png")
        images.append((rec, im))
        vectors.append(describe(im))
        ids.append(rec.id)
    train = [k for k in range(N_IMAGES) if subsets[k] == "train"]
    picked = rng.choice(train, size=sum(COPIES.values()), replace=False)
    k = 0
    for subset, count in COPIES.items():
        for _ in range(count):
            rec, im = images[int(picked[k])]
            copy = augment(im, rng)
            path = folder / f"copy-{k:02d}.jpg"
            copy.save(path, "JPEG", quality=95)
            new = cat.add_item(ds.id, path, subset=subset, name=f"later/{8000 + 37 * k:04d}.jpg")
            vectors.append(describe(copy))
            ids.append(new.id)
            k += 1
    model = client.packages.get(package_name="resnet").models.create(
        model_name="colour-layout", project_id=project.id, dataset_id=ds.id, labels=["scene"])
    q = queries(cat)
    q.add(model.id, ids, np.stack(vectors), weights_sha=q.weights_sha(model.id))
    return ds.id, images[int(picked[0])][0].id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    from screenshots import app_and_client, open_window, prepare

    out, work = prepare(args.out, "shots-issue14-similar-")
    app, client = app_and_client(work)
    dataset_id, query = fill(client, work / "images")
    ctx = open_window(app, client, work, out)
    window = ctx.window
    ctx.process(1.0)
    window.main.setSizes([260, 1140])
    window.navigate("dataset", dataset_id)
    page = window.pages.currentWidget()
    ctx.wait_until(lambda: page.model.settled, what="the gallery")
    page.find_similar(query)
    ctx.wait_until(lambda: page.showing_only and page.model.ids_ready, timeout=60, what="the similar items")
    first = page.model.item_ids_of([(0, 0)])[0]
    assert first == query, (first, query)
    page.open_row(0)                  # the item itself, selected
    ctx.wait_until(lambda: page.current_item() is not None and page.current_item().id == first, timeout=60,
                   what="the item in the viewer")
    page.close_viewer()               # the gallery gets the width: more neighbours and their distances in sight
    ctx.wait_until(lambda: all(page.model.row_ready(i) for i in range(*page.gallery.visible_rows)), timeout=60,
                   what="the thumbnails")
    ctx.process(1.5)
    ctx.grab(window, "issue14-find-similar")

    dlg = page.duplicates_dialog("leakage")
    dlg.resize(900, 640)
    ctx.wait_until(lambda: dlg.report is not None and not dlg._busy, timeout=60, what="the report")
    ctx.wait_until(lambda: dlg.thumbs.pending == 0, timeout=60, what="the report's thumbnails")
    if dlg.leaks.rowCount():
        dlg.leaks.selectRow(0)
    ctx.grab_over(dlg, "issue14-leakage")
    dlg.close()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
