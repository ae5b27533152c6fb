"""The search grammar over models (catalog.model_search) against a catalog of 13 models with known metrics,
configurations, tags, statuses, aliases and dates: every operator, both quotings, latest vs max / min, AND / OR /
NOT / parentheses, IN, IS NULL, LIKE / ILIKE, dates, order_by with missing keys, max_results, errors by column."""

from __future__ import annotations

import pytest

from desktop_app.catalog import Catalog
from desktop_app.catalog.model_search import SearchQueryError, parse_column, referenced_fields
from desktop_app.errors import NotFoundError, ValidationError

ACC, LOSS = "validation/accuracy", "train/loss"
# name, package, status, latest accuracy (its series peaks 0.03 higher), latest loss (the series' minimum; it starts
# 0.3 higher), configuration, tags
MODELS = [
    ("a01", "cls", "trained", 0.95, 0.10, {"learning_rate": 0.001, "batch_size": 16, "optimizer": "adam"},
     ["stage=candidate", "baseline"]),
    ("a02", "cls", "trained", 0.91, 0.25, {"learning_rate": 0.01, "batch_size": 32, "optimizer": "sgd"},
     ["stage=production"]),
    ("a03", "cls", "trained", 0.85, 0.15, {"learning_rate": 0.001, "batch_size": 32, "optimizer": "adam"},
     ["stage=candidate"]),
    ("a04", "cls", "failed", 0.40, 0.90, {"learning_rate": 0.1, "batch_size": 16, "optimizer": "sgd"}, []),
    ("a05", "cls", "created", None, None, {"learning_rate": 0.0001, "batch_size": 64, "optimizer": "adam"},
     ["baseline"]),
    ("a06", "det", "trained", 0.70, 0.30, {"learning_rate": 0.005, "batch_size": 8, "optimizer": "Adam"},
     ["stage=candidate", "team=vision"]),
    ("a07", "det", "trained", 0.99, 0.05, {"learning_rate": 0.02, "batch_size": 8, "optimizer": "sgd"},
     ["team=vision"]),
    ("a08", "det", "deployed", 0.88, 0.12, {"learning_rate": 0.003, "batch_size": 16, "optimizer": "adamw"}, []),
    ("a09", "cls", "trained", 0.91, 0.18, {"learning_rate": 0.001, "batch_size": 32, "optimizer": "adam"},
     ["stage=archived"]),
    ("b10", "cls", "trained", 0.60, 0.50, {"learning_rate": "0.01", "batch_size": 16, "optimizer": "sgd"}, []),
    ("b11", "det", "created", None, None, {"batch_size": 8}, []),
    ("B12", "cls", "trained", 0.93, None, {"learning_rate": 0.001, "batch_size": 16, "optimizer": "adam"},
     ["stage=candidate"]),
]
ALL = {m[0] for m in MODELS}


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    """Built once for the module (the tests only read): project 'p' with the models above (created on 2026-01-01,
    -02, ... in order), project 'q' with one more; aliases production / staging; a dataset, a sweep, notes."""
    cat = Catalog(tmp_path_factory.mktemp("search"))
    p = cat.create_project("p")
    q = cat.create_project("q")
    pkgs = {n: cat.create_package(n, project_id=p.id) for n in ("cls", "det")}
    ds = cat.create_dataset(p.id, "shapes")
    ids = {}
    for k, (name, pkg, status, acc, loss, config, tags) in enumerate(MODELS, start=1):
        m = cat.create_model(name, project_id=p.id, package_id=pkgs[pkg].id, status=status, configuration=config,
                             tags=tags, dataset_id=ds.id if pkg == "cls" else None)
        ids[name] = m.id
        samples = []
        if acc is not None:
            samples += [{"figure": "accuracy", "legend": "validation", "x": x, "y": y}
                        for x, y in enumerate((acc - 0.2, acc + 0.03, acc))]
        if loss is not None:
            samples += [{"figure": "loss", "legend": "train", "x": x, "y": y} for x, y in enumerate((loss + 0.3, loss))]
        cat.add_metric_samples(m.id, samples)
        cat._db.update("models", {"id": m.id}, {"created_at": f"2026-01-{k:02d}T12:00:00.000000Z",
                                                 "updated_at": f"2026-02-{k:02d}T08:30:00.000000Z"})
    other = cat.create_model("q1", project_id=q.id, package_id=pkgs["cls"].id, status="trained")
    cat.add_metric_samples(other.id, [{"figure": "accuracy", "legend": "validation", "x": 0, "y": 0.999}])
    ids["q1"] = other.id
    cat.set_alias(pkgs["cls"].id, "production", ids["a02"])
    cat.set_alias(pkgs["cls"].id, "staging", ids["a01"])
    cat.set_alias(pkgs["det"].id, "production", ids["a07"])
    cat.update_model(ids["a03"], notes="tried mixup; try a longer schedule", parent_id=ids["a01"])
    cat._db.insert("sweeps", {"id": "sw1", "project_id": p.id, "name": "lr-sweep", "created_at": "2026-01-01"})
    for name in ("a06", "a07"):
        cat._db.update("models", {"id": ids[name]}, {"sweep_id": "sw1", "data_version": "v1"})
    cat.project_id, cat.ids = p.id, ids
    yield cat
    cat.close()


