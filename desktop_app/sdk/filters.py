"""Dataloop's query builder as scripts use it: dl.Filters(resource=, field=, values=, operator=), add_join, sort_by,
page_size, and the paged lists that items / annotations / models / metrics list() return."""

from __future__ import annotations

import fnmatch
import math
import re
from enum import StrEnum
from typing import Any, Iterator, Sequence

from desktop_app.domain.dataloop import Filters as _PlainFilters
from desktop_app.domain.keywords import check_public_methods
from desktop_app.errors import ValidationError


class FiltersResource(StrEnum):
    """What a filter queries (Dataloop's names); list() refuses a filter made for another resource."""
    ITEM = "items"
    ANNOTATION = "annotations"
    MODEL = "models"
    METRICS = "metrics"
    DATASET = "datasets"
    PACKAGE = "packages"
    EXECUTION = "executions"
    SERVICE = "services"


class FiltersOperations(StrEnum):
    EQUAL = "eq"
    NOT_EQUAL = "ne"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"
    IN = "in"
    NIN = "nin"
    EXISTS = "exists"
    GLOB = "glob"
    MATCH = "match"


class FiltersMethod(StrEnum):
    AND = "and"
    OR = "or"


class FiltersOrderByDirection(StrEnum):
    ASCENDING = "ascending"
    DESCENDING = "descending"


# The resources a list() here answers, and the fields it reads of each (besides metadata.* on items / models).
_SUPPORTED = {FiltersResource.ITEM, FiltersResource.ANNOTATION, FiltersResource.MODEL, FiltersResource.METRICS}
_JOIN_FIELDS = {"label": "label", "type": "ann_type"}

_MISSING = object()


def _compare(op: FiltersOperations, have: Any, want: Any) -> bool:
    if op == FiltersOperations.EXISTS:
        return (have is not _MISSING and have is not None) == bool(want if want is not None else True)
    if have is _MISSING:
        return op in (FiltersOperations.NOT_EQUAL, FiltersOperations.NIN)
    if op == FiltersOperations.EQUAL:
        return have in want if isinstance(want, (list, tuple)) else have == want
    if op == FiltersOperations.NOT_EQUAL:
        return have != want
    if op == FiltersOperations.IN:
        return have in _as_list(want)
    if op == FiltersOperations.NIN:
        return have not in _as_list(want)
    if op == FiltersOperations.GLOB:
        return fnmatch.fnmatchcase(str(have), str(want))
    if op == FiltersOperations.MATCH:
        return re.search(str(want), str(have)) is not None
    try:
        return have > want if op == FiltersOperations.GREATER_THAN else have < want
    except TypeError:
        return False


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple, set)) else [v]


def lookup(doc: dict, field: str) -> Any:
    """The value at a dotted path ('metadata.user.score') of a JSON-like dict; _MISSING if absent."""
    cur: Any = doc
    for part in field.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


