"""The Model entity: a trainable version with configuration, labels, status, artifacts and lineage."""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from desktop_app.catalog.records import ModelRecord
from desktop_app.domain.status import ModelStatus, coerce
from desktop_app.errors import ValidationError
from desktop_app.ml import handle

from .definitions import PlotSample, filter_dict
from .entities import Dataset, Entity, Execution, Project, Service
from .keywords import CLONE_IGNORED, CLONE_REFUSED, check_public_methods, checked_keywords

if TYPE_CHECKING:
    from .client import Client


class Model(Entity):
    """A snapshot of a model: reading ``status`` (or any field) answers from it; ``refresh()`` reads the model
    again. Assigning ``name``, ``status``, ``configuration``, ... changes the snapshot and ``update()`` saves it."""
    _record: ModelRecord

    def __init__(self, client: Client, record: ModelRecord):
        super().__init__(client, record)
        # Editable in place, saved by update() (Dataloop style).
        self._new_status: str | None = None
        self.name = record.name
        self.description = record.description
        self.tags = list(record.tags)
        self.configuration = dict(record.configuration)
        self.labels = list(record.labels)
        self.metadata = dict(record.metadata)

    # -- fields ---------------------------------------------------------------------------
    project_id = property(lambda self: self._record.project_id)
    package_id = property(lambda self: self._record.package_id)
    dataset_id = property(lambda self: self._record.dataset_id)
    parent_id = property(lambda self: self._record.parent_id)
    input_type = property(lambda self: self._record.input_type)
    output_type = property(lambda self: self._record.output_type)
    created_at = property(lambda self: self._record.created_at)
    updated_at = property(lambda self: self._record.updated_at)
    scope = property(lambda self: self._record.scope)

    @property
    def status(self) -> str:
        return self._new_status if self._new_status is not None else self._record.status

    @status.setter
    def status(self, value: ModelStatus | str) -> None:
        """Checked here (an unknown word), saved by update() (through catalog.set_model_status, which checks the
        change against catalog.lifecycle's table)."""
        self._new_status = coerce(ModelStatus, value).value

    @property
    def train_filter(self) -> dict | None:
        return self._record.train_filter

    @property
    def validation_filter(self) -> dict | None:
        return self._record.validation_filter

    @property
    def id_to_label_map(self) -> dict[int, str]:
        return handle.id_to_label_map(self)

    @property
    def label_to_id_map(self) -> dict[str, int]:
        return handle.label_to_id_map(self)

    # -- relations ------------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self._client.projects.get(project_id=self.project_id)

    @property
    def package(self):
        return self._client.packages.get(package_id=self.package_id)

    @property
    def dataset(self) -> Dataset:
        if not self.dataset_id:
            raise ValidationError(f"model {self.name!r} has no dataset; it can be used only for inference")
        return self._client.datasets.get(dataset_id=self.dataset_id)

    @property
    def parent(self) -> Model | None:
        return self._client.models.get(model_id=self.parent_id) if self.parent_id else None

    @property
    def children(self) -> list[Model]:
        return [Model(self._client, r) for r in self._client.catalog.find_models(parent_id=self.id)]

    def lineage(self) -> list[Model]:
        """This model and its ancestors, oldest first."""
        chain, m = [self], self
        while m.parent_id:
            m = m.parent
            chain.append(m)
        return chain[::-1]

    @property
    def artifacts(self):
        return self._client.repository("Artifacts", model=self)

    @property
    def metrics(self):
        return self._client.repository("Metrics", model=self)

    @property
    def executions(self) -> list[Execution]:
        return self._client.executions.list(model_id=self.id)

    @property
    def evaluations(self):
        return self._client.repository("Evaluations", model=self)

    @property
    def services(self) -> list[Service]:
        return [Service(self._client, r) for r in self._client.catalog.list_services(model_id=self.id)]

    @property
    def subsets(self) -> dict[str, dict]:
        return handle.model_subsets(self)

    # -- edits ----------------------------------------------------------------------------
    def _fetch(self) -> ModelRecord:
        return self._client.catalog.get_model(self.id)

    def refresh(self) -> Model:
        """Read the model again; edits not saved by update() are dropped."""
        self.__init__(self._client, self._fetch())
        return self

    def update(self) -> Model:
        """Save the snapshot's edits (name, description, tags, configuration, labels, metadata, status) in one
        transaction: an assigned status goes through catalog.set_model_status, so a change its table refuses
        (a TransitionError naming from and to) saves none of the other edits either."""
        catalog = self._client.catalog
        if self.configuration != self._record.configuration:
            from desktop_app.ml.adapter import checked_configuration
            self.configuration = checked_configuration(catalog, self.package_id, self.configuration)
        values: dict[str, Any] = dict(name=self.name, description=self.description, tags=self.tags,
                                      configuration=self.configuration, labels=self.labels, metadata=self.metadata)
        with catalog.transaction():
            rec = catalog.update_model(self.id, **values)
            if self._new_status is not None:
                rec = catalog.set_model_status(self.id, self._new_status)
        self.__init__(self._client, rec)
        return self

    def apply_thresholds(self, conf_threshold: float | None = None,
                         class_thresholds: dict[str, float] | None = None, *, reload_services: bool = True) -> dict:
        """Keep confidence thresholds (chosen in review) on this model: its services apply them, and the running
        ones load the model again to apply them now. Returns what was kept and which services reloaded."""
        from desktop_app.serving.manager import apply_thresholds
        out = apply_thresholds(self._client.catalog, self.id, conf_threshold, class_thresholds,
                               reload_services=reload_services)
        self.refresh()
        return out

    def add_subset(self, subset_name: str, subset_filter: Any = None) -> Model:
        f = filter_dict(subset_filter) if subset_filter is not None else {"subset": subset_name}
        if subset_name == "train":
            self._record = self._client.catalog.update_model(self.id, train_filter=f)
        elif subset_name == "validation":
            self._record = self._client.catalog.update_model(self.id, validation_filter=f)
        else:
            raise ValidationError("models train on 'train' and validate on 'validation' subsets")
        return self

    def delete(self) -> bool:
        self._client.catalog.delete_model(self.id)
        return True

    # -- lifecycle ------------------------------------------------------------------------
    @checked_keywords(ignored=CLONE_IGNORED, refused=CLONE_REFUSED)
    def clone(self, model_name: str, description: str | None = None, project_id: str | None = None,
              dataset: Dataset | None = None, configuration: dict | None = None,
              labels: Sequence[str] | None = None, tags: Sequence[str] | None = None,
              train_filter: Any = None, validation_filter: Any = None, status: str | None = None,
              dataset_id: str | None = None) -> Model:
        """A new version of this model (see Models.clone). Dataloop's ``wait`` and ``scope`` are accepted and
        dropped (sdk.keywords.CLONE_IGNORED); its annotation filters are refused (CLONE_REFUSED); any other
        unknown keyword too, naming the closest one: ``clone(labes=...)`` says "did you mean 'labels'?"."""
        return self._client.models.clone(
            from_model=self, model_name=model_name, description=description, project_id=project_id,
            dataset=dataset, dataset_id=dataset_id, configuration=configuration, labels=labels,
            tags=tags, train_filter=train_filter, validation_filter=validation_filter, status=status)

    def train(self, service_config: dict | None = None, *, wait: bool = True, resume: bool = False,
              progress: bool | None = None, device: str | None = None) -> Execution:
        """Train this model in a worker process; returns the Execution (success / failed)."""
        from desktop_app.jobs import runner
        rec = runner.submit_train(self._client.catalog, self.id, wait=wait, resume=resume,
                                  show_progress=progress, device=device)
        self.refresh()
        origin = self.metadata.get("weights_origin", "")
        if wait and "random" in origin:
            # 3: past the SDK's keyword check (domain.keywords), at the caller's line
            warnings.warn(f"model {self.name!r}: {origin}", UserWarning, stacklevel=3)
        return Execution(self._client, rec)

    def evaluate(self, dataset: Dataset | None = None, dataset_id: str | None = None, filters: Any = None,
                 service_config: dict | None = None, *, name: str | None = None, wait: bool = True,
                 iou_threshold: float = 0.5, conf_threshold: float = 0.0) -> Execution:
        """Inference over a dataset (or a filtered part), store predictions and score them."""
        from desktop_app.jobs import runner
        ds_id = dataset.id if dataset is not None else (dataset_id or self.dataset_id)
        if not ds_id:
            raise ValidationError("evaluate needs dataset= or dataset_id=")
        rec = runner.submit_evaluate(self._client.catalog, self.id, ds_id, filters=filter_dict(filters),
                                     name=name, wait=wait, iou_threshold=iou_threshold,
                                     conf_threshold=conf_threshold)
        self.refresh()
        return Execution(self._client, rec)

    def predict(self, item_ids: Sequence[int] | None = None, dataset_id: str | None = None,
                filters: Any = None, *, wait: bool = True) -> Execution:
        from desktop_app.jobs import runner
        rec = runner.submit_predict(self._client.catalog, self.id, item_ids=item_ids, dataset_id=dataset_id,
                                    filters=filter_dict(filters), wait=wait)
        return Execution(self._client, rec)

    def deploy(self, service_config: dict | None = None) -> Service:
        from desktop_app.serving import manager
        rec = manager.start_service(self._client.catalog, self.id, service_config or {})
        self.refresh()
        return Service(self._client, rec)

    def wait_for_model_ready(self) -> Model:
        return self

    # -- offline mode ---------------------------------------------------------------------
    @contextlib.contextmanager
    def log_run(self, *, figure_prefix: str = "", dataset_id: str | None = None) -> Iterator[RunLogger]:
        """`with model.log_run() as run: run.log(step, loss=..., accuracy=...)` from your own script."""
        run = RunLogger(self, figure_prefix=figure_prefix, dataset_id=dataset_id)
        try:
            yield run
        finally:
            run.flush()


