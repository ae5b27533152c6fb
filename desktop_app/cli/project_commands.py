"""Project and dataset commands: projects list | create, datasets list | create | split."""

from __future__ import annotations

import argparse

from desktop_app.errors import AlreadyExistsError

from .app import add_actions, client, command, json_option, print_json, print_table


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
