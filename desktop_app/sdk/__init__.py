"""The Dataloop-style SDK: `import desktop_app.sdk as dl`, then dl.packages.get(...).models.get(...).clone(...).
Uses: pipelines, workflows, serving, jobs, ml, evaluation, formats, catalog, domain, settings, errors."""

from __future__ import annotations

from typing import Any

from desktop_app.catalog.records import ExecutionStatus, ModelStatus

from .client import Client, default_client, reset_default, use_catalog
from .definitions import (AnnotationCollection, AnnotationType, Box, Classification, DatasetSubsetType, PlotSample,
                          Point, Polygon, Polyline)
from desktop_app.domain.dataloop import Segmentation  # dl.Segmentation: a binary mask (issue 15)
from .entities import Annotation, Artifact, Dataset, Execution, Item, Package, Project, Service
from .filters import (Filters, FiltersMethod, FiltersOperations, FiltersOrderByDirection, FiltersResource,
                      PagedEntities)
from .keywords import UnexpectedKeywordError
from .model import Model
from .sweep import Sweep, Sweeps
from .features import Feature, FeatureSet, FeatureSets

_REPOSITORIES = ("projects", "packages", "models", "datasets", "executions", "services", "pipelines")


def create_sample_project() -> Project:
    """The sample project (two generated shapes datasets) in the default client's catalog: made on the first call
    (seconds), found on the next. Nothing else makes it for a script: a fresh catalog holds only the built-ins."""
    return default_client().create_sample_project()


def __getattr__(name: str) -> Any:
    # dl.models etc. belong to the default client, created on first use (no work at import time).
    if name in _REPOSITORIES:
        return getattr(default_client(), name)
    if name == "sweeps":             # the default client's sweeps (Client.sweeps where the client holds one)
        client = default_client()
        return getattr(client, "sweeps", None) or Sweeps(client)
    if name == "feature_sets":       # the default client's feature sets (sdk.features)
        return FeatureSets(default_client())
    if name == "BaseModelAdapter":
        from desktop_app.ml.adapter import BaseModelAdapter
        return BaseModelAdapter
    raise AttributeError(f"module 'desktop_app.sdk' has no attribute {name!r}")


__all__ = [
    "Client", "default_client", "use_catalog", "reset_default", "create_sample_project", "AnnotationCollection",
    "AnnotationType", "Box", "Classification", "Polygon", "Polyline", "Point", "Segmentation", "DatasetSubsetType",
    "Filters",
    "FiltersResource",
    "FiltersOperations", "FiltersMethod", "FiltersOrderByDirection", "PagedEntities", "PlotSample",
    "Annotation", "Artifact", "Dataset", "Execution", "Item", "Package", "Project", "Service", "Model",
    "ModelStatus", "ExecutionStatus", "BaseModelAdapter", "UnexpectedKeywordError", "Sweep", "sweeps",
    "Feature", "FeatureSet", "FeatureSets", "feature_sets",
    *_REPOSITORIES,
]
