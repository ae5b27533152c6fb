"""Pipeline commands: pipelines list | create | run | runs | resume | cancel | rollback | history | serve."""

from __future__ import annotations

import sys
import time

from desktop_app.domain.status import PipelineRunStatus as RunStatus

from .app import client, command, print_json, print_table, resolve_dataset, resolve_model


def _pipeline(spec: str):
    return client().pipelines.get(spec)


def _list(a) -> int:
    from desktop_app.pipelines.api import pipeline_rows
    c = client()
    rows = pipeline_rows(c.catalog, c.projects.get(a.project).id if a.project else None)
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "status", "champion", "trigger", "due", "runs", "last_status", "last_at"])
    return 0


def _create(a) -> int:
    from desktop_app.ml.adapter import coerce_overrides
    from desktop_app.ml.hparams import parse_assignments
    c = client()
    champion = resolve_model(a.champion) if a.champion else None
    package = c.packages.get(a.package) if a.package else None
    package_id = champion.package_id if champion is not None else (package.id if package else None)
    training = coerce_overrides(c.catalog, package_id, parse_assignments(a.set)) if a.set and package_id else {}
    subsets = None
    if a.subset:
        subsets = {}
        for pair in a.subset:
            role, _, name = pair.partition("=")
            subsets[role.strip()] = {"subset": name.strip() or role.strip()}
    gate = {k: v for k, v in {"metric": a.metric, "min_improvement": a.min_improvement,
                              "max_class_drop": a.max_class_drop, "class_metric": a.class_metric,
                              "checks": a.check or None, "min_wins": a.min_wins}.items() if v is not None}
    kw = {}
    if a.project:
        kw["project_id"] = c.projects.get(a.project).id
    p = c.pipelines.create(a.name, champion=champion, package=package,
                           dataset=resolve_dataset(a.dataset, a.project) if a.dataset else None,
                           subsets=subsets, trigger=a.trigger, training=training, gate=gate,
                           max_items=a.max_items, redeploy=not a.no_redeploy, **kw)
    d = p.definition
    print(f"pipeline {p.name} ({p.id}): champion {p.champion.name}, trigger {d.trigger.describe()}, "
          f"gate {d.gate['metric']} +{d.gate['min_improvement']}")
    return 0


def _print_run(run) -> None:
    rec = run.refresh()._record
    d = rec.details
    print(f"run {rec.id} (#{d.get('number')}): {rec.status}"
          + (f" at step {d.get('failed_step')}: {d.get('error')}" if rec.status in RunStatus.RESUMABLE else ""))
    for reason in (d.get("decision") or {}).get("reasons", []):
        print(f"  {reason}")
    red = d.get("redeploy") or {}
    if red.get("done") or red.get("errors"):
        print(f"  services moved: {sorted(red.get('done', {}))}" + (f"; errors: {red['errors']}" if red.get("errors")
                                                                    else ""))


def _run(a) -> int:
    p = _pipeline(a.pipeline)
    run = p.run(wait=not a.no_wait)
    if a.no_wait:
        print(f"run {run.id} started in a detached runner (pid {run.details.get('owner', {}).get('pid')})")
        return 0
    if a.json:
        print_json(run.refresh().to_json())
    else:
        _print_run(run)
    return 0 if run.status in RunStatus.DONE else 1


def _runs(a) -> int:
    from desktop_app.pipelines.api import run_rows, step_rows
    c = client()
    if a.run:
        rows = step_rows(c.catalog, a.run)
        if a.json:
            print_json(rows)
        else:
            print_table(rows, ["name", "status", "attempts", "seconds", "execution_id", "error"])
        return 0
    if not a.pipeline:
        print("pipelines runs needs a pipeline (or --run RUN_ID)", file=sys.stderr)
        return 2
    rows = run_rows(c.catalog, _pipeline(a.pipeline).id)
    if a.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "number", "status", "trigger", "step", "challenger", "metric", "champion_score",
                           "challenger_score", "created", "error"])
    return 0


def _resume(a) -> int:
    from desktop_app.sdk.pipeline import PipelineRun
    c = client()
    run = PipelineRun(c, c.catalog.get_pipeline_run(a.run)).resume(wait=not a.no_wait)
    if a.no_wait:
        print(f"run {run.id} resumed in a detached runner")
        return 0
    _print_run(run)
    return 0 if run.status in RunStatus.DONE else 1


def _cancel(a) -> int:
    from desktop_app.pipelines.api import cancel_run
    cancel_run(client().catalog, a.run)
    print(f"cancel requested for run {a.run}")
    return 0


