"""The leaderboard's logic without a screen: column names and titles, default columns, sort keys with missing
values last, the best value per metric column, the numbers a chart plots and the CSV the table exports."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from desktop_app.evaluation.compare import higher_is_better

# Columns every model has (the search grammar's words), then where the chooser lists the rest.
BASIC_COLUMNS = ("name", "status", "package", "dataset", "created", "alias", "tags", "data.version", "sweep")
DEFAULT_BASICS = ("status", "package")
DEFAULT_TAIL = ("alias", "tags", "data.version")
DEFAULT_PARAMS = ("learning_rate", "epochs", "batch_size")
MAX_DEFAULT_METRICS = 3
# Each task's headline validation figure (the trainer's monitor, logged as validation/<name>), shown first in
# this order: an instance segmentation model logs box mAP50 too, after its mask AP50.
HEADLINE_METRICS = ("validation/mask_map50", "validation/miou", "validation/map50", "validation/accuracy")


def headline_rank(key: str) -> int:
    """0.. for a headline metric (in HEADLINE_METRICS order), then every other key."""
    return HEADLINE_METRICS.index(key) if key in HEADLINE_METRICS else len(HEADLINE_METRICS)
LOG_RATIO = 10.0         # a parameter whose positive values span a decade or more goes on a log scale
BASIC_TITLES = {"data.version": "data version", "alias": "aliases", "created": "created"}
_METRIC = re.compile(r"^(?:(max|min)\()?metrics\.(`?)(?P<key>.+?)\2\)?$")


def metric_column(key: str, agg: str | None = None) -> str:
    """The search grammar's spelling of a metric column: metrics.`validation/accuracy`, max(metrics.`k`)."""
    col = f"metrics.`{key}`"
    return f"{agg}({col})" if agg else col


def param_column(key: str) -> str:
    return f"params.{key}" if re.fullmatch(r"[A-Za-z_][\w.]*", key) else f"params.`{key}`"


def tag_column(key: str) -> str:
    return f"tags.{key}" if re.fullmatch(r"[A-Za-z_][\w.]*", key) else f"tags.`{key}`"


def metric_of(column: str) -> tuple[str, str | None] | None:
    """(metric key, 'max' / 'min' / None) of a metric column; None for any other column."""
    m = _METRIC.match(column)
    return (m.group("key"), m.group(1)) if m else None


def is_metric(column: str) -> bool:
    return metric_of(column) is not None


def title(column: str) -> str:
    """What the header says: 'validation/accuracy', 'max validation/accuracy', 'learning_rate', 'tag stage'."""
    metric = metric_of(column)
    if metric is not None:
        key, agg = metric
        return f"{agg} {key}" if agg else key
    for prefix, word in (("params.", ""), ("tags.", "tag ")):
        if column.startswith(prefix):
            return word + column[len(prefix):].strip("`")
    return BASIC_TITLES.get(column, column)


def higher_better(column: str) -> bool | None:
    """True / False for a metric column by its name ('loss', 'error' ... lower is better); None for others."""
    metric = metric_of(column)
    return None if metric is None else higher_is_better(metric[0])


def default_columns(keys: dict[str, list[str]]) -> list[str]:
    """status, package, the main validation metrics, learning_rate / epochs / batch_size when models have them,
    aliases, tags and the data version."""
    metrics = list(keys.get("metrics", []))
    ranked = sorted(metrics, key=lambda k: (not k.startswith("validation/"), headline_rank(k), "batch" in k,
                                            "/" not in k, k))
    chosen = [metric_column(k) for k in ranked if k.startswith("validation/")][:MAX_DEFAULT_METRICS]
    if not chosen:
        chosen = [metric_column(k) for k in ranked[:MAX_DEFAULT_METRICS]]
    params = set(keys.get("params", []))
    return [*DEFAULT_BASICS, *chosen, *(param_column(p) for p in DEFAULT_PARAMS if p in params), *DEFAULT_TAIL]


def completions(keys: dict[str, list[str]]) -> list[str]:
    """Every word the search box completes: columns, metric keys (latest, max, min), params, tags, operators."""
    words = [*BASIC_COLUMNS]
    for k in keys.get("metrics", []):
        words += [metric_column(k), metric_column(k, "max"), metric_column(k, "min")]
    words += [param_column(p) for p in keys.get("params", [])]
    words += [tag_column(t) for t in keys.get("tags", [])]
    words += ["and", "or", "not", "like", "ilike", "in", "is null", "is not null"]
    return words


