"""Comparing models: curves on a chosen x axis, final / best values with the best per row, configuration
differences, evaluations of one dataset side by side, and regressions between two evaluations."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from desktop_app.catalog import Catalog, EvaluationRecord

X_AXES = ("step", "epoch", "wall_time")
# Names where a smaller value is the better one; anything else is "higher is better".
_LOWER_WORDS = {"err", "time", "seconds", "s", "ms", "latency", "fp", "fn", "mse", "mae", "rmse", "perplexity",
                "ece"}
DETECTION_STATS = ("mAP", "mAP50", "mAP75", "AR100", "precision", "recall", "f1", "tp", "fp", "fn")
CLASSIFICATION_STATS = ("accuracy", "top3_accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")


def metric_key(figure: str, legend: str) -> str:
    """How a metric is named on screen and in exports: 'validation/loss', or 'lr' for a plain value."""
    return figure if legend in ("", "value") else f"{legend}/{figure}"


def higher_is_better(name: str) -> bool:
    """Direction of a metric from its name: loss, error, time, fp, fn ... are better small; accuracy, AP,
    F1 and throughput ('images_per_s') better large."""
    last = name.lower().rsplit("/", 1)[-1]
    if "per_s" in last or "per_sec" in last or "throughput" in last:
        return True
    if "loss" in last or "error" in last:
        return False
    return not (set(re.split(r"[^a-z0-9]+", last)) & _LOWER_WORDS)


def column_names(models: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """model id -> the name its column, line and legend get, from (id, name, project name): the model's name,
    with its project where two models of different projects share it (names are unique per project only)."""
    count: dict[str, int] = {}
    for _, name, _ in models:
        count[name] = count.get(name, 0) + 1
    out = {mid: name if count[name] == 1 else f"{name} ({project})" for mid, name, project in models}
    seen: dict[str, int] = {}
    for mid, label in out.items():                  # the same model picked twice, or an odd project pair
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            out[mid] = f"{label} #{mid[:6]}"
    return out


# -- curves -------------------------------------------------------------------------------------
@dataclass
class Curve:
    """One metric of one model: every sample's step, epoch, wall time and value, in logging order."""

    steps: list[float] = field(default_factory=list)
    epochs: list[float | None] = field(default_factory=list)
    walls: list[float | None] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def points(self, axis: str = "step", t0: float | None = None) -> tuple[list[float], list[float]]:
        """(x, y) sorted by x. 'epoch' falls back to the step where a sample has no epoch; 'wall_time'
        is seconds since `t0` (the model's first sample), so runs started at different times overlay."""
        if axis not in X_AXES:
            raise ValueError(f"x axis is one of {', '.join(X_AXES)}, not {axis!r}")
        if axis == "step":
            xs = list(self.steps)
        elif axis == "epoch":
            xs = [e if e is not None else s for e, s in zip(self.epochs, self.steps)]
        else:
            base = t0 if t0 is not None else min((w for w in self.walls if w is not None), default=0.0)
            xs = [(w - base) if w is not None else math.nan for w in self.walls]
        pairs = sorted((x, y) for x, y in zip(xs, self.ys) if not math.isnan(x))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def final(self) -> float | None:
        """The value at the largest step (the last logged among equal steps)."""
        if not self.ys:
            return None
        best_k = max(range(len(self.steps)), key=lambda k: (self.steps[k], k))
        return self.ys[best_k]

    def best(self, higher: bool) -> float | None:
        vals = [y for y in self.ys if math.isfinite(y)]
        if not vals:
            return None
        return max(vals) if higher else min(vals)

    @property
    def t0(self) -> float | None:
        return min((w for w in self.walls if w is not None), default=None)


def load_curves(catalog: Catalog, model_ids: Sequence[str], keys: Iterable[str] | None = None
                ) -> dict[str, dict[str, Curve]]:
    """model id -> metric key -> Curve, straight from the catalog's metric samples."""
    wanted = set(keys) if keys is not None else None
    out: dict[str, dict[str, Curve]] = {}
    for mid in model_ids:
        curves: dict[str, Curve] = {}
        for s in catalog.list_metrics(mid):
            key = metric_key(s.figure, s.legend)
            if wanted is not None and key not in wanted:
                continue
            c = curves.setdefault(key, Curve())
            c.steps.append(float(s.x))
            c.epochs.append(s.epoch)
            c.walls.append(s.wall_time)
            c.ys.append(float(s.y))
        out[mid] = curves
    return out


