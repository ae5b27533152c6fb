"""Read models for screens (the GUI, reports): metric series, lineage trees, job rows, form values; no Qt."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from desktop_app.catalog.records import (ArtifactRecord, ExecutionRecord, ExecutionStatus, MetricSample,
                                         ModelRecord, PackageRecord)
from desktop_app.catalog.sweeps import queries as sweep_queries
from desktop_app.domain.annotations import SUBSETS, subset_of  # re-exported
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.jobs import gpu_stats
from desktop_app.jobs.naming import display_titles, stored_title

if TYPE_CHECKING:
    from desktop_app.catalog import Catalog

__all__ = [
    "SUBSETS", "subset_of", "Series", "SeriesSet", "ema", "positive_or_nan", "format_metric", "describe_current",
    "parse_iso", "eta_seconds", "format_duration", "JobRow", "process_gone", "job_row", "job_rows", "ModelNode",
    "lineage_forest", "ProjectTree", "catalog_tree", "model_statuses", "is_first_start", "ModelDetails",
    "model_details", "human_size", "unique_name", "form_fields", "coerce_field", "coerce_form", "changed_values",
    "display_value",
]


# -- metric series ----------------------------------------------------------------------------
@dataclass
class Series:
    """One line of one chart: the points of (figure, legend) in the order they were logged."""

    figure: str
    legend: str
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def sorted_by_x(self) -> tuple[list[float], list[float]]:
        """Points ordered by x (stable), so a resumed run that logs an x again draws no zigzag."""
        if all(a <= b for a, b in zip(self.xs, self.xs[1:])):
            return list(self.xs), list(self.ys)
        order = sorted(range(len(self.xs)), key=self.xs.__getitem__)
        return [self.xs[i] for i in order], [self.ys[i] for i in order]


class SeriesSet:
    """Metric samples of one model grouped into figures and legends, fed incrementally by id."""

    def __init__(self) -> None:
        self.last_id = 0
        self._series: dict[tuple[str, str], Series] = {}
        self.latest: MetricSample | None = None

    def add(self, samples: Iterable[MetricSample]) -> set[tuple[str, str]]:
        """Append samples newer than `last_id`; returns the (figure, legend) keys that changed."""
        changed: set[tuple[str, str]] = set()
        for s in samples:
            if s.id <= self.last_id:
                continue
            key = (s.figure, s.legend)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(s.figure, s.legend)
            series.xs.append(float(s.x))
            series.ys.append(float(s.y))
            self.last_id = s.id
            self.latest = s
            changed.add(key)
        return changed

    def clear(self) -> None:
        self.__init__()

    def __len__(self) -> int:
        return sum(len(s.xs) for s in self._series.values())

    def figures(self) -> list[str]:
        return sorted({f for f, _ in self._series})

    def legends(self, figure: str) -> list[str]:
        return sorted(legend for f, legend in self._series if f == figure)

    def series(self, figure: str, legend: str) -> Series:
        return self._series[(figure, legend)]

    def to_rows(self) -> list[tuple[str, str, float, float]]:
        return [(s.figure, s.legend, x, y) for key in sorted(self._series)
                for s in (self._series[key],) for x, y in zip(*s.sorted_by_x())]

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["figure", "legend", "x", "y"])
        for figure, legend, x, y in self.to_rows():
            w.writerow([figure, legend, repr(x), repr(y)])
        return buf.getvalue()


def ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's debiased exponential moving average; weight 0 returns the values, NaN passes through."""
    if not 0.0 <= weight < 1.0:
        raise ValidationError(f"smoothing weight must be within [0, 1), got {weight}")
    if weight == 0.0:
        return [float(v) for v in values]
    out: list[float] = []
    last, n = 0.0, 0
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1.0 - weight) * v
        n += 1
        out.append(last / (1.0 - weight ** n))
    return out


def positive_or_nan(values: Sequence[float]) -> list[float]:
    """For a log axis: values <= 0 become NaN (a gap) instead of breaking the plot."""
    return [v if v > 0 else math.nan for v in values]


def format_metric(sample: MetricSample | None) -> str:
    if sample is None:
        return ""
    y = sample.y
    text = f"{y:.4g}" if math.isfinite(y) else str(y)
    return f"{sample.legend}/{sample.figure} {text}" if sample.legend != "value" else f"{sample.figure} {text}"