def _rollback(a) -> int:
    p = _pipeline(a.pipeline)
    res = p.rollback(to_model=resolve_model(a.to).id if a.to else None, reason=a.reason or "")
    names = {m.id: m.name for m in client().catalog.find_models()}
    if not res["changed"]:
        print(f"{names.get(res['to_model_id'])} is the champion already")
        return 0
    print(f"champion: {names.get(res['from_model_id'])} -> {names.get(res['to_model_id'])}")
    for sid, state in res["services"].items():
        print(f"  service {sid}: {state}")
    return 0


def _history(a) -> int:
    rows = _pipeline(a.pipeline).history()
    if a.json:
        print_json(rows)
    else:
        print_table([{**r, "at": r["set_at"][:19]} for r in rows],
                    ["at", "model_name", "previous_model_name", "set_by", "reason"])
    return 0


def _serve(a) -> int:
    from desktop_app.pipelines.api import recover_all
    from desktop_app.pipelines.triggers import tick
    c = client()
    rec = recover_all(c.catalog)
    if rec["interrupted"]:
        print(f"runs interrupted by an earlier exit (resume them): {', '.join(rec['interrupted'])}")
    print(f"checking pipeline triggers every {a.poll:g} s" + ("" if a.once else "; Ctrl+C stops"), flush=True)
    try:
        while True:
            for pid in tick(c.catalog):
                print(f"started a run of pipeline {c.catalog.get_pipeline(pid).name}", flush=True)
            if a.once:
                return 0
            time.sleep(a.poll)
    except KeyboardInterrupt:
        print("stopped (running pipeline runs go on in their own processes)", file=sys.stderr)
        return 0


@command("pipelines", "Continuous-learning pipelines: list, create, run, runs, resume, cancel, rollback, "
                      "history, serve (check triggers).")
def _pipelines(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    s = sub.add_parser("list", help="pipelines with their champion, trigger and last run")
    s.add_argument("--project")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_list)

    s = sub.add_parser("create", help="a pipeline over a champion model")
    s.add_argument("name")
    s.add_argument("--champion", help="the champion model (id, name or package/name); sets the alias")
    s.add_argument("--package", help="a package whose 'champion' alias is set already")
    s.add_argument("--dataset", help="default: the champion's dataset")
    s.add_argument("--project")
    s.add_argument("--trigger", default="manual", help="manual | annotations:N | schedule:6h")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="training override")
    s.add_argument("--subset", action="append", default=[], metavar="ROLE=SUBSET",
                   help="e.g. test=validation (roles: train, validation, test)")
    s.add_argument("--max-items", type=int, help="a seeded sample of at most N items per subset")
    s.add_argument("--metric", help="primary metric (default accuracy / mAP)")
    s.add_argument("--min-improvement", type=float)
    s.add_argument("--max-class-drop", type=float)
    s.add_argument("--class-metric")
    s.add_argument("--check", action="append", help="a check the challenger must win (repeat)")
    s.add_argument("--min-wins", type=float, help="K checks, or a fraction below 1")
    s.add_argument("--no-redeploy", action="store_true", help="leave running services on the old model")
    s.set_defaults(func=_create)

    s = sub.add_parser("run", help="run a pipeline now (Ctrl+C cancels)")
    s.add_argument("pipeline")
    s.add_argument("--no-wait", action="store_true", help="run in a detached process and return")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_run)

    s = sub.add_parser("runs", help="a pipeline's runs, or one run's steps with --run")
    s.add_argument("pipeline", nargs="?")
    s.add_argument("--run")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_runs)

    s = sub.add_parser("resume", help="continue a failed / interrupted / canceled run")
    s.add_argument("run")
    s.add_argument("--no-wait", action="store_true")
    s.set_defaults(func=_resume)

    s = sub.add_parser("cancel", help="cancel a running run")
    s.add_argument("run")
    s.set_defaults(func=_cancel)

    s = sub.add_parser("rollback", help="make an earlier champion the champion again")
    s.add_argument("pipeline")
    s.add_argument("--to", help="model (default: the previous champion)")
    s.add_argument("--reason")
    s.set_defaults(func=_rollback)

    s = sub.add_parser("history", help="who or what set the champion, when and why")
    s.add_argument("pipeline")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_history)

    s = sub.add_parser("serve", help="check triggers (annotation counts, schedules) until Ctrl+C")
    s.add_argument("--poll", type=float, default=10.0, help="seconds between checks")
    s.add_argument("--once", action="store_true", help="check once and exit")
    s.set_defaults(func=_serve)
