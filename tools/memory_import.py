"""Peak memory of importing big-but-legal and bomb-like datasets, each beside the budget the README states.

    python tools/memory_import.py [--cases bomb_png,big_jpeg,...] [--src PATH] [--json]

Each case writes its input into a temporary folder, then imports it with the SDK (dataset.import_from) into a
fresh temporary catalog in a child process, which reports its own peak resident set (VmHWM from
/proc/self/status; ru_maxrss where there is no /proc). The figure printed is the growth over the child's
peak just before the import (Python, numpy, Pillow and the catalog loaded), beside the case's budget; the
script exits 1 when a case is over its budget or its import failed unexpectedly.

``--src`` imports desktop_app from another checkout (a worktree of an older commit) to measure "before".
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20

# The README's "Limits" paragraph states these (growth of the importing process's peak resident set, MB).
BUDGETS_MB = {
    "tiny": 32,             # one 16 x 16 PNG: the import's own fixed cost
    "bomb_png": 64,         # 14000 x 14000 zeros, a 572 KB PNG: streamed, never decoded whole
    "big_jpeg": 64,         # 12000 x 12000 baseline JPEG: decoded at 1/8 scale
    "big_tiff": 200,        # 6000 x 6000 TIFF (36 MP, under the 40 MP full-decode limit): ~4 bytes a pixel
    "mask_png": 320,        # a Dataloop item of 6000 x 6000 with one full-size mask PNG: ~8 bytes a pixel
    "coco_100mb": 800,      # a 100 MB COCO instances file (250,000 boxes and polygons): parse, bundle, insert
}


def _png_zeros(path: Path, w: int, h: int) -> None:
    """An RGB PNG of w x h zeros, written row by row (the script itself never holds the image)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    comp = zlib.compressobj(9)
    row = bytes(1 + 3 * w)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        for _ in range(h):
            data = comp.compress(row)
            if data:
                f.write(chunk(b"IDAT", data))
        f.write(chunk(b"IDAT", comp.flush()) + chunk(b"IEND", b""))


def make_tiny(tmp: Path) -> tuple[Path, str]:
    from PIL import Image
    (tmp / "set" / "cat").mkdir(parents=True)
    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp / "set" / "cat" / "a.png")
    return tmp / "set", "imagefolder"


def make_bomb_png(tmp: Path) -> tuple[Path, str]:
    (tmp / "set" / "flat").mkdir(parents=True)
    _png_zeros(tmp / "set" / "flat" / "zeros.png", 14000, 14000)
    return tmp / "set", "imagefolder"


def make_big_jpeg(tmp: Path) -> tuple[Path, str]:
    from PIL import Image
    (tmp / "set" / "big").mkdir(parents=True)
    Image.linear_gradient("L").resize((12000, 12000)).convert("RGB").save(tmp / "set" / "big" / "g.jpg",
                                                                          quality=70)
    return tmp / "set", "imagefolder"


def make_big_tiff(tmp: Path) -> tuple[Path, str]:
    from PIL import Image
    (tmp / "set" / "big").mkdir(parents=True)
    Image.linear_gradient("L").resize((6000, 6000)).convert("RGB").save(tmp / "set" / "big" / "g.tif",
                                                                        compression="tiff_deflate")
    return tmp / "set", "imagefolder"


def make_mask_png(tmp: Path) -> tuple[Path, str]:
    from PIL import Image, ImageDraw
    w = h = 6000
    root = tmp / "set"
    (root / "items").mkdir(parents=True)
    (root / "json").mkdir()
    Image.new("RGB", (w, h)).save(root / "items" / "a.png")
    mask = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(mask).ellipse([500, 500, 5500, 5000], fill=(255, 0, 0, 255))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    del mask
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    doc = {"filename": "/a.png", "metadata": {"system": {"width": w, "height": h}},
           "annotations": [{"type": "binary", "label": "blob", "coordinates": uri}]}
    (root / "json" / "a.png.json").write_text(json.dumps(doc))
    return root, "dataloop"


