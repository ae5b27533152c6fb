"""dl.models.search (MLflow's grammar, scoped by project / package), model.set_alias / remove_alias / aliases /
alias_history, dl.models.get(alias=...), and notes and tags saved by model.update() (nothing trains)."""

from __future__ import annotations

import pytest

import desktop_app.sdk as dl
from desktop_app.catalog.model_search import SearchQueryError
from desktop_app.errors import NotFoundError, ValidationError

ACC = "metrics.`validation/accuracy`"


@pytest.fixture
def setup():
    """Packages 'cls' (c0..c3, accuracy 0.6 .. 0.9) and 'det' (d0, accuracy 0.95) in project 'p'; 'q' holds q0."""
    client = dl.default_client()
    cat = client.catalog
    p, q = cat.create_project("p"), cat.create_project("q")
    cls, det = cat.create_package("cls", project_id=p.id), cat.create_package("det", project_id=p.id)
    specs = [("c0", cls, p, 0.6), ("c1", cls, p, 0.7), ("c2", cls, p, 0.8), ("c3", cls, p, 0.9), ("d0", det, p, 0.95),
             ("q0", cls, q, 0.99)]
    for name, pkg, proj, acc in specs:
        m = cat.create_model(name, project_id=proj.id, package_id=pkg.id, configuration={"learning_rate": acc / 100})
        cat.add_metric_samples(m.id, [{"figure": "accuracy", "legend": "validation", "x": 0, "y": acc}])
    return client


def test_search_returns_model_entities_like_list(setup):
    found = dl.models.search(f"{ACC} > 0.75", order_by=[f"{ACC} DESC"])
    assert type(found) is type(dl.models.list())
    assert all(isinstance(m, dl.Model) for m in found)
    assert [m.name for m in found] == ["q0", "d0", "c3", "c2"]
    assert [m.name for m in dl.models.search(f"{ACC} > 0.75", order_by=f"{ACC} DESC", max_results=2)] == ["q0", "d0"]
    p = dl.projects.get("p")
    assert [m.name for m in p.models.search(f"{ACC} > 0.75", order_by=[f"{ACC} DESC"])] == ["d0", "c3", "c2"]
    assert [m.name for m in dl.models.search(f"{ACC} > 0.75", project_id=p.id, order_by=[f"{ACC}"])] == [
        "c2", "c3", "d0"]
    cls = dl.packages.get("cls")
    assert {m.name for m in cls.models.search("params.learning_rate > 0.0065")} == {"c1", "c2", "c3", "q0"}
    assert {m.name for m in dl.models.search("package = 'det' or name = 'c0'")} == {"d0", "c0"}
    with pytest.raises(SearchQueryError, match="unexpected end of the query at column 41") as e:
        dl.models.search(f"{ACC} > 0.75 AND")
    assert isinstance(e.value, ValidationError)


def test_aliases_set_moved_removed_with_history(setup):
    c2, c3 = dl.models.get("c2"), dl.models.get("c3")
    c2.set_alias("production", "best so far")
    assert c2.aliases == ["production"]
    assert dl.models.get(alias="production", package_name="cls") == c2
    assert dl.packages.get("cls").models.get(alias="production") == c2
    c3.set_alias("production")
    assert (c2.aliases, c3.aliases) == ([], ["production"])
    with pytest.raises(NotFoundError, match="does not point at model 'c2'"):
        c2.remove_alias("production")
    c3.set_alias("staging")
    c3.remove_alias("production", "rolled back")
    assert c3.aliases == ["staging"]
    with pytest.raises(NotFoundError, match="no alias 'production' \\(its aliases: staging\\)"):
        dl.models.get(alias="production", package_name="cls")
    with pytest.raises(ValidationError, match="needs the package"):
        dl.models.get(alias="staging")
    hist = c3.alias_history("production")
    assert [(h["model_id"], h["previous_model_id"], h["reason"]) for h in hist] == [
        (c3.id, c2.id, ""), (None, c3.id, "rolled back")]
    assert [h["model_id"] for h in c2.alias_history()] == [c2.id, c3.id]
    assert len(c3.alias_history()) == 3
    with pytest.raises(ValidationError, match="an alias is 1-64"):
        c3.set_alias("with space")
    assert [m.name for m in dl.models.search("alias = 'staging'")] == ["c3"]


def test_the_pipelines_champion_alias_is_one_of_them(setup):
    c1 = dl.models.get("c1")
    cat = setup.catalog
    cat.set_alias(c1.package_id, "champion", c1.id, who="pipeline:nightly", reason="better")
    assert c1.aliases == ["champion"]
    assert [m.name for m in dl.models.search("alias = 'champion'")] == ["c1"]
    c1.remove_alias("champion")
    assert cat.get_alias(c1.package_id, "champion") is None


def test_update_saves_notes_and_tags_and_search_finds_them(setup):
    m = dl.models.get("c0")
    m.notes = "augmentations off; try mixup"
    m.tags = ["stage=candidate", "baseline"]
    m.update()
    again = dl.models.get("c0")
    assert (again.notes, again.tags) == ("augmentations off; try mixup", ["stage=candidate", "baseline"])
    assert [x.name for x in dl.models.search("notes LIKE '%mixup%' and tags.stage = 'candidate' and tag = 'baseline'")
            ] == ["c0"]
