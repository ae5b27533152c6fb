"""Catalog bulk import vs raw sqlite3.executemany of the same rows, and the label/confidence query time.

Generates a COCO set (default 5,000 images, 500,000 annotations with scores), then in one run:
  A. raw: sqlite3.executemany of the prepared annotation rows into the same schema, one transaction;
  B. Model Desk: catalog.import_bundle of the parsed set (items + annotations, one transaction);
  C. Model Desk end to end: read_coco (parse + validate) + import_bundle.
Prints rows/s of each, the ratio B / A (aim >= 0.7), and the median time of the query
"items with an annotation of label X above confidence Y" (aim < 50 ms).

    python bench/catalog_import.py [--images 5000] [--per-image 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.catalog import Catalog  # noqa: E402
from desktop_app.catalog.data import _ANN_INSERT, _ITEM_INSERT  # noqa: E402
from desktop_app.catalog.db import now_iso  # noqa: E402
from desktop_app.formats.coco import read_coco  # noqa: E402

LABELS = [f"class_{i:02d}" for i in range(80)]


def make_coco(root: Path, n_images: int, per_image: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    img_dir = root / "images"
    img_dir.mkdir(parents=True)
    # One tiny shared PNG: the benchmark is about rows, not pixels.
    from PIL import Image
    tiny = img_dir / "_tiny.png"
    Image.new("RGB", (640, 480), (90, 90, 90)).save(tiny)
    data = tiny.read_bytes()
    images, anns = [], []
    aid = 1
    for i in range(n_images):
        name = f"{i:06d}.png"
        (img_dir / name).write_bytes(data + i.to_bytes(4, "little"))  # distinct content, valid PNG prefix
        images.append({"id": i + 1, "file_name": name, "width": 640, "height": 480})
        for _ in range(per_image):
            x, y = rng.uniform(0, 600), rng.uniform(0, 440)
            w, h = rng.uniform(2, 640 - x), rng.uniform(2, 480 - y)
            anns.append({"id": aid, "image_id": i + 1, "category_id": rng.randrange(80) + 1,
                         "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)], "area": w * h,
                         "iscrowd": 0, "score": round(rng.random(), 4)})
            aid += 1
    tiny.unlink()
    doc = {"images": images, "annotations": anns,
           "categories": [{"id": i + 1, "name": n} for i, n in enumerate(LABELS)]}
    path = root / "annotations.json"
    path.write_text(json.dumps(doc))
    return path


def raw_insert(db_path: Path, bundle, dataset_id: str) -> float:
    """The peer: prepared tuples, one executemany per table, one transaction, same schema and indexes."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    now = now_iso()
    item_rows = [(k + 1, dataset_id, it.name, None, "image/png", it.width, it.height, None, now, now, "{}")
                 for k, it in enumerate(bundle.items)]
    ann_rows = []
    for k, it in enumerate(bundle.items):
        for a in it.annotations:
            l, t, r, b = a.coordinates
            ann_rows.append((None, k + 1, dataset_id, a.type, a.label, l, t, r, b, None, "{}", None, None,
                             a.score, 0, (r - l) * (b - t), "{}", "raw", now, now))
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(_ITEM_INSERT, item_rows)
    conn.executemany(_ANN_INSERT, ann_rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def fresh_catalog(root: Path, name: str) -> tuple[Catalog, str]:
    cat = Catalog(root / name)
    p = cat.create_project("bench")
    ds = cat.create_dataset(p.id, "coco", labels=LABELS)
    return cat, ds.id


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--per-image", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="md-bench-import-"))
    try:
        t0 = time.perf_counter()
        coco = make_coco(work / "set", args.images, args.per_image)
        print(f"generated {args.images} images, {args.images * args.per_image} annotations "
              f"in {time.perf_counter() - t0:.1f} s")
        bundle = read_coco(coco, check_images=False)
        # Scores ride along as predictions of one model, so the confidence query has data.
        for it in bundle.items:
            for a in it.annotations:
                a.score = a.metadata.pop("score", a.score)
        n_rows = sum(len(it.annotations) for it in bundle.items) + len(bundle.items)
        raw_t, ours_t, e2e_t = [], [], []
        for r in range(args.repeats):
            cat, ds_id = fresh_catalog(work, f"raw{r}")
            raw_t.append(raw_insert(cat._db.path, bundle, ds_id))
            cat.close()
            cat, ds_id = fresh_catalog(work, f"ours{r}")
            t = time.perf_counter()
            cat._insert_items(ds_id, bundle, [(None, 0)] * len(bundle.items), "bench")
            ours_t.append(time.perf_counter() - t)
            cat.close()
            cat, ds_id = fresh_catalog(work, f"e2e{r}")
            t = time.perf_counter()
            b2 = read_coco(coco, check_images=False)
            cat.import_bundle(ds_id, b2)
            e2e_t.append(time.perf_counter() - t)
            if r < args.repeats - 1:
                cat.close()
        raw_med, ours_med, e2e_med = (statistics.median(x) for x in (raw_t, ours_t, e2e_t))
        print(f"rows (items + annotations): {n_rows}")
        print(f"raw sqlite3.executemany          : {n_rows / raw_med:>12,.0f} rows/s  (median {raw_med:.2f} s)")
        print(f"Model Desk catalog insert        : {n_rows / ours_med:>12,.0f} rows/s  (median {ours_med:.2f} s)")
        print(f"ratio Model Desk / raw           : {raw_med / ours_med:.2f}  (aim >= 0.70)")
        print(f"end to end (parse+validate+copy+insert): {n_rows / e2e_med:>8,.0f} rows/s  (median {e2e_med:.2f} s)")

        # The query, against the last end-to-end catalog.
        times = []
        rng = random.Random(1)
        for _ in range(21):
            label, conf = rng.choice(LABELS), rng.uniform(0.5, 0.99)
            t = time.perf_counter()
            ids = cat.items_with_label_above(ds_id, label, conf)
            times.append(time.perf_counter() - t)
        total = cat._db.scalar("SELECT COUNT(*) FROM annotations")
        print(f"query 'items with label X above confidence Y' over {total:,} annotations: "
              f"median {statistics.median(times) * 1000:.1f} ms (aim < 50 ms; last hit {len(ids)} items)")
        cat.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