def make_coco_100mb(tmp: Path) -> tuple[Path, str]:
    import random

    from PIL import Image
    root = tmp / "set"
    (root / "images").mkdir(parents=True)
    n_images = 50
    for i in range(n_images):
        Image.new("RGB", (640, 480), (i, i, i)).save(root / "images" / f"{i}.png")
    rng = random.Random(0)
    images = [{"id": i, "file_name": f"{i}.png", "width": 640, "height": 480} for i in range(n_images)]
    cats = [{"id": k, "name": f"class{k}"} for k in range(1, 81)]
    parts, size, k = [], 0, 0
    while size < 100 * MB:
        x, y = round(rng.uniform(0, 500), 2), round(rng.uniform(0, 350), 2)
        w, h = round(rng.uniform(5, 130), 2), round(rng.uniform(5, 120), 2)
        ann = {"id": k, "image_id": k % n_images, "category_id": 1 + k % 80, "bbox": [x, y, w, h],
               "area": round(w * h, 2), "iscrowd": 0,
               "segmentation": [[x, y, x + w, y, x + w, y + h, round(x + w / 2, 2), y + h, x, y + h]]}
        text = json.dumps(ann)
        parts.append(text)
        size += len(text) + 1
        k += 1
    (root / "annotations.json").write_text(
        '{"images": ' + json.dumps(images) + ', "categories": ' + json.dumps(cats) + ', "annotations": ['
        + ",".join(parts) + "]}")
    return root, "coco"


CASES = {"tiny": make_tiny, "bomb_png": make_bomb_png, "big_jpeg": make_big_jpeg, "big_tiff": make_big_tiff,
         "mask_png": make_mask_png, "coco_100mb": make_coco_100mb}

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])

def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from desktop_app.sdk.client import Client
from desktop_app.errors import UserError
client = Client(home=sys.argv[2], bootstrap=False)
project = client.projects.get(client.catalog.create_project("memory").id)
ds = project.datasets.create("big")
import desktop_app.formats, desktop_app.formats.io, PIL.Image, numpy  # everything the import uses, loaded
before = peak_mb()
t0 = time.perf_counter()
try:
    ids = ds.import_from(sys.argv[3], sys.argv[4])
    outcome = f"imported {len(ids)} items"
except UserError as e:
    outcome = f"refused: {e}"
print(json.dumps({"before_mb": before, "peak_mb": peak_mb(), "seconds": time.perf_counter() - t0,
                  "outcome": outcome, "desktop_app": os.path.dirname(__import__("desktop_app").__file__)}))
"""


def measure(case: str, src: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"memory-import-{case}-") as tmp:
        tmp = Path(tmp)
        path, fmt = CASES[case](tmp)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        proc = subprocess.run([sys.executable, "-c", CHILD, str(src), str(tmp / "catalog"), str(path), fmt],
                              capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"case": case, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:], "input_mb": size / MB}
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = r["peak_mb"] - r["before_mb"]
    return {"case": case, "input_mb": round(size / MB, 2), "growth_mb": round(growth, 1),
            "budget_mb": BUDGETS_MB[case], "within": growth <= BUDGETS_MB[case], "seconds": round(r["seconds"], 1),
            "outcome": r["outcome"][:160], "peak_mb": round(r["peak_mb"], 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    ap.add_argument("--src", type=Path, default=ROOT, help="the checkout whose desktop_app is measured")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    results = []
    for case in a.cases.split(","):
        t0 = time.perf_counter()
        r = measure(case.strip(), a.src)
        results.append(r)
        if not a.json:
            if "error" in r:
                print(f"{case:11} input {r['input_mb']:7.2f} MB  FAILED: {r['error']}")
            else:
                print(f"{case:11} input {r['input_mb']:7.2f} MB  peak +{r['growth_mb']:7.1f} MB (budget "
                      f"{r['budget_mb']} MB{'' if r['within'] else ', OVER'}; process peak {r['peak_mb']:.0f} MB)  "
                      f"import {r['seconds']} s  "
                      f"[{r['outcome']}]  ({time.perf_counter() - t0:.0f} s with setup)")
            sys.stdout.flush()
    if a.json:
        print(json.dumps(results, indent=1))
    return 0 if all(r.get("within") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
