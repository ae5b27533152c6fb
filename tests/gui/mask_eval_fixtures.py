"""Segmentation evaluations for the GUI tests and the mask evaluation screenshots: a small shapes-segmentation set
(masks), an instance model ("binary") and a semantic model ("semantic") whose predictions are the ground truth
perturbed (shifted, missed, confused, spurious), stored as the contract says, then scored.

The instance model is scored by the evaluation core (COCO segm, live thresholds). The semantic one too where the
core scores semantic models; until then its evaluation is kept with the contract's result dict, computed by
evaluation.semantic from the same label maps the core would paint."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from desktop_app.domain import masks as dm
from desktop_app.domain.annotations import Annotation

SIZE = 64


def dataset(client, work: Path, n: int = 24, name: str = "shapes-seg-eval", size: int = SIZE):
    """A dataset of `n` generated images (one binary mask a shape), every item in the test subset."""
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
    bundle = generate_shapes_segmentation(work / name, n=n, size=size, seed=5)
    for it in bundle.items:
        it.subset = "test"
    project = client.catalog.create_project(f"{name}-project")
    ds = client.catalog.create_dataset(project.id, name, labels=list(bundle.labels))
    client.catalog.import_bundle(ds.id, bundle)
    return project, client.catalog.get_dataset(ds.id)


def _ground_truth(catalog, ds):
    """item id -> (height, width, [(label, mask bool array)]) in annotation order."""
    out = {}
    items = catalog.list_items(ds.id)
    for it in items:
        out[it.id] = (it.height, it.width, [])
    for a in sorted(catalog.list_annotations(item_ids=list(out), ground_truth=True), key=lambda a: a.id):
        if a.type == "binary":
            h, w, objs = out[a.item_id]
            objs.append((a.label, dm.decode(a.coordinates)))
    return out


def _shift(m: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return np.roll(np.roll(m, dy, 0), dx, 1)


def _model(catalog, project, ds, name: str, output_type: str):
    package = catalog.create_package(f"{name}-package", project_id=project.id, output_type=output_type)
    return catalog.create_model(name, project_id=project.id, package_id=package.id, labels=list(ds.labels),
                                output_type=output_type, dataset_id=ds.id)


def instance_evaluation(client, project, ds, name: str = "seg-inst", seed: int = 1, miss: float = 0.15,
                        confuse: float = 0.15):
    """An instance segmentation model's predictions (shifted masks, some missed or of another class, a spurious
    one now and then) scored by the core: a COCO segm evaluation."""
    from desktop_app.evaluation.run import score_model
    cat = client.catalog
    model = _model(cat, project, ds, name, "binary")
    rng = random.Random(seed)
    preds = {}
    for item_id, (h, w, objs) in _ground_truth(cat, ds).items():
        out = []
        for label, m in objs:
            if rng.random() < miss:
                continue
            pm = _shift(m, rng.randint(-2, 2), rng.randint(-2, 2))
            plab = label if rng.random() > confuse else rng.choice(ds.labels)
            out.append(Annotation(type="binary", label=plab, coordinates=dm.encode(pm),
                                  score=round(rng.uniform(0.3, 1.0), 2)))
        if rng.random() < 0.4:
            blob = np.zeros((h, w), bool)
            y, x = rng.randint(0, h - 12), rng.randint(0, w - 12)
            blob[y:y + 10, x:x + 10] = True
            out.append(Annotation(type="binary", label=rng.choice(ds.labels), coordinates=dm.encode(blob),
                                  score=round(rng.uniform(0.05, 0.6), 2)))
        out.sort(key=lambda a: -a.score)
        preds[item_id] = out
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    out = score_model(cat, model.id, ds.id, filters={"subset": "test"}, name="test")
    return model, cat.get_evaluation(out["evaluation_id"])


def semantic_label_maps(catalog, ds, seed: int = 2, miss: float = 0.1, confuse: float = 0.15):
    """item id -> (ground-truth label map, predicted label map): class k + 1 = labels[k], 0 background. The
    prediction: each shape shifted, some missed (background), some given another class."""
    labels = list(ds.labels)
    rng = random.Random(seed)
    out = {}
    for item_id, (h, w, objs) in _ground_truth(catalog, ds).items():
        gt = dm.label_map([(labels.index(lb) + 1, "binary", dm.encode(m)) for lb, m in objs], h, w, fill=0)
        pred = np.zeros((h, w), np.uint8)
        for lb, m in objs:
            if rng.random() < miss:
                continue
            k = labels.index(lb) + 1 if rng.random() > confuse else rng.randint(1, len(labels))
            pred[_shift(m, rng.randint(-3, 3), rng.randint(-3, 3))] = k
        out[item_id] = (gt, pred)
    return out


def semantic_evaluation(client, project, ds, name: str = "seg-sem", seed: int = 2, miss: float = 0.1,
                        confuse: float = 0.15):
    """A semantic model's predictions (one binary annotation per class present, as the contract says) and its
    evaluation: the core's where it scores semantic models, else the contract's result dict kept as the core
    would keep it."""
    from desktop_app.evaluation import run
    cat = client.catalog
    model = _model(cat, project, ds, name, "semantic")
    labels = list(ds.labels)
    maps = semantic_label_maps(cat, ds, seed, miss, confuse)
    preds = {}
    for item_id, (_, pred) in maps.items():
        preds[item_id] = [Annotation(type="binary", label=labels[k - 1], coordinates=dm.encode(pred == k),
                                     score=0.9) for k in range(1, len(labels) + 1) if (pred == k).any()]
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    try:
        out = run.score_model(cat, model.id, ds.id, filters={"subset": "test"}, name="test")
    except ImportError:          # the core does not score semantic models yet
        results = semantic_results(maps, labels)
        out = run.keep_evaluation(cat, model.id, ds.id, "test", method="semantic", results=results,
                                  filters={"subset": "test"})
    return model, cat.get_evaluation(out["evaluation_id"])


def semantic_results(maps: dict, labels: list[str]) -> dict:
    """The contract's result dict of a semantic evaluation over these label maps."""
    from desktop_app.evaluation.semantic import evaluate
    names = ["background", *labels]
    res = evaluate(maps.values(), len(names), names)
    d = res.to_dict()
    summary = {k: d[k] for k in ("miou", "pixel_accuracy", "mean_accuracy")}
    return {"method": "semantic", "summary": summary, "per_class": d["per_class"],
            "confusion": {"labels": names, "matrix": d["confusion"]}, "n_items": len(maps)}
