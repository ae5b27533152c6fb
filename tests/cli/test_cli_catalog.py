"""The command line over the catalog: listing, info, import / export round trips, bad input, no torch at start."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from desktop_app.cli.main import main
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_is_fast_and_does_not_import_torch_or_qt():
    code = ("import sys; from desktop_app.cli.main import build_parser; build_parser().format_help(); "
            "print('torch' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
    res = subprocess.run([sys.executable, "-m", "desktop_app", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "train" in res.stdout and "import" in res.stdout


def test_list_commands(client, capsys):
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "pretrained-resnet50" in out and "pre-trained" in out
    code, out, _ = run(capsys, "datasets", "--json")
    rows = json.loads(out)
    assert {r["name"]: r["items"] for r in rows} == {"shapes": 1000, "shapes-detection": 1000,
                                                         "shapes-segmentation": 1000}
    code, out, _ = run(capsys, "packages")
    assert "tinydet" in out and "fasterrcnn" in out
    code, out, _ = run(capsys, "projects", "list")
    assert "Sample project" in out
    code, out, _ = run(capsys, "info", "--model", "pretrained-resnet")
    info = json.loads(out)
    assert info["name"] == "pretrained-resnet" and info["lineage"] == ["pretrained-resnet"]
    code, out, err = run(capsys, "info", "--model", "no-such-model")
    assert code == 2 and "no model 'no-such-model'" in err


def test_clone_from_cli_validates_hyperparameters(client, capsys):
    code, out, err = run(capsys, "clone", "pretrained-resnet", "--name", "fast", "--set", "epochs=2",
                         "--set", "learning_rate=0.01")
    assert code == 0, err
    m = client.models.get("fast")
    assert m.configuration["epochs"] == 2 and m.configuration["learning_rate"] == 0.01
    assert m.parent.name == "pretrained-resnet"
    code, out, err = run(capsys, "clone", "pretrained-resnet", "--name", "bad", "--set", "epochs=-3")
    assert code == 2 and "epochs" in err and "minimum" in err
    code, out, err = run(capsys, "clone", "pretrained-resnet", "--name", "bad", "--set", "epochs=many")
    assert code == 2 and "epochs: expected an integer" in err
    assert not client.catalog.find_models(name="bad")


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc", "dataloop"])
def test_export_then_import_keeps_every_box_and_label(client, capsys, tmp_path, fmt):
    out_dir = tmp_path / f"export-{fmt}"
    code, out, err = run(capsys, "export", str(out_dir), "--format", fmt, "--dataset", "shapes-detection",
                         "--subset", "validation")
    assert code == 0, err
    code, out, err = run(capsys, "import", str(out_dir), "--format", fmt, "--dataset", f"back-{fmt}")
    assert code == 0, err
    cat = client.catalog
    src = cat.get_dataset("shapes-detection")
    dst = cat.get_dataset(f"back-{fmt}")

    def boxes(ds_id, names=None):
        items = {i.id: i.name.split("/")[-1] for i in cat.list_items(ds_id)}
        got = {}
        for a in cat.list_annotations(dataset_id=ds_id, types=["box"]):
            got.setdefault(items[a.item_id], []).append((a.label, *[round(v, 3) for v in a.box]))
        return {k: sorted(v) for k, v in got.items()}

    want = boxes(src.id)
    have = boxes(dst.id)
    n_val = cat.count_items(src.id, subset="validation")
    assert cat.count_items(dst.id) == n_val
    assert len(have) == n_val
    for name, bx in have.items():
        if fmt != "voc":
            assert bx == want[name]
            continue
        # VOC stores whole pixels (rounded outwards) and writes polygons as boxes too: every original
        # box must come back within a pixel, with its label.
        remaining = list(bx)
        for label, *coords in want[name]:
            match = next(b for b in remaining if b[0] == label and all(abs(u - v) <= 1.0 for u, v in
                                                                         zip(b[1:], coords)))
            remaining.remove(match)


def test_import_of_a_malformed_coco_file_imports_nothing(client, capsys, tmp_path):
    img = tmp_path / "images"
    img.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 20)).save(img / f"{i}.png")
    coco = {"images": [{"id": i, "file_name": f"{i}.png", "width": 20, "height": 20} for i in range(3)],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [1, 1, 5, 5]},
                            {"id": 2, "image_id": 2, "category_id": 7, "bbox": [1, 1, 5, 5]}]}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    code, out, err = run(capsys, "import", str(tmp_path / "ann.json"), "--format", "coco", "--dataset", "broken",
                         "--images", str(img))
    assert code == 2
    assert "ann.json" in err and "7" in err
    # The new dataset is created in the import's transaction: a failed import leaves none behind.
    assert not [d for d in client.catalog.list_datasets() if d.name == "broken"]


def test_import_of_a_truncated_image_names_it_and_imports_nothing(client, capsys, tmp_path):
    folder = tmp_path / "set"
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (64, 64), (i * 50, 80, 20)).save(folder / cls / f"{i}.jpg", quality=95)
    bad = folder / "b" / "1.jpg"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    code, out, err = run(capsys, "import", str(folder), "--format", "imagefolder", "--dataset", "trunc")
    assert code == 2 and "1.jpg" in err
    assert not [d for d in client.catalog.list_datasets() if d.name == "trunc"]


def test_dataset_sdk_import_and_export_round_trip(client, dl, tmp_path):
    ds = dl.datasets.get("shapes")
    test_ids = [i.id for i in ds.items.list({"subset": "test"})]
    out = ds.export(tmp_path / "coco", "coco", filters={"subset": "test"})
    back = ds.project.datasets.create("copy")
    ids = back.import_from(out, "coco")
    assert len(ids) == len(test_ids)
    cat = client.catalog
    for kind in ("box", "segment"):
        a = sorted((x.label, tuple(round(v, 6) for v in x.box)) for x in cat.list_annotations(dataset_id=back.id, types=[kind]))
        b = sorted((x.label, tuple(round(v, 6) for v in x.box)) for x in cat.list_annotations(item_ids=test_ids, types=[kind]))
        assert a == b and len(a) == len(test_ids)


def test_import_progress_and_cancel(catalog, tmp_path):
    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    items = []
    for i in range(10):
        f = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (i, 0, 0)).save(f)
        items.append(ImageEntry(source=f, name=f.name, width=8, height=8,
                                annotations=[Annotation("class", "x")]))
    seen = []
    calls = {"n": 0}

    def cancelled():
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(InterruptedError):
        catalog.import_bundle(ds.id, DatasetBundle(items=items), progress=lambda d, t: seen.append((d, t)),
                              cancelled=cancelled)
    assert catalog.count_items(ds.id) == 0 and list(catalog.store.iter_shas()) == []
    catalog.import_bundle(ds.id, DatasetBundle(items=items), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (10, 10) and catalog.count_items(ds.id) == 10


def test_export_with_one_models_predictions(client, capsys, tmp_path):
    import json

    from desktop_app.formats.base import Annotation

    cat = client.catalog
    ds = cat.get_dataset("shapes-detection")
    items = cat.list_items(ds.id, subset="test")[:5]
    model = cat.find_models(name="pretrained-tinydet")[0]
    preds = {it.id: [Annotation(type="box", label="star", coordinates=[1, 2, 30, 40], score=0.75)] for it in items}
    cat.replace_predictions(model.id, model.name, preds, ds.id)

    def scored(folder):
        doc = json.loads((folder / "annotations.json").read_text())
        return [a for a in doc["annotations"] if "score" in a]
    code, _, err = run(capsys, "export", str(tmp_path / "with"), "--dataset", "shapes-detection", "--subset", "test",
                       "--predictions", "pretrained-tinydet")
    assert code == 0, err
    got = scored(tmp_path / "with")
    assert len(got) == 5 and all(a["score"] == 0.75 for a in got)
    code, _, err = run(capsys, "export", str(tmp_path / "without"), "--dataset", "shapes-detection", "--subset", "test")
    assert code == 0 and scored(tmp_path / "without") == []
    code, _, err = run(capsys, "export", str(tmp_path / "folders"), "--format", "imagefolder", "--dataset", "shapes",
                       "--predictions", "pretrained-tinydet")
    assert code == 2 and "cannot hold predictions" in err and not (tmp_path / "folders").exists()
    code, _, err = run(capsys, "export", str(tmp_path / "x"), "--dataset", "shapes", "--predictions", "no-such-model")
    assert code == 2 and "no-such-model" in err
