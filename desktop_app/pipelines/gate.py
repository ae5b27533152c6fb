"""The promotion gate: does the challenger beat the champion on the same test set? (Dataloop's compare-models node.)"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from desktop_app.errors import ValidationError

# Summary figures each evaluation method reports (desktop_app.evaluation.run), and their per-class figures.
SUMMARY_METRICS = {
    "classification": ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall", "top3_accuracy"),
    "coco": ("mAP", "mAP50", "mAP75", "AR100", "precision", "recall", "f1", "tp", "fp", "fn"),
    "semantic": ("miou", "miou_foreground", "pixel_accuracy", "mean_accuracy"),
}
CLASS_METRICS = {
    "classification": ("f1", "precision", "recall", "ap", "roc_auc"),
    "coco": ("AP", "AP50", "f1", "precision", "recall"),
    "semantic": ("iou", "accuracy"),
}
DEFAULT_METRIC = {"classification": "accuracy", "coco": "mAP", "semantic": "miou"}
DEFAULT_CLASS_METRIC = {"classification": "f1", "coco": "AP", "semantic": "iou"}
LOWER_IS_BETTER = {"fp", "fn"}
CLASSES_CHECK = "classes"        # in `checks`: one check per class, on the class metric
CLASS_PREFIX = "class:"          # in `checks`: "class:circle" checks one class


def method_for(output_type: str) -> str:
    if output_type == "semantic":
        return "semantic"
    return "classification" if output_type == "class" else "coco"


@dataclass
class GateSpec:
    """What the challenger must achieve; stored in the pipeline definition under 'gate'."""

    metric: str | None = None             # primary summary metric (default accuracy / mAP)
    min_improvement: float = 0.0          # challenger - champion must reach this, and be above 0
    max_class_drop: float | None = None   # no class's class_metric may fall by more than this
    class_metric: str | None = None       # f1 (classification) / AP (detection) by default
    checks: list[str] = field(default_factory=list)  # summary metrics, "classes", or "class:<label>"
    min_wins: float | None = None         # K checks to win (>= 1), a fraction of them (0 < x < 1); None: all
    iou_threshold: float = 0.5            # evaluation settings, the same for both models
    conf_threshold: float = 0.0

    @classmethod
    def from_dict(cls, values: dict | None, *, method: str) -> GateSpec:
        values = dict(values or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValidationError(f"unknown gate key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        spec = cls(**values)
        spec.metric = spec.metric or DEFAULT_METRIC[method]
        spec.class_metric = spec.class_metric or DEFAULT_CLASS_METRIC[method]
        spec.checks = list(spec.checks or [])
        spec.validate(method)
        return spec

    def validate(self, method: str) -> None:
        if self.metric not in SUMMARY_METRICS[method]:
            raise ValidationError(f"gate metric {self.metric!r} is not reported by {method} evaluations; one of "
                                  f"{', '.join(SUMMARY_METRICS[method])}")
        if self.class_metric not in CLASS_METRICS[method]:
            raise ValidationError(f"gate class_metric {self.class_metric!r} is not a per-class {method} figure; "
                                  f"one of {', '.join(CLASS_METRICS[method])}")
        _number("min_improvement", self.min_improvement, low=0.0)
        if self.max_class_drop is not None:
            _number("max_class_drop", self.max_class_drop, low=0.0)
        for c in self.checks:
            if not isinstance(c, str) or not c:
                raise ValidationError(f"gate checks are metric names, {CLASSES_CHECK!r} or 'class:<label>'; got {c!r}")
            if c != CLASSES_CHECK and not c.startswith(CLASS_PREFIX) and c not in SUMMARY_METRICS[method]:
                raise ValidationError(f"gate check {c!r} is not reported by {method} evaluations; use one of "
                                      f"{', '.join(SUMMARY_METRICS[method])}, {CLASSES_CHECK!r} or 'class:<label>'")
        if self.min_wins is not None:
            _number("min_wins", self.min_wins, low=0.0)
            if not self.checks:
                raise ValidationError("gate min_wins needs a list of checks")
            if self.min_wins >= 1 and float(self.min_wins) != int(self.min_wins):
                raise ValidationError("gate min_wins is a count (an integer) or a fraction below 1")
        _number("iou_threshold", self.iou_threshold, low=0.0, high=1.0)
        _number("conf_threshold", self.conf_threshold, low=0.0, high=1.0)

    def to_dict(self) -> dict:
        return asdict(self)


def _number(name: str, value: Any, *, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"gate {name} must be a number, got {value!r}")
    if low is not None and value < low or high is not None and value > high:
        raise ValidationError(f"gate {name} must be within {low}..{high if high is not None else 'inf'}, got {value}")


@dataclass
class Decision:
    promote: bool
    reasons: list[str]
    figures: dict[str, Any]

    def to_dict(self) -> dict:
        return {"promote": self.promote, "reasons": list(self.reasons), "figures": self.figures}


def _value(d: dict, key: str) -> float | None:
    v = d.get(key)
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _classes(champion_pc: dict, challenger_pc: dict, metric: str) -> dict[str, dict]:
    """Per-class figures of both models; classes the champion has no test examples of are left out."""
    out = {}
    for label, row in champion_pc.items():
        if label.startswith("("):  # "(no prediction)" is not a class
            continue
        if row.get("support") == 0:
            continue
        old = _value(row, metric)
        if old is None or old < 0:  # -1: COCO's "no ground truth"
            continue
        new = _value(challenger_pc.get(label, {}), metric)
        new = 0.0 if new is None or new < 0 else new  # a class the challenger lost entirely scores 0
        out[label] = {"champion": old, "challenger": new, "delta": new - old}
    return out


def decide(spec: GateSpec, champion: dict, challenger: dict) -> Decision:
    """champion / challenger: {'summary': {...}, 'per_class': {...}} of evaluations on the same items."""
    reasons: list[str] = []
    figures: dict[str, Any] = {}
    ok = True

    old, new = _value(champion["summary"], spec.metric), _value(challenger["summary"], spec.metric)
    if old is None or new is None:
        raise ValidationError(f"the evaluations have no {spec.metric!r} figure to compare")
    sign = -1.0 if spec.metric in LOWER_IS_BETTER else 1.0
    delta = (new - old) * sign
    primary_ok = delta > 0 and delta >= spec.min_improvement - 1e-12
    figures["primary"] = {"metric": spec.metric, "champion": old, "challenger": new, "delta": delta,
                          "min_improvement": spec.min_improvement, "passed": primary_ok}
    if primary_ok:
        reasons.append(f"{spec.metric} {old:.4f} -> {new:.4f} ({delta:+.4f}, needed {spec.min_improvement:+.4f} "
                       f"and above 0)")
    else:
        ok = False
        reasons.append(f"{spec.metric} {old:.4f} -> {new:.4f} ({delta:+.4f}) does not improve by at least "
                       f"{spec.min_improvement:.4f}" + (" (a tie never promotes)" if delta == 0 else ""))

    per_class = _classes(champion.get("per_class") or {}, challenger.get("per_class") or {}, spec.class_metric)
    figures["per_class"] = {"metric": spec.class_metric, "classes": per_class}
    if spec.max_class_drop is not None:
        drops = {k: v for k, v in per_class.items() if -v["delta"] > spec.max_class_drop + 1e-12}
        worst = min(per_class.items(), key=lambda kv: kv[1]["delta"], default=(None, None))
        figures["class_drop"] = {"max_class_drop": spec.max_class_drop, "worst_class": worst[0],
                                 "worst_delta": worst[1]["delta"] if worst[1] else None,
                                 "failed_classes": sorted(drops), "passed": not drops}
        if drops:
            ok = False
            listed = ", ".join(f"{k} {v['champion']:.3f} -> {v['challenger']:.3f}" for k, v in sorted(drops.items()))
            reasons.append(f"{spec.class_metric} drops by more than {spec.max_class_drop:.3f} on: {listed}")
        else:
            reasons.append(f"no class's {spec.class_metric} drops by more than {spec.max_class_drop:.3f}")

    if spec.checks:
        rows = []
        for c in spec.checks:
            if c == CLASSES_CHECK:
                for label, v in per_class.items():
                    rows.append({"check": f"class:{label}", "champion": v["champion"], "challenger": v["challenger"],
                                 "won": v["delta"] > 0})
                continue
            if c.startswith(CLASS_PREFIX):
                label = c[len(CLASS_PREFIX):]
                v = per_class.get(label)
                if v is None:
                    rows.append({"check": c, "champion": None, "challenger": None, "won": False,
                                 "note": "no test examples of this class"})
                else:
                    rows.append({"check": c, "champion": v["champion"], "challenger": v["challenger"],
                                 "won": v["delta"] > 0})
                continue
            a, b = _value(champion["summary"], c), _value(challenger["summary"], c)
            s = -1.0 if c in LOWER_IS_BETTER else 1.0
            rows.append({"check": c, "champion": a, "challenger": b,
                         "won": a is not None and b is not None and (b - a) * s > 0})
        won = sum(1 for r in rows if r["won"])
        mw = float(spec.min_wins if spec.min_wins is not None else len(rows))
        needed = math.ceil(mw * len(rows) - 1e-9) if 0 < mw < 1 else int(mw)
        passed = won >= needed
        figures["wins"] = {"checks": rows, "won": won, "of": len(rows), "needed": needed, "passed": passed}
        if passed:
            reasons.append(f"wins {won} of {len(rows)} checks (needed {needed})")
        else:
            ok = False
            reasons.append(f"wins only {won} of {len(rows)} checks (needed {needed})")
    return Decision(promote=ok, reasons=reasons, figures=figures)
