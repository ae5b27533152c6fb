"""An instance segmentation model ("binary" output) scored from predictions stored in a catalog: COCO segm equal
to pycocotools' on the same masks (ground truth as masks, polygons and a crowd RLE), per-instance TP / FP / FN by
mask IoU, live thresholds equal to a fresh evaluation, and a hostile cache refused naming where."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from desktop_app.catalog import Catalog
from desktop_app.domain import masks as dm
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.errors import ValidationError
from desktop_app.evaluation.run import require_ground_truth, score_model
from desktop_app.evaluation.store import EvaluationView

LABELS = ["disc", "block", "bar"]


def _blob(rng, h, w):
    """A random ellipse or rectangle (no holes: a polygon of it rasterises back to the same pixels)."""
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(4, h - 4), rng.uniform(4, w - 4)
    ry, rx = rng.uniform(3, h / 3), rng.uniform(3, w / 3)
    if rng.random() < 0.5:
        m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    else:
        m = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
    return m


def _shift(m, dy, dx):
    out = np.roll(np.roll(m, dy, 0), dx, 1)
    return out


@pytest.fixture
def masks_set(tmp_path):
    cat = Catalog(tmp_path / "cat")
    yield populate(cat, cat.create_project("p").id, tmp_path)
    cat.close()


def populate(cat, project_id, tmp_path, *, package="seg"):
    """30 images of varied sizes; ground truth: masks, polygons of masks, a crowd (uncompressed RLE) or two;
    predictions: shifted masks (some with another class, some missed), spurious ones, tied scores."""
    rng = np.random.default_rng(7)
    ds = cat.create_dataset(project_id, "blobs", labels=LABELS)
    entries, truth = [], []
    for n in range(30):
        h, w = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (w, h)).save(path)
        anns, objs = [], []
        for _ in range(int(rng.integers(0, 5)) if n % 9 else 0):
            m, lab = _blob(rng, h, w), LABELS[int(rng.integers(0, 3))]
            r = rng.random()
            if r < 0.4:
                anns.append(Annotation(type="segment", label=lab, coordinates=dm.mask_to_polygons(m)))
            elif r < 0.9:
                anns.append(Annotation(type="binary", label=lab, coordinates=dm.encode(m)))
            else:
                anns.append(Annotation(type="binary", label=lab, coordinates=dm.encode(m, compressed=False),
                                       iscrowd=True))
            objs.append((m, lab, anns[-1].iscrowd))
        entries.append(ImageEntry(source=path, name=path.name, width=w, height=h, annotations=anns))
        truth.append(objs)
    ids = cat.import_bundle(ds.id, DatasetBundle(labels=LABELS, items=entries))
    pkg = cat.create_package(package, project_id=project_id, output_type="binary")
    model = cat.create_model("seg-v1", project_id=project_id, package_id=pkg.id, labels=LABELS, output_type="binary",
                             dataset_id=ds.id)
    preds = {}
    for item_id, objs, e in zip(ids, truth, entries):
        out = []
        for m, lab, _ in objs:
            if rng.random() < 0.15:
                continue
            pm = _shift(m, int(rng.integers(-2, 3)), int(rng.integers(-2, 3)))
            if not pm.any():
                continue
            plab = lab if rng.random() > 0.2 else LABELS[int(rng.integers(0, 3))]
            out.append(Annotation(type="binary", label=plab, coordinates=dm.encode(pm),
                                  score=round(float(rng.random()), 1)))
        if rng.random() < 0.5:
            out.append(Annotation(type="binary", label=LABELS[int(rng.integers(0, 3))],
                                  coordinates=dm.encode(_blob(rng, e.height, e.width)),
                                  score=round(float(rng.random()), 1)))
        preds[item_id] = out
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    return cat, ds, model, ids, truth


def _pycocotools_segm(cat, model, ids, truth, ds):
    from pycocotools import mask as mu
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(m):
        r = mu.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode("ascii")
        return r

    images, anns = [], []
    stored = {a.id: a for a in cat.list_annotations(item_ids=ids, ground_truth=True)}
    by_item = {}
    for a in sorted(stored.values(), key=lambda a: a.id):
        by_item.setdefault(a.item_id, []).append(a)
    for item_id, objs in zip(ids, truth):
        it = cat.get_item(item_id)
        images.append({"id": item_id, "height": it.height, "width": it.width})
        for (m, lab, crowd), a in zip(objs, by_item.get(item_id, [])):
            assert a.label == lab
            anns.append({"id": a.id, "image_id": item_id, "category_id": LABELS.index(lab) + 1,
                         "segmentation": rle(m), "area": a.area, "iscrowd": int(crowd),
                         "bbox": mu.toBbox(rle(m)).tolist()})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns,
                    "categories": [{"id": i + 1, "name": n} for i, n in enumerate(LABELS)]}
    coco.createIndex()
    results = [{"image_id": a.item_id, "category_id": LABELS.index(a.label) + 1, "score": a.score,
                "segmentation": a.coordinates} for a in cat.list_annotations(item_ids=ids, model_id=model.id)]
    ev = COCOeval(coco, coco.loadRes(results), "segm")
    ev.evaluate()
    ev.accumulate()
    with __import__("contextlib").redirect_stdout(io.StringIO()):
        ev.summarize()
    return ev.stats


STAT_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def test_segm_scores_equal_pycocotools_and_live_thresholds_equal_a_fresh_evaluation(masks_set):
    pytest.importorskip("pycocotools")
    cat, ds, model, ids, truth = masks_set
    assert any(c for objs in truth for _, _, c in objs)                    # a crowd is in the set
    out = score_model(cat, model.id, ds.id, name="blobs")
    assert out["method"] == "coco" and out["summary"]["iou_type"] == "segm"
    rec = cat.get_evaluation(out["evaluation_id"])
    theirs = _pycocotools_segm(cat, model, ids, truth, ds)
    ours = np.array([rec.results["stats"][k] for k in STAT_KEYS])
    assert np.abs(ours - theirs).max() <= 1e-12, (ours, theirs)
    assert 0.2 < rec.results["summary"]["mAP50"] < 1.0
    assert set(rec.results["per_class"]) == set(LABELS) and set(rec.results["pr_curves"]) == set(LABELS)
    n_gt = sum(1 for objs in truth for _, _, c in objs if not c)
    s = rec.results["summary"]
    assert s["tp"] + s["fn"] == n_gt
    assert s["tp"] + s["fp"] <= rec.results["n_predictions"]

    view = EvaluationView(cat, rec)
    for iou, conf in ((0.75, 0.35), (0.5, 0.0), (0.9, 0.6), (0.3, 0.25)):
        live = view.at_thresholds(iou_threshold=iou, score_threshold=conf)
        fresh = cat.get_evaluation(score_model(cat, model.id, ds.id, name=f"fresh-{iou}-{conf}",
                                               iou_threshold=iou, conf_threshold=conf)["evaluation_id"])
        for k in ("tp", "fp", "fn", "precision", "recall", "f1"):
            assert live["summary"][k] == fresh.results["summary"][k], (iou, conf, k)
        assert live["confusion"]["matrix"] == fresh.results["confusion"]["matrix"]
        assert {k: (v["tp"], v["fp"], v["fn"]) for k, v in live["per_class"].items()} == \
            {k: (v["tp"], v["fp"], v["fn"]) for k, v in fresh.results["per_class"].items()}
    # the review rows: the same counts, matched by mask IoU
    view = EvaluationView(cat, rec)
    rows = view.instances("all", iou_threshold=0.5, score_threshold=0.0)
    kinds = [r["kind"] for r in rows]
    assert (kinds.count("tp"), kinds.count("fp"), kinds.count("fn")) == (s["tp"], s["fp"], s["fn"])
    tp = [r for r in rows if r["kind"] == "tp"]
    assert tp and all(r["iou"] >= 0.5 and r["match_id"] > 0 for r in tp)
    mask_of = {a.id: dm.decode(a.coordinates) for a in cat.list_annotations(item_ids=ids, model_id=model.id)}
    for r in tp[:10]:        # the matched IoU is the masks' IoU (the ground truth as stored, polygons rasterised)
        g = cat.get_annotation(r["match_id"])
        it = cat.get_item(g.item_id)
        gm = dm.decode(g.coordinates) if g.type == "binary" else dm.polygon_to_mask(g.coordinates, it.height,
                                                                                   it.width)
        assert r["iou"] == pytest.approx(dm.iou(mask_of[r["annotation_id"]], gm), abs=1e-12)
        assert r["area"] == mask_of[r["annotation_id"]].sum()
    cell = view.confusion_instances("background", LABELS[0])
    assert all(r["kind"] == "fp" and r["label"] == LABELS[0] for r in cell)


def _rewrite(data: bytes, **arrays) -> bytes:
    z = dict(np.load(io.BytesIO(data), allow_pickle=False))
    z.update(arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **z)
    return buf.getvalue()


def test_a_hostile_mask_cache_is_refused_naming_where(masks_set):
    from desktop_app.evaluation.instance_masks import inputs_from_npz
    cat, ds, model, ids, _ = masks_set
    rec = cat.get_evaluation(score_model(cat, model.id, ds.id, name="blobs")["evaluation_id"])
    data = cat.store.path(rec.cache_sha).read_bytes()
    inp = inputs_from_npz(data, where="here")
    assert len(inp.pairs) > 0
    n = len(inp.pairs)
    for bad, why in ((dict(p_iou=np.full(n, 1.5)), "outside"), (dict(p_d=np.full(n, 10 ** 6)), "indexes"),
                     (dict(p_g=np.zeros(n + 1, np.int64)), "shape"),
                     (dict(p_iou=np.array([object()] * n, dtype=object)), "pickle"),
                     (dict(iou_type=np.array(["bbox"])), "not a mask")):
        with pytest.raises(ValidationError, match=f"evaluation 'x'.*{why}"):
            inputs_from_npz(_rewrite(data, **bad), where="evaluation 'x'")
    with pytest.raises(ValidationError, match="evaluation 'x'.*not an .npz"):
        inputs_from_npz(b"junk", where="evaluation 'x'")
    zipfile.ZipFile(io.BytesIO(data)).testzip()


def test_masks_of_the_wrong_size_and_no_mask_ground_truth_are_refused_naming_them(masks_set):
    cat, ds, model, ids, _ = masks_set
    it = cat.get_item(ids[1])
    cat.add_annotations(it.id, [Annotation(type="binary", label="disc",
                                           coordinates=dm.encode(np.ones((it.height + 1, it.width), bool)))])
    with pytest.raises(ValidationError, match=f"ground-truth annotation \\d+ \\(binary 'disc'\\) on item {it.id}: "
                                              f"mask size"):
        score_model(cat, model.id, ds.id)
    boxes = cat.create_dataset(cat.get_dataset(ds.id).project_id, "boxes-only", labels=LABELS)
    cat.add_annotations(cat.add_item(boxes.id, cat.store.path(it.sha256), "a.png").id,
                        [Annotation(type="box", label="disc", coordinates=[0, 0, 4, 4])])
    with pytest.raises(ValidationError, match="no ground-truth masks or polygons to score an instance "
                                              "segmentation model against \\(items: 1 with box\\)"):
        require_ground_truth(cat, model.id, boxes.id)
