"""Package commands: list them, and push a folder of your own adapter code (which runs that code)."""

from __future__ import annotations

import sys

from desktop_app.errors import NotFoundError, UserError

from .app import client, command, print_json, print_table

OUTPUT_TYPES = ("class", "box", "segment")


@command("packages", "List packages (model code); `packages push` adds a folder holding your own adapter "
                     "(it runs that code: only push code you trust).")
def _packages(p):
    p.add_argument("action", choices=["list", "push"], nargs="?", default="list")
    p.add_argument("--project", help="list: project name or id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--name", help="push: the package's name")
    p.add_argument("--src", metavar="PATH", help="push: the folder holding the adapter code")
    p.add_argument("--entry-point", default="adapter.py",
                   help="push: the .py file in that folder defining the dl.BaseModelAdapter subclass")
    p.add_argument("--class-name", help="push: the adapter class, when the file defines more than one")
    p.add_argument("--output-type", choices=OUTPUT_TYPES, default="class", help="push: what its models predict")
    p.add_argument("--description", default="")
    p.add_argument("--yes", action="store_true",
                   help="push: do not ask before running the package's code (needed when stdin is not a terminal)")
    p.set_defaults(func=lambda a: _push(a) if a.action == "push" else _list(a))


def _client():
    return client()


def _list(a) -> int:
    c = _client()
    repo = c.projects.get(a.project).packages if a.project else c.packages
    rows = [x.to_json() for x in repo.list()]
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "kind", "output_type", "description"])
    return 0


def _push(a) -> int:
    from desktop_app.ml.adapter import PUSH_WARNING, check_package_name, check_package_source
    for flag, value in (("--name", a.name), ("--src", a.src)):
        if not value:
            raise UserError(f"packages push needs {flag}")
    # Everything that can be checked without running the code is checked before anyone is asked.
    check_package_name(a.name)
    c = _client()
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
                          output_type=a.output_type, description=a.description)
    if a.json:
        print_json(pkg.to_json())
    else:
        print(f"added package {pkg.name} ({pkg.id}): class {pkg.class_name} from {src}")
    return 0
