"""What the command modules share: the command registry, the SDK client, finding a model or dataset, printing."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any, Callable, Sequence

from desktop_app.errors import NotFoundError, ValidationError

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str):
    def register(fn):
        COMMANDS[name] = (fn, help)  # type: ignore[assignment]
        return fn
    return register


def client():
    from desktop_app.sdk import default_client
    return default_client()


def resolve_model(spec: str):
    """A model by id, by name, or as 'package/name' or 'project/name' when names repeat."""
    c = client()
    try:
        return c.models.get(model_id=spec)
    except NotFoundError:
        pass
    scope, _, name = spec.rpartition("/")
    found = c.catalog.find_models(name=name)
    if scope:
        found = [m for m in found if scope in (c.catalog.get_package(m.package_id).name,
                                               c.catalog.get_project(m.project_id).name)]
    if not found:
        raise NotFoundError(f"no model {spec!r} (give its id, its name, or package/name)")
    if len(found) > 1:
        raise ValidationError(f"{len(found)} models are named {name!r}; use its id or package/name")
    return c.models.get(model_id=found[0].id)


def add_actions(p: argparse.ArgumentParser, list_run: Callable[[argparse.Namespace], int], *,
                project: bool = True) -> argparse._SubParsersAction:
    """ACTION subcommands under a command; with no ACTION the command lists, so its ``--json`` (and ``--project``)
    are on the command too. An action's copy of those options leaves the command's value alone when not given
    (default SUPPRESS), so ``datasets --json list`` and ``datasets list --json`` both print JSON."""
    p.add_argument("--json", action="store_true", help="print JSON (with no ACTION: of the list)")
    if project:
        p.add_argument("--project", help="project name or id (with no ACTION: list only its own)")
    p.set_defaults(func=list_run)
    return p.add_subparsers(dest="action", metavar="ACTION")


def json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def find_project(spec: str):
    """A project by name or id; when there is none, the error says how to make it."""
    try:
        return client().projects.get(spec)
    except NotFoundError:
        raise NotFoundError(f"no project with id or name {spec!r}: create it with `desktop-app projects create "
                            f"{shlex.quote(spec)}` (`desktop-app projects list` shows those there are)") from None


def resolve_dataset(spec: str, project: str | None = None):
    """A dataset by name or id (in one project when given); when there is none, the error says where to look."""
    repo = find_project(project).datasets if project else client().datasets
    try:
        return repo.get(spec)
    except NotFoundError:
        where = f" in project {project!r}" if project else ""
        listing = f" --project {shlex.quote(project)}" if project else ""
        raise NotFoundError(f"no dataset with id or name {spec!r}{where} (`desktop-app datasets list{listing}` "
                            f"shows those there are)") from None


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