def describe_current(latest: dict[tuple[str, str], MetricSample]) -> str:
    """A job's current metric: the newest validation sample and the newest other one, named curves
    ('train/loss') before plain values ('lr', 'epoch_time_s')."""
    if not latest:
        return ""
    # the machine's readings (system/cpu_percent ...) are not the training's metric
    samples = sorted((s for s in latest.values() if s.legend != "system"), key=lambda s: s.id)
    if not samples:
        return ""
    named = [s for s in samples if s.legend != "value"] or samples
    val = [s for s in named if "val" in s.legend.lower()]
    other = [s for s in named if "val" not in s.legend.lower()]
    shown = ([val[-1]] if val else []) + ([other[-1]] if other else [])
    return " · ".join(format_metric(s) for s in shown)


# -- jobs -------------------------------------------------------------------------------------
def parse_iso(value: str | None) -> float | None:
    """Catalog timestamps ('2024-01-02T03:04:05.123456Z') to epoch seconds."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def eta_seconds(progress: float, elapsed: float) -> float | None:
    """Remaining time from a linear extrapolation of progress (percent); None until there is some."""
    if progress <= 0 or progress >= 100 or elapsed <= 0:
        return None
    return elapsed * (100.0 - progress) / progress


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(round(max(seconds, 0)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass(frozen=True)
class JobRow:
    """One execution as the jobs panel shows it."""

    id: str
    kind: str
    status: str
    model_id: str | None
    model_name: str
    progress: float
    message: str
    error: str | None
    elapsed_s: float | None
    eta_s: float | None
    metric: str
    log_path: str | None
    created_at: str
    settled: bool = True          # its worker process is gone (reaped), so it can be queued again
    name: str = ""                # what the job is called everywhere: "Train resnet-exp (pipeline nightly, run 3)"
    device: str = ""              # the slot(s) it runs on: "cuda:0", "cpu:0", "cuda:0,cuda:1"
    gpu: str = ""                 # a running job's GPU use and memory, read through NVML: "GPU 0: 74% busy, ..."

    @property
    def done(self) -> bool:
        return self.status in ExecutionStatus.FINAL

    @property
    def can_cancel(self) -> bool:
        return self.status in (ExecutionStatus.CREATED, ExecutionStatus.IN_PROGRESS)

    @property
    def can_resume(self) -> bool:
        return self.settled and self.status in (ExecutionStatus.INTERRUPTED, ExecutionStatus.CANCELED,
                                                ExecutionStatus.FAILED)

    @property
    def title(self) -> str:
        """Its name; a row made without one: its kind and model."""
        return self.name or f"{self.kind} {self.model_name}".strip()


def process_gone(pid: int | None) -> bool:
    """True once a job's worker process has exited and been reaped (a zombie still counts as there).

    Resuming a job whose worker the scheduler has not reaped yet races with the scheduler's bookkeeping,
    so screens offer Resume only after this.
    """
    if not pid:
        return True
    if os.path.isdir("/proc"):
        return not os.path.exists(f"/proc/{pid}")
    from desktop_app.jobs.scheduler import pid_alive
    return not pid_alive(pid)


def job_row(ex: ExecutionRecord, model_name: str = "", metric: str = "", now: float | None = None,
            name: str | None = None) -> JobRow:
    """One execution as a row. `name`: the job's (jobs.naming.display_title; job_rows gives each row its own),
    else the one stored when it was queued, else its kind and model."""
    now = time.time() if now is None else now
    started = parse_iso(ex.started_at)
    finished = parse_iso(ex.finished_at)
    elapsed = None
    if started is not None:
        end = finished if (finished is not None and ex.status in ExecutionStatus.FINAL) else now
        elapsed = max(end - started, 0.0)
    eta = eta_seconds(ex.progress, elapsed or 0.0) if ex.status == ExecutionStatus.IN_PROGRESS else None
    return JobRow(id=ex.id, kind=ex.kind, status=ex.status, model_id=ex.model_id, model_name=model_name,
                  progress=float(ex.progress or 0.0), message=ex.message or "", error=ex.error,
                  elapsed_s=elapsed, eta_s=eta, metric=metric, log_path=ex.log_path, created_at=ex.created_at,
                  settled=ex.status not in ExecutionStatus.FINAL or process_gone(ex.pid),
                  name=name or stored_title(ex) or f"{ex.kind} {model_name}".strip(), device=ex.device or "")


def job_rows(catalog: Catalog, executions: Sequence[ExecutionRecord], model_names: dict[str, str] | None = None,
             metrics: dict[str, str] | None = None, now: float | None = None) -> list[JobRow]:
    """Rows for a list of executions, each named as every screen names it (jobs.naming.display_titles: a stored
    name costs no read, and each model or dataset an older job names is read once for the whole list).
    `model_names`: model id -> name where the caller has them (else read once here); `metrics`: execution id ->
    its current metric."""
    names = model_names if model_names is not None else {m.id: m.name for m in catalog.find_models()}
    titles = display_titles(catalog, executions, names)
    now = time.time() if now is None else now
    rows = [job_row(ex, names.get(ex.model_id or "", ""), (metrics or {}).get(ex.id, ""), now, titles[ex.id])
            for ex in executions]
    readings: dict[int, str] = {}
    return [replace(row, gpu="; ".join(t for t in (gpu_use(i, readings) for i in _cuda_indexes(row.device)) if t))
            if row.status == ExecutionStatus.IN_PROGRESS and "cuda:" in row.device else row for row in rows]


def _cuda_indexes(device: str) -> list[int]:
    return [int(part.split(":", 1)[1]) for part in device.split(",")
            if part.startswith("cuda:") and part.split(":", 1)[1].isdigit()]


def gpu_use(index: int, cache: dict[int, str] | None = None) -> str:
    """One GPU's use and memory now ("GPU 0: 74% busy, 21.3 of 141 GiB"), or "" where NVML cannot say
    (jobs.gpu_stats: the nvidia-ml-py package and an NVIDIA driver). Read once per GPU for a list of rows."""
    if cache is not None and index in cache:
        return cache[index]
    reading = gpu_stats.read(index)
    text = reading.describe() if reading is not None else ""
    if cache is not None:
        cache[index] = text
    return text


# -- lineage and the catalog tree -------------------------------------------------------------
@dataclass
class ModelNode:
    id: str
    name: str
    status: str
    package_id: str
    children: list[ModelNode] = field(default_factory=list)

    def walk(self) -> Iterable[ModelNode]:
        yield self
        for c in self.children:
            yield from c.walk()


def lineage_forest(models: Sequence[ModelRecord]) -> list[ModelNode]:
    """Models as trees of clones; a model whose parent is not in `models` is a root. Order: creation."""
    nodes = {m.id: ModelNode(m.id, m.name, m.status, m.package_id) for m in models}
    roots: list[ModelNode] = []
    for m in sorted(models, key=lambda r: (r.created_at, r.name)):
        node = nodes[m.id]
        parent = nodes.get(m.parent_id) if m.parent_id else None
        # A cycle cannot happen through clone(); guard anyway so a bad row cannot hang the GUI.
        if parent is not None and parent is not node and not _is_descendant(parent, node):
            parent.children.append(node)
        else:
            roots.append(node)
    return roots


def _is_descendant(candidate: ModelNode, ancestor: ModelNode) -> bool:
    return any(n is candidate for n in ancestor.walk())


@dataclass
class ProjectTree:
    id: str
    name: str
    datasets: list[tuple[str, str]]          # (id, name)
    packages: list[tuple[str, str, str]]     # (id, name, kind)
    models: list[ModelNode]
    sweeps: list[tuple[str, str]] = field(default_factory=list)   # (id, name), oldest first

    def structure(self) -> tuple:
        """What the navigator must rebuild for (statuses excluded: those update in place)."""
        def shape(n: ModelNode) -> tuple:
            return (n.id, n.name, tuple(shape(c) for c in n.children))
        return (self.id, self.name, tuple(self.datasets), tuple(self.packages),
                tuple(shape(n) for n in self.models), tuple(self.sweeps))


def catalog_tree(catalog: Catalog) -> list[ProjectTree]:
    """Projects with their datasets, packages (global ones in every project) and model lineage."""
    out = []
    models = catalog.find_models()
    for p in catalog.list_projects():
        datasets = [(d.id, d.name) for d in catalog.list_datasets(p.id)]
        packages = [(k.id, k.name, k.kind) for k in catalog.list_packages(p.id)]
        forest = lineage_forest([m for m in models if m.project_id == p.id])
        sweeps = [(w.id, w.name) for w in sweep_queries(catalog).find(project_id=p.id)]
        out.append(ProjectTree(p.id, p.name, datasets, packages, forest, sweeps))
    return out


def model_statuses(catalog: Catalog) -> dict[str, str]:
    return {m.id: m.status for m in catalog.find_models()}


def is_first_start(catalog: Catalog) -> bool:
    """Nothing of the user's yet: every model is a built-in and nothing ever ran."""
    if catalog.list_executions(limit=1):
        return False
    return all(m.metadata.get("builtin") for m in catalog.find_models())


