"""A pipeline's definition: champion alias, dataset subsets, trigger, training overrides, gate; stored as JSON."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from desktop_app.errors import ValidationError

from .gate import GateSpec, method_for

SUBSET_ROLES = ("train", "validation", "test")
TRIGGER_TYPES = ("manual", "annotations", "schedule")
FILTER_KEYS = {"subset", "label", "ann_type", "text", "item_ids", "reviewed", "has_annotations", "dir"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """3600, '90s', '30m', '6h', '1d' -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValidationError(f"a schedule interval is seconds or '30m' / '6h' / '1d', got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValidationError(f"a schedule interval must be positive, got {value!r}")
    return seconds


@dataclass
class Trigger:
    """manual (always possible), annotations (N reviewed ground-truth changes), schedule (every N seconds)."""

    type: str = "manual"
    count: int | None = None        # annotations: how many new / fixed reviewed annotations start a run
    every_s: float | None = None    # schedule: seconds between runs (counted from the last run's start)

    @classmethod
    def parse(cls, value: Any) -> Trigger:
        if value is None:
            return cls()
        if isinstance(value, Trigger):
            return value
        if isinstance(value, str):  # "manual", "annotations:50", "schedule:6h"
            kind, _, arg = value.partition(":")
            value = {"type": kind.strip()}
            if arg:
                value["count" if kind.strip() == "annotations" else "every"] = arg.strip()
        if not isinstance(value, dict):
            raise ValidationError(f"a trigger is 'manual', 'annotations:N', 'schedule:6h' or a dict, got {value!r}")
        v = dict(value)
        kind = v.pop("type", "manual")
        if kind not in TRIGGER_TYPES:
            raise ValidationError(f"unknown trigger type {kind!r}; one of {', '.join(TRIGGER_TYPES)}")
        count, every = v.pop("count", None), v.pop("every_s", v.pop("every", None))
        if v:
            raise ValidationError(f"unknown trigger key(s) {', '.join(sorted(v))}")
        if kind == "annotations":
            try:
                count = int(count)
            except (TypeError, ValueError):
                raise ValidationError(f"an annotations trigger needs count=N (a whole number), got {count!r}") from None
            if count < 1:
                raise ValidationError(f"an annotations trigger needs count of at least 1, got {count}")
            return cls("annotations", count=count)
        if kind == "schedule":
            if every is None:
                raise ValidationError("a schedule trigger needs every=<seconds or '6h'>")
            return cls("schedule", every_s=parse_duration(every))
        return cls("manual")

    def describe(self) -> str:
        if self.type == "annotations":
            return f"after {self.count} reviewed annotation changes"
        if self.type == "schedule":
            return f"every {_human(self.every_s or 0)}"
        return "manual"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _human(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n and seconds % n == 0:
            return f"{int(seconds // n)}{unit}"
    return f"{seconds:g}s"


@dataclass
class PipelineDefinition:
    package_id: str
    dataset_id: str
    alias: str = "champion"
    subsets: dict[str, dict] = field(default_factory=lambda: {r: {"subset": r} for r in SUBSET_ROLES})
    max_items: dict[str, int] = field(default_factory=dict)  # per role: a seeded sample of at most N items
    seed: int = 0
    trigger: Trigger = field(default_factory=Trigger)
    training: dict[str, Any] = field(default_factory=dict)   # configuration overrides of the challenger
    gate: dict[str, Any] = field(default_factory=dict)
    redeploy: bool = True      # move running services of the old champion to the new one
    enabled: bool = True       # automatic triggers fire only when enabled
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> PipelineDefinition:
        d = dict(d)
        d.pop("version", None)
        d["trigger"] = Trigger.parse(d.get("trigger"))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValidationError(f"unknown pipeline field(s) {', '.join(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["trigger"] = self.trigger.to_dict()
        d["version"] = 1
        return d

    def gate_spec(self, output_type: str) -> GateSpec:
        return GateSpec.from_dict(self.gate, method=method_for(output_type))

    def validate(self, output_type: str) -> None:
        """Structural checks (the catalog-dependent ones happen in api.create_pipeline)."""
        if not isinstance(self.alias, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", self.alias):
            raise ValidationError(f"an alias is 1-64 letters, digits, '.', '_' or '-', got {self.alias!r}")
        subsets = {}
        for role in SUBSET_ROLES:
            f = (self.subsets or {}).get(role, {"subset": role})
            if not isinstance(f, dict):
                raise ValidationError(f"subsets[{role!r}] must be an item filter dict such as {{'subset': '{role}'}}")
            bad = set(f) - FILTER_KEYS
            if bad:
                raise ValidationError(f"subsets[{role!r}] has unknown filter key(s) {', '.join(sorted(bad))}; "
                                      f"use {', '.join(sorted(FILTER_KEYS))}")
            subsets[role] = dict(f)
        extra = set(self.subsets or {}) - set(SUBSET_ROLES)
        if extra:
            raise ValidationError(f"subsets are {', '.join(SUBSET_ROLES)}; unknown: {', '.join(sorted(extra))}")
        self.subsets = subsets
        if isinstance(self.max_items, int) and not isinstance(self.max_items, bool):
            self.max_items = {r: self.max_items for r in SUBSET_ROLES}
        if not isinstance(self.max_items, dict):
            raise ValidationError("max_items is N or {'train': N, 'validation': N, 'test': N}")
        for role, n in self.max_items.items():
            if role not in SUBSET_ROLES or isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValidationError(f"max_items[{role!r}] must be a positive whole number for a subset role")
        if not isinstance(self.training, dict):
            raise ValidationError("training overrides must be a dict of configuration keys")
        self.gate = self.gate_spec(output_type).to_dict()
