"""Sweep commands: `sweep MODEL --grid ... | --random N --param ...` makes one; `sweeps` lists, shows, cancels."""

from __future__ import annotations

import argparse
import sys

from desktop_app.errors import ValidationError

from .app import add_actions, client, command, json_option, print_json, print_table, resolve_model

SPEC_HELP = ("NAME=SPEC, SPEC one of loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH (inclusive), "
             "choice:A,B,... (repeat for each parameter)")


@command("sweep", "Sweep a model's hyper-parameters: clones trained as ordinary jobs, a grid or a random search "
                  "(Optuna's samplers and pruning with the sweep extra).")
def _sweep(p):
    p.add_argument("model", help="the base model: id, name or package/name")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=A,B,...",
                   help="try every combination of these values (repeat for each parameter)")
    p.add_argument("--random", type=int, metavar="N", help="random search: N trials drawn from the --param space")
    p.add_argument("--param", action="append", default=[], metavar="NAME=SPEC", help=SPEC_HELP)
    p.add_argument("--budget", type=int, metavar="N", help="trials in all (what --random N says; with --sampler)")
    p.add_argument("--seed", type=int, help="seed of the random draws (the same seed draws the same trials)")
    p.add_argument("--sampler", choices=["tpe", "random", "cmaes"],
                   help="ask Optuna for each trial as others end (needs: pip install -e '.[sweep]')")
    p.add_argument("--prune", action="store_true", help="Optuna's median pruner: cancel trials doing worse than the "
                   "median of the ended ones at the same epoch (needs the sweep extra)")
    p.add_argument("--objective", metavar="KEY", help="metric key to optimise, '<legend>/<figure>' (default: the "
                   "package's main validation metric, validation/accuracy for classifiers)")
    p.add_argument("--direction", choices=["maximize", "minimize"],
                   help="default: maximize, or minimize for a loss")
    p.add_argument("--name", help="the sweep's name (default: MODEL-sweep-N); its trials are NAME-1, NAME-2, ...")
    p.add_argument("--max-parallel", type=int, metavar="N", help="at most N trials queued or running at once")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N for every trial (default: each model's own)")
    p.add_argument("--wait", action="store_true", help="block until every trial ended (Ctrl+C cancels the sweep) "
                   "and print the trials")
    p.add_argument("--json", action="store_true", help="print the sweep as JSON")
    p.set_defaults(func=_run_sweep)


def space_and_method(a: argparse.Namespace) -> tuple[dict, str, int | None]:
    """The search space, the method and the budget the options say; ValidationError for a contradiction."""
    from desktop_app.workflows.sweeps import parse_grid, parse_params
    if a.grid and a.param:
        raise ValidationError("give --grid (every combination) or --param with --random N (drawn trials), not both")
    if a.random is not None and a.budget is not None and a.random != a.budget:
        raise ValidationError(f"--random {a.random} and --budget {a.budget} disagree; give one")
    budget = a.random if a.random is not None else a.budget
    if a.grid:
        if a.random is not None:
            raise ValidationError("--random draws from --param ranges; a grid (--grid) tries every combination")
        return parse_grid(a.grid), "grid", budget
    if not a.param:
        raise ValidationError("nothing to sweep: give --grid NAME=A,B or --random N --param NAME=SPEC")
    if budget is None:
        raise ValidationError("--param draws trials: say how many with --random N (or --budget N)")
    method = a.sampler if a.sampler in ("tpe", "cmaes") else "random"
    return parse_params(a.param), method, budget


def _run_sweep(a: argparse.Namespace) -> int:
    space, method, budget = space_and_method(a)
    m = resolve_model(a.model)
    grid = method == "grid"
    sweep = _sweeps().create(m, grid=space if grid else None, params=None if grid else space, method=method,
                             budget=budget, objective=a.objective, direction=a.direction, max_parallel=a.max_parallel,
                             name=a.name, seed=a.seed, sampler=a.sampler, prune=a.prune, device=a.device)
    if not a.json:
        print(f"sweep {sweep.name} ({sweep.id}): {sweep.total} trial(s) of {m.name}, {sweep.method}"
              f"{', ' + sweep.metadata['sampler'] + ' sampler' if sweep.metadata.get('sampler') else ''}"
              f"{', pruned by median' if sweep.metadata.get('prune') else ''}; {sweep.direction} {sweep.objective}")
    if a.wait:
        _wait(sweep, quiet=a.json)
    return _show(sweep, a.json, table=a.wait)


def _sweeps():
    from desktop_app.sdk.sweep import Sweeps
    c = client()
    return getattr(c, "sweeps", None) or Sweeps(c)


def _wait(sweep, *, quiet: bool) -> None:
    from desktop_app.workflows.sweeps import wait_sweep

    def said(state) -> None:
        if not quiet:
            best = f", best {state.best.model.name} {state.best.value:.4g}" if state.best else ""
            print(f"{state.status}: {state.finished}/{state.total} trials ended{best}", file=sys.stderr)
    try:
        wait_sweep(sweep._client.catalog, sweep.id, on_change=said)
    except KeyboardInterrupt:
        print("\ncanceling the sweep ...", file=sys.stderr)
        sweep.cancel()
        raise
    sweep.refresh()


def _show(sweep, as_json: bool, *, table: bool = True) -> int:
    state = sweep.state
    if as_json:
        print_json(state.to_dict())
        return 0
    if table:
        rows, keys = trial_rows(state)
        print_table(rows, ["trial", "model", *keys, "status", sweep.objective, "best"])
    if state.best:
        print(f"best: {state.best.model.name} {sweep.objective} = {state.best.value:.4g} ({state.status}, "
              f"{state.finished}/{state.total} trials ended)")
    else:
        print(f"{state.status}: {state.finished}/{state.total} trials ended, none trained yet")
    return 0 if state.status != "failed" else 1


def trial_rows(state) -> tuple[list[dict], list[str]]:
    """One row per trial: its parameters, status and objective value, the best one starred."""
    keys = list(state.sweep.space)
    rows = []
    for t in state.trials:
        row = {"trial": t.index, "model": t.model.name, "status": t.status,
               state.sweep.objective: "" if t.value is None else f"{t.value:.4g}",
               "best": "*" if state.best is not None and t.model.id == state.best.model.id else ""}
        row.update({k: _short(t.params.get(k)) for k in keys})
        rows.append(row)
    return rows, keys


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# -- sweeps: list | show | cancel --------------------------------------------------------------
def _list(a: argparse.Namespace) -> int:
    project = client().projects.get(a.project).id if getattr(a, "project", None) else None
    rows = []
    for s in _sweeps().list(project_id=project):
        d = s.to_json()
        best = d["best"]
        rows.append({"id": s.id, "name": s.name, "method": s.method, "status": d["status"],
                     "progress": f"{d['finished']}/{d['total']}", "objective": f"{s.direction} {s.objective}",
                     "best": f"{best['model']} {best['value']:.4g}" if best else "", "created": s.created_at[:19]})
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "method", "status", "progress", "objective", "best", "created"])
    return 0


