"""What a pipelines page shows, as plain data: the definition in words, runs with one chip per step, the
decision with its figures, earlier champions to roll back to, and the edit form's text parsed back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.domain.status import PipelineRunStatus, StepStatus

from . import champion as champ
from . import lock, triggers
from .api import pipeline_rows, run_rows
from .definition import SUBSET_ROLES, PipelineDefinition, Trigger


@dataclass
class Chip:
    step: str          # snapshot | clone | train | evaluate | compare | promote
    label: str         # what the chip reads: the step, or 'promote' / 'discard' for the last one
    status: str        # pending | running | success | failed | canceled | interrupted | promoted | discarded


@dataclass
class RunLine:
    id: str
    number: int
    status: str
    trigger: str
    created: str
    seconds: float | None
    champion: str
    challenger: str
    champion_id: str | None
    challenger_id: str | None
    metric: str
    champion_score: float | None
    challenger_score: float | None
    chips: list[Chip] = field(default_factory=list)
    error: str = ""

    @property
    def score_text(self) -> str:
        if self.champion_score is None or self.challenger_score is None:
            return ""
        return f"{self.metric} {self.champion_score:.3f} → {self.challenger_score:.3f}"


@dataclass
class Figure:
    name: str
    champion: float | None
    challenger: float | None
    delta: float | None
    passed: bool | None
    note: str = ""


@dataclass
class DecisionView:
    run_id: str
    status: str
    headline: str
    reasons: list[str]
    figures: list[Figure]
    champion_id: str | None
    challenger_id: str | None
    champion: str
    challenger: str
    error: str = ""


@dataclass
class PipelineView:
    """Everything the page shows for one pipeline, read in one go (off the GUI thread)."""

    id: str
    name: str
    status: str
    definition: list[tuple[str, str]]            # (field, text) in reading order
    form: dict[str, Any]                         # trigger / training / gate / enabled as the form edits them
    champion_id: str | None
    champion: str
    runs: list[RunLine]
    history: list[dict[str, Any]]                # alias moves, newest first


def _chip(step: dict) -> Chip:
    name, status = step["name"], step.get("status", StepStatus.PENDING.value)
    if name == "promote":
        action = (step.get("output") or {}).get("action")
        if status == StepStatus.SUCCESS and action in ("promoted", "discarded"):
            return Chip(name, "promote" if action == "promoted" else "discard", action)
        return Chip(name, "promote", status)
    return Chip(name, name, status)


def run_lines(catalog: Catalog, pipeline_id: str) -> list[RunLine]:
    """The runs, newest first, each with one chip per step."""
    rows = {r["id"]: r for r in run_rows(catalog, pipeline_id)}
    lines = []
    for rec in reversed(catalog.list_pipeline_runs(pipeline_id)):
        r = rows[rec.id]
        steps = rec.steps or [{"name": s, "status": StepStatus.PENDING.value} for s in lock.STEPS]
        lines.append(RunLine(
            id=rec.id, number=int(r["number"] or 0), status=r["status"], trigger=r["trigger"],
            created=r["created"][:16].replace("T", " "), seconds=r["seconds"], champion=r["champion"],
            challenger=r["challenger"], champion_id=rec.details.get("champion_id"),
            challenger_id=rec.details.get("challenger_id"), metric=r["metric"],
            champion_score=r["champion_score"], challenger_score=r["challenger_score"],
            chips=[_chip(s) for s in steps], error=r["error"]))
    return lines


def _f(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def decision_view(catalog: Catalog, run_id: str) -> DecisionView:
    """The decision of one run and the figures behind it (primary metric, per class, class drop, wins)."""
    run = catalog.get_pipeline_run(run_id)
    d = run.details
    names = {m.id: m.name for m in catalog.find_models()}
    decision = d.get("decision") or {}
    figs = decision.get("figures") or {}
    out: list[Figure] = []
    prim = figs.get("primary")
    if prim:
        out.append(Figure(f"{prim['metric']} (needed {_f(prim.get('min_improvement')) or 0:+.3f})",
                          _f(prim.get("champion")), _f(prim.get("challenger")), _f(prim.get("delta")),
                          prim.get("passed")))
    drop = figs.get("class_drop") or {}
    failed = set(drop.get("failed_classes") or [])
    per_class = figs.get("per_class") or {}
    for label, v in sorted((per_class.get("classes") or {}).items()):
        passed = (label not in failed) if drop else None
        out.append(Figure(f"{per_class.get('metric', '')}: {label}", _f(v.get("champion")), _f(v.get("challenger")),
                          _f(v.get("delta")), passed))
    wins = figs.get("wins")
    if wins:
        for c in wins.get("checks") or []:
            a, b = _f(c.get("champion")), _f(c.get("challenger"))
            out.append(Figure(f"check: {c['check']}", a, b, (b - a) if a is not None and b is not None else None,
                              bool(c.get("won")), c.get("note", "")))
        out.append(Figure(f"wins (needed {wins.get('needed')})", None, float(wins.get("won", 0)), None,
                          wins.get("passed")))
    if run.status == PipelineRunStatus.PROMOTED:
        headline = "Promoted: the challenger is the champion now"
    elif run.status == PipelineRunStatus.DISCARDED:
        headline = "Discarded: the champion stays"
    elif run.status == PipelineRunStatus.RUNNING:
        headline = "Running…"
    else:
        at = d.get("failed_step")
        headline = f"{run.status.capitalize()}" + (f" at step {at}" if at else "")
    cid, xid = d.get("champion_id"), d.get("challenger_id")
    return DecisionView(run_id=run.id, status=run.status, headline=headline,
                        reasons=list(decision.get("reasons") or []), figures=out, champion_id=cid,
                        challenger_id=xid, champion=names.get(cid, cid or ""), challenger=names.get(xid, xid or ""),
                        error=d.get("error") or "")


def _filter_text(f: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in f.items()) or "all items"


def definition_lines(catalog: Catalog, pipeline_id: str) -> list[tuple[str, str]]:
    p = catalog.get_pipeline(pipeline_id)
    d = PipelineDefinition.from_dict(p.definition)
    alias = catalog.get_alias(d.package_id, d.alias)
    champion = catalog.get_model(alias.model_id).name if alias else "(alias not set)"
    ds = catalog.get_dataset(d.dataset_id)
    subsets = "; ".join(f"{r}: {_filter_text(d.subsets.get(r, {}))}"
                        + (f" (≤ {d.max_items[r]})" if r in d.max_items else "") for r in SUBSET_ROLES)
    try:
        due = triggers.due(catalog, p).reason
    except Exception as e:  # noqa: BLE001 - a broken definition still shows
        due = f"error: {e}"
    gate = short_gate(catalog, d)
    gate_text = ", ".join(f"{k}={v}" for k, v in gate.items())
    return [("Champion", f"{champion}  (package alias '{d.alias}')"),
            ("Dataset", f"{ds.name}: {subsets}"),
            ("Trigger", f"{d.trigger.describe()}{'' if d.enabled else ' (disabled)'}"),
            ("Due", due),
            ("Overrides", json.dumps(d.training) if d.training else "none"),
            ("Gate", gate_text or "defaults"),
            ("Services", "follow the champion" if d.redeploy else "stay on their model")]


def trigger_text(t: Trigger) -> str:
    """The inverse of Trigger.parse for the edit form: 'manual', 'annotations:50', 'schedule:6h'."""
    if t.type == "annotations":
        return f"annotations:{t.count}"
    if t.type == "schedule":
        from .definition import _human
        return f"schedule:{_human(t.every_s or 0)}"
    return "manual"


def form_values(catalog: Catalog, definition: dict) -> dict[str, Any]:
    """The edit form's fields: trigger and overrides as text, the gate as its typed fields' texts."""
    from .draft import gate_kind, gate_texts
    d = PipelineDefinition.from_dict(definition)
    kind = gate_kind(_output_type(catalog, d) or "class")
    return {"trigger": trigger_text(d.trigger), "training": json.dumps(d.training) if d.training else "",
            "gate": gate_texts(kind, d.gate), "gate_kind": kind, "enabled": d.enabled}


def _output_type(catalog: Catalog, d: PipelineDefinition) -> str | None:
    alias = catalog.get_alias(d.package_id, d.alias)
    return catalog.get_model(alias.model_id).output_type if alias else None


def short_gate(catalog: Catalog, d: PipelineDefinition) -> dict[str, Any]:
    """The gate's settings that differ from the defaults for the champion's kind (what a user would type)."""
    from .gate import GateSpec, method_for
    gate = dict(d.gate or {})
    try:
        output_type = _output_type(catalog, d)
        defaults = GateSpec.from_dict({}, method=method_for(output_type)).to_dict() if output_type else {}
    except Exception:  # noqa: BLE001 - without the champion, show what is stored
        defaults = {}
    return {k: v for k, v in gate.items() if v not in (None, [], {}) and defaults.get(k, object()) != v}


def parse_form(trigger: str, training: str, gate: dict[str, str], enabled: bool) -> dict[str, Any]:
    """The edit form -> Pipeline.update(**fields); ValidationError says which field is wrong.
    gate: the typed gate fields' texts (draft.gate_values)."""
    from .draft import gate_values, json_object
    return {"trigger": Trigger.parse(trigger.strip() or "manual").to_dict(),
            "training": json_object("overrides", training), "gate": gate_values(gate), "enabled": bool(enabled)}


