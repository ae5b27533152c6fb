"""Typed records the catalog hands out; rows become records here and nowhere else."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from desktop_app.domain.status import (ExecutionStatus, ModelStatus, PipelineRunStatus, PipelineStatus,
                                       ServiceStatus)

from .ground_truth import is_ground_truth

# The statuses live in desktop_app.domain.status and are re-exported here, where callers have always found them.
# A record holds the stored word (a plain str, equal to its member).


def why_no_weights(model: Any, action: str) -> str | None:
    """None when the model (a record or an SDK entity) has weights of its own, else why it cannot be used to
    `action` ('evaluate', 'export'): the tooltip of a disabled button."""
    status = model.status
    if status in ModelStatus.WITH_WEIGHTS:
        return None
    if status in ModelStatus.BUSY:
        return f"The model is training: {action} it once training has ended."
    if status == ModelStatus.PRE_TRAINED:
        return f"A pre-trained built-in has no weights of its own: clone and train it, then {action} the clone."
    return f"The model is {status}: only a trained or deployed model has weights to {action}. Train it first."


# Columns stored as JSON text; converted to Python objects at the boundary.
JSON_COLUMNS = {
    "metadata", "tags", "configuration", "labels", "train_filter", "validation_filter",
    "default_configuration", "hyperparameters", "coordinates", "attributes", "filter",
    "iou_thresholds", "results", "config", "definition", "input", "output", "steps",
    "before", "after", "label_colors", "details",
}


@dataclass
class Record:
    @classmethod
    def from_row(cls, row: dict[str, Any]):
        names = {f.name for f in fields(cls)}
        kw = {}
        for k, v in row.items():
            if k not in names:
                continue
            if k in JSON_COLUMNS and isinstance(v, str):
                v = json.loads(v)
            kw[k] = v
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class ProjectRecord(Record):
    id: str
    name: str
    description: str = ""
    created_at: str = ""
    updated_at: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class PackageRecord(Record):
    id: str
    name: str
    project_id: str | None = None
    kind: str = "builtin"            # builtin | user
    version: str = "1.0.0"
    description: str = ""
    entry_point: str | None = None   # adapter file inside the code bundle, or "module:Class" for built-ins
    class_name: str | None = None
    codebase_sha: str | None = None  # zip of the user's code in the store
    default_configuration: dict = field(default_factory=dict)
    hyperparameters: list = field(default_factory=list)
    input_type: str = "image"
    output_type: str = "class"
    created_at: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class ModelRecord(Record):
    id: str
    name: str
    project_id: str
    package_id: str
    description: str = ""
    tags: list = field(default_factory=list)
    status: str = ModelStatus.CREATED.value
    configuration: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    input_type: str = "image"
    output_type: str = "class"
    dataset_id: str | None = None
    train_filter: dict | None = None
    validation_filter: dict | None = None
    parent_id: str | None = None
    scope: str = "project"
    created_at: str = ""
    updated_at: str = ""
    metadata: dict = field(default_factory=dict)
    notes: str = ""                    # free text, editable in the window (schema v6)
    sweep_id: str | None = None        # the sweep that made this model
    data_version: str | None = None    # the dataset version (name) it last trained on


@dataclass
class ArtifactRecord(Record):
    id: str
    model_id: str
    filename: str
    sha256: str
    size: int = 0
    created_at: str = ""


@dataclass
class DatasetRecord(Record):
    id: str
    project_id: str
    name: str
    description: str = ""
    labels: list = field(default_factory=list)
    label_colors: dict = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class ItemRecord(Record):
    id: int
    dataset_id: str
    name: str
    sha256: str | None = None
    mimetype: str | None = None
    width: int | None = None
    height: int | None = None
    subset: str | None = None
    reviewed: int = 0
    created_at: str = ""
    updated_at: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class AnnotationRecord(Record):
    id: int
    item_id: int
    dataset_id: str
    type: str
    label: str
    left: float | None = None
    top: float | None = None
    right: float | None = None
    bottom: float | None = None
    coordinates: Any = None
    attributes: dict = field(default_factory=dict)
    model_id: str | None = None
    model_name: str | None = None
    score: float | None = None
    iscrowd: int = 0
    area: float | None = None
    metadata: dict = field(default_factory=dict)
    creator: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def is_ground_truth(self) -> bool:
        return is_ground_truth(self.model_id, self.model_name)

    @property
    def is_prediction(self) -> bool:
        return not self.is_ground_truth

    @property
    def box(self) -> list[float] | None:
        if self.left is None:
            return None
        return [self.left, self.top, self.right, self.bottom]

    def compact_coordinates(self) -> Any:
        """The compact coordinate form of `formats.base` (boxes live in columns, not JSON)."""
        if self.type == "box":
            return self.box
        return self.coordinates


@dataclass
class AnnotationChange(Record):
    id: int
    annotation_id: int | None
    item_id: int
    action: str                     # create | update | delete | accept
    before: Any = None
    after: Any = None
    who: str = ""
    at: str = ""


@dataclass
class MetricSample(Record):
    id: int
    model_id: str
    figure: str
    legend: str
    x: float
    y: float
    wall_time: float | None = None
    epoch: float | None = None
    dataset_id: str | None = None
    execution_id: str | None = None


@dataclass
class ExecutionRecord(Record):
    id: str
    kind: str                       # train | evaluate | predict | deploy | pipeline
    status: str = ExecutionStatus.CREATED.value
    model_id: str | None = None
    project_id: str | None = None
    progress: float = 0.0
    message: str = ""
    error: str | None = None
    log_path: str | None = None
    pid: int | None = None
    device: str | None = None
    input: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    cancel_requested: int = 0
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None


@dataclass
class EvaluationRecord(Record):
    id: str
    model_id: str
    dataset_id: str
    name: str
    method: str = "coco"
    filter: dict | None = None
    iou_thresholds: list = field(default_factory=list)   # COCO's 0.50:0.95 grid (mAP)
    conf_threshold: float = 0.0
    iou_threshold: float = 0.5                            # TP / FP / FN matching (schema v4; older: 0.5)
    weights_sha: str | None = None
    results: dict = field(default_factory=dict)
    cache_sha: str | None = None
    execution_id: str | None = None
    created_at: str = ""
    data_version: str | None = None                       # the dataset version it scored (schema v6)


@dataclass
class ServiceRecord(Record):
    id: str
    model_id: str
    name: str
    status: str = ServiceStatus.STARTING.value
    url: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    pid: int | None = None
    config: dict = field(default_factory=dict)
    started_at: str = ""
    stopped_at: str | None = None


@dataclass
class PipelineRecord(Record):
    id: str
    project_id: str
    name: str
    definition: dict = field(default_factory=dict)
    status: str = PipelineStatus.IDLE.value
    created_at: str = ""
    updated_at: str = ""


@dataclass
class PipelineRunRecord(Record):
    id: str
    pipeline_id: str
    status: str = PipelineRunStatus.CREATED.value
    trigger: str = "manual"
    steps: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    created_at: str = ""
    finished_at: str | None = None


@dataclass
class AliasRecord(Record):
    package_id: str
    alias: str
    model_id: str
    set_at: str = ""
    set_by: str = ""
