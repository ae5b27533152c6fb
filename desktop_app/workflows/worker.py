"""The job worker process: `python -m desktop_app.workflows.worker HOME EXECUTION_ID` (stdout is its log).

The task bodies (train, evaluate, predict) are registered here on jobs.worker's registry; jobs.worker.main is
the process shell (heartbeat, cancel, recording the outcome)."""

from __future__ import annotations

import sys

from desktop_app.catalog import Catalog, scratch
from desktop_app.jobs.worker import Control, main as run_job, task

from . import embed, evaluate, predict, train


@task("train")
def run_train(catalog: Catalog, ex, control: Control) -> dict:
    if ex.input.get("cluster"):          # queued for a Ray cluster: the same steps, trained there
        from .cluster import train_on_cluster
        result = train_on_cluster(catalog, ex, control)
    else:
        result = train.train(catalog, ex, control)
    # Trained and stored: the parent's weights as loaded and the laid-out subsets are stale now (a resumed or
    # new job makes them again). The job's own folder, with its checkpoint, goes once its success is recorded.
    for folder in scratch.model_dirs(catalog, ex.model_id):
        scratch.remove(folder)
    return result


@task("evaluate")
def run_evaluate(catalog: Catalog, ex, control: Control) -> dict:
    return evaluate.evaluate_model(
        catalog, ex.model_id, ex.input["dataset_id"], filters=ex.input.get("filters") or {},
        name=ex.input.get("name"), iou_threshold=ex.input.get("iou_threshold", 0.5),
        conf_threshold=ex.input.get("conf_threshold", 0.0), execution_id=ex.id, progress=control.progress,
        should_stop=control.check)


@task("predict")
def run_predict(catalog: Catalog, ex, control: Control) -> dict:
    return predict.predict(catalog, ex.model_id, item_ids=ex.input.get("item_ids"),
                           dataset_id=ex.input.get("dataset_id"), filters=ex.input.get("filters") or None,
                           progress=control.progress, check=control.check)


task(embed.KIND)(embed.run_job)     # embed items into the model's feature set (workflows.embed)


def main(argv: list[str] | None = None) -> int:
    return run_job(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
