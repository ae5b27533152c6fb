"""The search grammar over models (MLflow's, with OR / NOT / parentheses): tokens, fields and the parser.

model_search.py compiles what is parsed here to SQL; the grammar itself is described there. Every error is a
SearchQueryError naming the 1-based column of the query (or order_by term, or column) with a caret under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from desktop_app.errors import ValidationError


class SearchQueryError(ValidationError):
    """A search query (or an order_by / column) that does not parse: ``column`` is 1-based, ``query`` the text."""

    def __init__(self, message: str, query: str, position: int, hint: str = ""):
        self.query = query
        self.position = position
        self.column = position + 1
        self.reason = f"{message} at column {self.column}" + (f" ({hint})" if hint else "")
        shown = query.replace("\n", " ").replace("\t", " ")
        super().__init__(f"{self.reason}\n  {shown}\n  {' ' * position}^")


# -- tokens ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str          # name, string, number, op, '(', ')', ',', end
    text: str          # as written
    pos: int           # 0-based offset in the query
    value: Any = None  # string: its text; number: float; name: (word, key or None)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "asc", "desc", "true", "false"}


def _quoted(text: str, start: int, query: str) -> tuple[str, int]:
    """The text of a quoted string or key opening at ``start`` (a doubled quote stands for one) and the offset
    just past it."""
    quote = text[start]
    out, i = [], start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1
    what = "key" if quote == "`" else "string"
    raise SearchQueryError(f"unterminated {what}", query, start, f"close it with {quote}")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),":
            tokens.append(Token(c, c, i))
            i += 1
            continue
        op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i, {"==": "=", "<>": "!="}.get(op, op)))
            i += len(op)
            continue
        if c in "'\"":
            value, end = _quoted(query, i, query)
            tokens.append(Token("string", query[i:end], i, value))
            i = end
            continue
        m = _NUMBER.match(query, i)
        if m and (c not in "+-" or not tokens or tokens[-1].kind in ("op", "(", ",")):
            tokens.append(Token("number", m.group(), i, float(m.group())))
            i = m.end()
            continue
        m = _WORD.match(query, i)
        if m:
            word, end, key = m.group(), m.end(), None
            if end < n and query[end] == ".":
                k = end + 1
                if k < n and query[k] in "`\"":
                    key, end = _quoted(query, k, query)
                else:
                    km = _BARE_KEY.match(query, k)
                    if not km:
                        raise SearchQueryError(f"{word}. needs a key after the dot", query, k,
                                               f"e.g. {word}.accuracy, or {word}.`a/key` quoted")
                    key, end = km.group(), km.end()
            tokens.append(Token("name", query[i:end], i, (word, key)))
            i = end
            continue
        if c == "`":
            _quoted(query, i, query)        # an unterminated one says so first
            raise SearchQueryError("a backquoted key needs a field before it", query, i,
                                   "e.g. metrics.`validation/accuracy`")
        raise SearchQueryError(f"unexpected character {c!r}", query, i)
    tokens.append(Token("end", "", n))
    return tokens


# -- fields ------------------------------------------------------------------------------------
_PREFIXES = {"metrics": "metric", "metric": "metric", "params": "param", "param": "param", "tags": "tag",
             "tag": "tag", "attributes": "attr", "attribute": "attr", "attr": "attr"}
# one value per model; model_search.py holds the SQL of each
ATTRIBUTES = ("id", "name", "status", "description", "notes", "package", "dataset", "project", "parent", "sweep",
              "data.version", "created", "updated")
_SYNONYMS = {"created_at": "created", "updated_at": "updated", "data_version": "data.version", "model_name": "name",
             "package_name": "package", "dataset_name": "dataset", "sweep_name": "sweep", "aliases": "alias"}
DATES = ("created", "updated")
SETS = ("alias", "tags")       # many values per model: a condition holds when one of them matches
_FIELD_HELP = ("metrics.<key>, max(metrics.<key>), min(metrics.<key>), params.<name>, tags.<key>, tag, alias, "
               + ", ".join(k for k in ATTRIBUTES if k != "id"))
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Field:
    """One left side: kind 'metric' (key, agg None / 'max' / 'min'), 'param' (key), 'tag' (key), or 'attr' (key:
    an attribute name, 'alias', or 'tags' for the list of tags)."""
    kind: str
    key: str
    agg: str | None = None
    pos: int = 0

    @property
    def column(self) -> str:
        """The grammar's spelling: metrics.`validation/accuracy`, max(metrics.`k`), params.lr, tags.stage, status."""
        if self.kind == "attr":
            return self.key
        prefix = {"metric": "metrics", "param": "params", "tag": "tags"}[self.kind]
        simple = self.kind != "metric" and _SIMPLE_KEY.fullmatch(self.key)
        text = f"{prefix}.{self.key}" if simple else f"{prefix}.`{self.key.replace('`', '``')}`"
        return f"{self.agg}({text})" if self.agg else text


