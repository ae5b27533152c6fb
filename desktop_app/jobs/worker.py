"""One job in its own process: `python -m desktop_app.jobs.worker HOME EXECUTION_ID` (stdout is its log)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from desktop_app.catalog import Catalog, ExecutionStatus
from desktop_app.catalog.db import now_iso
from desktop_app.errors import Cancelled, DesktopAppError

log = logging.getLogger("desktop_app.worker")


class Control:
    """The worker's link to its execution record: heartbeat, cancel flag, progress and metric sink."""

    def __init__(self, catalog: Catalog, execution_id: str, *, interval: float = 1.0):
        self.catalog = catalog
        self.execution_id = execution_id
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._last_progress = 0.0
        self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with contextlib.suppress(Exception):
                ex = self.catalog.get_execution(self.execution_id)
                if ex.cancel_requested:
                    self.cancelled.set()
                self.catalog.update_execution(self.execution_id, heartbeat_at=now_iso())

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("canceled by the user")

    def progress(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress < 0.5:
            return  # at most two writes a second
        self._last_progress = now
        self.catalog.update_execution(self.execution_id, progress=float(min(max(percent, 0.0), 100.0)),
                                      message=message)

    def close(self) -> None:
        self._stop.set()


TASKS: dict[str, Callable[[Catalog, Any, Control], dict]] = {}


def task(kind: str):
    def register(fn):
        TASKS[kind] = fn
        return fn
    return register


@task("train")
def run_train(catalog: Catalog, ex, control: Control) -> dict:
    from desktop_app.sdk.client import Client

    client = Client(catalog, bootstrap=False)
    model = client.models.get(model_id=ex.model_id)
    adapter = model.package.build()
    output = catalog.work_dir / "executions" / ex.id / "output"
    output.mkdir(parents=True, exist_ok=True)

    resume = _ResumeCut(catalog, model.id, ex.id, resumed=bool(ex.input.get("resume")))

    def sink(rows: list[dict]) -> None:
        resume.before_logging(rows)
        catalog.add_metric_samples(model.id, rows, execution_id=ex.id, dataset_id=model.dataset_id)
        control.check()

    adapter.context.update({"log_metrics": sink, "should_stop": control.should_stop, "resumed_from": resume.at,
                            "progress": control.progress, "execution_id": ex.id})
    print(f"training model {model.name} ({model.id}) of package {model.package.name}", flush=True)
    adapter.train_model(model, output_path=str(output), resume=bool(ex.input.get("resume")),
                        progress=control.progress)
    if control.should_stop():
        raise Cancelled("canceled by the user")
    arts = [a.filename for a in model.artifacts.list()]
    return {"artifacts": arts, **adapter.context.get("result", {})}


class _ResumeCut:
    """A resumed job re-runs the steps after its last checkpoint: the points its earlier attempt logged there
    are dropped before the new ones come, so every series goes on once. The adapter says where it resumed
    (adapter.resumed_from(step)); one that does not, resumed where it logs its first point."""

    def __init__(self, catalog: Catalog, model_id: str, execution_id: str, *, resumed: bool):
        self.catalog, self.model_id, self.execution_id = catalog, model_id, execution_id
        self.pending = resumed

    def at(self, step: float) -> None:
        """The job continues from a checkpoint taken at `step`: points after it are stale."""
        self._cut(math.nextafter(float(step), math.inf), f"after step {step:g}")

    def before_logging(self, rows: list[dict]) -> None:
        if not (self.pending and rows):
            return
        try:
            first = min(float(r["x"]) for r in rows)
        except (KeyError, TypeError, ValueError):
            return  # add_metric_samples refuses the batch and says why
        if math.isfinite(first):
            self._cut(first, f"from step {first:g}, where this attempt logs its first point")

    def _cut(self, from_x: float, where: str) -> None:
        if not self.pending:
            return
        self.pending = False
        n = self.catalog.delete_metrics(self.model_id, execution_id=self.execution_id, from_x=from_x)
        print(f"resumed: {n} metric point(s) the earlier attempt logged {where} dropped; this run logs them "
              f"again", flush=True)


@task("evaluate")
def run_evaluate(catalog: Catalog, ex, control: Control) -> dict:
    from desktop_app.evaluation.run import evaluate_model
    result = evaluate_model(catalog, ex.model_id, ex.input["dataset_id"], filters=ex.input.get("filters") or {},
                            name=ex.input.get("name"), iou_threshold=ex.input.get("iou_threshold", 0.5),
                            conf_threshold=ex.input.get("conf_threshold", 0.0), execution_id=ex.id,
                            progress=control.progress, should_stop=control.check)
    return result


@task("predict")
def run_predict(catalog: Catalog, ex, control: Control) -> dict:
    from desktop_app.sdk.client import Client

    client = Client(catalog, bootstrap=False)
    model = client.models.get(model_id=ex.model_id)
    adapter = model.package.build(model_entity=model)
    ids = ex.input.get("item_ids")
    if ids is None:
        ds = client.datasets.get(dataset_id=ex.input.get("dataset_id") or model.dataset_id)
        items = ds.items.list(filters=ex.input.get("filters") or None)
    else:
        items = []
        for i in ids:
            rec = catalog.get_item(int(i))
            items.append(client.datasets.get(dataset_id=rec.dataset_id).items.get(item_id=rec.id))
    done = 0
    n_ann = 0
    bs = 64
    for k in range(0, len(items), bs):
        control.check()
        _, anns = adapter.predict_items(items[k:k + bs])
        n_ann += sum(len(a) for a in anns)
        done += len(items[k:k + bs])
        control.progress(100.0 * done / max(len(items), 1), f"{done}/{len(items)} items")
    return {"items": len(items), "annotations": n_ann}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    home, execution_id = Path(argv[0]), argv[1]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = Catalog(home)
    ex = catalog.get_execution(execution_id)
    print(f"--- {now_iso()} execution {ex.id} ({ex.kind}) pid {os.getpid()} "
          f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}", flush=True)
    catalog.update_execution(ex.id, status=ExecutionStatus.IN_PROGRESS, pid=os.getpid(), error=None,
                             heartbeat_at=now_iso())
    control = Control(catalog, ex.id)
    try:
        fn = TASKS.get(ex.kind)
        if fn is None:
            raise DesktopAppError(f"unknown job kind {ex.kind!r}")
        output = fn(catalog, ex, control) or {}
        catalog.update_execution(ex.id, status=ExecutionStatus.SUCCESS, progress=100.0, output=output,
                                 message="done")
        print(f"--- {now_iso()} success", flush=True)
        return 0
    except Cancelled as e:
        _restore_model(catalog, ex)
        catalog.update_execution(ex.id, status=ExecutionStatus.CANCELED, message=str(e))
        print(f"--- {now_iso()} canceled", flush=True)
        return 0
    except BaseException as e:  # noqa: BLE001 - every failure is recorded on the execution
        traceback.print_exc()
        reason = f"{type(e).__name__}: {e}"
        if ex.kind == "train" and ex.model_id:
            with contextlib.suppress(Exception):
                catalog.update_model(ex.model_id, status="failed")
        catalog.update_execution(ex.id, status=ExecutionStatus.FAILED, error=reason, message="failed")
        print(f"--- {now_iso()} failed: {reason}", flush=True)
        return 1
    finally:
        control.close()


def _restore_model(catalog: Catalog, ex) -> None:
    if ex.kind == "train" and ex.model_id:
        with contextlib.suppress(Exception):
            catalog.update_model(ex.model_id, status=ex.input.get("previous_status") or "created")


if __name__ == "__main__":
    raise SystemExit(main())
