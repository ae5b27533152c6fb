"""scikit-learn's digits as a Model Desk dataset, a logistic regression as a custom classifier on it
(tests/evaluation/digits_package), and scikit-learn's own figures to check the evaluation against."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DIGITS_PACKAGE = Path(__file__).resolve().parent / "digits_package"
LABELS = [str(d) for d in range(10)]
N_TRAIN = 1200


def digits_dataset(client, tmp_path: Path, name: str = "digits"):
    """The images the regression did not train on (597), imported as an image folder, one class each."""
    from PIL import Image
    from sklearn.datasets import load_digits
    d = load_digits()
    root = tmp_path / "digits-folder"
    for k in range(N_TRAIN, len(d.target)):
        folder = root / str(d.target[k])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((d.images[k] * 15).astype(np.uint8)).convert("RGB").save(folder / f"d{k:04d}.png")
    ds = client.datasets.create(name, labels=LABELS, project_id=client.sample_project.id)
    ds.import_from(root, "imagefolder")
    return ds


def fitted_weights(c: float = 0.002) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    d = load_digits()
    # a weak fit (few iterations, strong regularisation): mistakes and spread-out confidences to threshold
    lr = LogisticRegression(max_iter=30, C=c).fit(d.data[:N_TRAIN] / 16.0, d.target[:N_TRAIN])
    return {"coef": (lr.coef_ * (15.0 / 16.0)).tolist(), "intercept": lr.intercept_.tolist()}


def digits_model(client, dataset, tmp_path: Path, name: str = "digits-lr", c: float = 0.002, **configuration):
    try:
        pkg = client.packages.get(package_name="digits-lr")
    except Exception:  # noqa: BLE001 - not pushed yet
        pkg = client.packages.push(package_name="digits-lr", src_path=DIGITS_PACKAGE, entry_point="adapter.py",
                                   class_name="DigitsAdapter", output_type="class")
    model = pkg.models.create(model_name=name, dataset_id=dataset.id, project_id=client.sample_project.id,
                              labels=LABELS, configuration=configuration)
    f = tmp_path / name / "digits_lr.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(fitted_weights(c)))
    model.artifacts.upload(f)
    return model


def stored_predictions(catalog, model_id: str, dataset_id: str) -> dict:
    """What the model predicted, read back from the catalog: true class, predicted class, confidence and
    (where written) the score vector per item, in item order."""
    items = catalog.item_ids(dataset_id)
    truth = {a.item_id: a.label for a in catalog.list_annotations(item_ids=items, ground_truth=True, types=["class"])}
    preds = {a.item_id: a for a in catalog.list_annotations(item_ids=items, model_id=model_id, types=["class"])}
    ids = [i for i in items if i in truth]
    vectors = [preds[i].metadata.get("scores") for i in ids]
    return {"item_ids": ids, "true": np.array([int(truth[i]) for i in ids]),
            "pred": np.array([int(preds[i].label) for i in ids]),
            "score": np.array([preds[i].score for i in ids], np.float64),
            "vectors": np.array(vectors, np.float64) if all(v is not None for v in vectors) else None}


def sklearn_at(p: dict, threshold: float) -> dict:
    """scikit-learn's figures at a confidence threshold: an item below it predicts no class (-1, not one of
    the labels) and so is a miss of its true class."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
    y_pred = np.where(p["score"] >= threshold, p["pred"], -1)
    classes = list(range(10))
    out = {"accuracy": accuracy_score(p["true"], y_pred), "y_pred": y_pred}
    for avg in ("macro", "weighted"):
        pr, rc, f1, _ = precision_recall_fscore_support(p["true"], y_pred, labels=classes, average=avg,
                                                        zero_division=0)
        out.update({f"{avg}_precision": pr, f"{avg}_recall": rc, f"{avg}_f1": f1})
    pr, rc, f1, support = precision_recall_fscore_support(p["true"], y_pred, labels=classes, average=None,
                                                          zero_division=0)
    out["per_class"] = {str(c): {"precision": pr[c], "recall": rc[c], "f1": f1[c], "support": int(support[c])}
                        for c in classes}
    out["confusion"] = confusion_matrix(p["true"], y_pred, labels=classes + [-1])
    tp = np.diag(out["confusion"])[:10]
    out["tp"], out["fp"] = int(tp.sum()), int(out["confusion"][:, :10].sum() - tp.sum())
    out["fn"] = int(support.sum() - tp.sum())
    return out
