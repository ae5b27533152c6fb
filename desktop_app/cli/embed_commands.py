"""Embedding commands: `embed MODEL --dataset D` fills the model's feature set; `similar ITEM --model M` searches it."""

from __future__ import annotations

import sys

from desktop_app.domain.status import ExecutionStatus

from .app import client, command, print_json, print_table, resolve_dataset, resolve_model


@command("embed", "Embed a dataset's items with a model into its feature set, in a job (items embedded before with "
                  "the same weights are skipped); `similar` then finds an item's nearest neighbours.")
def _embed(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--dataset", action="append", required=True, metavar="D",
                   help="dataset name or id (repeat for several)")
    p.add_argument("--project", help="the project to find --dataset in")
    p.add_argument("--subset", choices=["train", "validation", "test"], help="only this subset's items")
    p.add_argument("--wait", action="store_true", help="wait for the job and print what it stored (Ctrl+C cancels)")
    p.add_argument("--json", action="store_true", help="print the job (with --wait: its output) as JSON")

    def run(a):
        m = resolve_model(a.model)
        datasets = [resolve_dataset(d, a.project) for d in a.dataset]
        ex = m.embed_datasets([d.id for d in datasets], filters={"subset": a.subset} if a.subset else None,
                              wait=a.wait)
        if a.json:
            print_json({"id": ex.id, "status": ex.status, "error": ex.error, "output": ex.output})
        elif ex.status == ExecutionStatus.SUCCESS:
            out = ex.output or {}
            print(f"feature set {out.get('feature_set', m.name)}: {out.get('count', 0)} vectors of "
                  f"{out.get('size', '?')} numbers ({out.get('embedded', 0)} embedded now, {out.get('skipped', 0)} "
                  f"skipped: embedded before with the same weights)")
        else:
            print(f"execution {ex.id}: {ex.status}" + (f" ({ex.error})" if ex.error else ""))
            if not a.wait:
                print(f"follow it: desktop-app jobs (then `desktop-app similar ITEM_ID --model {m.id}`)")
        return 0 if ex.status in (ExecutionStatus.SUCCESS, *ExecutionStatus.ACTIVE) else 1
    p.set_defaults(func=run)


@command("similar", "The items nearest an item in a model's feature set (cosine distance on its embeddings; "
                    "`embed` fills the set).")
def _similar(p):
    p.add_argument("item_id", type=int, help="the item's id")
    p.add_argument("--model", required=True, help="the model whose embeddings to search: id, name or package/name")
    p.add_argument("-k", type=int, default=10, help="how many items (default 10; the item itself is first)")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        from desktop_app.sdk.features import FeatureSets
        m = resolve_model(a.model)
        fs = FeatureSets(client()).of_model(m)
        found = fs.search(a.item_id, k=a.k)
        rows = [{"rank": n + 1, "item_id": it.id, "name": it.name, "dataset_id": it.dataset_id,
                 "distance": round(dist, 6)} for n, (it, dist) in enumerate(found)]
        if a.json:
            print_json(rows)
        else:
            print_table([{**r, "distance": f"{r['distance']:.4f}"} for r in rows],
                        ["rank", "item_id", "distance", "name"])
            if not rows:
                print("(the feature set holds no vectors of existing items)", file=sys.stderr)
        return 0
    p.set_defaults(func=run)
