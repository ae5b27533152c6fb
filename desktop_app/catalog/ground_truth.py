"""The one home of the "is ground truth" rule: an annotation no model made (no model id, no model name)."""

from __future__ import annotations

from typing import Any

# In SQL over the annotations table (alias: the table's alias in the query, '' for none).
_COLUMNS_SQL = "{a}model_id IS NULL AND {a}model_name IS NULL"
_PREDICTION_SQL = "({a}model_id IS NOT NULL OR {a}model_name IS NOT NULL)"
# In SQL over a JSON snapshot of an annotation (the change log's `before` / `after` columns).
_JSON_SQL = "json_extract({col}, '$.model_name') IS NULL AND json_extract({col}, '$.model_id') IS NULL"


def is_ground_truth(model_id: Any, model_name: Any) -> bool:
    """Whether an annotation with this model id and model name is ground truth (neither is set)."""
    return model_id is None and model_name is None


def ground_truth_sql(alias: str = "") -> str:
    """The rule as a SQL condition on the annotations table: `ground_truth_sql("a")` for `FROM annotations a`."""
    return _COLUMNS_SQL.format(a=f"{alias}." if alias else "")


def prediction_sql(alias: str = "") -> str:
    """The rule's negation (a model's prediction) as a SQL condition on the annotations table."""
    return _PREDICTION_SQL.format(a=f"{alias}." if alias else "")


def ground_truth_json_sql(column: str) -> str:
    """The rule as a SQL condition on an annotation stored as JSON text in `column` (the change log)."""
    return _JSON_SQL.format(col=column)