# -- model details ----------------------------------------------------------------------------
@dataclass
class ModelDetails:
    model: ModelRecord
    package: PackageRecord
    project_name: str
    dataset_name: str
    parent: ModelRecord | None
    children: list[ModelRecord]
    artifacts: list[ArtifactRecord]
    executions: list[ExecutionRecord]
    fields: list[dict]

    @property
    def active_execution(self) -> ExecutionRecord | None:
        for ex in self.executions:
            if ex.status in (ExecutionStatus.CREATED, ExecutionStatus.IN_PROGRESS):
                return ex
        return None

    @property
    def resumable_execution(self) -> ExecutionRecord | None:
        for ex in self.executions:  # newest first
            if ex.kind != "train":
                continue
            if ex.status in (ExecutionStatus.INTERRUPTED, ExecutionStatus.CANCELED, ExecutionStatus.FAILED):
                return ex if process_gone(ex.pid) else None
            return None
        return None

    @property
    def artifacts_size(self) -> int:
        return sum(a.size or 0 for a in self.artifacts)


def model_details(catalog: Catalog, model_id: str) -> ModelDetails:
    m = catalog.get_model(model_id)
    pkg = catalog.model_package(m.id)   # the version the model is on: its hyper-parameter form, not the newest
    try:
        dataset_name = catalog.get_dataset(m.dataset_id).name if m.dataset_id else ""
    except NotFoundError:
        dataset_name = "(deleted)"
    try:
        project_name = catalog.get_project(m.project_id).name
    except NotFoundError:
        project_name = ""
    parent = None
    if m.parent_id:
        try:
            parent = catalog.get_model(m.parent_id)
        except NotFoundError:
            parent = None
    return ModelDetails(model=m, package=pkg, project_name=project_name, dataset_name=dataset_name,
                        parent=parent, children=catalog.find_models(parent_id=m.id),
                        artifacts=catalog.list_artifacts(m.id),
                        executions=catalog.list_executions(model_id=m.id),
                        fields=form_fields(pkg.hyperparameters, m.configuration))


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