def metric_keys(catalog: Catalog, model_ids: Sequence[str]) -> list[str]:
    """Every metric any of the models logged, training ones first, evaluation figures ('eval/...') last."""
    keys = sorted({metric_key(f, lg) for f, lg in catalog.metric_names(list(model_ids))})
    return sorted(keys, key=lambda k: (k.startswith("eval/") or "/eval/" in k, k))


def model_start(curves: Mapping[str, Curve]) -> float | None:
    """A model's first wall time over all its metrics: where its 'wall time' axis starts."""
    starts = [c.t0 for c in curves.values() if c.t0 is not None]
    return min(starts) if starts else None


# -- tables -------------------------------------------------------------------------------------
@dataclass
class TableRow:
    name: str
    stat: str                         # 'final', 'best', or '' for a single value
    values: list[float | None]
    higher_better: bool
    best: list[int] = field(default_factory=list)   # columns holding the best value (ties: all of them)

    @property
    def title(self) -> str:
        return f"{self.name} ({self.stat})" if self.stat else self.name


@dataclass
class ComparisonTable:
    columns: list[str]
    rows: list[TableRow]

    def best_of(self, name: str, stat: str = "") -> list[str]:
        for r in self.rows:
            if r.name == name and r.stat == stat:
                return [self.columns[i] for i in r.best]
        raise KeyError(f"no row {name!r} ({stat or 'value'})")

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["metric", "stat", *self.columns, "best", "direction"])
        for r in self.rows:
            w.writerow([r.name, r.stat, *["" if v is None else repr(float(v)) for v in r.values],
                        ";".join(self.columns[i] for i in r.best), "higher" if r.higher_better else "lower"])
        return buf.getvalue()


def best_columns(values: Sequence[float | None], higher: bool, rel_tol: float = 1e-12) -> list[int]:
    """Columns with the best finite value (all of them on a tie); none when fewer than one value."""
    finite = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    if not finite:
        return []
    target = max(v for _, v in finite) if higher else min(v for _, v in finite)
    return [i for i, v in finite if math.isclose(v, target, rel_tol=rel_tol, abs_tol=1e-15)]


def metrics_table(curves: Mapping[str, Mapping[str, Curve]], keys: Sequence[str],
                  columns: Sequence[str] | None = None, names: Mapping[str, str] | None = None) -> ComparisonTable:
    """Final and best value of each metric for each model (columns in `columns` order, by model id)."""
    cols = list(columns) if columns is not None else list(curves)
    rows = []
    for key in keys:
        hib = higher_is_better(key)
        finals = [curves.get(c, {}).get(key).final() if key in curves.get(c, {}) else None for c in cols]
        bests = [curves.get(c, {}).get(key).best(hib) if key in curves.get(c, {}) else None for c in cols]
        rows.append(TableRow(key, "final", finals, hib, best_columns(finals, hib)))
        rows.append(TableRow(key, "best", bests, hib, best_columns(bests, hib)))
    return ComparisonTable([(names or {}).get(c, c) for c in cols], rows)


