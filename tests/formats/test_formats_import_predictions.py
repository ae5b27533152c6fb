"""Predictions made elsewhere (COCO results, YOLO txt, Dataloop JSON) import as a model's predictions, never as
ground truth: image ids through a ground-truth file, COCO ids or names; re-importing replaces; a bad entry names
its file and place and nothing is written; plain import refuses a file of scored annotations."""

from __future__ import annotations

import json
import math

import pytest

from desktop_app.errors import FormatError, UserError
from desktop_app.formats import read_coco
from desktop_app.formats.predictions import import_predictions

TEST = {"subset": "test"}


@pytest.fixture
def setup(client, tmp_path):
    """shapes-detection's first 6 test items exported as COCO ground truth, and pretrained-tinydet (no weights)."""
    cat = client.catalog
    ds = client.datasets.get("shapes-detection")
    model = client.models.get("pretrained-tinydet")
    items = cat.list_items(ds.id, subset="test")[:6]
    gt_dir = ds.export(tmp_path / "gt", "coco", filters={"ids": [it.id for it in items]})
    gt = json.loads((gt_dir / "annotations.json").read_text())
    return cat, ds, model, items, gt_dir / "annotations.json", gt


def _boxes(cat, item):
    return [a for a in cat.list_annotations(item_ids=[item.id], ground_truth=True) if a.type == "box"]


def _results(cat, gt, items, *, image_id=None):
    """One result per ground-truth box of each item, shifted by a pixel, scores 0.9, 0.8, ..."""
    ids = {im["file_name"]: im["id"] for im in gt["images"]}
    cats = {c["name"]: c["id"] for c in gt["categories"]}
    rows = []
    for it in items:
        for k, a in enumerate(_boxes(cat, it)):
            rows.append({"image_id": image_id(it) if image_id else ids[it.name], "category_id": cats[a.label],
                         "bbox": [a.left + 1, a.top, a.right - a.left - 1, a.bottom - a.top],
                         "score": round(0.9 - 0.1 * k, 2)})
    return rows


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path


def _stored(cat, model, ds):
    return cat.list_annotations(dataset_id=ds.id, model_id=model.id)


def test_coco_results_through_the_ground_truth_file_become_the_models_predictions(setup, tmp_path):
    cat, ds, model, items, gt_path, gt = setup
    n_gt = len(cat.list_annotations(dataset_id=ds.id, ground_truth=True))
    rows = _results(cat, gt, items)
    out = import_predictions(cat, model.id, _write(tmp_path / "res.json", rows), dataset_id=ds.id, images=gt_path)
    assert out["format"] == "coco" and out["items"] == 6 and out["predictions"] == len(rows) and out["replaced"] == 0
    stored = _stored(cat, model, ds)
    assert len(stored) == len(rows)
    assert all(a.model_id == model.id and a.model_name == model.name and a.type == "box" for a in stored)
    assert sorted(a.score for a in stored) == sorted(r["score"] for r in rows)
    first = rows[0]
    item = next(it for it in items if it.name == next(im["file_name"] for im in gt["images"]
                                                       if im["id"] == first["image_id"]))
    x, y, w, h = first["bbox"]
    assert any(a.item_id == item.id and [a.left, a.top, a.right, a.bottom] == pytest.approx([x, y, x + w, y + h])
               for a in stored)
    # never ground truth: the ground truth is as it was
    assert len(cat.list_annotations(dataset_id=ds.id, ground_truth=True)) == n_gt

    # Importing again replaces the model's predictions on those items: no duplicates.
    again = import_predictions(cat, model.id, tmp_path / "res.json", dataset_id=ds.id, images=gt_path)
    assert again["replaced"] == len(rows) and len(_stored(cat, model, ds)) == len(rows)
    # A file covering two of the items replaces only theirs.
    two = [r for r in rows if r["image_id"] in {im["id"] for im in gt["images"][:2]}]
    two_gt = dict(gt, images=gt["images"][:2])
    import_predictions(cat, model.id, _write(tmp_path / "two.json", two[:1]), dataset_id=ds.id,
                       images=_write(tmp_path / "two_gt.json", two_gt))
    assert len(_stored(cat, model, ds)) == len(rows) - len(two) + 1


