"""Job commands: train, jobs, evaluate, evaluate-coco, import-tensorboard."""

from __future__ import annotations

import json
import shlex
import sys

from desktop_app.domain.status import ExecutionStatus
from desktop_app.errors import ValidationError

from .app import client, command, print_json, print_table, resolve_dataset, resolve_model


@command("train", "Train a model in a worker process (Ctrl+C cancels); --set key=value edits hyper-parameters first.")
def _train(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--resume", action="store_true", help="continue the last interrupted run from its checkpoint")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N, all")
    p.add_argument("--no-wait", action="store_true", help="queue the job and return")
    p.add_argument("--cluster", metavar="ADDRESS", help="train on a Ray cluster: ray://host:port, host:port, local "
                   "(Ray on this machine) or default (the cluster_address setting)")
    p.add_argument("--workers", type=int, help="Ray workers for --cluster (default: the cluster_workers setting)")
    p.add_argument("--data-version", metavar="NAME", help="train on this version of the model's dataset (`desktop-app "
                   "datasets snapshot`): its frozen items and annotations; the model keeps it for later trainings")
    p.add_argument("--live-data", action="store_true", help="forget the pinned --data-version: train on the "
                   "dataset as it is now (and from now on)")

    def run(a):
        from desktop_app.ml.adapter import coerce_overrides, validate_model_configuration
        from desktop_app.ml.hparams import parse_assignments
        m = resolve_model(a.model)
        if a.set:
            overrides = coerce_overrides(client().catalog, m.package_id, parse_assignments(a.set))
            config = validate_model_configuration(client().catalog, m.package_id, {**m.configuration, **overrides})
            m.configuration.update({k: config[k] for k in overrides})
            m.update()
        if a.live_data and a.data_version:
            raise ValidationError("--live-data trains on the dataset as it is now; --data-version on a frozen "
                                  "version of it: give one of them")
        _check_split(m)
        if a.workers is not None and not a.cluster:
            raise ValidationError("--workers is for --cluster")
        if a.live_data:
            m.unpin_data_version()
        ex = m.train(wait=not a.no_wait, resume=a.resume, device=a.device, cluster=a.cluster, workers=a.workers,
                     data_version=a.data_version)
        print(f"execution {ex.id}: {ex.status}" + (f" ({ex.error})" if ex.error else ""))
        return 0 if ex.status in (ExecutionStatus.SUCCESS, *ExecutionStatus.ACTIVE) else 1
    p.set_defaults(func=run)


def _check_split(m) -> None:
    """An empty train or validation subset, said with the command that fills it (the job runner's own refusal
    names the SDK call). A model with no dataset is left to the runner's refusal."""
    if not m.dataset_id:
        return
    ds = m.dataset
    for subset, f in m.subsets.items():
        if ds.items.count(filters=f) > 0:
            continue
        split = f"desktop-app datasets split {shlex.quote(ds.name)} --project {shlex.quote(ds.project.name)}"
        if f == {"subset": subset}:
            raise ValidationError(f"the {subset} subset of dataset {ds.name!r} is empty: split the dataset first "
                                  f"with `{split}` (80% train, 10% validation, 10% test unless --train, "
                                  f"--validation and --test say otherwise)")
        raise ValidationError(f"model {m.name!r} trains on the items of dataset {ds.name!r} its {subset} filter "
                              f"{f} selects, and it selects none; split the dataset (`{split}`) or clone the "
                              f"model with another filter")


@command("jobs", "List jobs; or cancel / resume / show the log of one.")
def _jobs(p):
    p.add_argument("action", nargs="?", choices=["list", "cancel", "resume", "log"], default="list")
    p.add_argument("execution", nargs="?")
    p.add_argument("--json", action="store_true")

    def run(a):
        from desktop_app.jobs import runner
        c = client()
        if a.action == "list":
            rows = runner.status_summary(c.catalog)
            if a.json:
                print_json(rows)
            else:
                print_table(rows, ["id", "name", "kind", "model", "status", "progress", "device", "created", "error"])
            return 0
        if not a.execution:
            print(f"jobs {a.action} needs an execution id", file=sys.stderr)
            return 2
        ex = c.executions.get(a.execution)
        if a.action == "cancel":
            ex.cancel()
            print(f"cancel requested for {ex.id}")
        elif a.action == "resume":
            rec = runner.resume_execution(c.catalog, ex.id, wait=False)
            print(f"execution {rec.id} queued to resume")
        else:
            print(ex.logs(), end="")
        return 0
    p.set_defaults(func=run)


@command("evaluate", "Evaluate a model on a dataset (or one subset of it) and print its metrics.")
def _evaluate(p):
    p.add_argument("model")
    p.add_argument("--dataset", help="dataset name or id (default: the model's)")
    p.add_argument("--subset", choices=["train", "validation", "test"])
    p.add_argument("--name", help="evaluation name (eval key)")
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--conf", type=float, default=0.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-predict", action="store_true", help="score the model's stored predictions (`desktop-app "
                   "import-predictions`) without running it: for a model without weights too")

    def run(a):
        m = resolve_model(a.model)
        ds = resolve_dataset(a.dataset) if a.dataset else m.dataset
        ex = m.evaluate(dataset=ds, filters={"subset": a.subset} if a.subset else None, name=a.name,
                        iou_threshold=a.iou, conf_threshold=a.conf, predict=not a.no_predict)
        out = ex.output
        if ex.status != ExecutionStatus.SUCCESS:
            print(f"evaluation failed: {ex.error}", file=sys.stderr)
            return 1
        if a.json:
            print_json(out)
        else:
            from desktop_app.evaluation.summary_text import summary_lines
            print("\n".join(summary_lines(out.get("method"), out.get("summary") or {})))
        return 0
    p.set_defaults(func=run)


@command("evaluate-coco", "Score a COCO results file against COCO ground truth, exactly as pycocotools does.")
def _evaluate_coco(p):
    p.add_argument("--gt", required=True)
    p.add_argument("--dt", required=True)
    p.add_argument("--iou-type", choices=["bbox", "segm"], default="bbox")
    p.add_argument("--json", action="store_true")

    def run(a):
        from desktop_app.evaluation.cocofiles import evaluate_coco_files
        res = evaluate_coco_files(a.gt, a.dt, iou_type=a.iou_type)
        if a.json:
            print(json.dumps(res))
        else:
            for name, v in zip(res["stat_names"], res["stats"]):
                print(f"{name:>6}: {v:.4f}")
        return 0
    p.set_defaults(func=run)


@command("import-tensorboard", "Bring scalars from TensorBoard event files into a model's metrics.")
def _import_tb(p):
    p.add_argument("logdir")
    p.add_argument("--model", required=True)

    def run(a):
        from desktop_app.ml.tensorboard import import_tensorboard
        m = resolve_model(a.model)
        n = import_tensorboard(client().catalog, m.id, a.logdir)
        print(f"imported {n} scalar points into {m.name}")
        return 0
    p.set_defaults(func=run)