@check_public_methods
class Filters(_PlainFilters):
    """``dl.Filters(resource=dl.FiltersResource.ITEM, field='metadata.user.score', values=0.5,
    operator=dl.FiltersOperations.GREATER_THAN)``; ``add(field, values, operator)``, ``add_join(field, values)``
    (items having such an annotation), ``sort_by(field, direction)``, ``page_size``.

    items.list / annotations.list / models.list / metrics.list take it and return pages. The calls that take a
    plain item filter (evaluate, split_ml_subsets, ...) take one of equality conditions on item fields only
    ('metadata.system.tags.<subset>', 'dir', 'filename', 'id', 'label', 'annotated'); a filter they cannot
    answer is refused naming the condition, never dropped."""

    def __init__(self, field: str | None = None, values: Any = None, operator: str | None = None,
                 method: str | None = None, resource: str = FiltersResource.ITEM, page_size: int = 1000,
                 use_defaults: bool = True, custom_filter: dict | None = None, **kwargs: Any):
        try:
            self.resource = FiltersResource(resource)
        except ValueError:
            raise ValidationError(f"unknown filter resource {resource!r}; one of "
                                  f"{', '.join(r.value for r in FiltersResource)}") from None
        if self.resource not in _SUPPORTED:
            raise ValidationError(f"filters on {self.resource.value} are not supported here: list() of items, "
                                  f"annotations, models and metrics take filters")
        if custom_filter is not None:
            raise ValidationError("custom_filter (a raw DQL query) is not supported: build the filter with "
                                  "add(field, values, operator) and add_join(...)")
        self.use_defaults = use_defaults
        self.conditions_list: list[tuple[str, Any, FiltersOperations, FiltersMethod]] = []
        self.joins: list[tuple[str, Any, FiltersOperations]] = []
        self.sort: list[tuple[str, FiltersOrderByDirection]] = []
        self.page_size = page_size
        self.page = 0
        super().__init__()
        if field is not None:
            self.add(field, values, operator=operator, method=method)
        for k, v in kwargs.items():   # Filters(subset='train') as before
            self.add(k, v)

    # -- building ---------------------------------------------------------------------------
    def add(self, field: str, values: Any, operator: str | None = None, method: str | None = None) -> Filters:
        if not isinstance(field, str) or not field:
            raise ValidationError("a filter condition needs a field name")
        op = FiltersOperations(operator) if operator is not None else FiltersOperations.EQUAL
        how = FiltersMethod(method) if method is not None else FiltersMethod.AND
        self.conditions_list.append((field, values, op, how))
        return self

    def add_join(self, field: str, values: Any, operator: str | None = None, method: str | None = None) -> Filters:
        """Items having an annotation whose ``field`` ('label' or 'type') matches (eq or in)."""
        if self.resource != FiltersResource.ITEM:
            raise ValidationError("add_join joins annotations to an item filter (resource=dl.FiltersResource.ITEM)")
        op = FiltersOperations(operator) if operator is not None else FiltersOperations.EQUAL
        if field not in _JOIN_FIELDS or op not in (FiltersOperations.EQUAL, FiltersOperations.IN):
            raise ValidationError(f"add_join takes 'label' or 'type' with eq / in (got {field!r}, {op.value!r})")
        if method not in (None, FiltersMethod.AND):
            raise ValidationError("add_join combines with and only")
        self.joins.append((field, values, op))
        return self

    def sort_by(self, field: str, value: str = FiltersOrderByDirection.ASCENDING) -> Filters:
        self.sort.append((field, FiltersOrderByDirection(value)))
        return self

    def reset(self) -> Filters:
        self.conditions_list, self.joins, self.sort = [], [], []
        return self

    @property
    def has_or(self) -> bool:
        return any(how == FiltersMethod.OR for *_, how in self.conditions_list)

    # -- what the catalog answers ---------------------------------------------------------
    def to_dict(self) -> dict:
        """The plain item filter (catalog keywords): every condition an equality on an item field. Refused
        naming the condition when one is not (callers that can, such as items.list, use ``matches`` instead)."""
        if self.resource != FiltersResource.ITEM:
            raise ValidationError(f"this filter is for {self.resource.value}, not items")
        plain = _PlainFilters()
        for field, values, op, how in self.conditions_list:
            if not self._pushable(field, op, how):
                raise ValidationError(f"this call takes equality conditions on item fields only; the condition "
                                      f"{field!r} {op.value} {values!r} ({how.value}) can be used by "
                                      f"dataset.items.list / count / delete")
            self._push(plain, field, values)
        for field, values, op in self.joins:
            if isinstance(values, (list, tuple)):
                raise ValidationError("this call takes one value per add_join; dataset.items.list takes several")
            plain.conditions[_JOIN_FIELDS[field]] = values
        return plain.to_dict()

    @staticmethod
    def _pushable(field: str, op: FiltersOperations, how: FiltersMethod) -> bool:
        if op != FiltersOperations.EQUAL or how != FiltersMethod.AND:
            return False
        return field == "annotated" or field.startswith("metadata.system.tags.") or field in (
            "subset", "label", "ann_type", "text", "reviewed", "has_annotations", "dir", "id", "ids", "name",
            "filename")

    @staticmethod
    def _push(plain: _PlainFilters, field: str, values: Any) -> None:
        if field == "annotated":
            plain.conditions["has_annotations"] = bool(values)
        else:
            plain.add(field, values)

    def split(self) -> tuple[dict, list[tuple[str, Any, FiltersOperations, FiltersMethod]]]:
        """(catalog keywords for the and-equality conditions it can answer, the conditions left to check here)."""
        plain = _PlainFilters()
        rest = []
        if self.has_or:
            return {}, list(self.conditions_list)
        for cond in self.conditions_list:
            field, values, op, how = cond
            if not self._pushable(field, op, how):
                rest.append(cond)
                continue
            one = _PlainFilters()
            self._push(one, field, values)
            twice = set(one.conditions) & set(plain.conditions)
            if twice:
                raise ValidationError(f"two equality conditions on {field!r}: give the values once, as a list with "
                                      f"operator=dl.FiltersOperations.IN (or add_join(field, [...], 'in') for labels)")
            plain.conditions.update(one.conditions)
        return plain.to_dict(), rest

    def matches(self, doc: dict, conditions: Sequence[tuple] | None = None) -> bool:
        """Whether a JSON-like record passes the given conditions (and ones all, then at least one or one)."""
        conds = self.conditions_list if conditions is None else conditions
        ands = [c for c in conds if c[3] == FiltersMethod.AND]
        ors = [c for c in conds if c[3] == FiltersMethod.OR]
        ok = all(_compare(op, lookup(doc, f), v) for f, v, op, _ in ands)
        return ok and (not ors or any(_compare(op, lookup(doc, f), v) for f, v, op, _ in ors))

    def ordered(self, docs: list[tuple[dict, Any]]) -> list[Any]:
        """The entities of (doc, entity) pairs in sort_by's order (stable, last key applied first)."""
        for field, direction in reversed(self.sort):
            def key(pair: tuple[dict, Any], field: str = field) -> tuple:
                v = lookup(pair[0], field)
                return (v is _MISSING or v is None, "" if v is _MISSING or v is None else v)
            docs = sorted(docs, key=key, reverse=direction == FiltersOrderByDirection.DESCENDING)
        return [e for _, e in docs]


