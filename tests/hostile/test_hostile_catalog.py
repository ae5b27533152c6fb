"""Hostile files aimed at the catalog: crafted evaluation caches, crafted backups, damaged catalog databases.

Each case: the app's own error type, a message naming the evaluation / archive entry / file, nothing written
(row counts and store files unchanged, no restore target), and the next good call works."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from desktop_app.catalog import Catalog
from desktop_app.catalog import housekeeping as hk
from desktop_app.errors import CatalogDamagedError, CatalogVersionError, UserError, ValidationError


# -- crafted evaluation caches ----------------------------------------------------------------------------
class MakeDir:
    """Unpickling this makes a folder: proof that a cache ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def _arrays(inp) -> dict[str, np.ndarray]:
    return dict(labels=np.array(inp.labels), item_ids=inp.item_ids, g_img=inp.gt.image_idx, g_cat=inp.gt.cat_idx,
                g_box=inp.gt.boxes, g_area=inp.gt.area, g_crowd=inp.gt.iscrowd, g_ids=inp.gt.ids,
                d_img=inp.dt.image_idx, d_cat=inp.dt.cat_idx, d_box=inp.dt.boxes, d_score=inp.dt.scores,
                d_ids=inp.dt.ids)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _lying_member(arrays: dict, key: str, shape: tuple) -> bytes:
    """An .npz whose `key` array declares `shape` in its header but holds a few bytes."""
    good = _npz(**arrays)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename == f"{key}.npy":
                member = io.BytesIO()
                np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                              "shape": shape})
                member.write(b"\0" * 64)
                zout.writestr(info.filename, member.getvalue())
            else:
                zout.writestr(info, zin.read(info))
    return out.getvalue()


def _crafted_cache(case: str, inp, marker: Path) -> tuple[bytes, str]:
    """(cache bytes, words the refusal must say)"""
    a = _arrays(inp)
    if case == "pickle that runs code":
        return _npz(**{**a, "labels": np.array([MakeDir(marker)], dtype=object)}), "asks for posix.mkdir"
    if case == "object array of numbers":
        return _npz(**{**a, "labels": np.array([1, 2, 3, 4], dtype=object)}), "other than a list of strings"
    if case == "object array in a numeric field":
        return _npz(**{**a, "d_score": np.array([0.5] * len(a["d_score"]), dtype=object)}), "'d_score'"
    if case == "truncated npz":
        data = _npz(**a)
        return data[:len(data) // 2], "not an .npz archive"
    if case == "wrong keys":
        return _npz(**{k: v for k, v in a.items() if k != "d_box"}), "missing array(s) d_box"
    if case == "not an npz":
        return b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "not an .npz archive"
    if case == "declared size far over its bytes":
        return _lying_member(a, "g_box", (10 ** 9, 4)), "declares 4000000000 values"
    if case == "index out of range":
        g_img = a["g_img"].copy()
        g_img[0] = 10 ** 6
        return _npz(**{**a, "g_img": g_img}), "'g_img' holds indexes outside"
    if case == "labels not text":
        return _npz(**{**a, "labels": np.arange(4.0)}), "'labels' holds float64 values, not text"
    if case == "box array of the wrong shape":
        return _npz(**{**a, "g_box": a["g_box"][:, :3]}), "'g_box' has shape"
    raise AssertionError(case)


CACHE_CASES = ["pickle that runs code", "object array of numbers", "object array in a numeric field",
               "truncated npz", "wrong keys", "not an npz", "declared size far over its bytes",
               "index out of range", "labels not text", "box array of the wrong shape"]


@pytest.fixture
def detector(catalog):
    """A small catalog with a detection model: 6 items with ground-truth boxes and the model's predictions."""
    from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
    labels = ["cat", "dog", "fox", "owl"]
    p = catalog.create_project("p")
    pkg = catalog.create_package("det", output_type="box")
    ds = catalog.create_dataset(p.id, "d", labels=labels)
    catalog.import_bundle(ds.id, DatasetBundle(labels=labels, items=[
        ImageEntry(source=None, name=f"{i}.png", width=64, height=64,
                   annotations=[Annotation("box", labels[i % 4], [4, 4, 30 + i, 30])]) for i in range(6)]))
    model = catalog.create_model("m", project_id=p.id, package_id=pkg.id, labels=labels, output_type="box",
                                 dataset_id=ds.id)
    ids = catalog.item_ids(ds.id)
    catalog.replace_predictions(model.id, model.name, {
        i: [Annotation("box", labels[k % 4], [5, 5, 31, 29], score=0.9)] for k, i in enumerate(ids)}, ds.id)
    return catalog, model


@pytest.mark.parametrize("case", CACHE_CASES)
def test_crafted_evaluation_cache(detector, tmp_path, snapshot, case):
    from desktop_app.evaluation.run import detection_inputs, inputs_to_npz
    from desktop_app.evaluation.store import EvaluationView
    cat, model = detector
    ids = np.array(cat.item_ids(model.dataset_id), np.int64)
    inp = detection_inputs(cat, model.id, model.dataset_id, ids, list(model.labels))
    assert len(inp.gt.ids) > 0
    marker = tmp_path / "ran"
    data, words = _crafted_cache(case, inp, marker)
    rec = cat.create_evaluation(model.id, model.dataset_id, "crafted", method="coco",
                                cache_sha=cat.store.put_bytes(data))
    before = snapshot(cat)
    ev = EvaluationView(cat, rec)
    for read in (lambda: ev.at_thresholds(iou_threshold=0.5), lambda: ev.instances("fp")):
        with pytest.raises(ValidationError) as e:
            read()
        msg = str(e.value)
        assert words in msg and "evaluation 'crafted'" in msg and rec.cache_sha in msg, msg
    assert not marker.exists()
    assert snapshot(cat) == before
    good = cat.create_evaluation(model.id, model.dataset_id, "good", method="coco",
                                 cache_sha=cat.store.put_bytes(inputs_to_npz(inp)))
    figures = EvaluationView(cat, good).at_thresholds(iou_threshold=0.5)
    assert set(figures) == {"summary", "per_class", "confusion"}


# -- crafted backups ------------------------------------------------------------------------------------
@pytest.fixture
def backup(tmp_path):
    """A small catalog (3 items), its good backup, and the backup unpacked to craft variants from."""
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
    good = hk.backup(cat, tmp_path / "good.tar.gz")
    cat.close()
    tree = tmp_path / "tree"
    with tarfile.open(good) as tar:
        tar.extractall(tree, filter="data")
    return good, tree / hk.ARCHIVE_ROOT


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"x", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data) if attrs.get("type", tarfile.REGTYPE) == tarfile.REGTYPE else 0
    for k, v in attrs.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data) if info.size else None)


