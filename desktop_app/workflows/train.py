"""Train a catalog model in a job: its adapter's train_model over a model handle, metrics into the catalog."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

from desktop_app.catalog import Catalog, scratch
from desktop_app.errors import Cancelled

from .adapters import build_adapter, model_handle
from .data_versions import use_training_version


class TrainSetup(NamedTuple):
    model: Any           # the ml.handle.ModelHandle
    adapter: Any
    output: Path         # the job's scratch output folder (freed when the job succeeds: jobs.worker)
    resumed: bool


def setup(catalog: Catalog, ex: Any, control: Any) -> TrainSetup:
    """What a train job's body starts from, here or on a cluster: the model, its output folder, and its adapter
    whose logged metrics go into the catalog (a resumed job's stale points cut first) and which stops on cancel."""
    model = model_handle(catalog, ex.model_id)
    output = scratch.execution_dir(catalog, ex.id) / "output"
    output.mkdir(parents=True, exist_ok=True)
    resumed = bool(ex.input.get("resume"))
    resume = ResumeCut(catalog, model.id, ex.id, resumed=resumed)

    def sink(rows: list[dict]) -> None:
        resume.before_logging(rows)
        catalog.add_metric_samples(model.id, rows, execution_id=ex.id, dataset_id=model.dataset_id)
        control.check()

    adapter = build_adapter(catalog, model, load=False, context={
        "log_metrics": sink, "should_stop": control.should_stop, "resumed_from": resume.at,
        "progress": control.progress, "execution_id": ex.id})
    use_training_version(catalog, ex, adapter)     # the data it trains on: a named version, or the live data frozen
    return TrainSetup(model, adapter, output, resumed)


def train(catalog: Catalog, ex: Any, control: Any) -> dict:
    """The train job's body: load the parent's weights, lay the subsets out, train, store the weights."""
    model, adapter, output, resumed = setup(catalog, ex, control)
    print(f"training model {model.name} ({model.id}) of package {model.package_name}", flush=True)
    adapter.train_model(model, output_path=str(output), resume=resumed, progress=control.progress)
    if control.should_stop():
        raise Cancelled("canceled by the user")
    arts = [a.filename for a in model.artifacts.list()]
    return {"artifacts": arts, "data_version": adapter.context.get("data_version"),
            **adapter.context.get("result", {})}


class ResumeCut:
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
