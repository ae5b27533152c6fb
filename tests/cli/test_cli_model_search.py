"""`desktop-app models list --where / --order-by / --max / --json`, and `models alias / unalias / aliases`, over a
few models with known metrics (nothing trains)."""

from __future__ import annotations

import json

import pytest

from desktop_app.cli.main import main

ACC = "metrics.`validation/accuracy`"


@pytest.fixture
def models():
    """Project 'p', package 'pk': m0..m3 with validation accuracy 0.5, 0.6, 0.7, 0.8 and learning rates 1 .. 0.001;
    m4 without metrics."""
    from desktop_app.sdk import default_client
    c = default_client()
    cat = c.catalog
    p = cat.create_project("p")
    pkg = cat.create_package("pk", project_id=p.id)
    for i in range(5):
        m = cat.create_model(f"m{i}", project_id=p.id, package_id=pkg.id, configuration={"learning_rate": 10 ** -i},
                             tags=["stage=candidate"] if i % 2 else [])
        if i < 4:
            cat.add_metric_samples(m.id, [{"figure": "accuracy", "legend": "validation", "x": x, "y": y}
                                          for x, y in enumerate((0.9, 0.5 + i / 10))])
    return c


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_where_and_order_by(models, capsys):
    code, out, err = run(capsys, "models", "list", "--where", f"{ACC} > 0.55", "--order-by", f"{ACC} DESC")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PACKAGE", "STATUS", "PARENT", "VALIDATION/ACCURACY"]
    assert [ln.split()[1] for ln in lines[1:]] == ["m3", "m2", "m1"]
    assert lines[1].split()[-1] == "0.8"
    # the best of the series (0.9 for every one) against the latest; missing last either way; --max
    code, out, _ = run(capsys, "models", "list", "--where", f"max({ACC}) >= 0.9 or name = 'm4'", "--order-by",
                       f"{ACC} ASC", "--order-by", "name", "--max", "4", "--project", "p")
    assert [ln.split()[1] for ln in out.splitlines()[1:]] == ["m0", "m1", "m2", "m3"]
    code, out, _ = run(capsys, "models", "list", "--where", "tags.stage = 'candidate'", "--package", "pk")
    assert sorted(ln.split()[1] for ln in out.splitlines()[1:]) == ["m1", "m3"]


def test_list_json_names_the_metrics_and_params_of_the_query(models, capsys):
    code, out, err = run(capsys, "models", "list", "--where", f"max({ACC}) >= 0.9 and params.learning_rate < 0.05",
                         "--order-by", f"{ACC} desc", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["m3", "m2"]
    r = rows[1]
    assert (r["status"], r["package"], r["id"]) == ("created", "pk", models.models.get("m2").id)
    assert r["metrics"] == {"max(validation/accuracy)": pytest.approx(0.9), "validation/accuracy": pytest.approx(0.7)}
    assert r["params"] == {"learning_rate": 0.01}
    # the plain listing is as before: every model, no metrics / params keys
    code, out, _ = run(capsys, "models", "--json")
    rows = json.loads(out)
    assert {"m0", "m4"} <= {r["name"] for r in rows} and "metrics" not in rows[0]
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "m4" in out and "pretrained-resnet" in out


def test_a_malformed_query_says_where_and_exits_2(models, capsys):
    code, out, err = run(capsys, "models", "list", "--where", f"{ACC} > 0.9 AN name = 'x'")
    assert code == 2 and out == ""
    first, shown, caret = err.rstrip("\n").split("\n")
    assert first == "error: unexpected token 'AN' at column 37 (expected AND, OR or the end of the query)"
    assert shown == f"  {ACC} > 0.9 AN name = 'x'" and caret == "  " + " " * 36 + "^"
    code, _, err = run(capsys, "models", "list", "--order-by", "metrics.`x` sideways")
    assert code == 2 and "at column 13" in err


def test_alias_unalias_aliases_with_history(models, capsys):
    code, out, err = run(capsys, "models", "alias", "m1", "production", "--reason", "best so far")
    assert code == 0, err
    assert out.strip() == "alias production of package pk -> m1"
    code, out, _ = run(capsys, "models", "alias", "pk/m3", "production")
    assert out.strip() == "alias production of package pk -> m3 (moved from m1)"
    assert models.models.get(alias="production", package_name="pk").name == "m3"
    code, out, _ = run(capsys, "models", "alias", "m1", "staging")
    code, out, _ = run(capsys, "models", "aliases", "pk", "--json")
    assert [(r["alias"], r["model"]) for r in json.loads(out)] == [("production", "m3"), ("staging", "m1")]
    code, out, err = run(capsys, "models", "unalias", "m1", "production")
    assert code == 2 and "does not point at model 'm1'" in err
    code, out, err = run(capsys, "models", "unalias", "m3", "production", "--reason", "rolled back")
    assert code == 0 and out.strip() == "alias production of package pk removed from m3"
    code, out, _ = run(capsys, "models", "list", "--where", "alias IS NOT NULL")
    assert [ln.split()[1] for ln in out.splitlines()[1:]] == ["m1"]
    code, out, _ = run(capsys, "models", "aliases", "pk", "--history", "--alias", "production", "--json")
    hist = json.loads(out)
    assert [(h["model"], h["previous"], h["reason"]) for h in hist] == [
        ("m1", "", "best so far"), ("m3", "m1", ""), ("(removed)", "m3", "rolled back")]
    code, out, _ = run(capsys, "models", "aliases", "pk", "--history")
    assert "(removed)" in out and "staging" in out
    code, out, err = run(capsys, "models", "alias", "m1", "not an alias")
    assert code == 2 and "an alias is 1-64 letters" in err