def _edit_db(tree: Path, sql: str) -> None:
    conn = sqlite3.connect(tree / "catalog.db")
    conn.executescript(sql)
    conn.commit()
    conn.close()


def _corrupt_items_page(tree: Path) -> None:
    db = tree / "catalog.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=DELETE")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'items'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page + 8:root * page] = bytes((i * 13 + 5) % 256 for i in range(page - 8))
    db.write_bytes(bytes(data))


def _crafted_backup(case: str, good: Path, tree: Path, out: Path):
    """Writes the hostile archive; returns (archive, error type, words the refusal must say)."""
    root = hk.ARCHIVE_ROOT
    sha = next(p.name for p in (tree / "store").glob("??/??/*"))

    def repack():
        with tarfile.open(out, "w:gz") as tar:
            tar.add(tree, arcname=root)

    def with_extra(add):
        with tarfile.open(out, "w:gz") as tar:
            tar.add(tree, arcname=root)
            add(tar)

    if case == "path escaping the folder":
        with_extra(lambda t: _add(t, f"{root}/../../escaped.txt"))
        return ValidationError, "outside the catalog folder: 'model-desk-catalog/../../escaped.txt'"
    if case == "absolute path":
        with_extra(lambda t: _add(t, "/tmp/model-desk-absolute.txt"))
        return ValidationError, "outside the catalog folder: '/tmp/model-desk-absolute.txt'"
    if case == "symbolic link":
        with_extra(lambda t: _add(t, f"{root}/store/aa/bb/{'a' * 64}", type=tarfile.SYMTYPE,
                                  linkname="/etc/passwd"))
        return ValidationError, "link or device"
    if case == "hard link":
        with_extra(lambda t: _add(t, f"{root}/store/aa/bb/{'b' * 64}", type=tarfile.LNKTYPE,
                                  linkname=f"{root}/catalog.db"))
        return ValidationError, "link or device"
    if case == "root that is a file":
        with tarfile.open(out, "w:gz") as tar:
            _add(tar, root, b"I am not a folder")
        return ValidationError, "its root 'model-desk-catalog' is a file"
    if case == "database failing its integrity check":
        _corrupt_items_page(tree)
        repack()
        return ValidationError, f"entry {root}/catalog.db"
    if case == "newer schema":
        _edit_db(tree, "PRAGMA user_version = 99")
        repack()
        return CatalogVersionError, "schema version 99"
    if case == "reference that is a path":
        _edit_db(tree, "UPDATE items SET sha256 = '../../../../etc/passwd' WHERE id = 2")
        repack()
        return ValidationError, "items.sha256 of row 2 is '../../../../etc/passwd'"
    if case == "reference in capitals":
        _edit_db(tree, f"UPDATE items SET sha256 = '{sha.upper()}' WHERE id = 1")
        repack()
        return ValidationError, "not a store reference (64 lowercase hex digits)"
    if case == "reference to a file the archive lacks":
        _edit_db(tree, f"UPDATE items SET sha256 = '{'c' * 64}' WHERE id = 3")
        repack()
        return ValidationError, f"refers to store file {'c' * 64}, which the archive does not hold"
    if case == "store file altered":
        (tree / "store" / sha[:2] / sha[2:4] / sha).write_bytes(b"swapped content")
        repack()
        return ValidationError, f"store/{sha[:2]}/{sha[2:4]}/{sha} does not hold what its name says"
    if case == "not a tar file":
        out.write_bytes(os.urandom(4096))
        return ValidationError, "is not a Model Desk backup"
    if case == "truncated archive":
        data = good.read_bytes()
        out.write_bytes(data[:len(data) * 2 // 3])
        return ValidationError, "damaged"
    if case == "an entry that is no part of a catalog":
        with_extra(lambda t: _add(t, f"{root}/run-me.sh", b"#!/bin/sh\nrm -rf ~\n"))
        return ValidationError, "'model-desk-catalog/run-me.sh', which is no part of a Model Desk catalog"
    if case == "database entry that is text":
        (tree / "catalog.db").write_text("just some text\n" * 20)
        repack()
        return ValidationError, f"entry {root}/catalog.db is not a catalog database"
    if case == "an entry twice":
        with_extra(lambda t: _add(t, f"{root}/catalog.db", b"second copy"))
        return ValidationError, "holds 'model-desk-catalog/catalog.db' twice"
    raise AssertionError(case)


BACKUP_CASES = ["path escaping the folder", "absolute path", "symbolic link", "hard link", "root that is a file",
                "database failing its integrity check", "newer schema", "reference that is a path",
                "reference in capitals", "reference to a file the archive lacks", "store file altered",
                "not a tar file", "truncated archive", "an entry that is no part of a catalog",
                "database entry that is text", "an entry twice"]


@pytest.mark.parametrize("case", BACKUP_CASES)
def test_crafted_backup(backup, tmp_path, snapshot, case):
    good, tree = backup
    bad = tmp_path / "bad.tar.gz"
    error, words = _crafted_backup(case, good, tree, bad)
    source = snapshot(tmp_path / "src")
    parent = tmp_path / "restores"
    parent.mkdir()
    target = parent / "catalog"
    with pytest.raises(error) as e:
        hk.restore(bad, target)
    msg = str(e.value)
    assert words in msg and str(bad) in msg, msg
    assert not target.exists() and list(parent.iterdir()) == []          # nothing unpacked, nothing left over
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/model-desk-absolute.txt").exists()
    assert snapshot(tmp_path / "src") == source
    restored = hk.restore(good, target)                                   # the next good restore works
    assert restored.count_items(restored.list_datasets()[0].id) == 3 and restored.integrity_check() == "ok"
    restored.close()


def test_restoring_from_a_folder_or_into_a_file_is_refused(backup, tmp_path):
    good, tree = backup
    with pytest.raises(ValidationError, match=f"{tree} is a folder, not a Model Desk backup"):
        hk.restore(tree, tmp_path / "t1")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(UserError, match=f"{a_file} is a file; restore into a new folder"):
        hk.restore(good, a_file)
    assert a_file.read_text() == "mine" and not (tmp_path / "t1").exists()
    hk.restore(good, tmp_path / "t1").close()


# -- damaged catalog databases ------------------------------------------------------------------------
def _damage(db: Path, case: str) -> None:
    data = db.read_bytes()
    if case == "garbage in the middle":
        mid = len(data) // 2
        data = data[:mid] + bytes((i * 31 + 7) % 256 for i in range(300_000)) + data[mid + 300_000:]
    elif case == "truncated":
        data = data[:len(data) // 3]
    elif case == "bad header":
        data = b"MODEL DESK?" * 9 + b"X" + data[100:]
    elif case == "0 bytes":
        data = b""
    db.unlink()
    if case == "a folder":
        db.mkdir()
    else:
        db.write_bytes(data)


DAMAGE_CASES = {"garbage in the middle": "malformed", "truncated": "malformed",
                "bad header": "does not start with the SQLite header", "0 bytes": "the file is empty (0 bytes)",
                "a folder": "it is a folder"}


@pytest.mark.parametrize("case", list(DAMAGE_CASES))
def test_damaged_catalog_database(home, snapshot, case):
    from desktop_app.catalog.doctor import check_catalog
    from desktop_app.sdk import use_catalog
    db = home / "catalog.db"
    before = snapshot(home)
    original = db.read_bytes()
    _damage(db, case)
    damaged = db.read_bytes() if db.is_file() else None
    for open_it in (lambda: Catalog(home), lambda: use_catalog(home), lambda: Catalog(home, read_only=True)):
        with pytest.raises(CatalogDamagedError) as e:
            c = open_it()
            # damage deeper in the file shows at the first read of it
            (getattr(c, "catalog", c))._db.scalar("SELECT COUNT(*) FROM annotations")
        msg = str(e.value)
        assert f"the catalog database {db} is damaged" in msg and DAMAGE_CASES[case] in msg, msg
        assert "doctor --repair" in msg and e.value.path == str(db)
    assert (db.read_bytes() if db.is_file() else None) == damaged          # not replaced, not "fixed" silently
    assert sorted(snapshot_store(home)) == before["store"]
    assert not check_catalog(home).ok
    shutil.rmtree(db) if db.is_dir() else db.unlink()                        # the user puts the good file back
    db.write_bytes(original)
    cat = Catalog(home)
    assert cat.integrity_check() == "ok"
    cat.close()
    assert snapshot(home) == before


def snapshot_store(home: Path) -> list[str]:
    store = home / "store"
    return [p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()]