def unique_name(base: str, taken: Iterable[str]) -> str:
    """'resnet-v2', then 'resnet-v3', ...: the first free name in the project for a clone."""
    taken = set(taken)
    stem = base
    for suffix in ("-v", "_v"):
        head, sep, tail = base.rpartition(suffix)
        if sep and tail.isdigit():
            stem = head
            break
    k = 2
    while f"{stem}-v{k}" in taken:
        k += 1
    return f"{stem}-v{k}"


# -- the configuration form -------------------------------------------------------------------
_FIELD_KEYS = ("name", "kind", "default", "help", "minimum", "maximum", "choices", "advanced", "allow_auto",
               "log_scale", "pattern")


def form_fields(hyperparameters: Sequence[dict], configuration: dict) -> list[dict]:
    """Declared hyper-parameters (with the model's current values), then undeclared plain config keys.

    Undeclared keys of a user package get a kind inferred from their value; lists and dicts (label maps)
    are not editable in a form and are left out (they pass through untouched).
    """
    out: list[dict] = []
    seen = set()
    for hp in hyperparameters:
        f = {k: hp.get(k) for k in _FIELD_KEYS}
        f["choices"] = list(hp.get("choices") or [])
        f["advanced"] = bool(hp.get("advanced"))
        f["allow_auto"] = bool(hp.get("allow_auto"))
        f["help"] = hp.get("help") or ""
        f["value"] = configuration.get(hp["name"], hp.get("default"))
        out.append(f)
        seen.add(hp["name"])
    for key, value in configuration.items():
        if key in seen:
            continue
        kind = _infer_kind(value)
        if kind is None:
            continue
        out.append({"name": key, "kind": kind, "default": value, "help": "", "minimum": None, "maximum": None,
                    "choices": [], "advanced": False, "allow_auto": False, "log_scale": False, "pattern": None,
                    "value": value})
    return out


def _infer_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return None


def _hparam(f: dict):
    from desktop_app.ml.hparams import HParam
    return HParam(name=f["name"], kind=f["kind"], default=f.get("default"), help=f.get("help") or "",
                  minimum=f.get("minimum"), maximum=f.get("maximum"), choices=tuple(f.get("choices") or ()),
                  advanced=bool(f.get("advanced")), allow_auto=bool(f.get("allow_auto")),
                  pattern=f.get("pattern"))


def coerce_field(f: dict, raw: Any) -> Any:
    """One form value to the field's type (ValidationError naming the key), as the CLI's --set does."""
    from desktop_app.ml.hparams import coerce
    if f["kind"] == "str" and not f.get("pattern") and isinstance(raw, str):
        return raw.strip()
    return coerce(_hparam(f), raw)


def coerce_form(fields: Sequence[dict], raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, errors): every field coerced, or the message for each that is not valid."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        name = f["name"]
        if name not in raw:
            continue
        try:
            values[name] = coerce_field(f, raw[name])
        except ValidationError as e:
            errors[name] = str(e)
    return values, errors


def changed_values(original: dict, new: dict) -> dict:
    return {k: v for k, v in new.items() if k not in original or original[k] != v}


def display_value(value: Any) -> str:
    """A config value as a form shows it in a text box (floats in short %g form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)
