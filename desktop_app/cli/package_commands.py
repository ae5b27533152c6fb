"""Package commands: list them, and push a folder of your own adapter code (which runs that code)."""

from __future__ import annotations

import argparse
import sys

from desktop_app.errors import NotFoundError, UserError

from .app import add_actions, client, command, find_project, json_option, print_json, print_table

OUTPUT_TYPES = ("class", "box", "segment")


@command("packages", "Packages (model code): list (the default), push a folder holding your own adapter (it runs "
                     "that code: only push code you trust).")
def _packages(p):
    sub = add_actions(p, _list)

    s = sub.add_parser("list", help="packages with their kind, version, output type and model count")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (default: every package)")
    json_option(s)
    s.set_defaults(func=_list)

    s = sub.add_parser("push", help="add a folder holding a dl.BaseModelAdapter subclass (runs its code)",
                       description="Add a package from a folder of your own adapter code. Pushing runs the "
                                   "package's code (its entry point is imported now, and again whenever one of its "
                                   "models trains, evaluates, predicts or serves): only push code you trust.")
    s.add_argument("--name", help="the package's name")
    s.add_argument("--src", metavar="PATH", help="the folder holding the adapter code")
    s.add_argument("--entry-point", default="adapter.py",
                   help="the .py file in that folder defining the dl.BaseModelAdapter subclass")
    s.add_argument("--class-name", help="the adapter class, when the file defines more than one")
    s.add_argument("--output-type", choices=OUTPUT_TYPES, default="class", help="what its models predict")
    s.add_argument("--description", default="")
    s.add_argument("--project", default=argparse.SUPPRESS, help="the project it belongs to (default: none)")
    s.add_argument("--yes", action="store_true",
                   help="do not ask before running the package's code (needed when stdin is not a terminal)")
    json_option(s)
    s.set_defaults(func=_push)


def _client():
    return client()


def _list(a) -> int:
    c = _client()
    repo = find_project(a.project).packages if a.project else c.packages
    rows = [{**x.to_json(), "models": len(x.models.list())} for x in repo.list()]
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "kind", "version", "output_type", "models", "description"])
    return 0


def _push(a) -> int:
    from desktop_app.ml.adapter import PUSH_WARNING, check_package_name, check_package_source
    for flag, value in (("--name", a.name), ("--src", a.src)):
        if not value:
            raise UserError(f"packages push needs {flag}")
    # Everything that can be checked without running the code is checked before anyone is asked.
    check_package_name(a.name)
    c = _client()
    project_id = find_project(a.project).id if a.project else None
    try:
        c.packages.get(package_name=a.name)
    except NotFoundError:
        pass
    else:
        raise UserError(f"--name: a package named {a.name!r} already exists")
    src, entry = check_package_source(a.src, a.entry_point, fields=("--src", "--entry-point"))
    print(f"warning: {PUSH_WARNING}", file=sys.stderr)
    print(f"  code: {entry}", file=sys.stderr)
    if not a.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UserError("not pushed: stdin is not a terminal to confirm on; pass --yes to run the package's "
                            "code and add it")
        answer = input(f"Run {entry.name} and add package {a.name!r} from {src}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not pushed", file=sys.stderr)
            return 1
    pkg = c.packages.push(package_name=a.name, src_path=src, entry_point=a.entry_point, class_name=a.class_name,
                          output_type=a.output_type, description=a.description,
                          project_id=project_id)
    if a.json:
        print_json(pkg.to_json())
    else:
        print(f"added package {pkg.name} ({pkg.id}): class {pkg.class_name} from {src}")
    return 0
