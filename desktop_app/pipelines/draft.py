"""A new pipeline as a form fills it in: choices, defaults from the champion, the core's message per field, create."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import ModelRecord, ModelStatus, PipelineRecord
from desktop_app.errors import AlreadyExistsError, UserError, ValidationError

from . import api
from .definition import SUBSET_ROLES, PipelineDefinition, Trigger
from .gate import CLASS_METRICS, SUMMARY_METRICS, GateSpec, method_for

# In GateSpec's order: a key is checked with the ones before it (min_wins needs its checks).
GATE_KEYS = ("metric", "min_improvement", "max_class_drop", "class_metric", "checks", "min_wins",
             "conf_threshold", "iou_threshold")
_NUMBERS = {"min_improvement", "max_class_drop", "min_wins", "iou_threshold", "conf_threshold"}
_ALWAYS_SHOWN = {"metric", "class_metric", "min_improvement"}


class DraftError(UserError):
    """The fields a pipeline cannot be created with: field -> the core's message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass
class GateKind:
    """What a gate can name for one kind of model (classification / coco), and its defaults."""

    method: str
    metrics: list[str]
    class_metrics: list[str]
    defaults: dict[str, Any]


def gate_kind(output_type: str) -> GateKind:
    method = method_for(output_type)
    return GateKind(method, list(SUMMARY_METRICS[method]), list(CLASS_METRICS[method]),
                    GateSpec.from_dict({}, method=method).to_dict())


def gate_texts(kind: GateKind, gate: dict | None) -> dict[str, str]:
    """A gate as its form fields read: defaults left blank (the field shows them), except the main three."""
    values = {**kind.defaults, **(gate or {})}
    out = {}
    for key in GATE_KEYS:
        v = values.get(key)
        if key not in _ALWAYS_SHOWN and v == kind.defaults.get(key):
            out[key] = ""
        elif isinstance(v, list):
            out[key] = ", ".join(str(c) for c in v)
        else:
            out[key] = "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
    return out


def gate_values(texts: dict[str, str]) -> dict[str, Any]:
    """Form texts -> a gate dict; blank keeps the default, a text that is not a number goes to the core as is."""
    out: dict[str, Any] = {}
    for key in GATE_KEYS:
        text = str(texts.get(key) or "").strip()
        if not text:
            continue
        if key == "checks":
            out[key] = [c.strip() for c in text.split(",") if c.strip()]
        elif key in _NUMBERS:
            try:
                out[key] = float(text)
            except ValueError:
                out[key] = text  # GateSpec says "must be a number, got 'abc'"
        else:
            out[key] = text
    return out


def gate_errors(method: str, texts: dict[str, str]) -> dict[str, str]:
    """GateSpec's own message for each field that does not pass, checked with the fields before it."""
    good: dict[str, Any] = {}
    errors = {}
    for key, value in gate_values(texts).items():
        try:
            GateSpec.from_dict({**good, key: value}, method=method)
        except ValidationError as e:
            errors[key] = str(e)
        else:
            good[key] = value
    return errors