def number(value: Any) -> float | None:
    """The value as a float when it is a number (bools are not); None otherwise, NaN included."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return None if math.isnan(f) else f
    return None


def missing(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, float) and math.isnan(value))


def text(value: Any) -> str:
    """A cell's text: numbers to 4 significant digits, lists comma-joined, nothing for a missing value."""
    if missing(value):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def sort_key(value: Any) -> tuple:
    """Numbers by value before text by its letters; a missing value is handled by `sorted_ids` (always last)."""
    n = number(value)
    return (0, n, "") if n is not None else (1, 0.0, text(value).lower())


@dataclass
class Row:
    model_id: str
    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, column: str) -> Any:
        return self.name if column == "name" else self.values.get(column)


def sorted_rows(rows: Sequence[Row], column: str, descending: bool = False) -> list[Row]:
    """Rows sorted by one column; models missing the value last whichever the direction."""
    have = [r for r in rows if not missing(r.get(column))]
    lack = [r for r in rows if missing(r.get(column))]
    have.sort(key=lambda r: sort_key(r.get(column)), reverse=descending)
    return have + lack


def best_ids(rows: Iterable[Row], column: str) -> set[str]:
    """The models holding the best value of a metric column (max, or min for loss-like names); empty otherwise."""
    up = higher_better(column)
    if up is None:
        return set()
    values = {r.model_id: number(r.get(column)) for r in rows}
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return set()
    best = max(values.values()) if up else min(values.values())
    return {k for k, v in values.items() if v == best}


def to_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """name, id and the columns (their grammar spelling in the header), one line per model; full precision."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "model_id", *columns])
    for r in rows:
        w.writerow([r.name, r.model_id, *(_csv_value(r.get(c)) for c in columns)])
    return buf.getvalue()


def _csv_value(value: Any) -> Any:
    if missing(value):
        return ""
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, (int, str)) else text(value)


@dataclass
class Axis:
    """One axis of a chart: its column and, per model, a position in 0..1 (None: the model has no value)."""
    column: str
    title: str
    categorical: bool
    low: float = 0.0
    high: float = 1.0
    categories: list[str] = field(default_factory=list)
    positions: dict[str, float | None] = field(default_factory=dict)
    log: bool = False           # a parameter's positive values over a decade or more (learning rates)

    def tick_labels(self) -> list[tuple[float, str]]:
        """(position, text): every category evenly spaced, or the real min and max of a numeric axis."""
        if self.categorical:
            n = len(self.categories)
            return [(_spread(i, n), c) for i, c in enumerate(self.categories)]
        if self.high == self.low:
            return [(0.5, text(self.low))]
        return [(0.0, text(self.low)), (1.0, text(self.high))]

    def position(self, value: float) -> float:
        """Where a real value sits on a numeric axis (0..1)."""
        if self.high == self.low:
            return 0.5
        if self.log:
            return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)


def _spread(i: int, n: int) -> float:
    return 0.5 if n <= 1 else i / (n - 1)


def axis(rows: Sequence[Row], column: str) -> Axis:
    """An axis over the rows' values: numeric (normalised by the real min / max) unless any value is text, then
    categorical (its values sorted, evenly spaced)."""
    raw = {r.model_id: r.get(column) for r in rows}
    present = {k: v for k, v in raw.items() if not missing(v)}
    numeric = {k: number(v) for k, v in present.items()}
    if present and all(v is not None for v in numeric.values()):
        low, high = min(numeric.values()), max(numeric.values())
        ax = Axis(column, title(column), False, low, high,
                  log=not is_metric(column) and low > 0 and high / low >= LOG_RATIO)
        ax.positions = {k: ax.position(numeric[k]) if k in numeric else None for k in raw}
        return ax
    cats = sorted({text(v) for v in present.values()}, key=lambda s: sort_key(s))
    index = {c: i for i, c in enumerate(cats)}
    pos = {k: (_spread(index[text(v)], len(cats)) if not missing(v) else None) for k, v in raw.items()}
    return Axis(column, title(column), True, categories=cats, positions=pos)


def in_range(ax: Axis, model_id: str, lo: float, hi: float) -> bool:
    """Whether the model's position on the axis lies in [lo, hi] (positions 0..1)."""
    p = ax.positions.get(model_id)
    return p is not None and min(lo, hi) - 1e-9 <= p <= max(lo, hi) + 1e-9
