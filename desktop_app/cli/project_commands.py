"""Project and dataset commands: projects list | create, datasets list | create | split."""

from __future__ import annotations

import argparse
import shlex

from desktop_app.errors import AlreadyExistsError, ValidationError

from .app import add_actions, client, command, find_project, json_option, print_json, print_table, resolve_dataset


def _print(rows: list[dict], a: argparse.Namespace, columns: list[str]) -> int:
    if a.json:
        print_json(rows)
    else:
        print_table(rows, columns)
    return 0


# -- projects ----------------------------------------------------------------------------------
def _list_projects(a: argparse.Namespace) -> int:
    rows = [{**p.to_json(), "datasets": len(p.datasets.list()), "models": len(p.models.list())}
            for p in client().projects.list()]
    return _print(rows, a, ["id", "name", "datasets", "models", "description"])


def _create_project(a: argparse.Namespace) -> int:
    try:
        p = client().projects.create(a.name, a.description)
    except AlreadyExistsError:
        raise AlreadyExistsError(f"a project named {a.name!r} already exists; pick another name "
                                 f"(`desktop-app projects list` shows the names taken)") from None
    if a.json:
        print_json(p.to_json())
    else:
        print(f"created project {p.name} ({p.id})")
    return 0


@command("projects", "Projects: list (the default), create.")
def _projects(p):
    sub = add_actions(p, _list_projects, project=False)

    s = sub.add_parser("list", help="projects with their dataset and model counts")
    json_option(s)
    s.set_defaults(func=_list_projects)

    s = sub.add_parser("create", help="a new, empty project (names are unique)")
    s.add_argument("name")
    s.add_argument("--description", default="")
    json_option(s)
    s.set_defaults(func=_create_project)


# -- datasets ----------------------------------------------------------------------------------
SUBSET_ORDER = ("train", "validation", "test", "none")     # "none": items in no subset
SPLIT_SUBSETS = ("train", "validation", "test")
DEFAULT_SPLIT = {"train": 0.8, "validation": 0.1, "test": 0.1}   # Dataloop's default


def _subsets_text(counts: dict[str, int]) -> str:
    """'train 800, validation 100, test 100' (items in no subset: 'unsplit N'); '-' for an empty dataset."""
    names = {"none": "unsplit"}
    parts = [f"{names.get(s, s)} {counts[s]}" for s in SUBSET_ORDER if counts.get(s)]
    return ", ".join(parts) or "-"


def _list_datasets(a: argparse.Namespace) -> int:
    c = client()
    repo = find_project(a.project).datasets if a.project else c.datasets
    projects = {p.id: p.name for p in c.projects.list()}
    rows = []
    for d in repo.list():
        subsets = d.subset_counts()
        rows.append({**d.to_json(), "project": projects.get(d.project_id, ""), "items": d.items_count,
                     "annotations": sum(d.label_counts().values()),
                     "subsets": {s: subsets.get(s, 0) for s in SUBSET_ORDER}, "labels": ",".join(d.labels)})
    if a.json:
        print_json(rows)
    else:
        print_table([{**r, "subsets": _subsets_text(r["subsets"])} for r in rows],
                    ["id", "name", "project", "items", "annotations", "subsets", "labels"])
    return 0


def _create_dataset(a: argparse.Namespace) -> int:
    project = find_project(a.project)
    labels = [x.strip() for x in (a.labels or "").split(",") if x.strip()]
    try:
        d = project.datasets.create(a.name, labels=labels, description=a.description)
    except AlreadyExistsError:
        raise AlreadyExistsError(f"project {project.name!r} has a dataset named {a.name!r} already; pick another "
                                 f"name (`desktop-app datasets list --project {shlex.quote(project.name)}` shows "
                                 f"the names taken)") from None
    if a.json:
        print_json(d.to_json())
    else:
        print(f"created dataset {project.name}/{d.name} ({d.id}); add items with `desktop-app import PATH "
              f"--project {shlex.quote(project.name)} --dataset {shlex.quote(d.name)}`")
    return 0


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a fraction such as 0.8") from None
    if not 0.0 <= value <= 1.0:     # false for nan too
        hint = f" ({text}% is {value / 100:g})" if 1.0 < value <= 100.0 else ""
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1{hint}")
    return value


def _split_dataset(a: argparse.Namespace) -> int:
    given = {s: getattr(a, s) for s in SPLIT_SUBSETS if getattr(a, s) is not None}
    # None given: Dataloop's 80/10/10; some given: the others are 0.
    fractions = {s: given.get(s, 0.0) for s in SPLIT_SUBSETS} if given else dict(DEFAULT_SPLIT)
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        terms = " + ".join(f"--{s} {fractions[s]:g}" for s in SPLIT_SUBSETS)
        missing = [f"--{s}" for s in SPLIT_SUBSETS if s not in given]
        left = f" ({', '.join(missing)} not given: 0)" if missing else ""
        raise ValidationError(f"the fractions must sum to 1: {terms} = {total:g}{left}")
    d = resolve_dataset(a.dataset, a.project)
    if d.items_count == 0:
        raise ValidationError(f"dataset {d.name!r} has no items to split; import some first (`desktop-app import "
                              f"PATH --project {shlex.quote(d.project.name)} --dataset {shlex.quote(d.name)}`)")
    # A subset given 0 is left out: the last one named takes the items rounding leaves over.
    counts = d.split_ml_subsets(percentages={s: f * 100 for s, f in fractions.items() if f > 0}, seed=a.seed)
    counts = {s: counts.get(s, 0) for s in SPLIT_SUBSETS}
    if a.json:
        print_json({"dataset": d.id, "name": d.name, "seed": a.seed, "subsets": counts})
    else:
        print(f"split {d.name} ({d.items_count} items, seed {a.seed}): "
              + ", ".join(f"{s} {counts[s]}" for s in SPLIT_SUBSETS))
    return 0


@command("datasets", "Datasets: list (the default; items, annotations and subsets of each), create, split; "
         "data versions: snapshot, versions, diff, delete-version.")
def _datasets(p):
    sub = add_actions(p, _list_datasets)

    s = sub.add_parser("list", help="datasets with their item, annotation and subset counts")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (default: every project)")
    json_option(s)
    s.set_defaults(func=_list_datasets)

    s = sub.add_parser("create", help="a new, empty dataset in a project (fill it with `desktop-app import`)")
    s.add_argument("name")
    s.add_argument("--project", required=True, help="project name or id")
    s.add_argument("--labels", help="comma-separated class names, e.g. cat,dog (imports add their own)")
    s.add_argument("--description", default="")
    json_option(s)
    s.set_defaults(func=_create_dataset)

    s = sub.add_parser("split", help="tag every item train / validation / test at random (seeded): each run "
                                     "replaces the previous split",
                       description="Tag every item of a dataset train / validation / test at random, by fractions "
                                   "that sum to 1 (with none given: 0.8 / 0.1 / 0.1; a subset not given gets 0). "
                                   "The same seed gives the same split.")
    s.add_argument("dataset", help="dataset name or id")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (when names repeat)")
    for name in SPLIT_SUBSETS:
        s.add_argument(f"--{name}", type=_fraction, metavar="FRACTION",
                       help=f"fraction of the items for {name} (default {DEFAULT_SPLIT[name]:g} when no fraction "
                            f"is given)")
    s.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    json_option(s)
    s.set_defaults(func=_split_dataset)

    from .dataset_version_commands import add_version_actions
    add_version_actions(sub)     # snapshot, versions, diff, delete-version