# -- parsing -----------------------------------------------------------------------------------
@dataclass
class Node:
    op: str                                  # 'and', 'or', 'not', 'cmp'
    children: list[Node] = field(default_factory=list)
    target: Field | None = None
    operator: str = ""                       # = != < <= > >= like ilike in isnull (+ negated)
    negated: bool = False
    values: list[Token] = field(default_factory=list)
    op_pos: int = 0


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def word(self, t: Token | None = None) -> str | None:
        """The keyword a name token is (lower case), None for anything else."""
        t = t or self.tok
        if t.kind == "name" and t.value[1] is None and t.value[0].lower() in _KEYWORDS:
            return t.value[0].lower()
        return None

    def fail(self, t: Token, hint: str = "") -> SearchQueryError:
        if t.kind == "end":
            return SearchQueryError("unexpected end of the query", self.text, t.pos, hint)
        return SearchQueryError(f"unexpected token {t.text!r}", self.text, t.pos, hint)

    def expect(self, kind: str, hint: str) -> Token:
        if self.tok.kind != kind:
            raise self.fail(self.tok, hint)
        return self.take()

    # query := or_expr end
    def query(self) -> Node | None:
        if self.tok.kind == "end":
            return None
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail(self.tok, "expected AND, OR or the end of the query")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.word() == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Node("or", parts)

    def and_expr(self) -> Node:
        parts = [self.factor()]
        while self.word() == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Node("and", parts)

    def factor(self) -> Node:
        if self.word() == "not":
            self.take()
            return Node("not", [self.factor()])
        if self.tok.kind == "(":
            self.take()
            self.depth += 1
            node = self.or_expr()
            self.expect(")", "expected AND, OR or ')'")
            self.depth -= 1
            return node
        return self.condition()

    def field(self) -> Field:
        """A left side: a field name, or max( / min( a metric )."""
        t = self.tok
        if t.kind != "name" or self.word(t) is not None:
            raise self.fail(t, f"expected a field: {_FIELD_HELP}")
        self.take()
        word, key = t.value
        lower = word.lower()
        if key is None and lower in ("max", "min") and self.tok.kind == "(":
            self.take()
            inner = self.field()
            if inner.kind != "metric" or inner.agg:
                raise SearchQueryError(f"{lower}() takes a metric", self.text, inner.pos,
                                       f"e.g. {lower}(metrics.`validation/accuracy`)")
            self.expect(")", f"expected ')' closing {lower}(")
            return Field("metric", inner.key, lower, t.pos)
        return resolve_field(word, key, t.pos, self.text)

    def condition(self) -> Node:
        f = self.field()
        t = self.tok
        w = self.word()
        if w == "is":
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            if self.word() != "null":
                raise self.fail(self.tok, "expected NULL (IS NULL, IS NOT NULL)")
            self.take()
            return Node("cmp", target=f, operator="isnull", negated=negated, op_pos=t.pos)
        negated = False
        if w == "not":
            self.take()
            negated = True
            w = self.word()
            if w not in ("in", "like", "ilike"):
                raise self.fail(self.tok, "expected IN, LIKE or ILIKE after NOT")
        if w == "in":
            self.take()
            self.expect("(", "expected '(' opening the list of values")
            values = [self.value()]
            while self.tok.kind == ",":
                self.take()
                values.append(self.value())
            self.expect(")", "expected ',' or ')' closing the list")
            return Node("cmp", target=f, operator="in", negated=negated, values=values, op_pos=t.pos)
        if w in ("like", "ilike"):
            self.take()
            v = self.value()
            if v.kind != "string":
                raise SearchQueryError(f"{w.upper()} takes a quoted pattern", self.text, v.pos, "e.g. 'res%'")
            return Node("cmp", target=f, operator=w, negated=negated, values=[v], op_pos=t.pos)
        if t.kind != "op":
            raise self.fail(t, "expected an operator: = != < <= > >= LIKE ILIKE IN NOT IN IS NULL")
        self.take()
        return Node("cmp", target=f, operator=t.value, values=[self.value()], op_pos=t.pos)

    def value(self) -> Token:
        t = self.tok
        if t.kind in ("number", "string") or self.word(t) in ("true", "false"):
            return self.take()
        if self.word(t) == "null":
            raise self.fail(t, "to find models without it, write IS NULL")
        if t.kind == "name" and self.word(t) is None:
            raise SearchQueryError(f"unexpected token {t.text!r}", self.text, t.pos,
                                   "expected a value: a number or a 'quoted' string; text needs quotes")
        raise self.fail(t, "expected a value: a number or a 'quoted' string")

    def order_terms(self) -> list[tuple[Field, bool]]:
        terms = []
        while True:
            f = self.field()
            descending = False
            if self.word() in ("asc", "desc"):
                descending = self.take().value[0].lower() == "desc"
            terms.append((f, descending))
            if self.tok.kind == ",":
                self.take()
                continue
            if self.tok.kind != "end":
                raise self.fail(self.tok, "expected ASC, DESC, ',' or the end")
            return terms


