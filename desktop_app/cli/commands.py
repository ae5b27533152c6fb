"""Catalog commands: list, info, import, export, clone, and the GUI entry."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from desktop_app.errors import NotFoundError, UserError

from .app import client, command, print_json, resolve_dataset, resolve_model
from .display import window_problem


def open_gui(args: argparse.Namespace) -> int:
    """The main job: the window on the sample project, or the headless demo where the window cannot open (no
    screen, or Qt's X11 libraries missing: said with the install line, instead of Qt's abort)."""
    problem = window_problem()
    if problem:
        print(problem, file=sys.stderr)
        from .demo import run_demo
        return run_demo()
    try:
        from desktop_app.gui.app import run
    except ImportError as e:
        print(f"The window needs PySide6 ({e}). The command line works without it: desktop-app --help",
              file=sys.stderr)
        return 2
    return run([])


@command("info", "Show the catalog folder, its size, and counts; or one model / dataset with --model / --dataset.")
def _info(p):
    p.add_argument("--model")
    p.add_argument("--dataset")
    p.add_argument("--json", action="store_true")

    def run(a):
        c = client()
        if a.model:
            m = resolve_model(a.model)
            info = {**m.to_json(), "artifacts": [x.to_json() for x in m.artifacts.list()],
                    "lineage": [x.name for x in m.lineage()],
                    "metrics": sorted({f"{s.figure}/{s.legend}" for s in m.metrics.list()})}
        elif a.dataset:
            d = resolve_dataset(a.dataset)
            info = {**d.to_json(), "items": d.items_count, "subsets": d.subset_counts(),
                    "label_counts": d.label_counts()}
        else:
            from desktop_app.catalog.queries_cli import catalog_counts
            cat = c.catalog
            counts = catalog_counts(cat)
            info = {"home": str(cat.home), "schema_version": counts["schema_version"],
                    "projects": len(cat.list_projects()), "packages": len(cat.list_packages()),
                    "models": len(cat.find_models()), "datasets": len(cat.list_datasets()),
                    "items": counts["items"], "annotations": counts["annotations"],
                    "store_bytes": sum(cat.store.size_of(s) for s in cat.store.iter_shas())}
        print_json(info)
        return 0
    p.set_defaults(func=run)


# -- import / export -------------------------------------------------------------------------
@command("import", "Import a COCO / YOLO / VOC / ImageFolder / Dataloop set into a dataset (all or nothing).")
def _import(p):
    p.add_argument("path", help="annotation file or folder")
    p.add_argument("--format", default="auto",
                   choices=["coco", "yolo", "voc", "imagefolder", "dataloop", "yolo-seg", "semantic", "auto"])
    p.add_argument("--dataset", required=True, help="dataset name (created if missing) or id")
    p.add_argument("--project", help="project name or id (default: the sample project)")
    p.add_argument("--create-project", action="store_true",
                   help="create the --project first when there is none by that name")
    p.add_argument("--images", help="images folder (COCO)")

    def run(a):
        from desktop_app.formats.predictions import looks_like_results_file
        if looks_like_results_file(a.path):     # before a project or dataset is made for it
            from desktop_app.formats.coco import PREDICTIONS_HINT
            raise UserError(f"{a.path} is a COCO results file (a model's predictions), not a dataset: import it "
                            f"as a model's predictions with `{PREDICTIONS_HINT}`")
        project, created = _import_project(a)
        kw = {"images_dir": a.images} if a.images else {}
        fmt = None if a.format == "auto" else a.format
        try:
            try:
                ds = project.datasets.get(a.dataset)
            except NotFoundError:
                # Created in the import's own transaction: a failed or killed import leaves no empty dataset.
                ds = project.datasets.create_from(a.dataset, a.path, fmt, **kw)
                count = ds.items_count
            else:
                count = len(ds.import_from(a.path, fmt, **kw))
        except BaseException:
            if created:     # nor an empty project (Ctrl+C too)
                project.delete()
            raise
        if created:
            print(f"created project {project.name} ({project.id})")
        print(f"imported {count} items into {project.name}/{ds.name} ({ds.id})")
        return 0
    p.set_defaults(func=run)


def _import_project(a: argparse.Namespace):
    """(project, whether it was created now): --project, made when missing if --create-project says so."""
    c = client()
    if not a.project:
        if a.create_project:
            raise UserError("--create-project needs --project NAME, the project to create")
        return c.sample_project, False
    try:
        return c.projects.get(a.project), False
    except NotFoundError:
        if not a.create_project:
            raise NotFoundError(f"no project with id or name {a.project!r}: pass --create-project to create it, or "
                                f"run `desktop-app projects create {shlex.quote(a.project)}` first") from None
    return c.projects.create(a.project), True


@command("export", "Export a dataset to COCO / YOLO / VOC / ImageFolder / Dataloop, masks also to YOLO "
                   "segmentation / class-index PNGs.")
def _export(p):
    p.add_argument("out", help="output folder (with --results: the results file, or a folder for results.json)")
    p.add_argument("--format", choices=["coco", "yolo", "voc", "imagefolder", "dataloop", "yolo-seg", "semantic"],
                   default="coco", help="yolo-seg: masks as YOLO polygons; semantic: class-index PNGs")
    p.add_argument("--dataset", required=True)
    p.add_argument("--project")
    p.add_argument("--subset", choices=["train", "validation", "test"])
    what = p.add_mutually_exclusive_group()
    what.add_argument("--predictions", metavar="MODEL",
                      help="also write this model's stored predictions, with their scores (id, name or package/name)")
    what.add_argument("--results", metavar="MODEL",
                      help="write only a COCO results file of this model's predictions, for evaluate-coco beside "
                           "a COCO export of the same items")

    def run(a):
        from desktop_app.formats.export import writer_kwargs
        ds = resolve_dataset(a.dataset, a.project)
        if a.results:
            out = ds.export_results(Path(a.out), resolve_model(a.results).id,
                                    filters={"subset": a.subset} if a.subset else None)
            print(f"wrote the COCO results of {a.results} on {ds.name} to {out}")
            return 0
        kw = writer_kwargs(a.format, resolve_model(a.predictions).id) if a.predictions else {}
        if a.predictions and "include_predictions" not in kw:
            print(f"--predictions: the {a.format} format cannot hold predictions", file=sys.stderr)
            return 2
        out = ds.export(Path(a.out), a.format, filters={"subset": a.subset} if a.subset else None, **kw)
        print(f"exported {ds.name} as {a.format} to {out}")
        return 0
    p.set_defaults(func=run)


@command("clone", "Clone a model into a new version (optionally with new hyper-parameters).")
def _clone(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--name", required=True)
    p.add_argument("--description")
    p.add_argument("--project")
    p.add_argument("--dataset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hyper-parameter")

    def run(a):
        from desktop_app.ml.adapter import coerce_overrides, validate_model_configuration
        from desktop_app.ml.hparams import parse_assignments
        src = resolve_model(a.model)
        c = client()
        project_id = c.projects.get(a.project).id if a.project else None
        dataset = resolve_dataset(a.dataset, a.project) if a.dataset else None
        overrides = coerce_overrides(c.catalog, src.package_id, parse_assignments(a.set))
        config = validate_model_configuration(c.catalog, src.package_id, {**src.configuration, **overrides})
        m = src.clone(model_name=a.name, description=a.description, project_id=project_id, dataset=dataset,
                      configuration={k: config[k] for k in overrides})
        print(f"cloned {src.name} -> {m.name} ({m.id})")
        return 0
    p.set_defaults(func=run)

