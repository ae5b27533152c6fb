"""Package commands: list them with their versions, and push a folder of your own adapter code (which runs that
code): a new package, or a new version of one pushed before."""

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

    s = sub.add_parser("list", help="packages with their kind, versions, output type and model count")
    s.add_argument("--project", default=argparse.SUPPRESS, help="project name or id (default: every package)")
    json_option(s)
    s.set_defaults(func=_list)

    s = sub.add_parser("push", help="add a folder holding a dl.BaseModelAdapter subclass (runs its code); the name "
                                    "of a package pushed before adds a new version of its code",
                       description="Add a package from a folder of your own adapter code. Pushing runs the "
                                   "package's code (its entry point is imported now, and again whenever one of its "
                                   "models trains, evaluates, predicts or serves): only push code you trust. The "
                                   "name of a package pushed before makes a new version of its code (1.0.1, "
                                   "1.0.2, ...); its models stay on the version they are on.")
    s.add_argument("--name", help="the package's name (an existing one: a new version of it)")
    s.add_argument("--src", metavar="PATH", help="the folder holding the adapter code")
    s.add_argument("--entry-point", default="adapter.py",
                   help="the .py file in that folder defining the dl.BaseModelAdapter subclass")
    s.add_argument("--class-name", help="the adapter class, when the file defines more than one")
    s.add_argument("--output-type", choices=OUTPUT_TYPES, default=None,
                   help="what its models predict (default: class; a new version: the package's)")
    s.add_argument("--description", default=None)
    s.add_argument("--version", dest="package_version", metavar="X.Y.Z", default=None,
                   help="the version's name (default: 1.0.0 for a new package, else the newest + 0.0.1)")
    s.add_argument("--increment", choices=("patch", "minor", "major"), default=None,
                   help="a new version's number: the newest's patch (default), minor or major number + 1")
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
    rows = []
    for x in repo.list():
        models = x.models.list()
        per_version: dict[str, int] = {v: 0 for v in c.catalog.package_versions(x.id)}
        for m in models:
            per_version[m.package_version] = per_version.get(m.package_version, 0) + 1
        rows.append({**x.to_json(), "models": len(models), "models_per_version": per_version})
    if a.json:
        print_json(rows)
    else:
        for r in rows:
            older = [v for v in r["versions"] if v != r["version"]]
            if older:   # the current version first, then the others with their model counts
                r["version"] = f"{r['version']} (older: " + ", ".join(
                    f"{v} [{_models(r['models_per_version'].get(v, 0))}]" for v in older) + ")"
        print_table(rows, ["id", "name", "kind", "version", "output_type", "models", "description"])
    return 0


def _models(n: int) -> str:
    return f"{n} model{'s' if n != 1 else ''}"


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
        existing = c.packages.get(package_name=a.name)
    except NotFoundError:
        existing = None
    else:
        if existing.kind != "user":
            raise UserError(f"--name: {a.name!r} is a built-in package, whose code cannot be replaced; push yours "
                            f"under another name")
    if a.package_version is not None:
        from desktop_app.catalog.package_versions import check_new_version, parse_version
        parse_version(a.package_version, field="--version")
        if existing is not None:
            check_new_version(a.package_version, c.catalog.package_versions(existing.id), package=a.name)
    src, entry = check_package_source(a.src, a.entry_point, fields=("--src", "--entry-point"))
    print(f"warning: {PUSH_WARNING}", file=sys.stderr)
    print(f"  code: {entry}", file=sys.stderr)
    if not a.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UserError("not pushed: stdin is not a terminal to confirm on; pass --yes to run the package's "
                            "code and add it")
        what = f"a new version of package {a.name!r}" if existing is not None else f"package {a.name!r}"
        answer = input(f"Run {entry.name} and add {what} from {src}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not pushed", file=sys.stderr)
            return 1
    pkg = c.packages.push(package_name=a.name, src_path=src, entry_point=a.entry_point, class_name=a.class_name,
                          output_type=a.output_type, description=a.description,
                          project_id=project_id, version=a.package_version, revision_increment=a.increment)
    if a.json:
        print_json(pkg.to_json())
    elif existing is not None:
        n = len(pkg.models.list())
        print(f"added version {pkg.version} of package {pkg.name} ({pkg.id}): class {pkg.class_name} from {src}; "
              f"versions: {', '.join(c.catalog.package_versions(pkg.id))}")
        if n:
            print(f"its {n} model{'s stay' if n != 1 else ' stays'} on {'their versions' if n != 1 else 'its version'}"
                  f": move one with `model.package_version = '{pkg.version}'; model.update()`")
    else:
        print(f"added package {pkg.name} {pkg.version} ({pkg.id}): class {pkg.class_name} from {src}")
    return 0