def checked(filters: Any, resource: FiltersResource) -> Filters | None:
    """A dl.Filters for ``resource`` (a dict or plain filter passes as None: the caller treats it as before)."""
    if isinstance(filters, Filters):
        if filters.resource != resource:
            raise ValidationError(f"this filter is for {filters.resource.value}; this list() takes "
                                  f"dl.Filters(resource=dl.FiltersResource.{resource.name})")
        return filters
    return None


@check_public_methods
class PagedEntities(list):
    """What list() returns: every matching entity, as a list (index it, len() it, iterate the entities), with
    Dataloop's paging beside it: ``items_count``, ``all()``, ``page_size``, ``total_pages_count``,
    ``get_page(n)`` and ``pages()`` (lists of page_size entities)."""

    def __init__(self, entities: Any = (), page_size: int = 1000):
        super().__init__(entities)
        if not isinstance(page_size, int) or page_size < 1:
            raise ValidationError(f"page_size must be a positive whole number, got {page_size!r}")
        self.page_size = page_size

    @property
    def items_count(self) -> int:
        return len(self)

    @property
    def total_pages_count(self) -> int:
        return max(1, math.ceil(len(self) / self.page_size))

    def all(self) -> Iterator[Any]:
        """Every entity, page after page (Dataloop's ``pages.all()``)."""
        return iter(list(self))

    def get_page(self, page_offset: int = 0) -> list:
        start = page_offset * self.page_size
        return list(self[start:start + self.page_size])

    def pages(self) -> Iterator[list]:
        """The entities in pages of page_size (what ``for page in pages`` gives in Dataloop)."""
        for n in range(self.total_pages_count):
            yield self.get_page(n)

    def to_df(self):
        """A pandas DataFrame of the entries' JSON (metrics: figure, legend, x, y); pandas must be installed."""
        try:
            import pandas as pd
        except ImportError:
            raise ValidationError("to_df() needs pandas, which is not installed: pip install pandas") from None
        rows = []
        for e in self:
            j = e.to_json()
            data = j.pop("data", None)
            rows.append(j | (data if isinstance(data, dict) else {}))
        return pd.DataFrame(rows)


__all__ = ["Filters", "FiltersResource", "FiltersOperations", "FiltersMethod", "FiltersOrderByDirection",
           "PagedEntities", "checked", "lookup"]
