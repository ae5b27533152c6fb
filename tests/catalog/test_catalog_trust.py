"""A catalog's trust points: caches read without pickle, restore checks what it brings, damage is named (and
`doctor` finds and repairs it), an empty catalog.db is never replaced, a failed import leaves no dataset, gc
removes what nothing references."""

from __future__ import annotations

import io
import os
import sqlite3
import tarfile
import zipfile

import numpy as np
import pytest

from desktop_app.catalog import Catalog
from desktop_app.catalog import housekeeping as hk
from desktop_app.errors import CatalogDamagedError, CatalogVersionError, UserError, ValidationError


# -- helpers ------------------------------------------------------------------------------------------
def detection_evaluation(catalog, cache: bytes, name: str = "crafted"):
    """An evaluation record of the built-in detector whose cache file holds `cache`."""
    from desktop_app.evaluation.store import EvaluationView
    model = catalog.find_models(name="pretrained-tinydet")[0]
    rec = catalog.create_evaluation(model.id, model.dataset_id, name, method="coco",
                                    cache_sha=catalog.store.put_bytes(cache))
    return EvaluationView(catalog, rec)


def valid_inputs(catalog, n: int = 6):
    from desktop_app.evaluation.run import detection_inputs
    model = catalog.find_models(name="pretrained-tinydet")[0]
    ids = np.array(catalog.item_ids(model.dataset_id)[:n], np.int64)
    return detection_inputs(catalog, model.id, model.dataset_id, ids, list(model.labels))


