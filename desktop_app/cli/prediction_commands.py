"""Prediction commands: `import-predictions FILE --model NAME --dataset NAME` stores predictions made elsewhere."""

from __future__ import annotations

from .app import command, print_json, resolve_dataset, resolve_model


@command("import-predictions", "Store predictions made elsewhere (a COCO results file, YOLO prediction txt files, "
                               "Dataloop JSON) as a model's, replacing its earlier ones on those items (all or "
                               "nothing); `evaluate MODEL --no-predict` then scores them.")
def _import_predictions(p):
    p.add_argument("path", help="the results file, or a folder of YOLO .txt / Dataloop .json files")
    p.add_argument("--model", required=True, help="the model they are of: id, name or package/name (it may have "
                   "no weights)")
    p.add_argument("--dataset", help="dataset name or id whose items they are on (default: the model's)")
    p.add_argument("--project", help="the project to find --dataset in")
    p.add_argument("--format", choices=["coco", "yolo", "dataloop", "auto"], default="auto")
    p.add_argument("--images", metavar="GT.json", help="COCO: the ground-truth file of the same set; the results' "
                   "image and category ids are its ids (without it: an item's COCO id, name or numeric name)")
    p.add_argument("--label-map", action="append", default=[], metavar="SOURCE=LABEL",
                   help="store SOURCE (a label, a COCO category id or a YOLO class index) as LABEL (repeat), or "
                        "a JSON file of {source: label}")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")

    def run(a):
        model = resolve_model(a.model)
        ds = resolve_dataset(a.dataset, a.project) if a.dataset else None
        label_map = a.label_map[0] if len(a.label_map) == 1 and "=" not in a.label_map[0] else a.label_map
        out = model.predictions.import_from(a.path, dataset=ds, format=None if a.format == "auto" else a.format,
                                            images=a.images, label_map=label_map or None)
        if a.json:
            print_json(out)
            return 0
        replaced = f", replacing {out['replaced']}" if out["replaced"] else ""
        skipped = f" ({out['skipped']} ground-truth annotations beside them left out)" if out["skipped"] else ""
        print(f"imported {out['predictions']} predictions of {out['model']} on {out['items']} items of "
              f"{out['dataset']} ({out['format']}){replaced}{skipped}")
        for label, n in out["labels"].items():
            print(f"{label:>24}: {n}")
        print(f"score them: desktop-app evaluate {model.id} --dataset {out['dataset_id']} --no-predict")
        return 0
    p.set_defaults(func=run)
