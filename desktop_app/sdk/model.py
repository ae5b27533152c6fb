"""The Model entity: a trainable version with configuration, labels, status, artifacts and lineage."""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from desktop_app.catalog.records import ModelRecord
from desktop_app.domain.status import ModelStatus, ServiceStatus, coerce
from desktop_app.catalog.names import check_name
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.ml import handle

from .definitions import PlotSample, filter_dict
from .entities import Dataset, Entity, Execution, Project, Service
from .keywords import CLONE_IGNORED, CLONE_REFUSED, check_public_methods, checked_keywords

if TYPE_CHECKING:
    from .client import Client

# The model's subsets other than train and validation (add_subset('test', ...)), kept in its catalog metadata.
_EXTRA_SUBSETS = "subsets"
# Dataloop's default version string of a model; versions here are clones (model.lineage()).
MODEL_VERSION = "1.0.0"


class Model(Entity):
    """A snapshot of a model: reading ``status`` (or any field) answers from it; ``refresh()`` reads the model
    again. Assigning ``name``, ``status``, ``configuration``, ... changes the snapshot and ``update()`` saves it."""
    _record: ModelRecord
    # Set on the model dl.models.import_bundle returns: catalog.bundle.BundleImport (created, message, notes).
    bundle_report: Any = None

    def __init__(self, client: Client, record: ModelRecord):
        super().__init__(client, record)
        # Editable in place, saved by update() (Dataloop style).
        self._new_status: str | None = None
        self._package_version = client.catalog.model_package_version(record.id)
        self.package_version = self._package_version
        self.name = record.name
        self.description = record.description
        self.tags = list(record.tags)
        self.notes = record.notes or ""
        self.configuration = dict(record.configuration)
        self.labels = list(record.labels)
        self.metadata = dict(record.metadata)
        self.metadata.pop(_EXTRA_SUBSETS, None)
        # Dataloop's metadata['system'] (subsets, deploy services), read from the catalog; update() never saves it
        self.metadata["system"] = self._system_metadata()

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
    # The dataset version it trains on next (a name of the user's, set by train(data_version=...)) or last trained
    # on ('auto-...': the data that training froze itself); catalog.dataset_versions.
    data_version = property(lambda self: self._record.data_version)

    @property
    def status(self) -> str:
        return self._new_status if self._new_status is not None else self._record.status

    @status.setter
    def status(self, value: ModelStatus | str) -> None:
        """Checked here (an unknown word), saved by update() (through catalog.set_model_status, which checks the
        change against catalog.lifecycle's table)."""
        self._new_status = coerce(ModelStatus, value).value

    @property
    def creator(self) -> str:
        """Who made the model: the catalog keeps no owner (one user's desktop), so this is the login name of the
        user running the script, as Dataloop gives its creator's email."""
        return str(self._record.metadata.get("creator") or _login_name())

    @property
    def context(self) -> dict:
        """Dataloop's {project, org}: the project's id; there are no organisations here."""
        return {"project": self.project_id, "org": None}

    @property
    def version(self) -> str:
        """Dataloop's version string ('1.0.0' for every model): a model's versions here are its clones."""
        return MODEL_VERSION

    @property
    def status_logs(self) -> list[dict]:
        """The model's history as Dataloop's status_logs entries ({status, createdAt, message, executionId}),
        oldest first. The catalog keeps no status history, so it is rebuilt: created at ``created_at``, then
        each training job (pending when queued, training when it started, its outcome when it ended), then the
        current status if the last entry does not say it already."""
        logs: list[dict] = [{"status": ModelStatus.CREATED.value, "createdAt": self.created_at, "message": "",
                             "executionId": None}]
        trains = [e for e in self._client.catalog.list_executions(model_id=self.id) if e.kind == "train"]
        for e in sorted(trains, key=lambda e: e.created_at or ""):
            logs.append({"status": ModelStatus.PENDING.value, "createdAt": e.created_at, "message": "",
                         "executionId": e.id})
            if e.started_at:
                logs.append({"status": ModelStatus.TRAINING.value, "createdAt": e.started_at,
                             "message": e.message or "", "executionId": e.id})
            if e.finished_at:
                outcome = ModelStatus.TRAINED if e.status == "success" else ModelStatus.FAILED
                logs.append({"status": outcome.value, "createdAt": e.finished_at, "message": e.error or e.message
                             or "", "executionId": e.id})
        if logs[-1]["status"] != self._record.status:
            logs.append({"status": self._record.status, "createdAt": self.updated_at, "message": "",
                         "executionId": None})
        return logs

    def _system_metadata(self) -> dict:
        services = self._client.catalog.list_services(model_id=self.id)
        live = [s.id for s in services if s.status in ServiceStatus.LIVE]
        return {"subsets": self.subsets, "deploy": {"services": live},
                "ml": {"packageId": self.package_id, "packageVersion": self._package_version,
                       "datasetId": self.dataset_id}}

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
        """The package at the version the model is on (``package.version == model.package_version``; it trains,
        predicts and serves with that version's code). Assigning a version of the same package
        (``model.package = package.revision('1.0.1')``, or the package itself for its current version) moves the
        model there on update(), as ``model.package_version = ...`` does."""
        return self._client.packages.get(package_id=self.package_id).revision(self._package_version)

    @package.setter
    def package(self, package: Any) -> None:
        pid = getattr(package, "id", None)
        if pid != self.package_id:
            name = getattr(package, "name", package)
            raise ValidationError(f"model {self.name!r} belongs to package {self.package.name!r}, not {name!r}: a "
                                  f"model moves only between versions of its own package (model.package_version)")
        self.package_version = package.version

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
    def predictions(self):
        """The model's stored predictions: ``model.predictions.import_from(path, dataset=...)`` stores predictions
        made elsewhere (COCO results, YOLO txt, Dataloop JSON) as this model's (sdk.predictions)."""
        from .predictions import Predictions
        return Predictions(self)

    @property
    def services(self) -> ServiceList:
        """The model's services: a list, and Dataloop's repository too (``model.services.list()``)."""
        return ServiceList(Service(self._client, r) for r in self._client.catalog.list_services(model_id=self.id))

    @property
    def subsets(self) -> dict[str, dict]:
        """{'train': filter, 'validation': filter, and any added by add_subset ('test': filter, ...)}."""
        return handle.model_subsets(self) | dict(self._record.metadata.get(_EXTRA_SUBSETS) or {})

    # -- edits ----------------------------------------------------------------------------
    def _fetch(self) -> ModelRecord:
        return self._client.catalog.get_model(self.id)

    def refresh(self) -> Model:
        """Read the model again; edits not saved by update() are dropped."""
        self.__init__(self._client, self._fetch())
        return self

    def update(self) -> Model:
        """Save the snapshot's edits (name, description, tags, notes, configuration, labels, metadata, status,
        package_version) in one transaction (``metadata['system']`` is read from the catalog and never saved, as
        Dataloop's default ``update(system_metadata=False)``; subsets change by add_subset / delete_subset): an
        assigned status goes through catalog.set_model_status, so a change its table refuses (a TransitionError
        naming from and to) saves none of the other edits either.

        A new ``package_version`` moves the model to that version of its package's code: its next training,
        evaluation, prediction or service loads that code (a running service keeps what it loaded: deploy
        again). Refused (ValidationError) for a version the package does not have (naming those it has), one
        predicting another output type, one whose declared hyper-parameters refuse the model's configuration,
        and while the model is training."""
        catalog = self._client.catalog
        moving = self.package_version != self._package_version
        if moving:
            self._check_move()
        if self.configuration != self._record.configuration or moving:
            from desktop_app.ml.adapter import checked_configuration
            self.configuration = checked_configuration(catalog, self.package_id, self.configuration,
                                                       version=self.package_version)
        metadata = {k: v for k, v in self.metadata.items() if k not in ("system", _EXTRA_SUBSETS)}
        if _EXTRA_SUBSETS in self._record.metadata:
            metadata[_EXTRA_SUBSETS] = self._record.metadata[_EXTRA_SUBSETS]
        values: dict[str, Any] = dict(name=self.name, description=self.description, tags=self.tags,
                                      configuration=self.configuration, labels=self.labels, metadata=metadata,
                                      notes=self.notes)
        with catalog.transaction():
            rec = catalog.update_model(self.id, **values)
            if moving:
                rec = catalog.set_model_package_version(self.id, self.package_version)
            if self._new_status is not None:
                rec = catalog.set_model_status(self.id, self._new_status)
        self.__init__(self._client, rec)
        return self

    # -- aliases --------------------------------------------------------------------------
    @property
    def aliases(self) -> list[str]:
        """The aliases of its package that point at this model ('production', 'champion', ...), by name."""
        return self._client.catalog.model_aliases(self.package_id, self.id)

    def set_alias(self, alias: str, reason: str = "", *, who: str = "") -> Model:
        """Point the package's alias at this model (moved from the model it named, if any; history kept). An
        alias is 1-64 letters, digits, '.', '_' or '-'; a pipeline's champion alias is one of them."""
        self._client.catalog.set_alias(self.package_id, alias, self.id, who=who or _login_name(), reason=reason)
        return self

    def remove_alias(self, alias: str, reason: str = "", *, who: str = "") -> Model:
        """Remove the alias from this model (NotFoundError when it does not point here); the history records it."""
        catalog = self._client.catalog
        if alias not in catalog.model_aliases(self.package_id, self.id):
            raise NotFoundError(f"alias {alias!r} does not point at model {self.name!r} (its aliases: "
                                f"{', '.join(self.aliases) or 'none'})")
        catalog.remove_alias(self.package_id, alias, model_id=self.id, who=who or _login_name(), reason=reason)
        return self

    def alias_history(self, alias: str | None = None) -> list[dict]:
        """Every move of the alias in its package (of every alias, without one) that set or removed this model,
        oldest first: alias, model_id (None for a removal), previous_model_id, set_at, set_by, reason."""
        rows = self._client.catalog.alias_history(self.package_id, alias)
        return [r for r in rows if self.id in (r["model_id"], r["previous_model_id"])]

    def _check_move(self) -> None:
        catalog = self._client.catalog
        have = catalog.package_versions(self.package_id)
        if self.package_version not in have:
            raise ValidationError(f"package_version {self.package_version!r}: package {self.package.name!r} has "
                                  f"no such version; its versions: {', '.join(have)}")
        status = catalog.get_model(self.id).status
        if status in (ModelStatus.PENDING, ModelStatus.TRAINING):
            raise ValidationError(f"model {self.name!r} is {status}: it cannot move to package version "
                                  f"{self.package_version} while a job loads its code; wait or cancel it first")

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
        """Set the filter of a subset: 'train' and 'validation' are what the model trains and validates on; any
        other name ('test', ...) is kept with the model (``model.subsets``, ``metadata['system']['subsets']``).
        Without a filter, the dataset's items tagged with that subset."""
        f = filter_dict(subset_filter) if subset_filter is not None else {"subset": subset_name}
        check_name(subset_name, "subset name")
        catalog = self._client.catalog
        if subset_name == "train":
            rec = catalog.update_model(self.id, train_filter=f)
        elif subset_name == "validation":
            rec = catalog.update_model(self.id, validation_filter=f)
        else:
            meta = dict(catalog.get_model(self.id).metadata)
            meta[_EXTRA_SUBSETS] = dict(meta.get(_EXTRA_SUBSETS) or {}) | {subset_name: f}
            rec = catalog.update_model(self.id, metadata=meta)
        self._record = rec
        self.metadata["system"] = self._system_metadata()
        return self

    def delete_subset(self, subset_name: str) -> Model:
        """Remove a subset added by add_subset; 'train' and 'validation' go back to the dataset's items tagged
        train / validation (a model always has both). NotFoundError for a subset the model does not have."""
        catalog = self._client.catalog
        if subset_name == "train":
            rec = catalog.update_model(self.id, train_filter=None)
        elif subset_name == "validation":
            rec = catalog.update_model(self.id, validation_filter=None)
        else:
            meta = dict(catalog.get_model(self.id).metadata)
            extra = dict(meta.get(_EXTRA_SUBSETS) or {})
            if subset_name not in extra:
                raise NotFoundError(f"model {self.name!r} has no subset {subset_name!r} (it has: "
                                    f"{', '.join(map(repr, self.subsets))})")
            del extra[subset_name]
            meta[_EXTRA_SUBSETS] = extra
            rec = catalog.update_model(self.id, metadata=meta)
        self._record = rec
        self.metadata["system"] = self._system_metadata()
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
              dataset_id: str | None = None, scope: str | None = None) -> Model:
        """A new version of this model (see Models.clone), on the same version of its package's code. Dataloop's
        ``wait`` is accepted and dropped (sdk.keywords.CLONE_IGNORED); ``scope`` takes 'project' (what it is
        here) and refuses the others; its annotation filters are refused (CLONE_REFUSED); any other unknown
        keyword too, naming the closest one: ``clone(labes=...)`` says "did you mean 'labels'?"."""
        return self._client.models.clone(
            from_model=self, model_name=model_name, description=description, project_id=project_id,
            dataset=dataset, dataset_id=dataset_id, configuration=configuration, labels=labels,
            tags=tags, train_filter=train_filter, validation_filter=validation_filter, status=status,
            scope=scope)

    def train(self, service_config: dict | None = None, *, wait: bool = True, resume: bool = False,
              progress: bool | None = None, device: str | None = None, cluster: str | bool | None = None,
              workers: int | None = None, data_version: str | None = None) -> Execution:
        """Train this model in a worker process; returns the Execution (success / failed). ``cluster``: train on a
        Ray cluster instead ('ray://host:port', 'host:port', 'local', or True for the cluster_address setting)
        with ``workers`` processes (default: the cluster_workers setting). ``data_version``: train on that version
        of the model's dataset (dataset.snapshot), its frozen items and annotations, not the data as it is now;
        the model keeps the name (this and later trainings use it). Without one, the training freezes the data it
        uses as an 'auto-...' version; either way ``model.data_version`` names the data it trained on."""
        from desktop_app.jobs import runner
        from desktop_app.workflows.cluster import cluster_request
        if data_version is not None:
            _pin_data_version(self._client.catalog, self._record, data_version)
        rec = runner.submit_train(self._client.catalog, self.id, wait=wait, resume=resume,
                                  show_progress=progress, device=device,
                                  cluster=cluster_request(cluster, workers=workers))
        self.refresh()
        origin = self.metadata.get("weights_origin", "")
        if wait and "random" in origin:
            # 3: past the SDK's keyword check (domain.keywords), at the caller's line
            warnings.warn(f"model {self.name!r}: {origin}", UserWarning, stacklevel=3)
        return Execution(self._client, rec)

    def unpin_data_version(self) -> Model:
        """Train on the live data again: forget the version name ``train(data_version=...)`` pinned (an 'auto-...'
        name only records what the last training used, and is kept). Returns the model."""
        from desktop_app.catalog.dataset_versions import DatasetVersions, is_auto
        if self._record.data_version and not is_auto(self._record.data_version):
            DatasetVersions(self._client.catalog).record_model(self.id, None)
        return self.refresh()

    def sweep(self, grid: dict | None = None, params: dict | None = None, *, method: str | None = None,
              budget: int | None = None, objective: str | None = None, direction: str | None = None,
              max_parallel: int | None = None, name: str | None = None, seed: int | None = None,
              sampler: str | None = None, prune: bool = False, device: str | None = None, wait: bool = False):
        """A hyper-parameter sweep over clones of this model, each trained as an ordinary job (sdk.sweep.Sweep).

        ``grid={'learning_rate': [0.001, 0.01], 'batch_size': [16, 32]}``: every combination (method 'grid');
        ``params={'learning_rate': 'loguniform:1e-4:1e-1', 'batch_size': [16, 32], 'epochs': 'int:2:5'}`` with
        ``budget=N``: N draws (method 'random', seeded by ``seed``), or asked of Optuna with method 'tpe' / 'cmaes'
        (or ``sampler=``). ``prune``: Optuna's median pruner cancels trials doing worse than the median by epoch.
        ``objective``: a metric key (default: the package's main validation metric, validation/accuracy for
        classifiers); ``direction``: maximize / minimize. ``max_parallel``: at most this many trials queued at once.
        Trials are named '<name>-<k>'; ``wait``: return once every trial ended."""
        from .sweep import Sweeps
        return Sweeps(self._client).create(
            self, grid=grid, params=params, method=method, budget=budget, objective=objective, direction=direction,
            max_parallel=max_parallel, name=name, seed=seed, sampler=sampler, prune=prune, device=device, wait=wait)

    def evaluate(self, dataset_id: str | Dataset | None = None, filters: Any = None,
                 service_config: dict | None = None, *, dataset: Dataset | None = None, name: str | None = None,
                 wait: bool = True, iou_threshold: float = 0.5, conf_threshold: float = 0.0,
                 predict: bool = True) -> Execution:
        """Inference over a dataset (or a filtered part), store predictions and score them. Called as Dataloop
        does, ``model.evaluate(dataset_id, filters)``; ``dataset=`` (or a Dataset first) works too.
        ``predict=False``: score the model's stored predictions there (imported by ``model.predictions.import_from``,
        or kept from an earlier run) without running it: the same evaluation, here and at once, for a model
        without weights too (workflows.score_stored)."""
        from desktop_app.jobs import runner
        if isinstance(dataset_id, Dataset):
            dataset, dataset_id = dataset_id, None
        ds_id = dataset.id if dataset is not None else (dataset_id or self.dataset_id)
        if not ds_id:
            raise ValidationError("evaluate needs dataset= or dataset_id=")
        if not predict:
            from desktop_app.workflows.score_stored import evaluate_stored
            stored = evaluate_stored(self._client.catalog, self.id, ds_id, filters=filter_dict(filters), name=name,
                                     iou_threshold=iou_threshold, conf_threshold=conf_threshold)
            self.refresh()
            return Execution(self._client, stored)
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

    def embed(self, item_ids: Sequence[int], *, wait: bool = True) -> Execution:
        """Embed these items (ids) into the model's feature set, in a job; those embedded before with the same
        weights are skipped. Returns the Execution (its output: embedded, skipped, count, size)."""
        from desktop_app.workflows.embed import submit_embed
        rec = submit_embed(self._client.catalog, self.id, item_ids=list(item_ids), wait=wait)
        return Execution(self._client, rec)

    def embed_datasets(self, dataset_ids: Sequence[str], attach_trigger: bool = False, *, filters: Any = None,
                       wait: bool = True) -> Execution:
        """Embed the datasets' items (those ``filters`` selects) into the model's feature set, in one job; items
        embedded before with the same weights are skipped, so running it again after adding items embeds only
        the new ones. ``attach_trigger``: there are no triggers here (True is refused)."""
        from desktop_app.workflows.embed import submit_embed
        if attach_trigger:
            raise ValidationError("attach_trigger: there are no triggers; call embed_datasets again after adding "
                                  "items (only the new ones are embedded)")
        ids = [dataset_ids] if isinstance(dataset_ids, str) else list(dataset_ids)
        ids = [d.id if isinstance(d, Dataset) else d for d in ids]
        rec = submit_embed(self._client.catalog, self.id, dataset_ids=ids, filters=filter_dict(filters), wait=wait)
        return Execution(self._client, rec)

    @property
    def feature_set(self):
        """The model's FeatureSet (sdk.features): its embeddings; NotFoundError until items are embedded."""
        from .features import FeatureSets
        return FeatureSets(self._client).of_model(self)

    def deploy(self, service_config: dict | None = None) -> Service:
        """Serve the model; ``service_config`` over the defaults its package version keeps (pushed with
        ``service_config=``): a key given here wins."""
        from desktop_app.serving import manager
        defaults = (self._client.catalog.model_package(self.id).metadata or {}).get("service_config") or {}
        rec = manager.start_service(self._client.catalog, self.id, {**defaults, **(service_config or {})})
        self.refresh()
        return Service(self._client, rec)

    def wait_for_model_ready(self) -> Model:
        return self

    def export_bundle(self, path: str | Path) -> Path:
        """Write this model to one bundle file (.mdbundle): weights and other files, configuration, labels,
        metrics, evaluations with their cached predictions, its package version's code, and lineage.
        ``dl.models.import_bundle(path)`` brings it into another catalog (catalog.bundle)."""
        from desktop_app.catalog.bundle import export_bundle
        return export_bundle(self._client.catalog, self.id, path)

    # -- offline mode ---------------------------------------------------------------------
    @contextlib.contextmanager
    def log_run(self, *, figure_prefix: str = "", dataset_id: str | None = None) -> Iterator[RunLogger]:
        """`with model.log_run() as run: run.log(step, loss=..., accuracy=...)` from your own script."""
        run = RunLogger(self, figure_prefix=figure_prefix, dataset_id=dataset_id)
        try:
            yield run
        finally:
            run.flush()


def _pin_data_version(catalog: Any, record: Any, name: str) -> None:
    """Point the model at a version of its dataset for its trainings (refused when the dataset has none so named)."""
    from desktop_app.catalog.dataset_versions import DatasetVersions, is_auto
    if not isinstance(name, str) or not name:
        raise ValidationError(f"data_version is a version name of the model's dataset, not {name!r}")
    if record.dataset_id is None:
        raise ValidationError(f"model {record.name!r} has no dataset; it cannot train on data version {name!r}")
    versions = DatasetVersions(catalog)
    versions.get(record.dataset_id, name)                       # NotFoundError naming the versions it has
    if is_auto(name):
        raise ValidationError(f"{name!r} is the data a training froze itself; name it to train on it: "
                              f"dataset.snapshot('my-name', source={name!r}), then train(data_version='my-name')")
    versions.record_model(record.id, name)


@check_public_methods
class ServiceList(list):
    """``model.services``: the model's services as a list, with Dataloop's ``list()`` too."""

    def list(self) -> list[Service]:
        return list(self)


def _login_name() -> str:
    import getpass
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "local"


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
