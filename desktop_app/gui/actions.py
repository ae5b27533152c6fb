"""What the user can do, each a short call into the SDK / job queue; failures go to the ErrorHub."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from .notifications import ErrorHub
from .workers import TaskRunner


class Actions(QObject):
    catalog_changed = Signal()                 # entities were added / renamed: rebuild the navigator
    model_changed = Signal(str)                # a model's fields changed
    job_submitted = Signal(str)                # execution id

    def __init__(self, client: Any, hub: ErrorHub, tasks: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.hub = hub
        self.tasks = tasks

    @property
    def catalog(self):
        return self.client.catalog

    def _guard(self, title: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every failure is shown in one place
            self.hub.exception(title, e)
            return None

    # -- jobs -----------------------------------------------------------------------------
    def train(self, model_id: str) -> Any:
        """Queue training (validated first); the worker process is started by the scheduler."""
        from desktop_app.jobs.runner import submit_train
        ex = self._guard("Could not start training", lambda: submit_train(self.catalog, model_id, wait=False))
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

    def export_model(self, model_id: str, fmt: str, path: str, on_done: Callable[[Any], None],
                     on_error: Callable[[BaseException], None]) -> None:
        """Export on the thread pool (torch loads there, not at start-up); the ExportResult to on_done."""
        from desktop_app.serving.export import export_model
        catalog = self.catalog  # thread-safe: each thread gets its own SQLite connection
        self.tasks.submit(lambda: export_model(catalog, model_id, fmt, path), on_done, on_error)

    def clone(self, model_id: str, **kwargs: Any) -> Any:
        """Raises (the clone dialog shows the message beside its fields)."""
        model = self.client.models.get(model_id=model_id).clone(**kwargs)
        self.catalog_changed.emit()
        return model

    # -- packages -------------------------------------------------------------------------
    def push_package(self, on_done: Callable[[dict], None], on_error: Callable[[BaseException], None],
                     **kwargs: Any) -> None:
        """client.packages.push(...) in a child process (user code never loads in the window)."""
        from .offprocess import push_package
        home = self.catalog.home

        def done(result: dict) -> None:
            self.catalog_changed.emit()
            on_done(result)
        self.tasks.submit(lambda: push_package(home, **kwargs), done, on_error)