def evaluation_table(results: Mapping[str, Mapping[str, Any]], stats: Sequence[str] | None = None) -> ComparisonTable:
    """Summary figures of evaluations side by side (column name -> evaluation results)."""
    cols = list(results)
    summaries = [dict(results[c].get("summary", {})) for c in cols]
    if stats is None:
        method = next((r.get("method") for r in results.values() if r.get("method")), "coco")
        preferred = DETECTION_STATS if method == "coco" else CLASSIFICATION_STATS
        present = {k for s in summaries for k, v in s.items() if _number(v)}
        stats = [k for k in preferred if k in present] + sorted(present - set(preferred))
    rows = []
    for k in stats:
        vals = [float(s[k]) if _number(s.get(k)) else None for s in summaries]
        hib = higher_is_better(k)
        rows.append(TableRow(k, "", vals, hib, best_columns(vals, hib)))
    return ComparisonTable(cols, rows)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def per_class_values(results: Mapping[str, Mapping[str, Any]], metric: str) -> tuple[list[str], dict[str, list[float]]]:
    """Classes (in the first evaluation's order, then any others) and each evaluation's value per class
    (NaN where absent, and for COCO's -1 'no ground truth')."""
    labels: list[str] = []
    for r in results.values():
        for lb in r.get("per_class", {}):
            if lb not in labels:
                labels.append(lb)
    out = {}
    for name, r in results.items():
        pc = r.get("per_class", {})
        vals = []
        for lb in labels:
            v = pc.get(lb, {}).get(metric)
            vals.append(float(v) if _number(v) and v >= 0 else math.nan)
        out[name] = vals
    return labels, out


def per_class_metrics(results: Mapping[str, Any]) -> list[str]:
    """Plain numeric per-class columns an evaluation has ('AP', 'AP50', 'f1', ...), bar-chart material."""
    keys: list[str] = []
    for v in results.get("per_class", {}).values():
        keys += [k for k, x in v.items() if _number(x) and k not in keys]
    pref = ("AP", "AP50", "f1", "precision", "recall", "ap", "roc_auc")
    return [k for k in pref if k in keys] + [k for k in keys if k not in pref and k not in ("support", "predicted")]


# -- configuration ------------------------------------------------------------------------------
@dataclass
class DiffRow:
    key: str
    values: list[Any]
    differs: bool


_MISSING = object()


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys ('optimizer.lr'); lists stay values."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_diff(configs: Mapping[str, Mapping[str, Any]], *, differences_only: bool = True) -> list[DiffRow]:
    """One row per configuration key (dotted), a value per model (None where a model lacks the key)."""
    flat = [flatten(c) for c in configs.values()]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    rows = []
    for k in sorted(keys):
        vals = [f.get(k, _MISSING) for f in flat]
        differs = len({json.dumps(v, sort_keys=True, default=str) if v is not _MISSING else "\0missing"
                       for v in vals}) > 1
        if differs or not differences_only:
            rows.append(DiffRow(k, [None if v is _MISSING else v for v in vals], differs))
    return rows


# -- evaluations of one dataset -----------------------------------------------------------------
@dataclass
class EvaluationGroup:
    """Evaluations of several models on the same dataset and the same items (same filter)."""

    dataset_id: str
    filter: dict
    records: dict[str, EvaluationRecord]          # model id -> its newest evaluation there
    name: str = ""

    @property
    def method(self) -> str:
        return next(iter(self.records.values())).method


def common_evaluations(catalog: Catalog, model_ids: Sequence[str]) -> list[EvaluationGroup]:
    """Groups of evaluations (same dataset and filter) that at least two of the models have, most models
    first, then newest."""
    groups: dict[tuple[str, str], EvaluationGroup] = {}
    for mid in model_ids:
        for rec in sorted(catalog.list_evaluations(model_id=mid), key=lambda r: r.created_at):
            key = (rec.dataset_id, json.dumps(rec.filter or {}, sort_keys=True))
            g = groups.setdefault(key, EvaluationGroup(rec.dataset_id, dict(rec.filter or {}), {}, rec.name))
            g.records[mid] = rec        # later (newer) wins
    out = [g for g in groups.values() if len(g.records) >= 2]
    out.sort(key=lambda g: (-len(g.records), -max(_ts(r.created_at) for r in g.records.values())))
    return out


def _ts(created_at: str) -> float:
    from datetime import datetime
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def regressions(errors_a: Mapping[int, int], errors_b: Mapping[int, int], items_a: Iterable[int],
                items_b: Iterable[int]) -> list[int]:
    """Items the second model gets wrong that the first got right (both evaluated them), the second's
    worst first. `errors_*`: item id -> number of mistakes (FP + FN, or 1 for a wrong class)."""
    common = set(items_a) & set(items_b)
    out = [i for i in common if errors_b.get(i, 0) > 0 and errors_a.get(i, 0) == 0]
    return sorted(out, key=lambda i: (-errors_b[i], i))
