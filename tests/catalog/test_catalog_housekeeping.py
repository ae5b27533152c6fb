"""Settings schema, sizes, deleting a model with its files, backup / restore, read-only and second instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap

import pytest

from desktop_app.catalog import Catalog
from desktop_app.catalog import housekeeping as hk
from desktop_app.catalog.lock import instance_lock
from desktop_app.errors import UserError, ValidationError
from desktop_app.settings import SCHEMA, Settings


def test_settings_schema_persistence_and_invalid_values(tmp_path):
    s = Settings(tmp_path)
    assert s.get("parallel_cpu_jobs") == 1 and s.get("telemetry") == "none"
    assert {x.key for x in SCHEMA} >= {"catalog_folder", "default_device", "parallel_cpu_jobs",
                                       "thumbnail_cache_mb", "theme", "service_port_range", "telemetry"}
    assert all(x.description for x in SCHEMA)
    s.set("parallel_cpu_jobs", "3")
    s.set("theme", "dark")
    s.set("service_port_range", ["9000", 9010])
    again = Settings(tmp_path)
    assert again.get("parallel_cpu_jobs") == 3 and again.get("theme") == "dark"
    assert again.get("service_port_range") == [9000, 9010]
    for key, bad, msg in (("parallel_cpu_jobs", 0, "outside"), ("parallel_cpu_jobs", "many", "whole number"),
                          ("theme", "pink", "one of"), ("default_device", "gpu7", "cuda:N"),
                          ("service_port_range", [80, 90], "1024"), ("nope", 1, "no such setting")):
        with pytest.raises(ValidationError, match=msg):
            again.set(key, bad)
    with pytest.raises(ValidationError, match="cannot be changed"):
        again.set("telemetry", "none")
    # A hand-edited file with bad values: defaults for those, a note for each, the app starts anyway.
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "pink", "thumbnail_cache_mb": 64, "zzz": 1}))
    third = Settings(tmp_path)
    assert third.get("theme") == "system" and third.get("thumbnail_cache_mb") == 64
    assert any("theme" in p for p in third.problems) and any("zzz" in p for p in third.problems)
    (tmp_path / "settings.json").write_text("{not json")
    assert Settings(tmp_path).get("theme") == "system"


def test_sizes_and_delete_model_leaves_no_orphans(dl, tmp_path):
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="to-delete")
    (tmp_path / "w.pt").write_bytes(os.urandom(4096))
    m.artifacts.upload(tmp_path / "w.pt")
    child = m.clone(model_name="child")  # shares the weights file
    before = hk.sizes(cat)
    assert before["images"] > 0 and before["model files"] == 4096 and before["database"] > 0
    assert before["total"] == sum(v for k, v in before.items() if k != "total")
    res = hk.delete_model(cat, m.id)
    assert res["removed_files"] == 0  # the child still uses it
    res = hk.delete_model(cat, child.id)
    assert res == {"removed_files": 1, "freed_bytes": 4096}
    assert hk.sizes(cat)["model files"] == 0
    assert cat.garbage_collect(dry_run=True)["removed"] == 0


def test_delete_model_frees_its_feature_set_files(dl, tmp_path):
    import numpy as np

    from desktop_app.catalog.feature_sets import queries
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="embedded")
    items = cat.list_items(dl.datasets.get("shapes").id, limit=5)
    fs = queries(cat)
    rec = fs.add(m.id, [i.id for i in items], np.ones((5, 8), np.float32), weights_sha=fs.weights_sha(m.id))
    size = cat.store.size_of(rec.sha) + cat.store.size_of(rec.ids_sha)
    res = hk.delete_model(cat, m.id)
    assert res == {"removed_files": 2, "freed_bytes": size}             # both .npy files, not left to gc
    assert not cat.store.path(rec.sha).exists() and not cat.store.path(rec.ids_sha).exists()
    assert cat.garbage_collect(dry_run=True)["removed"] == 0


def test_backup_and_restore_round_trip(dl, tmp_path):
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="kept")
    (tmp_path / "w.pt").write_bytes(b"weights")
    m.artifacts.upload(tmp_path / "w.pt")
    archive = hk.backup(cat, tmp_path / "backup.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert all(n.startswith("model-desk-catalog/") for n in names)  # relative: the folder can move
    restored = hk.restore(archive, tmp_path / "elsewhere" / "catalog")
    got = restored.find_models(name="kept")[0]
    art = restored.list_artifacts(got.id)[0]
    assert restored.store.path(art.sha256).read_bytes() == b"weights"
    ds = restored.get_dataset("shapes")
    item = restored.list_items(ds.id, limit=1)[0]
    assert restored.item_path(item).is_file()
    assert restored.count_items(ds.id) == 1000 and restored.integrity_check() == "ok"
    with pytest.raises(UserError, match="not empty"):
        hk.restore(archive, tmp_path / "elsewhere" / "catalog")


def test_restore_refuses_paths_that_escape(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="model-desk-catalog/catalog.db")
        tar.add(payload, arcname="model-desk-catalog/../../escaped.txt")
    with pytest.raises(ValidationError, match="outside the catalog folder"):
        hk.restore(evil, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "target").exists()
    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as tar:
        info = tarfile.TarInfo("model-desk-catalog/store/x")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValidationError, match="link"):
        hk.restore(link, tmp_path / "target2")


HOLDER = textwrap.dedent("""
    import sys, time
    from desktop_app.catalog.lock import instance_lock
    lock = instance_lock(sys.argv[1])
    assert lock.acquire()
    print("held", flush=True)
    time.sleep(60)  # holds the lock until the test kills it
""")


def test_second_instance_finds_the_lock_and_opens_read_only(catalog):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(catalog.home)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        lock = instance_lock(catalog.home)
        assert not lock.acquire()
        assert lock.holder_pid() == proc.pid
        ro = Catalog(catalog.home, read_only=True)
        assert ro.list_projects() == []
        with pytest.raises(UserError, match="read-only"):
            ro.create_project("x")
        ro.close()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert instance_lock(catalog.home).acquire()  # the OS released it with the process


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_gives_a_clear_message(tmp_path):
    folder = tmp_path / "ro"
    Catalog(folder).close()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="read-only"):
            Catalog(folder)
    finally:
        folder.chmod(0o755)


def test_full_disk_is_a_clear_message_and_writes_nothing(catalog):
    p = catalog.create_project("p")
    # SQLite's max_page_count makes the database 'full' where it stands: the same error as a full disk.
    pages = catalog._db.scalar("PRAGMA page_count")
    catalog._db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    ds = catalog.create_dataset(p.id, "d")
    from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
    items = [ImageEntry(source=None, name=f"{i}.png", width=8, height=8,
                        annotations=[Annotation("box", "a", [0, 0, 1, 1])] * 20) for i in range(3000)]
    with pytest.raises(UserError, match="is full; nothing was written"):
        catalog.import_bundle(ds.id, DatasetBundle(items=items))
    assert catalog.count_items(ds.id) == 0
    assert catalog.integrity_check() == "ok"