def names(cat, query, **kw) -> list[str]:
    return [r.name for r in cat.model_search.search(query, project_id=kw.pop("project_id", cat.project_id), **kw)]


def found(cat, query) -> set[str]:
    return set(names(cat, query))


@pytest.mark.parametrize("query, expected", [
    # metrics: latest value by default, both quotings, every comparison
    ("metrics.`validation/accuracy` > 0.9", {"a01", "a02", "a07", "a09", "B12"}),
    ('metrics."validation/accuracy" > 0.9', {"a01", "a02", "a07", "a09", "B12"}),
    ("metrics.validation/accuracy >= 0.91", {"a01", "a02", "a07", "a09", "B12"}),
    ("metrics.`validation/accuracy` = 0.91", {"a02", "a09"}),
    ("metrics.`validation/accuracy` == 0.91", {"a02", "a09"}),
    ("metrics.`validation/accuracy` != 0.91", {"a01", "a03", "a04", "a06", "a07", "a08", "b10", "B12"}),
    ("metrics.`validation/accuracy` < 0.7", {"a04", "b10"}),
    ("metrics.`validation/accuracy` <= 0.7", {"a04", "a06", "b10"}),
    ("metrics.`validation/accuracy` <> 0.91 and metrics.`validation/accuracy` > 0.9", {"a01", "a07", "B12"}),
    # the best of the series: max / min, not the latest
    ("max(metrics.`validation/accuracy`) > 0.9", {"a01", "a02", "a07", "a08", "a09", "B12"}),
    ("MIN(metrics.`train/loss`) < 0.15", {"a01", "a07", "a08"}),
    ("max(metrics.`train/loss`) >= 1.1", {"a04"}),
    # a model without the metric never matches a comparison; IS NULL finds it
    ("metrics.`train/loss` > -1", ALL - {"a05", "b11", "B12"}),
    ("metrics.`train/loss` IS NULL", {"a05", "b11", "B12"}),
    ("metrics.`validation/accuracy` is not null and metrics.`train/loss` is null", {"B12"}),
    ("metrics.`no/such` > 0 or metrics.`no/such` <= 0", set()),
    ("metrics.`validation/accuracy` IN (0.91, 0.4)", {"a02", "a09", "a04"}),
    ("metrics.`validation/accuracy` NOT IN (0.91, 0.4)", {"a01", "a03", "a06", "a07", "a08", "b10", "B12"}),
    # parameters: numbers as numbers, strings as strings
    ("params.learning_rate < 0.002", {"a01", "a03", "a05", "a09", "B12"}),
    ("params.learning_rate = 0.01", {"a02"}),                       # b10's is the string '0.01'
    ("params.learning_rate = '0.01'", {"a02", "b10"}),
    ("params.batch_size IN (8, 64)", {"a05", "a06", "a07", "b11"}),
    ("params.batch_size NOT IN (8, 16)", {"a02", "a03", "a05", "a09"}),
    ("params.optimizer = 'adam'", {"a01", "a03", "a05", "a09", "B12"}),
    ("params.optimizer = \"adam\"", {"a01", "a03", "a05", "a09", "B12"}),
    ("params.optimizer > 'b'", {"a02", "a04", "a07", "b10"}),       # sgd
    ("params.optimizer LIKE 'adam%'", {"a01", "a03", "a05", "a08", "a09", "B12"}),
    ("params.optimizer ILIKE 'ADAM'", {"a01", "a03", "a05", "a06", "a09", "B12"}),
    ("params.optimizer NOT LIKE 'a%'", {"a02", "a04", "a06", "a07", "b10"}),
    ("params.learning_rate IS NULL", {"b11"}),
    ("params.`batch_size` = 64", {"a05"}),
    # tags: key=value tags as tags.key; a plain tag has the value ''; `tag` is the list
    ("tags.stage = 'candidate'", {"a01", "a03", "a06", "B12"}),
    ("tags.stage != 'candidate'", {"a02", "a09"}),
    ("tags.stage IN ('production', 'archived')", {"a02", "a09"}),
    ("tags.stage LIKE 'c%'", {"a01", "a03", "a06", "B12"}),
    ("tags.stage IS NULL", {"a04", "a05", "a07", "a08", "b10", "b11"}),
    ("tags.baseline = ''", {"a01", "a05"}),
    ("tags.`team` = 'vision'", {"a06", "a07"}),
    ("tag = 'baseline'", {"a01", "a05"}),
    ("tags = 'baseline'", {"a01", "a05"}),
    ("tag != 'baseline' and tag IS NOT NULL", {"a02", "a03", "a06", "a07", "a09", "B12"}),
    ("tag IN ('team=vision', 'stage=archived')", {"a06", "a07", "a09"}),
    ("tag LIKE 'team=%'", {"a06", "a07"}),
    ("tag IS NULL", {"a04", "a08", "b10", "b11"}),
    # attributes, bare or as attributes.<name>
    ("status = 'failed'", {"a04"}),
    ("attributes.status IN ('created', 'deployed')", {"a05", "a08", "b11"}),
    ("status NOT IN ('trained')", {"a04", "a05", "a08", "b11"}),
    ("name = 'a01'", {"a01"}),
    ("attributes.name LIKE 'b%'", {"b10", "b11"}),                  # LIKE keeps case: not B12
    ("name ILIKE 'b%'", {"b10", "b11", "B12"}),
    ("name LIKE 'a0_'", {f"a0{k}" for k in range(1, 10)}),
    ("package = 'det'", {"a06", "a07", "a08", "b11"}),
    ("dataset = 'shapes'", {"a01", "a02", "a03", "a04", "a05", "a09", "b10", "B12"}),
    ("dataset IS NULL", {"a06", "a07", "a08", "b11"}),
    ("alias = 'production'", {"a02", "a07"}),
    ("alias IN ('staging')", {"a01"}),
    ("alias != 'production' and alias IS NOT NULL", {"a01"}),
    ("alias IS NULL", ALL - {"a01", "a02", "a07"}),
    ("sweep = 'lr-sweep'", {"a06", "a07"}),
    ("data.version = 'v1'", {"a06", "a07"}),
    ("parent = 'a01'", {"a03"}),
    ("notes LIKE '%mixup%'", {"a03"}),
    ("notes != ''", {"a03"}),
    # dates: a date is the whole day (UTC); date-times are normalised to the stored form
    ("created = '2026-01-03'", {"a03"}),
    ("created >= '2026-01-11'", {"b11", "B12"}),
    ("created > '2026-01-11'", {"B12"}),
    ("created < '2026-01-02'", {"a01"}),
    ("created <= '2026-01-02'", {"a01", "a02"}),
    ("created != '2026-01-02' and created < '2026-01-04'", {"a01", "a03"}),
    ("created > '2026-01-11T11:59'", {"b11", "B12"}),
    ("created > '2026-01-11 12:00:00Z'", {"B12"}),
    ("created < '2026-01-02T13:00:00+02:00'", {"a01"}),             # 11:00 UTC
    ("updated >= '2026-02-12' and updated < '2026-02-13'", {"B12"}),     # a03's notes updated it now
    # AND binds tighter than OR; parentheses; NOT
    ("package = 'det' and status = 'trained' or name = 'a01'", {"a01", "a06", "a07"}),
    ("package = 'det' and (status = 'trained' or name = 'a01')", {"a06", "a07"}),
    ("not (package = 'det' or dataset = 'shapes')", set()),
    ("NOT status = 'trained' AND package = 'cls'", {"a04", "a05"}),
    ("((metrics.`validation/accuracy` > 0.9))", {"a01", "a02", "a07", "a09", "B12"}),
    # MLflow's example, in one query
    ("metrics.`validation/accuracy` > 0.9 and params.learning_rate < 0.01 and tags.stage = 'candidate'",
     {"a01", "B12"}),
    ("", ALL),
])
def test_query_finds(cat, query, expected):
    assert found(cat, query) == expected