def _find(a: argparse.Namespace):
    project = client().projects.get(a.project).id if getattr(a, "project", None) else None
    return _sweeps().get(a.sweep, project_id=project)


def _show_one(a: argparse.Namespace) -> int:
    sweep = _find(a)
    if a.wait:
        _wait(sweep, quiet=a.json)
    return _show(sweep, a.json)


def _cancel(a: argparse.Namespace) -> int:
    sweep = _find(a).cancel()
    if a.json:
        print_json(sweep.to_json())
    else:
        print(f"sweep {sweep.name}: {sweep.status}; its queued and running trial jobs are canceled")
    return 0


@command("sweeps", "Sweeps: list (the default), show NAME (its trials and best), cancel NAME.")
def _sweeps_command(p):
    sub = add_actions(p, _list)

    s = sub.add_parser("list", help="sweeps with their status, progress and best trial")
    json_option(s)
    s.set_defaults(func=_list)

    s = sub.add_parser("show", help="a sweep's trials (parameters, status, objective) and its best")
    s.add_argument("sweep", help="sweep name or id")
    s.add_argument("--wait", action="store_true", help="block until it ends first")
    json_option(s)
    s.set_defaults(func=_show_one)

    s = sub.add_parser("cancel", help="cancel every queued and running trial job of the sweep")
    s.add_argument("sweep", help="sweep name or id")
    json_option(s)
    s.set_defaults(func=_cancel)