def history_lines(catalog: Catalog, pipeline_id: str) -> list[dict[str, Any]]:
    """Every move of the champion alias, newest first; `current` marks the one in force."""
    p = catalog.get_pipeline(pipeline_id)
    d = PipelineDefinition.from_dict(p.definition)
    rows = champ.history(catalog, d.package_id, d.alias)
    out = []
    for k, h in enumerate(reversed(rows)):
        out.append({"model_id": h["model_id"], "model": h["model_name"], "set_at": (h.get("set_at") or "")[:16]
                    .replace("T", " "), "set_by": h.get("set_by") or "", "reason": h.get("reason") or "",
                    "current": k == 0})
    return out


def pipeline_view(catalog: Catalog, pipeline_id: str) -> PipelineView:
    lock.recover(catalog, pipeline_id)
    p = catalog.get_pipeline(pipeline_id)
    d = PipelineDefinition.from_dict(p.definition)
    alias = catalog.get_alias(d.package_id, d.alias)
    champion = catalog.get_model(alias.model_id).name if alias else ""
    return PipelineView(id=p.id, name=p.name, status=p.status, definition=definition_lines(catalog, p.id),
                        form=form_values(catalog, p.definition), champion_id=alias.model_id if alias else None,
                        champion=champion, runs=run_lines(catalog, p.id), history=history_lines(catalog, p.id))


def project_pipelines(catalog: Catalog, project_id: str | None) -> list[dict[str, Any]]:
    """The pipelines list of a project (see api.pipeline_rows)."""
    return pipeline_rows(catalog, project_id)
