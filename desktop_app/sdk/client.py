"""The SDK client: one catalog and the repositories over it; the default one is created lazily."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog

from .entities import Project
from .keywords import check_public_methods
from .repositories import (Annotations, Artifacts, Datasets, Evaluations, Executions, Items, Metrics, Models,
                           Packages, Pipelines, Projects, Repository, Services)

_SCOPED: dict[str, type[Repository]] = {
    cls.__name__: cls for cls in (Annotations, Artifacts, Datasets, Evaluations, Items, Metrics, Models, Packages,
                                  Pipelines)}


@check_public_methods
class Client:
    """The repositories over one catalog (``catalog``, or the one at ``home`` / $DESKTOP_APP_HOME).

    bootstrap: register the built-in packages and their pretrained-* models where missing (a few rows, no
    images), so Dataloop's calls work on a fresh catalog; False for a client over a catalog someone already
    opened (a worker process, a read-only view). A client never generates sample images: the sample project is
    made on request, by ``create_sample_project()``."""

    def __init__(self, catalog: Catalog | None = None, *, home: Path | str | None = None, bootstrap: bool = True):
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
            ensure_builtins(self.catalog)

    def __repr__(self) -> str:
        return f"Client({self.catalog!r})"

    def repository(self, kind: str, **scope: Any) -> Repository:
        """The repository class ``kind`` ('Datasets', 'Models', ...) scoped by an entity (project=, model=, ...):
        entities reach their children through here, so they never import the repositories that make them."""
        return _SCOPED[kind](self, **scope)

    @property
    def sample_project(self) -> Project:
        """The project holding the built-in models and, once created, the sample datasets."""
        from .bootstrap import SAMPLE_PROJECT
        return self.projects.get(project_name=SAMPLE_PROJECT)

    def create_sample_project(self) -> Project:
        """Generate the sample project's shapes datasets (2 x 1,000 images, drawn here: seconds) and point the
        built-in models at them; idempotent: a second call finds them and returns at once."""
        from .bootstrap import create_sample_project
        return Project(self, create_sample_project(self.catalog))


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
