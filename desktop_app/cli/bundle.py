"""Bundle commands: carry one model to another catalog as one checked file (export), and bring one in (import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.errors import UserError

from .app import client, command, find_project, json_option, print_json, resolve_model

SUFFIX = ".mdbundle"


@command("bundle", "Models between catalogs: export a model (weights, settings, metrics, evaluations, package code, "
                   "lineage) to one .mdbundle file, or import one.")
def _bundle(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    s = sub.add_parser("export", help="write a model to one bundle file",
                       description="Write a model to one .mdbundle file: its weights and other files, "
                                   "configuration, labels, every metric point, its evaluations with their cached "
                                   "predictions, the code of its package version (a built-in: by name only) and "
                                   "its ancestors (by id and name).")
    s.add_argument("model", metavar="MODEL", help="the model's id, name, or package/name")
    s.add_argument("out", metavar="OUT", help=f"the bundle file to write (ending {SUFFIX})")
    s.add_argument("--force", action="store_true", help="replace OUT if it exists")
    json_option(s)
    s.set_defaults(func=_export)

    s = sub.add_parser("import", help="bring a model in from a bundle file (checked before anything is written)",
                       description="Bring a model in from a .mdbundle file. The whole file is checked first (its "
                                   "entries, their sha256, no pickles, no paths leaving it); a refused bundle "
                                   "writes nothing. A model this catalog has already is not imported twice. A "
                                   "bundle carrying package code adds that code (it runs when the model is used): "
                                   "import bundles from people you trust.")
    s.add_argument("file", metavar="FILE", help="the bundle file")
    s.add_argument("--project", default=None,
                   help="project name or id to put the model in (default: the bundle's project, made if missing)")
    json_option(s)
    s.set_defaults(func=_import)


def _export(a: argparse.Namespace) -> int:
    out = Path(a.out)
    if out.suffix != SUFFIX:
        out = out.with_name(out.name + SUFFIX)
    if out.exists() and not a.force:
        raise UserError(f"{out} exists; pass --force to replace it")
    model = resolve_model(a.model)
    path = model.export_bundle(out)
    if getattr(a, "json", False):
        print_json({"model_id": model.id, "model": model.name, "file": str(path), "bytes": path.stat().st_size})
    else:
        print(f"exported model {model.name!r} ({model.id}) to {path} ({path.stat().st_size:,} bytes)")
    return 0


def _import(a: argparse.Namespace) -> int:
    project_id = find_project(a.project).id if a.project else None
    model = client().models.import_bundle(a.file, project_id=project_id)
    report = model.bundle_report
    if getattr(a, "json", False):
        print_json({"model_id": model.id, "model": model.name, "created": report.created,
                    "message": report.message, "notes": report.notes})
        return 0
    print(report.message)
    for note in report.notes:
        print(f"  {note}")
    return 0
