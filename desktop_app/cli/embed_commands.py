"""Commands over a model's embeddings and predictions: `embed` fills its feature set, `similar` searches it; `predict`
stores its predictions on a dataset, `rank` lists what to label next from them; `duplicates` and `leakage` find
near-identical items by the embeddings (leakage: held-out items with a near copy in train; --move-to / --drop fix
them in one step)."""

from __future__ import annotations

import shlex
import sys

from desktop_app.domain.annotations import SUBSETS
from desktop_app.domain.status import ExecutionStatus
from desktop_app.errors import NotFoundError, UserError

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


def _names(dataset, item_ids) -> dict:
    """{item id: its record} of the dataset's items among `item_ids` (name, subset)."""
    return {r.id: r for r in client().catalog.list_items(dataset.id, item_ids=list(item_ids))} if item_ids else {}


def _feature_set_needed(fn, model, dataset):
    """fn() over the model's feature set; without one, the error names the command that makes it."""
    try:
        return fn()
    except NotFoundError as e:
        if "feature set" not in str(e):
            raise
        raise NotFoundError(f"model {model.name!r} has no feature set for dataset {dataset.name!r}: embed its items "
                            f"first: `desktop-app embed {shlex.quote(model.name)} --dataset "
                            f"{shlex.quote(dataset.name)} --wait`") from None


def _dataset_and_model(a):
    ds = resolve_dataset(a.dataset, a.project)
    return ds, resolve_model(a.model)


@command("predict", "Run a model over a dataset's items (all, one subset, or those without labels) and store its "
                    "predictions, replacing its earlier ones on them; `rank` then lists what to label next.")