def json_object(name: str, text: str) -> dict:
    """A form's JSON object field ('' is {}); ValidationError names the field."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValidationError(f"{name} must be a JSON object such as {{\"epochs\": 5}}: {e}") from None
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


@dataclass
class Draft:
    project_id: str
    name: str = ""
    champion_id: str | None = None
    dataset_id: str | None = None
    subsets: dict[str, str] = field(default_factory=lambda: {r: r for r in SUBSET_ROLES})  # role -> subset
    max_items: dict[str, int] = field(default_factory=dict)   # role -> a seeded sample of N; 0 / absent: all
    trigger: str = "manual"       # manual | annotations | schedule
    count: int = 50               # annotations: reviewed changes that start a run
    every: str = "1d"             # schedule: '6h', '1d' or seconds
    enabled: bool = True
    overrides: str = ""           # the challenger's configuration overrides, a JSON object
    gate: dict[str, str] = field(default_factory=dict)        # gate key -> its field's text
    alias: str = "champion"
    seed: int = 0
    redeploy: bool = True
    description: str = ""

    def trigger_value(self) -> Any:
        if self.trigger == "annotations":
            return {"type": "annotations", "count": self.count}
        if self.trigger == "schedule":
            return {"type": "schedule", "every": self.every}
        return {"type": self.trigger}


# -- choices and defaults ----------------------------------------------------------------------------
def champions(catalog: Catalog, project_id: str, alias: str = "champion") -> list[ModelRecord]:
    """The project's trained models: those their package's alias points at first, then the newest first
    (a discarded challenger is trained too, but rarely the one to build on)."""
    found = [m for m in catalog.find_models(project_id=project_id) if m.status in ModelStatus.WITH_WEIGHTS]
    holders = {a.model_id for a in (catalog.get_alias(p, alias) for p in {m.package_id for m in found}) if a}
    found.sort(key=lambda m: m.created_at, reverse=True)
    return sorted(found, key=lambda m: m.id not in holders)


def subset_counts(catalog: Catalog, dataset_id: str) -> dict[str, int]:
    counts = catalog.subset_counts(dataset_id)
    return {s: counts.get(s, 0) for s in SUBSET_ROLES}


def suggest_name(catalog: Catalog, project_id: str, champion: ModelRecord) -> str:
    taken = {p.name for p in catalog.list_pipelines(project_id)}
    base = f"{champion.name}-retrain"
    k = 2
    name = base
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


def defaults(catalog: Catalog, project_id: str, champion_id: str | None = None) -> Draft:
    """A draft prefilled from the champion (default: the newest trained model of the project)."""
    pool = champions(catalog, project_id)
    champion = catalog.get_model(champion_id) if champion_id else (pool[0] if pool else None)
    draft = Draft(project_id)
    return with_champion(catalog, draft, champion.id) if champion else draft


def with_champion(catalog: Catalog, draft: Draft, champion_id: str) -> Draft:
    """The draft for another champion: name, dataset, subsets and gate follow it (a typed name stays)."""
    from desktop_app.domain.annotations import subset_of
    old = catalog.get_model(draft.champion_id) if draft.champion_id else None
    new = catalog.get_model(champion_id)
    if not draft.name or (old is not None and draft.name == suggest_name(catalog, draft.project_id, old)):
        draft.name = suggest_name(catalog, draft.project_id, new)
    draft.champion_id = new.id
    if new.dataset_id:
        draft.dataset_id = new.dataset_id
    draft.subsets = {"train": subset_of(new.train_filter, "train") or "train",
                     "validation": subset_of(new.validation_filter, "validation") or "validation", "test": "test"}
    if old is None or method_for(old.output_type) != method_for(new.output_type):
        draft.gate = gate_texts(gate_kind(new.output_type), {})
    return draft


def configuration_text(catalog: Catalog, champion_id: str | None) -> str:
    """The champion's configuration in one line, for the overrides field's hint."""
    if not champion_id:
        return ""
    cfg = catalog.get_model(champion_id).configuration
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in cfg.items() if not isinstance(v, (dict, list)))


def alias_note(catalog: Catalog, draft: Draft) -> str:
    """What creating the pipeline does to the package's alias, and who else moves it, for the champion's hint."""
    if not draft.champion_id:
        return ""
    m = catalog.get_model(draft.champion_id)
    current = catalog.get_alias(m.package_id, draft.alias)
    now = "" if current is None else (" (it is already)" if current.model_id == m.id
                                      else f" (now {catalog.get_model(current.model_id).name})")
    note = f"package {catalog.get_package(m.package_id).name}: its '{draft.alias}' alias becomes {m.name}{now}"
    sharing = [p.name for p in catalog.list_pipelines() if (p.definition.get("package_id"),
                                                             p.definition.get("alias")) == (m.package_id, draft.alias)]
    if sharing:  # two pipelines promoting into one alias overrule each other
        note += (f"; pipeline {', '.join(sharing)} moves it too (another alias under Advanced keeps them apart)")
    return note

# -- checking and creating ---------------------------------------------------------------------------
def check(catalog: Catalog, draft: Draft, *, data: bool = False) -> dict[str, str]:
    """field -> the core's message for each field the pipeline cannot be created with.
    data: also the subsets' items (non-empty, train and test disjoint), which queries every item."""
    from desktop_app.ml.adapter import validate_model_configuration
    errors: dict[str, str] = {}

    def trying(key: str, fn: Any) -> Any:
        try:
            return fn()
        except UserError as e:
            errors.setdefault(key, str(e))
            return None

    trying("name", lambda: api.check_name(catalog, draft.project_id, draft.name))
    champion = trying("champion", lambda: catalog.get_model(draft.champion_id)) if draft.champion_id else None
    if champion is None:
        errors.setdefault("champion", "this project has no trained model to be the champion; train one first")
    if not draft.dataset_id:
        errors["dataset"] = "choose the dataset the challenger is trained and tested on"
    else:
        trying("dataset", lambda: catalog.get_dataset(draft.dataset_id, draft.project_id))
    trying("trigger", lambda: Trigger.parse(draft.trigger_value()))
    overrides = trying("overrides", lambda: json_object("overrides", draft.overrides))
    if champion is None:
        return errors
    if overrides is not None:
        trying("overrides", lambda: validate_model_configuration(
            catalog, champion.package_id, {**champion.configuration, **overrides}))
    errors.update(gate_errors(method_for(champion.output_type), draft.gate))
    trying("alias", lambda: PipelineDefinition(champion.package_id, "", alias=draft.alias).validate(
        champion.output_type))
    if data and not errors:
        trying("subsets", lambda: api.check_subsets(catalog, draft.dataset_id, _filters(draft)))
    return errors


def _filters(draft: Draft) -> dict[str, dict]:
    return {r: {"subset": draft.subsets.get(r, r)} for r in SUBSET_ROLES}


def create_kwargs(draft: Draft) -> dict[str, Any]:
    """The draft as create_pipeline's arguments."""
    return {"name": draft.name, "champion": draft.champion_id, "dataset": draft.dataset_id,
            "subsets": _filters(draft), "trigger": draft.trigger_value(),
            "training": json_object("overrides", draft.overrides), "gate": gate_values(draft.gate),
            "max_items": {r: int(n) for r, n in draft.max_items.items() if n}, "alias": draft.alias,
            "redeploy": draft.redeploy, "enabled": draft.enabled, "description": draft.description.strip(),
            "seed": draft.seed, "project_id": draft.project_id}


def create(catalog: Catalog, draft: Draft) -> PipelineRecord:
    """Create the pipeline through create_pipeline, or DraftError with a message per field."""
    errors = check(catalog, draft, data=True)
    if errors:
        raise DraftError(errors)
    try:
        return api.create_pipeline(catalog, **create_kwargs(draft))
    except AlreadyExistsError as e:  # taken since the check
        raise DraftError({"name": str(e)}) from None

