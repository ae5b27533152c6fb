"""Schema versioning, migrations, WAL / foreign keys, the content-addressed store."""

from __future__ import annotations

import sqlite3

import pytest

from desktop_app.catalog import Catalog
from desktop_app.catalog import schema
from desktop_app.catalog.store import BlobStore
from desktop_app.errors import AlreadyExistsError, CatalogVersionError, NotFoundError, ValidationError


def test_fresh_catalog_is_at_the_latest_version_with_wal_and_foreign_keys(catalog):
    assert catalog._db.scalar("PRAGMA user_version") == schema.SCHEMA_VERSION
    assert catalog._db.scalar("PRAGMA journal_mode") == "wal"
    assert catalog._db.scalar("PRAGMA foreign_keys") == 1
    tables = {r["name"] for r in catalog._db.query("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in ("projects", "packages", "models", "artifacts", "datasets", "items", "annotations", "metrics",
              "executions", "evaluations", "services", "pipelines", "annotation_changes", "model_aliases",
              "pipeline_runs"):
        assert t in tables


def test_an_older_catalog_is_migrated_forward_keeping_its_rows(tmp_path):
    path = tmp_path / "old"
    path.mkdir()
    conn = sqlite3.connect(path / "catalog.db", isolation_level=None)
    schema.migrate(conn, target=1)  # a catalog written by the first release
    assert schema.user_version(conn) == 1
    conn.execute("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('p1', 'old project', 'x', 'x')")
    conn.execute("INSERT INTO datasets (id, project_id, name, created_at, updated_at) "
                 "VALUES ('d1', 'p1', 'old data', 'x', 'x')")
    conn.execute("INSERT INTO items (id, dataset_id, name, created_at, updated_at) VALUES (1, 'd1', 'a.png', 'x', 'x')")
    conn.close()

    cat = Catalog(path)
    assert cat._db.scalar("PRAGMA user_version") == schema.SCHEMA_VERSION
    assert cat.get_project("old project").id == "p1"
    item = cat.get_item(1)
    assert item.name == "a.png" and item.reviewed == 0  # column added by migration 2
    cat.update_item(1, reviewed=1)
    assert cat.get_item(1).reviewed == 1
    cat.close()


def test_a_newer_catalog_is_refused_clearly(tmp_path):
    cat = Catalog(tmp_path / "c")
    cat.close()
    conn = sqlite3.connect(tmp_path / "c" / "catalog.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(CatalogVersionError, match="schema version 99"):
        Catalog(tmp_path / "c")


def test_store_is_content_addressed_and_leaves_no_temp_files(tmp_path):
    store = BlobStore(tmp_path / "store")
    src = tmp_path / "f.bin"
    src.write_bytes(b"hello" * 1000)
    sha, size = store.put_file(src)
    sha2, _ = store.put_file(src)
    assert sha == sha2 and size == 5000
    assert store.path(sha).read_bytes() == src.read_bytes()
    assert store.put_bytes(b"hello" * 1000) == sha
    assert list(store.tmp.iterdir()) == []
    assert list(store.iter_shas()) == [sha]


def test_store_failed_copy_leaves_nothing(tmp_path):
    store = BlobStore(tmp_path / "store")
    with pytest.raises(FileNotFoundError):
        store.put_file(tmp_path / "missing.bin")
    assert list(store.tmp.iterdir()) == [] and list(store.iter_shas()) == []


def test_entities_crud_and_unique_names(catalog):
    p = catalog.create_project("proj", "desc")
    with pytest.raises(AlreadyExistsError):
        catalog.create_project("proj")
    with pytest.raises(ValidationError):
        catalog.create_project("  ")
    assert catalog.get_project(p.id) == catalog.get_project("proj")
    pkg = catalog.create_package("pkg", default_configuration={"lr": 0.1})
    m = catalog.create_model("m", project_id=p.id, package_id=pkg.id, configuration={"lr": 0.1}, labels=["a"])
    assert catalog.get_model(m.id).configuration == {"lr": 0.1}
    with pytest.raises(AlreadyExistsError):
        catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    with pytest.raises(ValidationError, match="unknown model status"):
        catalog.set_model_status(m.id, "nonsense")
    catalog.set_model_status(m.id, "trained")
    m2 = catalog.update_model(m.id, tags=["x"])
    assert m2.status == "trained" and m2.tags == ["x"]
    with pytest.raises(ValidationError, match="no field"):
        catalog.update_model(m.id, colour="red")
    catalog.delete_model(m.id)
    with pytest.raises(NotFoundError):
        catalog.get_model(m.id)


def test_deleting_a_model_removes_its_artifacts_and_gc_frees_the_files(catalog, tmp_path):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    m = catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    f = tmp_path / "weights.pt"
    f.write_bytes(b"w" * 100)
    sha, size = catalog.store.put_file(f)
    catalog.add_artifact(m.id, "weights.pt", sha, size)
    assert [a.filename for a in catalog.list_artifacts(m.id)] == ["weights.pt"]
    assert catalog.garbage_collect()["removed"] == 0
    catalog.delete_model(m.id)
    assert catalog._db.scalar("SELECT COUNT(*) FROM artifacts") == 0
    res = catalog.garbage_collect()
    assert res["removed"] == 1 and res["freed_bytes"] == 100
    assert not catalog.store.exists(sha)


def test_metric_samples_and_executions(catalog):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    m = catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    n = catalog.add_metric_samples(m.id, [{"figure": "loss", "legend": "train", "x": i, "y": 1.0 / (i + 1)}
                                          for i in range(5)])
    assert n == 5
    got = catalog.list_metrics(m.id, figure="loss")
    assert [s.x for s in got] == [0, 1, 2, 3, 4] and got[2].y == pytest.approx(1 / 3)
    assert catalog.list_metrics(m.id, after_id=got[2].id)[0].x == 3
    with pytest.raises(ValidationError, match="metric sample 0"):
        catalog.add_metric_samples(m.id, [{"figure": "loss", "legend": "train", "x": "a", "y": 1}])
    with pytest.raises(NotFoundError):
        catalog.add_metric_samples("nope", [{"figure": "f", "legend": "l", "x": 1, "y": 1}])
    ex = catalog.create_execution("train", model_id=m.id)
    ex = catalog.set_execution_status(ex.id, "in-progress")
    assert ex.started_at
    ex = catalog.set_execution_status(ex.id, "success")
    assert ex.finished_at
    with pytest.raises(ValidationError):
        catalog.set_execution_status(ex.id, "weird")


def test_aliases_keep_history(catalog):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    a = catalog.create_model("a", project_id=p.id, package_id=pkg.id)
    b = catalog.create_model("b", project_id=p.id, package_id=pkg.id)
    catalog.set_alias(pkg.id, "champion", a.id, who="me")
    catalog.set_alias(pkg.id, "champion", b.id, who="pipeline", reason="better")
    assert catalog.get_alias(pkg.id, "champion").model_id == b.id
    hist = catalog.alias_history(pkg.id, "champion")
    assert [(h["model_id"], h["previous_model_id"]) for h in hist] == [(a.id, None), (b.id, a.id)]