def test_coco_results_by_item_name_and_stem(setup, tmp_path):
    cat, ds, model, items, _, gt = setup
    by_name = _results(cat, gt, items[:3], image_id=lambda it: it.name)
    by_stem = _results(cat, gt, items[3:], image_id=lambda it: it.name.rsplit(".", 1)[0])
    out = import_predictions(cat, model.id, _write(tmp_path / "res.json", by_name + by_stem), dataset_id=ds.id)
    assert out["items"] == 6 and out["predictions"] == len(by_name) + len(by_stem)
    assert {a.item_id for a in _stored(cat, model, ds)} == {it.id for it in items}


def test_coco_results_by_the_items_own_coco_ids(setup, client, tmp_path):
    """A dataset imported from COCO keeps each image's id: results of the same set name them."""
    cat, ds, model, items, gt_path, gt = setup
    copy = client.projects.get("Sample project").datasets.create("copy")
    copy.import_from(gt_path.parent, "coco")
    rows = _results(cat, gt, items)
    out = import_predictions(cat, model.id, _write(tmp_path / "res.json", rows), dataset_id=copy.id)
    assert out["items"] == 6 and out["predictions"] == len(rows)
    names = {it.id: it.name for it in cat.list_items(copy.id)}
    want = {im["id"]: im["file_name"] for im in gt["images"]}
    stored = _stored(cat, model, copy)
    assert sorted(names[a.item_id] for a in stored) == sorted(want[r["image_id"]] for r in rows)


def test_yolo_prediction_files(setup, tmp_path):
    cat, ds, model, items, _, _ = setup
    folder = tmp_path / "yolo" / "labels"
    folder.mkdir(parents=True)
    index = {lab: i for i, lab in enumerate(model.labels)}      # no classes.txt: the model's labels in order
    want = []
    for it in items[:4]:
        lines = []
        for a in _boxes(cat, it):
            cx, cy = (a.left + a.right) / 2 / it.width, (a.top + a.bottom) / 2 / it.height
            bw, bh = (a.right - a.left) / it.width, (a.bottom - a.top) / it.height
            lines.append(f"{index[a.label]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f} 0.75")
            want.append((it.id, a.label, round(a.left, 2), round(a.top, 2)))
        (folder / (it.name.rsplit(".", 1)[0] + ".txt")).write_text("\n".join(lines) + "\n")
    (folder / (items[4].name.rsplit(".", 1)[0] + ".txt")).write_text("")   # predicted nothing there
    out = import_predictions(cat, model.id, tmp_path / "yolo", dataset_id=ds.id)
    assert out["format"] == "yolo" and out["items"] == 5 and out["predictions"] == len(want)
    got = sorted((a.item_id, a.label, round(a.left, 2), round(a.top, 2)) for a in _stored(cat, model, ds))
    assert got == sorted(want)
    assert all(a.score == 0.75 for a in _stored(cat, model, ds))
    # classes.txt beside them names the classes, and --label-map maps a name the model does not know.
    (folder / "classes.txt").write_text("ring\nsquare\ntriangle\nstar\n")
    with pytest.raises(FormatError, match=r"'ring' \(\d+ predictions?\)"):
        import_predictions(cat, model.id, tmp_path / "yolo", dataset_id=ds.id)
    out = import_predictions(cat, model.id, tmp_path / "yolo", dataset_id=ds.id, label_map={"ring": "circle"})
    assert out["predictions"] == len(want)


def test_dataloop_prediction_json(setup, tmp_path):
    cat, ds, model, items, _, _ = setup
    folder = tmp_path / "dl" / "json"
    folder.mkdir(parents=True)
    n = 0
    for it in items[:3]:
        anns = []
        for a in _boxes(cat, it):
            box = [{"x": a.left, "y": a.top, "z": 0}, {"x": a.right, "y": a.bottom, "z": 0}]
            anns.append({"type": "box", "label": a.label, "coordinates": box,
                         "metadata": {"user": {"model": {"name": "yolo-ext", "confidence": 0.6}}}})
            anns.append({"type": "box", "label": a.label, "coordinates": box})    # ground truth beside them
            n += 1
        _write(folder / f"{it.name}.json", {"filename": "/" + it.name, "annotations": anns})
    out = import_predictions(cat, model.id, tmp_path / "dl", dataset_id=ds.id)
    assert out["format"] == "dataloop" and out["items"] == 3 and out["predictions"] == n and out["skipped"] == n
    stored = _stored(cat, model, ds)
    assert len(stored) == n and all(a.score == 0.6 and a.model_name == model.name for a in stored)