def _predict(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--dataset", required=True, help="dataset name or id")
    p.add_argument("--project", help="the project to find --dataset in")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--subset", choices=SUBSETS, help="only this subset's items")
    which.add_argument("--unlabeled", action="store_true", help="only the items without ground truth")
    p.add_argument("--json", action="store_true", help="print the job as JSON")

    def run(a):
        ds, m = _dataset_and_model(a)
        filters = {"subset": a.subset} if a.subset else {"has_annotations": False} if a.unlabeled else None
        ex = m.predict(dataset_id=ds.id, filters=filters)
        if a.json:
            print_json({"id": ex.id, "status": ex.status, "error": ex.error, "output": ex.output})
        elif ex.status == ExecutionStatus.SUCCESS:
            out = ex.output or {}
            print(f"{m.name}: {out.get('annotations', 0)} predictions on {out.get('items', 0)} items of {ds.name}")
        else:
            print(f"execution {ex.id}: {ex.status}" + (f" ({ex.error})" if ex.error else ""), file=sys.stderr)
        return 0 if ex.status == ExecutionStatus.SUCCESS else 1
    p.set_defaults(func=run)


def _dataset_model_args(p, whose: str) -> None:
    """DATASET, --model and --project, as rank, duplicates and leakage take them."""
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("--model", required=True, help=f"the model whose {whose}: id, name or package/name")
    p.add_argument("--project", help="the project to find DATASET in")


@command("rank", "What to label next: a dataset's items (those without labels, or --all) ranked by a model's "
                 "uncertainty in its stored predictions, optionally spread by its embeddings (--diversity).")
def _rank(p):
    _dataset_model_args(p, "predictions to rank by")
    p.add_argument("--strategy", default="entropy", choices=["entropy", "margin", "least_confidence", "detection"],
                   help="the uncertainty score (default entropy; detection: a detector's boxes)")
    p.add_argument("--k", "-k", type=int, default=50, help="how many items (default 50)")
    p.add_argument("--diversity", type=float, default=0.0,
                   help="0 to 1: spread the picks over the model's embeddings (greedy k-center over the k + "
                        "diversity * (n - k) most uncertain; needs `embed`); default 0, uncertainty alone")
    p.add_argument("--all", action="store_true", help="rank the labelled items too")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        ds, m = _dataset_and_model(a)
        queue = _feature_set_needed(lambda: ds.rank_for_labeling(m, strategy=a.strategy, k=a.k,
                                                                 diversity=a.diversity, unlabeled_only=not a.all),
                                    m, ds)
        predict_cmd = (f"desktop-app predict {shlex.quote(m.name)} --dataset {shlex.quote(ds.name)}"
                       + ("" if a.all else " --unlabeled"))
        if not queue and queue.unscored and "predict them first" in queue.note:
            raise UserError(f"model {m.name!r} has no stored predictions on the {len(queue.unscored)} "
                            f"{'' if a.all else 'unlabelled '}items of {ds.name!r}: make them with `{predict_cmd}`")
        rows = [{"rank": n + 1, "item_id": it.id, "name": it.name, "subset": it.subset or "",
                 "score": round(score, 6)} for n, (it, score) in enumerate(queue)]
        if a.json:
            print_json({"dataset": ds.name, "model": m.name, "strategy": queue.strategy,
                        "diversity": queue.diversity, "note": queue.note, "unscored": queue.unscored, "items": rows})
            return 0
        print_table([{**r, "score": f"{r['score']:.4f}"} for r in rows], ["rank", "item_id", "score", "name"])
        if queue.note:
            print(f"note: {queue.note}", file=sys.stderr)
        if queue.unscored:
            lacking = "no prediction" + (" or vector" if a.diversity > 0 else "")
            print(f"note: {len(queue.unscored)} item(s) could not be scored ({lacking}): `{predict_cmd}` predicts "
                  f"them", file=sys.stderr)
        elif not rows and not a.all:
            print("every item is labelled (`--all` ranks them too)", file=sys.stderr)
        return 0
    p.set_defaults(func=run)


@command("duplicates", "Groups of near-identical items of a dataset by a model's embeddings (cosine distance; "
                       "`embed` fills them).")
def _duplicates(p):
    _dataset_model_args(p, "embeddings to compare")
    p.add_argument("--threshold", type=float, help="the largest cosine distance of a near-duplicate (default 0.05)")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        ds, m = _dataset_and_model(a)
        groups = _feature_set_needed(lambda: ds.near_duplicates(m, threshold=a.threshold), m, ds)
        recs = _names(ds, [i for g in groups for i in g.items])
        if a.json:
            print_json([{"group": n + 1, "max_distance": round(g.max_distance, 6),
                         "items": [{"item_id": i, "name": recs[i].name, "subset": recs[i].subset} for i in g.items],
                         "pairs": [[x, y, round(d, 6)] for x, y, d in g.pairs]} for n, g in enumerate(groups)])
            return 0
        rows = [{"group": n + 1, "item_id": i, "subset": recs[i].subset or "-", "name": recs[i].name,
                 "max_distance": f"{g.max_distance:.4f}"} for n, g in enumerate(groups) for i in g.items]
        print_table(rows, ["group", "item_id", "subset", "max_distance", "name"])
        print(f"{len(groups)} group(s), {len(rows)} items", file=sys.stderr)
        return 0
    p.set_defaults(func=run)


@command("leakage", "The test / validation items of a dataset with a near copy in its train subset, by a model's "
                    "embeddings; --move-to SUBSET or --drop --yes fixes them in one step (all or none).")
def _leakage(p):
    _dataset_model_args(p, "embeddings to compare")
    p.add_argument("--threshold", type=float, help="the largest cosine distance of a near copy (default 0.05)")
    fix = p.add_mutually_exclusive_group()
    fix.add_argument("--move-to", choices=SUBSETS, metavar="SUBSET",
                     help="move the leaking items to this subset (train: no longer scored)")
    fix.add_argument("--drop", action="store_true", help="delete the leaking items and their annotations")
    p.add_argument("--yes", action="store_true", help="with --drop: delete without asking")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        ds, m = _dataset_and_model(a)
        leaks = _feature_set_needed(lambda: ds.leakage(m, threshold=a.threshold), m, ds)
        recs = _names(ds, [x for lk in leaks for x in (lk.item, lk.twin)])
        ids = [lk.item for lk in leaks]
        if a.drop and leaks and not a.yes:
            raise UserError(f"--drop deletes {len(ids)} item(s) of {ds.name!r} with their annotations: add --yes to "
                            f"do it (nothing was changed)")
        # One catalog call each, one transaction: every item moves (or goes), or none does.
        done, moved = "", []
        if a.move_to:
            moved = [lk.item for lk in leaks if lk.subset != a.move_to]     # those in it already stay as they are
            if moved:
                client().catalog.set_subset(moved, a.move_to)
            done = f"moved {len(moved)} item(s) to {a.move_to}" if leaks else ""
        elif a.drop and ids:
            client().catalog.delete_items(ids)
            done = f"deleted {len(ids)} item(s)"
        rows = [{"item_id": lk.item, "subset": lk.subset, "name": recs[lk.item].name, "twin_id": lk.twin,
                 "twin_name": recs[lk.twin].name, "distance": round(lk.distance, 6)} for lk in leaks]
        if a.json:
            print_json({"dataset": ds.name, "model": m.name, "leaks": rows,
                        "moved_to": a.move_to, "moved": moved,
                        "deleted": len(ids) if a.drop and ids else 0})
            return 0
        print_table([{**r, "distance": f"{r['distance']:.4f}"} for r in rows],
                    ["item_id", "subset", "distance", "twin_id", "name", "twin_name"])
        if done:
            print(done)
        elif leaks:
            print(f"{len(leaks)} held-out item(s) with a near copy in train: `--move-to train` or `--drop --yes` "
                  f"fixes them", file=sys.stderr)
        return 0
    p.set_defaults(func=run)
