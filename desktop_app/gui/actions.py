"""The window's one seam to the core: every change it makes (jobs, pipelines, services, export, push, delete,
re-score, new datasets) is a short call here into the functions the SDK and CLI use; failures go to the ErrorHub
or a callback.

Views, widgets and dialogs may read the catalog themselves; they never import jobs / pipelines (but for its
read-only form and timeline modules) / serving / workflows (an import-linter contract checks it). A slow call
takes `on_done` / `on_error` and runs on a TaskRunner: the page's own when it passes `tasks=` (its shutdown
waits for it), the window's otherwise; the callbacks run on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from .notifications import ErrorHub
from .workers import TaskRunner, Work

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Actions(QObject):
    catalog_changed = Signal()                 # entities were added / renamed: rebuild the navigator
    model_changed = Signal(str)                # a model's fields changed
    job_submitted = Signal(str)                # execution id

    def __init__(self, client: Any, hub: ErrorHub, tasks: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.hub = hub
        self.tasks = tasks

    @classmethod
    def for_page(cls, client: Any, actions: Actions | None, page: QObject, tasks: TaskRunner | None = None) -> Actions:
        """The window's actions, or (a page built alone, as in tests) a set of the page's own."""
        if actions is not None:
            return actions
        return cls(client, ErrorHub(page), tasks if tasks is not None else TaskRunner(page), page)

    @property
    def catalog(self):
        return self.client.catalog

    def _guard(self, title: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception(title, e)
            return None

    def _submit(self, fn: Callable[[], Any], on_done: Done | None, on_error: Failed | None,
                tasks: TaskRunner | None) -> None:
        (tasks or self.tasks).submit(fn, on_done, on_error)

    # -- jobs -----------------------------------------------------------------------------
    def train(self, model_id: str, *, cluster: str | bool | None = None) -> Any:
        """Queue training (validated first); the worker process is started by the scheduler. `cluster`: True for
        the cluster_address setting, 'local' or an address (workflows.cluster; refused here when it cannot work)."""
        from desktop_app.jobs.runner import submit_train
        from desktop_app.workflows.cluster import cluster_request
        ex = self._guard("Could not start training", lambda: submit_train(
            self.catalog, model_id, wait=False, cluster=cluster_request(cluster)))
        if ex is not None:
            self.job_submitted.emit(ex.id)
            self.model_changed.emit(model_id)
        return ex

    def evaluate(self, request: Any) -> Any:
        """Queue an evaluation (an EvaluateRequest from sdk.evaluate_form); the jobs panel shows it."""
        from desktop_app.jobs.runner import submit_evaluate
        r = request
        ex = self._guard("Could not start the evaluation", lambda: submit_evaluate(
            self.catalog, r.model_id, r.dataset_id, filters=r.filters, name=r.name, wait=False,
            iou_threshold=r.iou_threshold, conf_threshold=r.conf_threshold))
        if ex is not None:
            self.job_submitted.emit(ex.id)
            self.model_changed.emit(r.model_id)
        return ex

    def predict(self, model_id: str, item_ids: list[int], on_done: Done, on_error: Failed, *,
                tasks: TaskRunner | None = None) -> None:
        """Queue a prediction job on the items (checked on the task pool: it may load the adapter's code);
        the ExecutionRecord to on_done."""
        from desktop_app.jobs.runner import submit_predict
        catalog = self.catalog
        self._submit(lambda: submit_predict(catalog, model_id, item_ids=item_ids, wait=False), on_done, on_error,
                     tasks)

    def embed_datasets(self, model_id: str, dataset_ids: list[str], on_done: Done, on_error: Failed, *,
                       tasks: TaskRunner | None = None) -> None:
        """model.embed_datasets(...) as a job (queued on the task pool: it checks the model can run); the
        Execution to on_done, and the jobs panel shows it."""
        client = self.client

        def done(ex: Any) -> None:
            self.job_submitted.emit(ex.id)
            on_done(ex)
        self._submit(lambda: client.models.get(model_id=model_id).embed_datasets(list(dataset_ids), wait=False),
                     done, on_error, tasks)

    def set_items_subset(self, item_ids: list[int], subset: str | None, on_done: Done, on_error: Failed, *,
                         tasks: TaskRunner | None = None) -> None:
        """The items move to `subset` (None: no subset) in one transaction (all or none); the count to on_done."""
        catalog, ids = self.catalog, [int(i) for i in item_ids]

        def move() -> int:
            catalog.set_subset(ids, subset)
            return len(ids)
        self._submit(move, on_done, on_error, tasks)

    def delete_items(self, item_ids: list[int], on_done: Done, on_error: Failed, *,
                     tasks: TaskRunner | None = None) -> None:
        """The items and their annotations deleted in one transaction (all or none); how many went to on_done."""
        catalog, ids = self.catalog, [int(i) for i in item_ids]
        self._submit(lambda: catalog.delete_items(ids), on_done, on_error, tasks)

    def cancel(self, execution_id: str) -> None:
        self._guard("Could not cancel the job", lambda: self.catalog.request_cancel(execution_id))

    def resume(self, execution_id: str) -> Any:
        from desktop_app.jobs.runner import resume_execution
        ex = self._guard("Could not resume the job",
                         lambda: resume_execution(self.catalog, execution_id, wait=False))
        if ex is not None:
            self.job_submitted.emit(ex.id)
            if ex.model_id:
                self.model_changed.emit(ex.model_id)
        return ex

    # -- evaluations ----------------------------------------------------------------------
    def rescore(self, evaluation_id: str, on_done: Done, on_error: Failed, *, tasks: TaskRunner | None = None) -> None:
        """Score an evaluation's stored predictions again (the ground truth may have been fixed), no model run,
        at the IoU and confidence thresholds it ran with, on the task pool; score_model's dict to on_done."""
        from desktop_app.evaluation.run import rescore
        catalog = self.catalog
        self._submit(lambda: rescore(catalog, evaluation_id), on_done, on_error, tasks)

    # -- datasets -------------------------------------------------------------------------
    def create_dataset(self, project_id: str, name: str) -> Any:
        """An empty dataset (its DatasetRecord); raises (the New dataset dialog shows the message by the name)."""
        rec = self.catalog.create_dataset(project_id, name)
        self.catalog_changed.emit()
        return rec

    def import_new_dataset(self, project_id: str, name: str, path: str | Path, fmt: str) -> Work:
        """The work of "Import as a new dataset", for a JobDialog's worker thread (work(progress, cancelled) ->
        the new dataset's id): the dataset is created in the import's own transaction, so an import that fails,
        is cancelled or is killed leaves no empty dataset behind. `fmt` as import_dialog.resolve_format gives."""
        from desktop_app.catalog.stamps import new_id

        from .dialogs.import_dialog import run_import
        catalog, src = self.catalog, Path(path)

        def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> str:
            dataset_id = new_id()
            run_import(catalog, dataset_id, src, fmt, progress=progress, cancelled=cancelled,
                       new_dataset={"project_id": project_id, "name": name})
            return dataset_id
        return work

    # -- models ---------------------------------------------------------------------------
    def save_configuration(self, model_id: str, values: dict) -> bool:
        try:
            model = self.client.models.get(model_id=model_id)
            model.configuration.update(values)
            model.update()
        except Exception as e:  # noqa: BLE001
            self.hub.exception("Could not save the configuration", e)
            return False
        self.model_changed.emit(model_id)
        return True

    def move_to_package_version(self, model_id: str, version: str) -> bool:
        """The model loads that version of its package's code from now on (model.package_version = ...;
        model.update()); a refusal (a version it cannot move to, a training holding it) goes to the hub."""
        try:
            model = self.client.models.get(model_id=model_id)
            model.package_version = version
            model.update()
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception(f"Could not move the model to version {version}", e)
            return False
        self.model_changed.emit(model_id)
        return True

    def set_alias(self, model_id: str, alias: str) -> bool:
        """model.set_alias(alias): the alias of its package points at this model now (moved from another)."""
        try:
            self.client.models.get(model_id=model_id).set_alias(alias, who="user", reason="set in the window")
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception(f"Could not set the alias {alias!r}", e)
            return False
        self.model_changed.emit(model_id)
        return True

    def remove_alias(self, model_id: str, alias: str) -> bool:
        try:
            self.client.models.get(model_id=model_id).remove_alias(alias, who="user", reason="removed in the window")
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception(f"Could not remove the alias {alias!r}", e)
            return False
        self.model_changed.emit(model_id)
        return True

    def save_model_marks(self, model_id: str, **values: Any) -> bool:
        """A model's tags and / or notes saved (catalog.update_model); a refusal goes to the hub."""
        try:
            self.catalog.update_model(model_id, **{k: v for k, v in values.items() if k in ("tags", "notes")})
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception("Could not save the model's tags or notes", e)
            return False
        self.model_changed.emit(model_id)
        return True

    def cancel_sweep(self, sweep_id: str) -> bool:
        """sweep.cancel(): its queued and running trial jobs are canceled; trials that ended keep their models."""
        from desktop_app.sdk.sweep import Sweeps
        sweeps = getattr(self.client, "sweeps", None) or Sweeps(self.client)
        return self._guard("Could not cancel the sweep", lambda: sweeps.get(sweep_id=sweep_id).cancel()) is not None

    def keep_threshold(self, model_id: str, confidence: float, on_done: Done, on_error: Failed, *,
                       tasks: TaskRunner | None = None) -> None:
        """The confidence becomes the model's conf_threshold (per-class ones cleared); its running services
        reload, on the task pool. apply_thresholds' dict to on_done."""
        from desktop_app.serving.manager import apply_thresholds
        catalog = self.catalog
        self._submit(lambda: apply_thresholds(catalog, model_id, confidence, {}), on_done, on_error, tasks)

    @staticmethod
    def why_not_exportable(model: Any) -> str | None:
        """Why the model cannot be exported (None: it can); read-only, for the Export button."""
        from desktop_app.serving.export import why_not_exportable
        return why_not_exportable(model)

    @staticmethod
    def export_filename(model_name: str, fmt: str) -> str:
        from desktop_app.serving.export import default_filename
        return default_filename(model_name, fmt)

    def export_model(self, model_id: str, fmt: str, path: str, on_done: Done, on_error: Failed) -> None:
        """Export on the thread pool (torch loads there, not at start-up); the ExportResult to on_done."""
        from desktop_app.serving.export import export_model
        catalog = self.catalog  # thread-safe: each thread gets its own SQLite connection
        self.tasks.submit(lambda: export_model(catalog, model_id, fmt, path), on_done, on_error)

    def clone(self, model_id: str, **kwargs: Any) -> Any:
        """Raises (the clone dialog shows the message beside its fields)."""
        model = self.client.models.get(model_id=model_id).clone(**kwargs)
        self.catalog_changed.emit()
        return model

    # -- services -------------------------------------------------------------------------
    def start_service(self, model_id: str, on_done: Done, on_error: Failed, *,
                      tasks: TaskRunner | None = None) -> None:
        """Deploy the model (its process starts and loads on the task pool); the ServiceRecord to on_done."""
        from desktop_app.serving.manager import start_service
        catalog = self.catalog
        self._submit(lambda: start_service(catalog, model_id, {}), on_done, on_error, tasks)

    def stop_service(self, service_id: str, on_done: Done, on_error: Failed, *,
                     tasks: TaskRunner | None = None) -> None:
        from desktop_app.serving.manager import stop_service
        catalog = self.catalog
        self._submit(lambda: stop_service(catalog, service_id), on_done, on_error, tasks)

    # -- pipelines ------------------------------------------------------------------------
    def create_pipeline(self, draft: Any) -> Any:
        """The New pipeline dialog's draft -> a pipeline; raises DraftError (a message per field)."""
        from desktop_app.pipelines.draft import create
        return self.client.pipelines.get(create(self.client.catalog, draft).id)

    def save_pipeline(self, pipeline_id: str, fields: dict) -> Any:
        """Pipeline.update(**fields) (checked as at creation); raises with the message to show."""
        return self.client.pipelines.get(pipeline_id).update(**fields)

    def run_pipeline(self, pipeline_id: str, on_done: Done, on_error: Failed, *,
                     tasks: TaskRunner | None = None) -> None:
        """Start a run in a detached runner process; its run record to on_done."""
        from desktop_app.pipelines.api import start_run
        catalog = self.catalog
        self._submit(lambda: start_run(catalog, pipeline_id, trigger="manual", wait=False), on_done, on_error, tasks)

    def rollback_pipeline(self, pipeline_id: str, model_id: str, reason: str, on_done: Done, on_error: Failed, *,
                          tasks: TaskRunner | None = None) -> None:
        """The champion goes back to `model_id` (services follow); rollback's dict to on_done."""
        from desktop_app.pipelines.api import rollback
        catalog = self.catalog
        self._submit(lambda: rollback(catalog, pipeline_id, model_id, who="user", reason=reason), on_done, on_error,
                     tasks)

    def recover_pipelines(self) -> dict:
        """Runs interrupted while no one watched are marked so (the catalog just opened); what was recovered."""
        from desktop_app.pipelines.api import recover_all
        return recover_all(self.catalog)

    def start_pipeline_triggers(self) -> Any:
        """The service that starts pipeline runs when their triggers fire, started; stop() it before closing."""
        from desktop_app.pipelines.triggers import TriggerService
        return TriggerService(self.catalog).start()

    # -- packages -------------------------------------------------------------------------
    def push_package(self, on_done: Callable[[dict], None], on_error: Failed, **kwargs: Any) -> None:
        """client.packages.push(...) in a child process (user code never loads in the window)."""
        from .offprocess import push_package
        home = self.catalog.home

        def done(result: dict) -> None:
            self.catalog_changed.emit()
            on_done(result)
        self.tasks.submit(lambda: push_package(home, **kwargs), done, on_error)

    def delete_package(self, package_id: str, *, with_models: bool) -> dict:
        """What Package.delete does (its files go too); raises UserError; the summary dict back."""
        from desktop_app.catalog.housekeeping import delete_package
        return delete_package(self.catalog, package_id, with_models=with_models)
