"""The local catalog: SQLite (over sqlite-utils) plus a content-addressed file store; no torch, no Qt.
Uses: domain, settings, errors."""

from .catalog import Catalog
from .db import check_pages
from .records import (AnnotationRecord, ArtifactRecord, DatasetRecord, EvaluationRecord, ExecutionRecord,
                      ExecutionStatus, ItemRecord, MetricSample, ModelRecord, ModelStatus, PackageRecord,
                      PipelineRecord, PipelineRunStatus, PipelineStatus, ProjectRecord, ServiceRecord,
                      ServiceStatus)

__all__ = [
    "Catalog", "check_pages", "AnnotationRecord", "ArtifactRecord", "DatasetRecord", "EvaluationRecord",
    "ExecutionRecord",
    "ExecutionStatus", "ItemRecord", "MetricSample", "ModelRecord", "ModelStatus", "PackageRecord",
    "PipelineRecord", "PipelineRunStatus", "PipelineStatus", "ProjectRecord", "ServiceRecord", "ServiceStatus",
]