def legacy_npz(inp, labels) -> bytes:
    """A cache as Model Desk wrote them before: the labels as an object array (a pickle)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf, labels=np.array(labels, dtype=object), item_ids=inp.item_ids,
        g_img=inp.gt.image_idx, g_cat=inp.gt.cat_idx, g_box=inp.gt.boxes, g_area=inp.gt.area,
        g_crowd=inp.gt.iscrowd, g_ids=inp.gt.ids, d_img=inp.dt.image_idx, d_cat=inp.dt.cat_idx,
        d_box=inp.dt.boxes, d_score=inp.dt.scores, d_ids=inp.dt.ids)
    return buf.getvalue()


class MakeDir:
    """Unpickling this makes a folder: proof that a cache ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def damage(db, how: str) -> None:
    data = db.read_bytes()
    if how == "empty":
        data = b""
    elif how == "header":
        data = b"\x00garbage\x00" * 10 + data[100:]
    elif how == "truncated":
        data = data[:len(data) // 3]
    elif how == "middle":
        # the middle half: every table of the sample (its masks make the file large) has pages in it
        start, span = len(data) // 4, len(data) // 2
        data = data[:start] + bytes((i * 31 + 7) % 256 for i in range(span)) + data[start + span:]
    db.write_bytes(data)


# -- 1. evaluation caches -----------------------------------------------------------------------------
def test_a_cache_holding_a_pickle_runs_nothing_and_is_refused_by_name(client, tmp_path):
    cat = client.catalog
    inp = valid_inputs(cat)
    marker = tmp_path / "the-cache-ran-code"
    ev = detection_evaluation(cat, legacy_npz(inp, [MakeDir(marker)]))
    with pytest.raises(ValidationError) as e:
        ev.at_thresholds(iou_threshold=0.5)
    assert not marker.exists()
    msg = str(e.value)
    assert "'crafted'" in msg and ev.record.cache_sha in msg and "os.mkdir" not in msg and "mkdir" in msg
    with pytest.raises(ValidationError):
        ev.instances("fp")
    assert not marker.exists()


def test_caches_hold_plain_arrays_and_old_string_caches_still_open(client):
    cat = client.catalog
    from desktop_app.evaluation.run import inputs_to_npz
    inp = valid_inputs(cat)
    data = inputs_to_npz(inp)
    with zipfile.ZipFile(io.BytesIO(data)) as zf, np.load(io.BytesIO(data), allow_pickle=False) as z:
        assert {n.removesuffix(".npy") for n in zf.namelist()} == set(z.files)
        assert all(z[k].dtype != object for k in z.files) and z["labels"].dtype.kind == "U"
    fresh = detection_evaluation(cat, data, "fresh").detection_inputs()
    old = detection_evaluation(cat, legacy_npz(inp, inp.labels), "old").detection_inputs()
    assert fresh.labels == old.labels == inp.labels
    assert np.array_equal(old.dt.boxes, inp.dt.boxes) and np.array_equal(old.gt.ids, inp.gt.ids)


def test_the_classification_cache_holds_no_objects(client):
    from desktop_app.evaluation.run import score_model
    from desktop_app.formats.base import Annotation
    cat = client.catalog
    model = cat.find_models(name="pretrained-resnet")[0]
    ds = cat.get_dataset(model.dataset_id)
    ids = cat.item_ids(ds.id)[:12]
    cat.replace_predictions(model.id, model.name, {i: [Annotation("class", "circle", score=0.9)] for i in ids},
                            ds.id)
    out = score_model(cat, model.id, ds.id, filters={"item_ids": ids}, name="cls")
    rec = cat.get_evaluation(out["evaluation_id"])
    with np.load(cat.store.path(rec.cache_sha), allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
        assert "circle" in z["labels"].tolist()


# -- 1. restore checks what it brings -----------------------------------------------------------------
@pytest.fixture
def small_backup(tmp_path):
    """A small catalog (3 items) backed up, and its unpacked tree to craft variants from."""
    from desktop_app.formats.base import DatasetBundle, ImageEntry
    cat = Catalog(tmp_path / "src")
    p = cat.create_project("p")
    ds = cat.create_dataset(p.id, "d")
    entries = []
    for i in range(3):
        f = tmp_path / f"img{i}.png"
        f.write_bytes(b"\x89PNG fake image %d" % i)
        entries.append(ImageEntry(source=f, name=f"img{i}.png", width=4, height=4))
    cat.import_bundle(ds.id, DatasetBundle(items=entries))
    archive = hk.backup(cat, tmp_path / "good.tar.gz")
    cat.close()
    tree = tmp_path / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return archive, tree / hk.ARCHIVE_ROOT


def repack(tree, archive):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=hk.ARCHIVE_ROOT)
    return archive


def edit_db(tree, sql: str) -> None:
    conn = sqlite3.connect(tree / "catalog.db")
    conn.executescript(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("case, error, words", [
    ("newer schema", CatalogVersionError, "schema version 99"),
    ("malformed reference", ValidationError, "items.sha256 of row 1 is '../../../etc/passwd'"),
    ("blob not in the archive", ValidationError, "which the archive does not hold"),
])
def test_restore_checks_the_database_before_anything_reaches_the_target(small_backup, tmp_path, case, error,
                                                                       words):
    good, tree = small_backup
    if case == "newer schema":
        edit_db(tree, "PRAGMA user_version = 99")
    elif case == "malformed reference":
        edit_db(tree, "UPDATE items SET sha256 = '../../../etc/passwd' WHERE id = 1")
    else:
        edit_db(tree, f"UPDATE items SET sha256 = '{'ab' * 32}' WHERE id = 1")
    bad = repack(tree, tmp_path / "bad.tar.gz")
    target = tmp_path / "restored" / "catalog"
    with pytest.raises(error, match=words) as e:
        hk.restore(bad, target)
    assert f"{bad}: entry {hk.ARCHIVE_ROOT}/catalog.db" in str(e.value)
    assert not target.exists() and os.listdir(target.parent) == []
    restored = hk.restore(good, target)                    # the next good restore works
    assert restored.count_items(restored.list_datasets()[0].id) == 3
    restored.close()


def test_restore_into_a_file_or_from_a_root_that_is_a_file_is_an_error(small_backup, tmp_path):
    good, _tree = small_backup
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    with pytest.raises(UserError, match="is a file; restore into a new folder"):
        hk.restore(good, a_file)
    assert a_file.read_text() == "mine"
    rooted = tmp_path / "root-file.tar.gz"
    with tarfile.open(rooted, "w:gz") as tar:
        data = b"not a folder"
        info = tarfile.TarInfo(hk.ARCHIVE_ROOT)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ValidationError, match="its root 'model-desk-catalog' is a file"):
        hk.restore(rooted, tmp_path / "t")
    assert not (tmp_path / "t").exists()


# -- 6. damage is named; doctor checks and repairs ------------------------------------------------------
@pytest.mark.parametrize("how", ["middle", "truncated", "header"])
def test_every_command_on_a_damaged_catalog_says_which_file_and_what_to_do(home, capsys, how):
    from desktop_app.cli.main import main
    db = home / "catalog.db"
    damage(db, how)
    before = db.read_bytes()
    for argv in (["datasets"], ["models"], []):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"the catalog database {db} is damaged" in err and "doctor --repair" in err, err
        assert "Traceback" not in err
    assert db.read_bytes() == before


def test_doctor_finds_damage_and_repair_copies_what_is_readable_beside_it(home, capsys):
    from desktop_app.cli.main import main
    cat = Catalog(home)
    n_items = cat._db.scalar("SELECT COUNT(*) FROM items")
    cat.close()
    assert main(["doctor"]) == 0 and "No damage found." in capsys.readouterr().out
    db = home / "catalog.db"
    damage(db, "middle")
    before = db.read_bytes()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "ERROR [integrity]" in out and "Damage found" in out
    assert main(["doctor", "--repair"]) == 1
    out = capsys.readouterr().out
    repaired = [p for p in home.parent.iterdir() if p.name.startswith(f"{home.name}.repaired-")]
    assert len(repaired) == 1 and f"written to {repaired[0]}" in out and "items:" in out
    assert db.read_bytes() == before                     # the damaged catalog is only read
    fixed = Catalog(repaired[0])
    assert fixed.integrity_check() == "ok"
    kept = fixed._db.scalar("SELECT COUNT(*) FROM items")
    assert 0 < kept <= n_items and fixed._db.scalar("SELECT COUNT(*) FROM projects") == 1
    for sha in fixed.referenced_blobs():
        assert fixed.store.exists(sha)
    fixed.close()
    assert main(["--home", str(repaired[0]), "doctor"]) == 0


def test_doctor_checks_references_files_foreign_keys_and_schema(home, capsys):
    from desktop_app.catalog.doctor import check_catalog
    cat = Catalog(home)
    shas = sorted(cat.referenced_blobs())
    cat.store.path(shas[0]).unlink()                          # a referenced file gone
    cat.store.path(shas[1]).unlink()                          # a new file under its name (never in place: the
    cat.store.path(shas[1]).write_bytes(b"not what its name says")   # test catalogs share store files by links)
    cat.store.put_bytes(b"nothing refers to me")
    (cat.store.tmp / "tmpabc").write_bytes(b"half a file")
    cat.close()
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("INSERT INTO annotations (item_id, dataset_id, type, label, created_at, updated_at) "
                 "VALUES (999999, 'x', 'class', 'a', '', '')")
    conn.execute("UPDATE packages SET codebase_sha = 'not-a-sha' WHERE rowid = 1")
    conn.commit()
    conn.close()
    report = check_catalog(home, content=True)
    text = "\n".join(f"{f.severity} {f.check} {f.message}" for f in report.findings)
    assert not report.ok
    assert "error references 1 referenced file(s) are missing from the store" in text
    assert "error content 1 store file(s) no longer hold what their sha256 names" in text
    assert "warning store 1 file(s) in the store" in text and "referenced by nothing" in text
    assert "warning temporary files 1 file(s) in store/tmp" in text
    assert "error foreign keys 1 row(s) of annotations refer to items rows that do not exist" in text
    assert "packages.codebase_sha" in text and "'not-a-sha'" in text
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    assert any(f.check == "schema" and "newer" in f.message for f in check_catalog(home).findings)


# -- 7. only a missing catalog is created -------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n" * 10, b"SQLite format 3\x00" + b"\x00" * 20])
def test_an_empty_or_foreign_catalog_file_is_refused_not_replaced(tmp_path, content):
    home = tmp_path / "cat"
    home.mkdir()
    (home / "catalog.db").write_bytes(content)
    for open_it in (lambda: Catalog(home), lambda: __import__("desktop_app.sdk", fromlist=["x"]).use_catalog(home)):
        with pytest.raises(CatalogDamagedError, match="catalog.db is damaged") as e:
            open_it()
        assert e.value.path == str(home / "catalog.db")
    assert (home / "catalog.db").read_bytes() == content
    assert sorted(p.name for p in home.iterdir() if p.name != "store") == ["catalog.db"]


def test_a_missing_catalog_is_created_whole(tmp_path):
    from desktop_app.catalog import schema
    cat = Catalog(tmp_path / "new")
    assert cat._db.scalar("PRAGMA user_version") == schema.SCHEMA_VERSION and cat.integrity_check() == "ok"
    cat.close()
    assert [p.name for p in (tmp_path / "new").iterdir() if p.name.startswith(".")] == []


# -- 9. a failed import leaves no dataset; gc removes what nothing references ----------------------------
def test_a_failed_import_into_a_new_dataset_leaves_no_dataset(home, tmp_path, capsys):
    from PIL import Image

    from desktop_app.cli.main import main
    folder = tmp_path / "set"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(folder / label / f"{i}.png")
    (folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["import", str(folder), "--format", "imagefolder", "--dataset", "pets"]) == 2
    assert "broken.png" in capsys.readouterr().err
    cat = Catalog(home)
    assert not [d for d in cat.list_datasets() if d.name == "pets"]
    cat.close()
    (folder / "dog" / "broken.png").unlink()
    assert main(["import", str(folder), "--format", "imagefolder", "--dataset", "pets"]) == 0
    assert "imported 6 items" in capsys.readouterr().out


def test_gc_removes_orphans_and_temporary_files_but_not_while_a_writer_is_busy(catalog, tmp_path):
    orphan = catalog.store.put_bytes(b"left behind by a killed import")
    stale = catalog.store.tmp / "tmpkilled"
    stale.write_bytes(b"x" * 1000)
    with catalog.store.writing():                       # an import copying files now, in this or another process
        res = catalog.garbage_collect()
        assert res["busy"] == 1 and res["removed"] == 0
        assert catalog.store.exists(orphan) and stale.exists()
    res = catalog.garbage_collect(dry_run=True)
    assert res["removed"] == 2 and res["temp_files"] == 1 and stale.exists()
    res = catalog.garbage_collect()
    assert res["removed"] == 2 and res["freed_bytes"] == 1000 + len(b"left behind by a killed import")
    assert not catalog.store.exists(orphan) and not stale.exists()
