"""Dataset version commands under `datasets`: snapshot, versions, diff, delete-version (catalog.dataset_versions)."""

from __future__ import annotations

import argparse

from .app import json_option, print_json, print_table, resolve_dataset

SHOWN = 10    # changes listed per kind in the plain diff (--json has them all)


def add_version_actions(sub: argparse._SubParsersAction) -> None:
    """The version actions, added to the `datasets` command's ACTIONs."""
    s = sub.add_parser("snapshot", help="freeze the items and their ground truth under a name (a data version "
                                        "training can use: `desktop-app train MODEL --data-version NAME`)")
    s.add_argument("dataset", help="dataset name or id")
    s.add_argument("name", help="the version's name, unique in the dataset")
    s.add_argument("--description", default="")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (when names repeat)")
    json_option(s)
    s.set_defaults(func=_snapshot)

    s = sub.add_parser("versions", help="the dataset's versions, newest first, with their counts")
    s.add_argument("dataset", help="dataset name or id")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (when names repeat)")
    json_option(s)
    s.set_defaults(func=_versions)

    s = sub.add_parser("diff", help="items and annotations added, removed and changed from version A to version "
                                    "B (or to the dataset as it is now)")
    s.add_argument("dataset", help="dataset name or id")
    s.add_argument("a", help="the older version's name")
    s.add_argument("b", nargs="?", help="the newer version's name (default: the dataset now)")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (when names repeat)")
    json_option(s)
    s.set_defaults(func=_diff)

    s = sub.add_parser("delete-version", help="forget a version (its stored copy is freed by `desktop-app gc` "
                                              "unless another version shares it)")
    s.add_argument("dataset", help="dataset name or id")
    s.add_argument("name")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (when names repeat)")
    s.set_defaults(func=_delete)


def _dataset(a: argparse.Namespace):
    return resolve_dataset(a.dataset, getattr(a, "project", None))


def _row(v) -> dict:
    c = v.counts
    subsets = ", ".join(f"{k} {n}" for k, n in c.get("subsets", {}).items())
    return {"name": v.name, "sha": v.sha[:12], "items": c.get("items", 0), "annotations": c.get("annotations", 0),
            "subsets": subsets or "-", "created": v.created_at[:19].replace("T", " "), "by": v.created_by,
            "description": v.description}


def _snapshot(a: argparse.Namespace) -> int:
    d = _dataset(a)
    v = d.snapshot(a.name, description=a.description)
    if getattr(a, "json", False):
        print_json(v.to_json())
    else:
        c = v.counts
        print(f"dataset {d.name}: version {v.name} ({v.sha[:12]}): {c['items']} items, {c['annotations']} "
              f"annotations")
    return 0


def _versions(a: argparse.Namespace) -> int:
    versions = _dataset(a).versions()
    if getattr(a, "json", False):
        print_json([v.to_json() for v in versions])
    else:
        print_table([_row(v) for v in versions], ["name", "sha", "items", "annotations", "subsets", "created", "by",
                                                  "description"])
    return 0


def _diff(a: argparse.Namespace) -> int:
    d = _dataset(a)
    out = d.diff(a.a, a.b)
    if getattr(a, "json", False):
        print_json(out)
        return 0
    b = a.b or "now"
    if out["same"]:
        print(f"{a.a} and {b}: the same data ({out['a_sha'][:12]})")
        return 0
    n = out["counts"]
    print(f"{a.a} -> {b}: items +{n['items_added']} -{n['items_removed']} ~{n['items_changed']}; annotations "
          f"+{n['annotations_added']} -{n['annotations_removed']} ~{n['annotations_changed']}")
    for key, sign in (("items_added", "+"), ("items_removed", "-")):
        for it in out[key][:SHOWN]:
            print(f"  {sign} item {it['id']} {it['name']} ({it['subset'] or 'no subset'})")
    for it in out["items_changed"][:SHOWN]:
        print(f"  ~ item {it['id']} {it['name']}: {', '.join(it['changes'])} changed")
    for key, sign in (("annotations_added", "+"), ("annotations_removed", "-")):
        for x in out[key][:SHOWN]:
            print(f"  {sign} annotation {x['id']} on item {x['item_id']}: {x['type']} {x['label']}")
    for x in out["annotations_changed"][:SHOWN]:
        label = f"{x['before']} -> {x['after']}" if x["before"] != x["after"] else x["after"]
        print(f"  ~ annotation {x['id']} on item {x['item_id']}: {x['type']} {label} ({', '.join(x['fields'])})")
    if any(len(v) > SHOWN for v in out.values() if isinstance(v, list)):
        print(f"  (the first {SHOWN} of each kind; --json lists them all)")
    return 0


def _delete(a: argparse.Namespace) -> int:
    d = _dataset(a)
    d.delete_version(a.name)
    print(f"dataset {d.name}: version {a.name} deleted (`desktop-app gc` frees its stored copy unless another "
          f"version shares it)")
    return 0