def test_project_filter_and_no_project(cat):
    assert "q1" not in found(cat, "metrics.`validation/accuracy` > 0.9")
    assert names(cat, "metrics.`validation/accuracy` > 0.995", project_id=None) == ["q1"]
    assert [r.name for r in cat.model_search.search("name = 'q1'")] == ["q1"]


def test_order_by_puts_missing_last_either_way_then_newest(cat):
    q = "package = 'cls' or package = 'det'"
    desc = names(cat, q, order_by=["metrics.`validation/accuracy` DESC"])
    # a02 and a09 tie at 0.91: the newer (a09) first; a05 and b11 have no accuracy: last, newest first
    assert desc == ["a07", "a01", "B12", "a09", "a02", "a08", "a03", "a06", "b10", "a04", "b11", "a05"]
    asc = names(cat, q, order_by="metrics.`validation/accuracy` ASC")
    assert asc == ["a04", "b10", "a06", "a03", "a08", "a09", "a02", "B12", "a01", "a07", "b11", "a05"]
    assert names(cat, q, order_by=["metrics.`validation/accuracy`"]) == asc
    assert names(cat, None)[:3] == ["B12", "b11", "b10"]                       # no order: newest first
    best = names(cat, None, order_by=["min(metrics.`train/loss`) asc"])
    assert best[:3] == ["a07", "a01", "a08"] and set(best[-3:]) == {"a05", "b11", "B12"}
    two = names(cat, "package = 'cls'", order_by=["params.batch_size DESC", "name"])
    assert two == ["a05", "a02", "a03", "a09", "B12", "a01", "a04", "b10"]
    assert names(cat, "package = 'cls'", order_by=["params.batch_size DESC, name"]) == two
    assert names(cat, "tags.stage IS NOT NULL", order_by=["tags.stage", "name desc"]) == [
        "a09", "a06", "a03", "a01", "B12", "a02"]