BAD = {
    "missing score": (lambda r: r[1].pop("score"), r"result #1: missing score"),
    "NaN score": (lambda r: r[2].update(score=math.nan), r"result #2: score must be a finite number, got nan"),
    "unknown image": (lambda r: r[0].update(image_id=999), r"result #0: unknown image: image_id 999"),
    "unknown label": (lambda r: r[3].update(category_id=77), r"labels that are not model 'pretrained-tinydet'"
                      r"'s labels \(circle, square, triangle, star\): category_id 77 \(1 prediction\)"),
    "bad bbox": (lambda r: r[1].update(bbox=[10, 10, -5, 4]), r"result #1: bbox \[10, 10, -5, 4\] has a negative"),
    "short bbox": (lambda r: r[1].update(bbox=[10, 10, 5]), r"result #1: bbox must be \[x, y, w, h\]"),
    "duplicate": (lambda r: r.append(dict(r[0])), r"result #\d+: duplicate prediction: the same box .* as result #0"),
    "score above 1": (lambda r: r[0].update(score=3.5), r"result #0: score 3.5 is outside \[0, 1\]"),
}


def test_a_bad_results_file_names_the_place_and_writes_nothing(setup, tmp_path):
    cat, ds, model, items, gt_path, gt = setup
    before = len(cat.list_annotations(dataset_id=ds.id))
    for case, (change, message) in BAD.items():           # one catalog for all: each case must write nothing
        rows = _results(cat, gt, items)
        change(rows)
        path = _write(tmp_path / f"{case}.json", rows)
        with pytest.raises(FormatError, match=message) as e:
            import_predictions(cat, model.id, path, dataset_id=ds.id, images=gt_path)
        assert str(path) in str(e.value), case
        assert len(cat.list_annotations(dataset_id=ds.id)) == before and not _stored(cat, model, ds), case


def test_a_bad_yolo_line_names_the_file_and_line(setup, tmp_path):
    cat, ds, model, items, _, _ = setup
    folder = tmp_path / "yolo"
    folder.mkdir()
    stem = items[0].name.rsplit(".", 1)[0]
    (folder / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.2\n\n1 0.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match=rf"{stem}.txt, entry line 1: missing confidence"):
        import_predictions(cat, model.id, folder, dataset_id=ds.id)
    # Lines without a confidence beside lines with one are ground truth (this app's YOLO export): left out.
    (folder / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 0.2\n")
    assert import_predictions(cat, model.id, folder, dataset_id=ds.id)["skipped"] == 1
    (folder / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 1.2 0.8\n")
    with pytest.raises(FormatError, match=r"line 2: box .* lies outside the 128x128 image"):
        import_predictions(cat, model.id, folder, dataset_id=ds.id)
    (folder / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.2 nan\n")
    with pytest.raises(FormatError, match="line 1: non-finite value"):
        import_predictions(cat, model.id, folder, dataset_id=ds.id)
    (folder / "nosuchimage.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    with pytest.raises(FormatError, match="nosuchimage.txt: unknown image"):
        import_predictions(cat, model.id, folder, dataset_id=ds.id)
    assert len(_stored(cat, model, ds)) == 1          # what the one good import stored, nothing since


def test_plain_import_refuses_a_coco_file_of_scored_annotations(setup, client, tmp_path):
    cat, ds, model, items, gt_path, gt = setup
    boxes = [a for a in gt["annotations"] if "segmentation" not in a]     # the export's polygons: their boxes again
    scored = dict(gt, annotations=[dict(a, score=0.5) for a in boxes])
    folder = tmp_path / "scored"
    folder.mkdir()
    (folder / "images").symlink_to(gt_path.parent / "images")
    path = _write(folder / "annotations.json", scored)
    with pytest.raises(FormatError, match="every annotation has a score: this looks like a model's predictions.*"
                                          "desktop-app import-predictions"):
        read_coco(path)
    copy = client.projects.get("Sample project").datasets.create("copy")
    with pytest.raises(FormatError, match="import-predictions"):
        copy.import_from(path, "coco")
    with pytest.raises(UserError, match="COCO results file .* import-predictions"):
        copy.import_from(_write(tmp_path / "results.json", _results(cat, gt, items)), "coco")
    assert copy.items_count == 0
    # ... and import-predictions takes that same file: its own images map its ids.
    out = import_predictions(cat, model.id, path, dataset_id=ds.id)
    assert out["predictions"] == len(boxes) and out["items"] == 6
    # Ground truth with a few scored annotations still imports as before.
    partly = dict(gt, annotations=[dict(a, score=0.5) if k % 2 else a for k, a in enumerate(gt["annotations"])])
    _write(folder / "annotations.json", partly)
    assert sum(len(it.annotations) for it in read_coco(folder).items) == len(gt["annotations"])
