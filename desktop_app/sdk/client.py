"""The SDK client: one catalog and the repositories over it; the default one is created lazily."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog

from .keywords import check_public_methods
from .repositories import (Annotations, Artifacts, Datasets, Evaluations, Executions, Items, Metrics, Models,
                           Packages, Pipelines, Projects, Repository, Services)

_SCOPED: dict[str, type[Repository]] = {
    cls.__name__: cls for cls in (Annotations, Artifacts, Datasets, Evaluations, Items, Metrics, Models, Packages,
                                  Pipelines)}


@check_public_methods
class Client:
    def __init__(self, catalog: Catalog | None = None, *, home: Path | str | None = None,
                 bootstrap: bool = True, sample_data: bool = True):
        self.catalog = catalog if catalog is not None else Catalog(home)
        self.projects = Projects(self)
        self.packages = Packages(self)
        self.models = Models(self)
        self.datasets = Datasets(self)
        self.executions = Executions(self)
        self.services = Services(self)
        self.pipelines = Pipelines(self)
        if bootstrap and not self.catalog.read_only:
            from .bootstrap import ensure_builtins
            ensure_builtins(self.catalog, sample_data=sample_data)

    def __repr__(self) -> str:
        return f"Client({self.catalog!r})"

    def repository(self, kind: str, **scope: Any) -> Repository:
        """The repository class ``kind`` ('Datasets', 'Models', ...) scoped by an entity (project=, model=, ...):
        entities reach their children through here, so they never import the repositories that make them."""
        return _SCOPED[kind](self, **scope)

    @property
    def sample_project(self):
        from .bootstrap import SAMPLE_PROJECT
        return self.projects.get(project_name=SAMPLE_PROJECT)


_default: Client | None = None
_lock = threading.Lock()


def default_client() -> Client:
    """The client scripts get from `import desktop_app.sdk as dl`: the catalog at $DESKTOP_APP_HOME."""
    global _default
    with _lock:
        if _default is None:
            _default = Client()
        return _default


def use_catalog(home: Path | str | None = None, **kwargs) -> Client:
    """Point the module-level repositories (dl.models, ...) at another catalog folder."""
    global _default
    with _lock:
        if _default is not None:
            _default.catalog.close()
        _default = Client(home=home, **kwargs)
        return _default


def reset_default() -> None:
    global _default
    with _lock:
        if _default is not None:
            _default.catalog.close()
        _default = None
