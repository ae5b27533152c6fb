"""Model commands: `models [list]` (with --where / --order-by in MLflow's search grammar), alias, unalias, aliases."""

from __future__ import annotations

import argparse
from typing import Any

from . import commands  # noqa: F401  (its plain 'models' command is registered first; the one here replaces it)
from .app import add_actions, client, command, print_json, print_table, resolve_model

WHERE_HELP = ("a search query in MLflow's grammar, e.g. \"metrics.`validation/accuracy` > 0.9 and "
              "params.learning_rate < 0.01 and tags.stage = 'candidate'\" (README: Finding the best model)")
ORDER_HELP = "\"<field> [ASC|DESC]\", e.g. \"metrics.`validation/accuracy` DESC\" (repeat for more; missing last)"


def _list_options(p: argparse.ArgumentParser, *, on_action: bool) -> None:
    """The listing's options, on the command (no ACTION) and on `list`; an action's copy leaves the command's value
    alone when not given (add_actions)."""
    default = argparse.SUPPRESS if on_action else None
    p.add_argument("--package", default=default, help="package name or id (only its models)")
    p.add_argument("--where", default=default, metavar="QUERY", help=WHERE_HELP)
    p.add_argument("--order-by", action="append", default=default, metavar="FIELD", help=ORDER_HELP)
    p.add_argument("--max", type=int, default=default, metavar="N", help="at most N models")
    if on_action:
        p.add_argument("--project", default=argparse.SUPPRESS, help="project name or id")
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


@command("models", "Models: list (the default; --where / --order-by search them), alias / unalias one, the aliases "
                   "of a package.")
def _models(p):
    sub = add_actions(p, _list)
    _list_options(p, on_action=False)

    s = sub.add_parser("list", help="models with status and lineage; --where / --order-by find and sort them by "
                                    "metrics, parameters, tags, status, package, dataset and dates")
    _list_options(s, on_action=True)
    s.set_defaults(func=_list)

    s = sub.add_parser("alias", help="point a package's alias ('production', 'staging' ...) at a model (moved from "
                                     "the model it named)")
    s.add_argument("model", help="the model: id, name or package/name")
    s.add_argument("alias", help="1-64 letters, digits, '.', '_' or '-'")
    s.add_argument("--reason", default="", help="kept in the alias's history")
    s.set_defaults(func=_alias)

    s = sub.add_parser("unalias", help="remove an alias from the model it points at (kept in the history)")
    s.add_argument("model", help="the model: id, name or package/name")
    s.add_argument("alias")
    s.add_argument("--reason", default="", help="kept in the alias's history")
    s.set_defaults(func=_unalias)

    s = sub.add_parser("aliases", help="the aliases of a package and the models they point at; --history: every "
                                       "move")
    s.add_argument("package", help="package name or id")
    s.add_argument("--history", action="store_true", help="every move of its aliases, oldest first")
    s.add_argument("--alias", help="only this alias")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s.set_defaults(func=_aliases)


def _list(a: argparse.Namespace) -> int:
    from desktop_app.catalog.model_search import referenced_fields
    c = client()
    if a.package:
        repo = c.packages.get(a.package).models
    elif a.project:
        repo = c.projects.get(a.project).models
    else:
        repo = c.models
    searching = a.where is not None or a.order_by or a.max is not None
    if searching:
        found = repo.search(a.where or None, order_by=a.order_by, max_results=a.max)
        fields = [f for f in referenced_fields(a.where, a.order_by) if f.kind in ("metric", "param")]
    else:
        found, fields = repo.list(), []
    names = {r.id: r.name for r in c.catalog.find_models()}
    pkgs = {r.id: r.name for r in c.catalog.list_packages()}
    values = c.catalog.model_search.values([m.id for m in found], [f.column for f in fields]) if fields else {}
    rows = []
    for m in found:
        row = {**m.to_json(), "package": pkgs.get(m.package_id, ""), "parent": names.get(m.parent_id, "")}
        got = values.get(m.id, {})
        if fields and a.json:      # the metrics and parameters the query names, with the model's values
            row["metrics"] = {_key(f): got.get(f.column) for f in fields if f.kind == "metric"}
            row["params"] = {_key(f): got.get(f.column) for f in fields if f.kind == "param"}
        elif fields:
            row.update({_key(f): _cell(got.get(f.column)) for f in fields})
        rows.append(row)
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "package", "status", "parent", *(_key(f) for f in fields)])
    return 0


def _key(f: Any) -> str:
    """A field's name in the output: 'validation/accuracy', 'max(validation/accuracy)', 'learning_rate'."""
    return f"{f.agg}({f.key})" if f.agg else f.key


def _cell(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _alias(a: argparse.Namespace) -> int:
    c = client()
    model = resolve_model(a.model)
    before = c.catalog.get_alias(model.package_id, a.alias)
    model.set_alias(a.alias, a.reason)
    pkg = c.catalog.get_package(model.package_id).name
    was = ""
    if before is not None and before.model_id != model.id:
        was = f" (moved from {_model_name(c, before.model_id)})"
    print(f"alias {a.alias} of package {pkg} -> {model.name}{was}")
    return 0


def _unalias(a: argparse.Namespace) -> int:
    c = client()
    model = resolve_model(a.model)
    model.remove_alias(a.alias, a.reason)
    print(f"alias {a.alias} of package {c.catalog.get_package(model.package_id).name} removed from {model.name}")
    return 0


def _aliases(a: argparse.Namespace) -> int:
    c = client()
    pkg = c.packages.get(a.package)
    if a.history:
        rows = [{"alias": h["alias"], "model": _model_name(c, h["model_id"]) if h["model_id"] else "(removed)",
                 "previous": _model_name(c, h["previous_model_id"]) if h["previous_model_id"] else "",
                 "set_at": h["set_at"], "set_by": h["set_by"], "reason": h["reason"],
                 "model_id": h["model_id"], "previous_model_id": h["previous_model_id"]}
                for h in c.catalog.alias_history(pkg.id, a.alias)]
        columns = ["alias", "model", "previous", "set_at", "set_by", "reason"]
    else:
        rows = [{"alias": r.alias, "model": _model_name(c, r.model_id), "model_id": r.model_id, "set_at": r.set_at,
                 "set_by": r.set_by} for r in c.catalog.package_aliases(pkg.id) if a.alias in (None, r.alias)]
        columns = ["alias", "model", "model_id", "set_at", "set_by"]
    if getattr(a, "json", False):
        print_json(rows)
    else:
        print_table(rows, columns)
    return 0


def _model_name(c: Any, model_id: str) -> str:
    try:
        return c.catalog.get_model(model_id).name
    except LookupError:
        return f"{model_id} (deleted)"