def test_max_results(cat):
    assert names(cat, None, order_by=["metrics.`validation/accuracy` DESC"], max_results=3) == ["a07", "a01", "B12"]
    assert len(names(cat, None, max_results=100)) == 12
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValidationError, match="max_results"):
            cat.model_search.search(None, max_results=bad)


def test_values_are_bound_never_formatted(cat):
    sql, params = cat.model_search.sql("name = 'x'' OR 1=1 --' or metrics.`k'; DROP TABLE models` > 1",
                                       order_by=["tags.`x'y` desc"])
    assert "x' OR 1=1 --" in params and "k'; DROP TABLE models" in params and "x'y=" in params
    assert "DROP" not in sql and "OR 1=1" not in sql
    assert found(cat, "name = 'x'' OR 1=1 --'") == set()
    assert cat.model_search.count("status = 'trained'", project_id=cat.project_id) == 8


@pytest.mark.parametrize("query, column, says", [
    ("metrics.`validation/accuracy` > 0.9 AN params.learning_rate < 1", 37, "unexpected token 'AN'"),
    ("metrics.acc >", 14, "unexpected end of the query"),
    ("metrics.acc > 0.9 and", 22, "unexpected end of the query"),
    ("foo.bar = 1", 1, "unknown field foo.bar"),
    ("accuracy > 0.9", 1, "unknown field 'accuracy'"),
    ("name = 'abc", 8, "unterminated string"),
    ("metrics.`validation/accuracy > 1", 9, "unterminated key"),
    ("(metrics.a > 1", 15, "unexpected end of the query"),
    ("metrics.a > 1)", 14, "unexpected token ')'"),
    ("metrics.a > 'x'", 13, "compares with numbers"),
    ("max(params.lr) > 1", 5, "max() takes a metric"),
    ("max(metrics.a > 1", 15, "unexpected token '>'"),
    ("metrics.a ~ 1", 11, "unexpected character '~'"),
    ("metrics.a 1", 11, "unexpected token '1'"),
    ("tag < 'a'", 5, "tag takes =, !=, IN"),
    ("status = 'trainde'", 10, "no status 'trainde'"),
    ("name = abc", 8, "unexpected token 'abc'"),
    ("name = null", 8, "IS NULL"),
    ("name IS 'x'", 9, "expected NULL"),
    ("name IN 'x'", 9, "expected '('"),
    ("name IN ('x' 'y')", 14, "expected ',' or ')'"),
    ("name NOT = 'x'", 10, "expected IN, LIKE or ILIKE after NOT"),
    ("name LIKE 3", 11, "LIKE takes a quoted pattern"),
    ("metrics.a LIKE '1%'", 11, "LIKE compares text"),
    ("created > 'yesterday'", 11, "ISO date"),
    ("metrics. = 1", 9, "needs a key after the dot"),
    ("attributes.colour = 'red'", 1, "unknown attribute 'colour'"),
    ("`validation/accuracy` > 1", 1, "needs a field before it"),
    ("and name = 'x'", 1, "expected a field"),
])
def test_errors_name_the_column_with_a_caret(cat, query, column, says):
    with pytest.raises(SearchQueryError) as e:
        cat.model_search.search(query)
    err = e.value
    assert isinstance(err, ValidationError)
    assert err.column == column, str(err)
    assert says in str(err) and f"at column {column}" in str(err)
    first, shown, caret = str(err).split("\n")
    assert shown == f"  {query}" and caret == "  " + " " * (column - 1) + "^"


