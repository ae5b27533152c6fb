"""`desktop-app import` detects a folder of class-index PNGs (semantic segmentation) and imports its masks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from desktop_app.cli.main import main


def test_import_detects_a_semantic_folder(client, capsys, tmp_path):
    root = tmp_path / "sem"
    for i in range(3):
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 16), (30 * i, 90, 10)).save(root / "images" / f"{i}.jpg")
        arr = np.zeros((16, 20), np.uint8)
        arr[2:8, 3:12] = 1 + i % 2
        arr[15, :] = 255
        Image.fromarray(arr).save(root / "masks" / f"{i}.png")
    (root / "classes.txt").write_text("background\nroad\ncar\n")
    code = main(["import", str(root), "--dataset", "streets", "--project", "city", "--create-project"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "imported 3 items into city/streets" in out.out
    ds = client.projects.get("city").datasets.get("streets")
    anns = [a for it in ds.items.list() for a in it.annotations.list()]
    assert sorted(a.label for a in anns) == ["car", "road", "road"] and {a.type for a in anns} == {"binary"}


def test_the_masks_export_back_as_class_index_pngs_and_yolo_polygons(client, capsys, tmp_path):
    test_import_detects_a_semantic_folder(client, capsys, tmp_path)
    out = tmp_path / "back"
    assert main(["export", str(out), "--format", "semantic", "--dataset", "streets", "--project", "city"]) == 0
    capsys.readouterr()
    pngs = sorted(out.rglob("*.png"))
    maps = {p.stem: np.asarray(Image.open(p)) for p in pngs if p.parent.name != "images"}
    for i in range(3):                                   # the same pixels: class indices and the ignore row kept
        arr = np.zeros((16, 20), np.uint8)
        arr[2:8, 3:12] = 1 + i % 2
        arr[15, :] = 255
        assert np.array_equal(maps[str(i)], arr)
    seg = tmp_path / "seg"
    assert main(["export", str(seg), "--format", "yolo-seg", "--dataset", "streets", "--project", "city"]) == 0
    lines = [ln.split() for f in sorted(seg.rglob("*.txt")) if f.name != "classes.txt"
             for ln in f.read_text().splitlines()]
    assert len(lines) == 3 and all(len(ln) >= 7 and len(ln) % 2 == 1 for ln in lines)   # class, >= 3 points