@check_public_methods
class RunLogger:
    """Buffers metric points from a user's own training loop and writes them in small batches."""

    def __init__(self, model: Model, *, figure_prefix: str = "", dataset_id: str | None = None,
                 flush_every: float = 1.0):
        self.model = model
        self.prefix = figure_prefix
        self.dataset_id = dataset_id
        self.flush_every = flush_every
        self._buffer: list[dict[str, Any]] = []
        self._last = time.monotonic()

    def log(self, step: float, **metrics: float) -> None:
        """Each keyword becomes a figure; 'train/loss' style keys split into figure 'loss', legend 'train'."""
        now = time.time()
        for key, value in metrics.items():
            if "/" in key:
                legend, figure = key.split("/", 1)
            else:
                figure, legend = key, "value"
            self._buffer.append({"figure": self.prefix + figure, "legend": legend, "x": float(step),
                                 "y": float(value), "wall_time": now})
        if time.monotonic() - self._last >= self.flush_every:
            self.flush()

    def log_sample(self, sample: PlotSample) -> None:
        self._buffer.append(sample.as_row() | {"wall_time": time.time()})

    def flush(self) -> None:
        if self._buffer:
            self.model._client.catalog.add_metric_samples(self.model.id, self._buffer, dataset_id=self.dataset_id)
            self._buffer = []
        self._last = time.monotonic()
