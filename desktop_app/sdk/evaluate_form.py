"""What the evaluate dialog offers and checks, without Qt: datasets, subsets, the default name, thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import ModelRecord

SUBSETS = ("test", "validation", "train", "all")


def why_not_evaluable(catalog: Catalog, model: ModelRecord) -> str | None:
    """None when the model can be evaluated, else the reason (the Evaluate button's tooltip): the rule
    model.evaluate, predict and deploy refuse by (ml.readiness)."""
    from desktop_app.ml.readiness import why_cannot_run
    reason = why_cannot_run(catalog, model, "evaluate")
    return None if reason is None else reason[0].upper() + reason[1:] + "."


def is_detection(model: ModelRecord) -> bool:
    return model.output_type != "class"  # the scorer's own split: COCO for anything but class labels


@dataclass(frozen=True)
class DatasetChoice:
    id: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)   # subset ('all' too) -> items
    ground_truth: dict[str, dict[str, int]] = field(default_factory=dict)  # subset -> type -> items with it

    @property
    def label(self) -> str:
        return f"{self.name}  ({self.counts.get('all', 0)} items)"


def dataset_choices(catalog: Catalog, model: ModelRecord) -> list[DatasetChoice]:
    """The datasets of the model's project, the one it was trained on first."""
    from desktop_app.evaluation.run import ground_truth_counts
    out = []
    for d in catalog.list_datasets(project_id=model.project_id):
        counts = {s: n for s, n in catalog.subset_counts(d.id).items() if s in SUBSETS}
        counts["all"] = catalog.count_items(d.id)
        out.append(DatasetChoice(d.id, d.name, counts, ground_truth_counts(catalog, d.id)))
    out.sort(key=lambda c: c.id != model.dataset_id)   # stable: the rest keep their creation order
    return out


def subset_filter(subset: str) -> dict:
    return {} if subset == "all" else {"subset": subset}


def default_name(dataset_name: str, subset: str) -> str:
    """The name the evaluation core gives an evaluation without one ('shapes-test')."""
    from desktop_app.evaluation.run import default_name as core_default
    return core_default(dataset_name, subset_filter(subset))


@dataclass(frozen=True)
class EvaluateRequest:
    model_id: str
    dataset_id: str
    filters: dict
    name: str
    iou_threshold: float
    conf_threshold: float


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def check(catalog: Catalog, model: ModelRecord, choice: DatasetChoice | None, subset: str, name: str,
          iou_text: str, conf_text: str) -> tuple[EvaluateRequest | None, dict[str, str]]:
    """The request, or the problems by field (dataset, subset, name, iou, conf) to show beside each."""
    from desktop_app.evaluation.run import describe_selection, why_no_ground_truth
    from desktop_app.jobs.runner import threshold_errors

    errors: dict[str, str] = {}
    if (reason := why_not_evaluable(catalog, model)) is not None:
        errors["model"] = reason
    if choice is None:
        errors["dataset"] = "Pick a dataset (the model's project has none)."
    elif choice.counts.get(subset, 0) == 0:
        errors["subset"] = f"The {subset} subset of {choice.name} has no items: pick another or split the dataset."
    elif (why := why_no_ground_truth(model.output_type, describe_selection(choice.name, subset_filter(subset)),
                                     choice.ground_truth.get(subset, {}))) is not None:
        errors["dataset"] = why[0].upper() + why[1:] + "."
    if not name.strip():
        errors["name"] = "The evaluation needs a name."
    iou = _number(iou_text) if is_detection(model) else 0.5
    conf = _number(conf_text)
    found = threshold_errors(0.5 if iou is None else iou, 0.0 if conf is None else conf)
    for key, value, arg in (("iou", iou, "iou_threshold"), ("conf", conf, "conf_threshold")):
        if value is None:
            errors[key] = "A number, e.g. 0.5."
        elif arg in found:
            errors[key] = found[arg].capitalize() + "."
    if errors or choice is None or iou is None or conf is None:
        return None, errors
    return EvaluateRequest(model.id, choice.id, subset_filter(subset), name.strip(), iou, conf), {}


def replaces(catalog: Catalog, model_id: str, name: str) -> bool:
    """True when an evaluation of this name exists: the core replaces it (names are keys)."""
    return any(ev.name == name.strip() for ev in catalog.list_evaluations(model_id=model_id))