def resolve_field(word: str, key: str | None, pos: int, text: str) -> Field:
    lower = word.lower()
    if key is not None:
        kind = _PREFIXES.get(lower)
        if lower == "data" and key.lower() == "version":
            return Field("attr", "data.version", pos=pos)
        if kind == "attr":
            name = _SYNONYMS.get(key.lower(), key.lower())
            if name in ATTRIBUTES or name in SETS:
                return Field("attr", name, pos=pos)
            raise SearchQueryError(f"unknown attribute {key!r}", text, pos,
                                   "attributes: " + ", ".join([*ATTRIBUTES, "alias"]))
        if kind is None:
            raise SearchQueryError(f"unknown field {word}.{key}", text, pos, f"fields: {_FIELD_HELP}")
        if not key:
            raise SearchQueryError(f"{word}. needs a key", text, pos)
        if kind == "param" and '"' in key:
            raise SearchQueryError("a parameter name cannot hold a double quote", text, pos)
        return Field(kind, key, pos=pos)
    name = _SYNONYMS.get(lower, lower)
    if name in ("tag", "tags"):
        return Field("attr", "tags", pos=pos)
    if name in ATTRIBUTES or name == "alias":
        return Field("attr", name, pos=pos)
    if lower in ("metrics", "params", "metric", "param", "attributes"):
        raise SearchQueryError(f"{word} needs a key", text, pos, f"e.g. {lower}.accuracy or {lower}.`a/key`")
    raise SearchQueryError(f"unknown field {word!r}", text, pos, f"fields: {_FIELD_HELP}")


def parse_query(query: str | None) -> Node | None:
    return Parser(query or "").query()


def parse_column(column: str) -> Field:
    """One left side alone ('metrics.`validation/accuracy`', 'params.lr', 'status', 'max(metrics.`k`)')."""
    p = Parser(column)
    f = p.field()
    if p.tok.kind != "end":
        raise p.fail(p.tok, "a column is one field")
    return f


def parse_order_by(order_by: str | Sequence[str] | None) -> list[tuple[Field, bool, str]]:
    """(field, descending, the text it came from) per term; 'metrics.`k` DESC, name' holds two."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    out = []
    for text in items:
        if not isinstance(text, str):
            raise ValidationError(f"order_by takes strings like \"metrics.`validation/accuracy` DESC\", not {text!r}")
        if text.strip():
            out += [(f, d, text) for f, d in Parser(text).order_terms()]
    return out


def referenced_fields(query: str | None = None, order_by: str | Sequence[str] | None = None) -> list[Field]:
    """The fields a query and an order_by name, each once, in order (for printing their values beside results)."""
    seen: dict[tuple, Field] = {}

    def walk(node: Node | None) -> None:
        if node is None:
            return
        if node.target is not None:
            seen.setdefault((node.target.kind, node.target.key, node.target.agg), node.target)
        for c in node.children:
            walk(c)

    walk(parse_query(query))
    for f, _, _ in parse_order_by(order_by):
        seen.setdefault((f.kind, f.key, f.agg), f)
    return list(seen.values())