def test_order_by_errors_name_the_column_in_the_order(cat):
    with pytest.raises(SearchQueryError, match="at column 24") as e:
        cat.model_search.search(None, order_by=["metrics.`validation/a` DOWN"])
    assert e.value.query == "metrics.`validation/a` DOWN"
    with pytest.raises(SearchQueryError, match="alias holds several values.*at column 1"):
        cat.model_search.search(None, order_by=["alias"])
    with pytest.raises(ValidationError, match="order_by takes strings"):
        cat.model_search.search(None, order_by=[3])


def test_keys_for_completion(cat):
    keys = cat.model_search.keys(project_id=cat.project_id)
    assert keys == {"metrics": [LOSS, ACC], "params": ["batch_size", "learning_rate", "optimizer"],
                    "tags": ["baseline", "stage", "team"]}
    q = cat.get_project("q").id
    assert cat.model_search.keys(project_id=q) == {"metrics": [ACC], "params": [], "tags": []}
    assert cat.model_search.keys()["metrics"] == [LOSS, ACC]


def test_values_for_leaderboard_columns(cat):
    ids = cat.ids
    cols = ["metrics.`validation/accuracy`", "max(metrics.`validation/accuracy`)", "min(metrics.`train/loss`)",
            "params.learning_rate", "params.optimizer", "tags.stage", "tags", "alias", "status", "package",
            "dataset", "created", "sweep", "data.version", "parent", "notes"]
    got = cat.model_search.values([ids["a01"], ids["a03"], ids["a07"], ids["b11"], "no-such-id"], cols)
    assert set(got) == {ids["a01"], ids["a03"], ids["a07"], ids["b11"]}
    a01, a03, a07, b11 = got[ids["a01"]], got[ids["a03"]], got[ids["a07"]], got[ids["b11"]]
    assert a01["metrics.`validation/accuracy`"] == pytest.approx(0.95)
    assert a01["max(metrics.`validation/accuracy`)"] == pytest.approx(0.98)
    assert a01["min(metrics.`train/loss`)"] == pytest.approx(0.10)
    assert (a01["params.learning_rate"], a01["params.optimizer"], a01["tags.stage"]) == (0.001, "adam", "candidate")
    assert a01["tags"] == ["stage=candidate", "baseline"] and a01["alias"] == ["staging"]
    assert (a01["status"], a01["package"], a01["dataset"]) == ("trained", "cls", "shapes")
    assert a01["created"] == "2026-01-01T12:00:00.000000Z"
    assert (a07["sweep"], a07["data.version"], a07["alias"]) == ("lr-sweep", "v1", ["production"])
    assert (a03["parent"], a03["notes"]) == ("a01", "tried mixup; try a longer schedule")
    assert b11 == {**{c: None for c in cols}, "tags": [], "alias": [], "status": "created", "package": "det",
                   "created": "2026-01-11T12:00:00.000000Z", "notes": ""}
    assert cat.model_search.values([], cols) == {}
    with pytest.raises(SearchQueryError, match="unknown field 'colour'"):
        cat.model_search.values([ids["a01"]], ["colour"])


