"""MLflow's search grammar over models ("metrics.`validation/accuracy` > 0.9 and params.lr < 0.01"), as one SQL query.

A query is conditions joined by AND (OR, NOT and parentheses too: MLflow has only AND). A condition's left side:

    metrics.<key>, metrics.`validation/accuracy`, metrics."a key"   the latest value (metric_summary.last)
    max(metrics.<key>), min(metrics.<key>)                          the best value (metric_summary.max / .min)
    params.<name>        the model's configuration (numbers compare as numbers, strings as strings)
    tags.<key>           a tag 'key=value' gives value; a plain tag 'key' gives ''
    tag                  the tag list contains it: tag = 'baseline', tag IN ('a', 'b'), tag LIKE 'stage%'
    name, status, package, dataset, project, parent, sweep, notes, description, id, alias (any alias pointing at
    it), data.version, created, updated (ISO dates or date-times, UTC), also as attributes.<name>

operators = != < <= > >= [NOT] LIKE / ILIKE (% and _), [NOT] IN (...), IS [NOT] NULL; values: numbers,
'single' or "double" quoted strings (a quote inside doubled), true / false. A model without the metric (or the
parameter, tag ...) never matches a comparison on it; IS NULL finds it. Values are bound as parameters and every
identifier is checked against the grammar, so no text of the query ever becomes SQL. A malformed query raises
SearchQueryError naming the 1-based column, with the query and a caret under the place.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import weakref
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from desktop_app.domain.status import ModelStatus
from desktop_app.errors import ValidationError

from .db import Database
from .records import ModelRecord
from .search_grammar import (DATES, SETS, Field, Node, Parser, SearchQueryError, Token, parse_column, parse_order_by,
                             parse_query, referenced_fields, resolve_field, tokenize)

__all__ = ["ModelSearch", "SearchQueryError", "Field", "parse_column", "parse_order_by", "parse_query",
           "referenced_fields", "resolve_field", "tokenize"]

_STATUSES = tuple(s.value for s in ModelStatus)
# A cap, not an allocation: pages are cached as they are read (catalog/db.py's connections could set it for all).
SEARCH_CACHE_KIB = 64 * 1024
# attribute -> its SQL over `models m` (fixed text: no query text ever reaches it)
_ATTRIBUTE_SQL: dict[str, str] = {
    "id": "m.id",
    "name": "m.name",
    "status": "m.status",
    "description": "m.description",
    "notes": "m.notes",
    "package": "(SELECT p.name FROM packages p WHERE p.id = m.package_id)",
    "dataset": "(SELECT d.name FROM datasets d WHERE d.id = m.dataset_id)",
    "project": "(SELECT j.name FROM projects j WHERE j.id = m.project_id)",
    "parent": "(SELECT pm.name FROM models pm WHERE pm.id = m.parent_id)",
    "sweep": "(SELECT w.name FROM sweeps w WHERE w.id = m.sweep_id)",
    "data.version": "m.data_version",
    "created": "m.created_at",
    "updated": "m.updated_at",
}


# -- compiling ---------------------------------------------------------------------------------
def _like_to_glob(pattern: str) -> str:
    """A LIKE pattern as a GLOB one (SQLite's LIKE ignores case; GLOB keeps it): % -> *, _ -> ?, others literal."""
    out = []
    for c in pattern:
        out.append({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(c, c))
    return "".join(out)


def _as_number(text: str) -> float | None:
    try:
        f = float(text)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _iso(d: datetime) -> str:
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUMMARY_COLUMN = {None: "last", "max": "max", "min": "min"}


class _Compiler:
    def __init__(self, text: str):
        self.text = text
        self.joins: dict[str, int] = {}           # metric key -> join number

    def metric_column(self, f: Field) -> str:
        n = self.joins.setdefault(f.key, len(self.joins))
        return f"s{n}.{_SUMMARY_COLUMN[f.agg]}"

    def join_sql(self) -> tuple[str, list[Any]]:
        parts = [f"LEFT JOIN metric_summary s{n} ON s{n}.model_id = m.id AND s{n}.key = ?" for n in self.joins.values()]
        return " ".join(parts), list(self.joins)

    def expression(self, f: Field, text: str | None = None) -> tuple[str, list[Any]]:
        """The SQL value of a scalar field and its parameters (metric, param, tag, attribute); ``text``: the query
        the field was read from, for the error when it has no single value (tag, alias)."""
        if f.kind == "metric":
            return self.metric_column(f), []
        if f.kind == "param":
            return "json_extract(m.configuration, ?)", [f'$."{f.key}"']
        if f.kind == "tag":
            return ("(SELECT CASE WHEN t.value = ? THEN '' ELSE substr(t.value, ?) END FROM json_each(m.tags) t "
                    "WHERE t.type = 'text' AND (t.value = ? OR substr(t.value, 1, ?) = ?) LIMIT 1)",
                    [f.key, len(f.key) + 2, f.key, len(f.key) + 1, f.key + "="])
        if f.key in SETS:
            raise SearchQueryError(f"{f.key} holds several values: it cannot be sorted on", self.text if text is None
                                   else text, f.pos, "sort on a metric, a parameter, tags.<key> or an attribute")
        return _ATTRIBUTE_SQL[f.key], []

    def text_value(self, t: Token) -> str:
        if t.kind == "string":
            return t.value
        return t.text if t.kind == "number" else t.text.lower()

    def number_value(self, t: Token, f: Field) -> float:
        if t.kind == "number":
            return t.value
        if t.kind == "name":          # true / false
            return 1.0 if t.value[0].lower() == "true" else 0.0
        raise SearchQueryError(f"{f.column} compares with numbers, not {t.text}", self.text, t.pos,
                               "write the number without quotes")

    # node -> (sql, params)
    def node(self, node: Node) -> tuple[str, list[Any]]:
        if node.op in ("and", "or"):
            parts = [self.node(c) for c in node.children]
            sql = f" {node.op.upper()} ".join(f"({s})" for s, _ in parts)
            return sql, [p for _, ps in parts for p in ps]
        if node.op == "not":
            s, ps = self.node(node.children[0])
            return f"NOT ({s})", ps
        f = node.target
        assert f is not None
        if f.kind == "attr" and f.key in SETS:
            return self.set_condition(node)
        x, xp = self.expression(f)
        if node.operator == "isnull":
            return f"{x} IS {'NOT ' if node.negated else ''}NULL", xp
        if node.operator == "in":
            parts = [self.compare(f, x, xp, "=", v) for v in node.values]
            sql = " OR ".join(f"({s})" for s, _ in parts)
            ps = [p for _, q in parts for p in q]
            return (f"NOT ({sql})" if node.negated else sql), ps
        if node.operator in ("like", "ilike"):
            if f.kind == "metric":
                raise SearchQueryError(f"{node.operator.upper()} compares text; {f.column} is a number", self.text,
                                       node.op_pos, "use = != < <= > >=")
            pattern = node.values[0].value
            op, arg = ("GLOB", _like_to_glob(pattern)) if node.operator == "like" else ("LIKE", pattern)
            sql = f"{x} {op} ?"
            return (f"NOT ({sql})" if node.negated else sql), [*xp, arg]
        return self.compare(f, x, xp, node.operator, node.values[0])

    def compare(self, f: Field, x: str, xp: list, op: str, v: Token) -> tuple[str, list[Any]]:
        if f.kind == "metric":
            return f"{x} {op} ?", [*xp, self.number_value(v, f)]
        if f.kind == "param":
            numeric = f"(CASE WHEN typeof({x}) IN ('integer', 'real') THEN {x} END)"
            if v.kind != "string":
                return f"{numeric} {op} ?", [*xp, *xp, self.number_value(v, f)]
            n = _as_number(v.value)
            if n is None:
                return f"{x} {op} ?", [*xp, v.value]
            # '0.01' against a number compares numbers; against text, the text as written
            return (f"(CASE WHEN typeof({x}) IN ('integer', 'real') THEN {x} {op} ? ELSE {x} {op} ? END)",
                    [*xp, *xp, n, *xp, v.value])
        if f.kind == "attr" and f.key in DATES:
            return self.date_compare(f, x, op, v)
        value = self.text_value(v)
        if f.kind == "attr" and f.key == "status" and op in ("=", "!=") and value not in _STATUSES:
            raise SearchQueryError(f"no status {value!r}", self.text, v.pos, "statuses: " + ", ".join(_STATUSES))
        return f"{x} {op} ?", [*xp, value]

    def date_compare(self, f: Field, x: str, op: str, v: Token) -> tuple[str, list[Any]]:
        """created / updated against an ISO date (the whole day) or date-time (UTC when no zone is given)."""
        raw = self.text_value(v).strip()
        try:
            if _DATE_ONLY.match(raw):
                day = date.fromisoformat(raw)
                start = _iso(datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
                end = _iso(datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1))
                sql = {"=": f"({x} >= ? AND {x} < ?)", "!=": f"({x} < ? OR {x} >= ?)", "<": f"{x} < ?",
                       "<=": f"{x} < ?", ">": f"{x} >= ?", ">=": f"{x} >= ?"}[op]
                params = {"=": [start, end], "!=": [start, end], "<": [start], "<=": [end], ">": [end],
                          ">=": [start]}[op]
                return sql, params
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise SearchQueryError(f"{f.key} compares with an ISO date or date-time, not {v.text}", self.text, v.pos,
                                   "e.g. '2026-12-04' or '2026-12-04T10:30'") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return f"{x} {op} ?", [_iso(moment)]

    def set_condition(self, node: Node) -> tuple[str, list[Any]]:
        """tag / alias: the condition holds when one of the model's tags / aliases matches it."""
        f = node.target
        assert f is not None
        if f.key == "tags":
            source, col, empty = "json_each(m.tags) t WHERE t.type = 'text'", "t.value", "json_array_length(m.tags)"
        else:
            source = "model_aliases a WHERE a.model_id = m.id AND a.package_id = m.package_id"
            col, empty = "a.alias", "(SELECT COUNT(*) FROM model_aliases a WHERE a.model_id = m.id)"
        if node.operator == "isnull":
            return f"{empty} {'>' if node.negated else '='} 0", []
        values = [self.text_value(v) for v in node.values]
        if node.operator == "in":
            cond, params, negated = f"{col} IN ({', '.join('?' * len(values))})", values, node.negated
        elif node.operator in ("like", "ilike"):
            cond = f"{col} GLOB ?" if node.operator == "like" else f"{col} LIKE ?"
            params = [_like_to_glob(values[0]) if node.operator == "like" else values[0]]
            negated = node.negated
        elif node.operator in ("=", "!="):
            cond, params, negated = f"{col} = ?", values, node.operator == "!="
        else:
            word = "tag" if f.key == "tags" else f.key
            raise SearchQueryError(f"{word} takes =, !=, IN, NOT IN, LIKE, ILIKE or IS NULL", self.text,
                                   node.op_pos, "a model has several: none is smaller or larger")
        return f"{'NOT ' if negated else ''}EXISTS (SELECT 1 FROM {source} AND {cond})", params


# -- the queries -------------------------------------------------------------------------------
class ModelSearch:
    """`catalog.model_search`: models found and sorted by the search grammar, the keys a project's models have
    (for completion), and chosen columns' values for a leaderboard; one SQL query each."""

    def __init__(self, db: Database):
        self._db = db
        self._tuned: weakref.WeakSet = weakref.WeakSet()

    def _conn(self) -> sqlite3.Connection:
        """This thread's catalog connection, its page cache raised once to SEARCH_CACHE_KIB: a search reads one
        metric_summary row per model and metric it names, scattered over the table (10,000 models: ~10,000 pages),
        which SQLite's default 2 MB cache drops between searches; kept, a search costs about half."""
        conn = self._db.conn
        if conn not in self._tuned:
            conn.execute(f"PRAGMA cache_size = -{SEARCH_CACHE_KIB}")
            self._tuned.add(conn)
        return conn

    def search(self, query: str | None = None, order_by: str | Sequence[str] | None = None,
               max_results: int | None = None, project_id: str | None = None,
               package_id: str | None = None) -> list[ModelRecord]:
        """The models matching ``query`` (None or '': all), sorted by ``order_by`` ("<field> [ASC|DESC]" each;
        models missing the value last either way), then newest first; at most ``max_results``."""
        sql, params = self.sql(query, order_by, max_results, project_id, package_id)
        return [ModelRecord.from_row(dict(r)) for r in self._conn().execute(sql, params)]

    def count(self, query: str | None = None, project_id: str | None = None) -> int:
        """How many models match (no order, no limit)."""
        sql, params = self.sql(query, None, None, project_id, None, select="COUNT(*)")
        return int(self._conn().execute(sql, params).fetchone()[0])

    def sql(self, query: str | None, order_by: str | Sequence[str] | None = None, max_results: int | None = None,
            project_id: str | None = None, package_id: str | None = None, *,
            select: str = "m.*") -> tuple[str, list[Any]]:
        """The one statement search runs, with its parameters (for tests and EXPLAIN)."""
        if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int)
                                        or max_results < 1):
            raise ValidationError(f"max_results is a whole number of at least 1, not {max_results!r}")
        text = query or ""
        tree = Parser(text).query()
        compiler = _Compiler(text)
        where, where_params = [], []
        if tree is not None:
            s, ps = compiler.node(tree)
            where.append(f"({s})")
            where_params += ps
        for col, value in (("m.project_id", project_id), ("m.package_id", package_id)):
            if value is not None:
                where.append(f"{col} = ?")
                where_params.append(value)
        order, order_params = [], []
        for f, descending, source in parse_order_by(order_by):
            x, xp = compiler.expression(f, source)
            order.append(f"{x} {'DESC' if descending else 'ASC'} NULLS LAST")
            order_params += xp
        order += ["m.created_at DESC", "m.id"]
        joins, join_params = compiler.join_sql()
        sql = f"SELECT {select} FROM models m {joins}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        params = join_params + where_params
        if select == "m.*":
            sql += " ORDER BY " + ", ".join(order)
            params += order_params
        if max_results is not None:
            sql += " LIMIT ?"
            params.append(max_results)
        return sql, params

    def keys(self, project_id: str | None = None) -> dict[str, list[str]]:
        """{"metrics": [...], "params": [...], "tags": [...]}: the metric keys, configuration keys and tag keys
        ('stage' of 'stage=candidate', or a plain tag) the models (of one project) have, sorted."""
        # metric keys: one index seek per distinct key (idx_metric_summary_last), not a scan of every model's rows
        sql = """
            WITH RECURSIVE k(key) AS (
                SELECT (SELECT MIN(key) FROM metric_summary)
                UNION ALL
                SELECT (SELECT MIN(key) FROM metric_summary WHERE key > k.key) FROM k WHERE k.key IS NOT NULL)
            SELECT 'metrics', key FROM k WHERE key IS NOT NULL AND (?1 IS NULL OR EXISTS (
                SELECT 1 FROM metric_summary s JOIN models m ON m.id = s.model_id
                WHERE s.key = k.key AND m.project_id = ?1))
            UNION ALL
            SELECT DISTINCT 'params', c.key FROM models m, json_each(m.configuration) c
                WHERE ?1 IS NULL OR m.project_id = ?1
            UNION ALL
            SELECT DISTINCT 'tags', CASE WHEN instr(t.value, '=') > 0 THEN substr(t.value, 1, instr(t.value, '=') - 1)
                                    ELSE t.value END
                FROM models m, json_each(m.tags) t WHERE t.type = 'text' AND (?1 IS NULL OR m.project_id = ?1)
            ORDER BY 1, 2"""
        out: dict[str, list[str]] = {"metrics": [], "params": [], "tags": []}
        for kind, key in self._conn().execute(sql, (project_id,)):
            if key:
                out[kind].append(key)
        return out

    def values(self, model_ids: Iterable[str], columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """{model_id: {column: value}} for leaderboard columns in the grammar's spelling (metrics.`k`,
        max(metrics.`k`), params.lr, tags.stage, status, package, alias, tags ...); None where a model lacks one.
        'alias' and 'tags' give lists. Ids the catalog lacks are left out."""
        ids = list(model_ids)
        if not ids:
            return {}
        fields = [(c, parse_column(c)) for c in columns]
        compiler = _Compiler("")
        selects, params, decode = [], [], []
        for column, f in fields:
            if f.kind == "attr" and f.key == "tags":
                selects.append("m.tags")
                decode.append("json")
            elif f.kind == "attr" and f.key == "alias":
                selects.append("(SELECT json_group_array(a.alias) FROM model_aliases a WHERE a.model_id = m.id "
                               "AND a.package_id = m.package_id)")
                decode.append("sorted")
            else:
                x, xp = compiler.expression(f)
                selects.append(x)
                params += xp
                decode.append("json" if f.kind == "param" else "")
        joins, join_params = compiler.join_sql()
        cols = "".join(f", {s}" for s in selects)
        sql = f"SELECT m.id{cols} FROM models m {joins} WHERE m.id IN (SELECT value FROM json_each(?))"
        out: dict[str, dict[str, Any]] = {}
        for row in self._conn().execute(sql, [*params, *join_params, json.dumps(ids)]):   # SELECT's, then FROM's
            values = {}
            for k, ((column, f), how) in enumerate(zip(fields, decode), start=1):
                v = row[k]
                if how == "json" and isinstance(v, str) and f.kind == "attr":
                    v = json.loads(v)
                elif how == "json" and isinstance(v, str) and v[:1] in "[{":
                    v = _json_or_text(v)
                elif how == "sorted":
                    v = sorted(json.loads(v)) if v else []
                values[column] = v
            out[row[0]] = values
        return out


def _json_or_text(v: str) -> Any:
    """A parameter that is a JSON list or object (json_extract gives its text) as the Python value."""
    try:
        return json.loads(v)
    except ValueError:
        return v