def test_fields_spelled_back_and_referenced(cat):
    assert parse_column("metrics.validation/accuracy").column == "metrics.`validation/accuracy`"
    assert parse_column('max(metrics."a`b")').column == "max(metrics.`a``b`)"
    assert parse_column("params.`learning_rate`").column == "params.learning_rate"
    assert parse_column("params.`a b`").column == "params.`a b`"
    assert parse_column("attributes.created_at").column == "created"
    fields = referenced_fields("metrics.`validation/accuracy` > 0.9 and (params.lr < 1 or status = 'trained')",
                               ["max(metrics.`validation/accuracy`) desc", "params.lr"])
    assert [f.column for f in fields] == ["metrics.`validation/accuracy`", "params.lr", "status",
                                          "max(metrics.`validation/accuracy`)"]


def test_remove_alias_keeps_history_and_refuses_what_is_not_there(tmp_path):
    cat = Catalog(tmp_path / "c")
    try:
        p = cat.create_project("p")
        pkg = cat.create_package("k", project_id=p.id)
        a = cat.create_model("a", project_id=p.id, package_id=pkg.id)
        b = cat.create_model("b", project_id=p.id, package_id=pkg.id)
        cat.set_alias(pkg.id, "production", a.id, who="me", reason="first")
        cat.set_alias(pkg.id, "production", b.id)
        with pytest.raises(NotFoundError, match="points at another model"):
            cat.remove_alias(pkg.id, "production", model_id=a.id)
        removed = cat.remove_alias(pkg.id, "production", model_id=b.id, who="me")
        assert removed.model_id == b.id and cat.get_alias(pkg.id, "production") is None
        with pytest.raises(NotFoundError, match="no alias 'production'"):
            cat.remove_alias(pkg.id, "production")
        hist = cat.alias_history(pkg.id, "production")
        assert [(h["model_id"], h["previous_model_id"], h["reason"]) for h in hist] == [
            (a.id, None, "first"), (b.id, a.id, ""), (None, b.id, "removed")]
        cat.set_alias(pkg.id, "staging", a.id)
        assert [r.alias for r in cat.package_aliases(pkg.id)] == ["staging"]
        assert len(cat.alias_history(pkg.id)) == 4
        with pytest.raises(ValidationError, match="an alias is 1-64"):
            cat.set_alias(pkg.id, "no spaces", a.id)
    finally:
        cat.close()
