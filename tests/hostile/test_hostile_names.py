"""Hostile names: artifact names, item names through every way in, export writes, and filters with % and _.

Each case asserts the app's own error (or, for filters, a literal match), a message naming the name / file /
entry, that nothing was written (catalog rows, store files, and no file outside the folders), and that the
next good call works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats.base import Annotation


@pytest.fixture
def lab(tmp_path):
    """A small catalog (built-in packages, no sample images), a dataset 'd' and a model 'm'."""
    from desktop_app.catalog import Catalog
    from desktop_app.sdk.client import Client

    client = Client(Catalog(tmp_path / "catalog"))
    project = client.projects.create(project_name="p")
    ds = project.datasets.create(dataset_name="d", labels=["cat"])
    model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="m",
                                                                               project_id=project.id)
    work = tmp_path / "work"
    work.mkdir()
    yield client, ds, model, work
    client.catalog.close()


def _png(path: Path, w: int = 16, h: int = 12, color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), color).save(path)
    return path


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# -- artifact names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, why", [
    ("../../escaped.pt", "'..' part"),
    ("/tmp/escaped.pt", "absolute path"),
    ("weights\\..\\..\\escaped.pt", "backslash"),
    ("escaped\x00.pt", "control character"),
    ("C:/escaped.pt", "drive letter"),
])
def test_artifact_upload(snapshot, lab, name, why):
    client, _, model, work = lab
    src = work / "w.pt"
    src.write_bytes(b"weights")
    before, outside = snapshot(client), _files(work.parent)
    with pytest.raises(ValidationError, match=why) as e:
        model.artifacts.upload(src, artifact_name=name)
    assert f"artifact name {name!r}" in str(e.value)
    assert snapshot(client) == before and _files(work.parent) == outside
    assert model.artifacts.upload(src, artifact_name="ok/w.pt")[0].filename == "ok/w.pt"


def test_artifact_upload_of_a_folder_holding_a_hostile_file_name(snapshot, lab):
    client, _, model, work = lab
    (work / "out").mkdir()
    (work / "out" / "good.pt").write_bytes(b"g")
    (work / "out" / "bad\nname.pt").write_bytes(b"b")
    before = snapshot(client)
    with pytest.raises(ValidationError, match=r"artifact name 'bad\\nname.pt' holds the control character"):
        model.artifacts.upload(work / "out")
    assert snapshot(client) == before   # not even good.pt: names are checked before anything is stored
    (work / "out" / "bad\nname.pt").unlink()
    assert [a.filename for a in model.artifacts.upload(work / "out")] == ["good.pt"]


@pytest.mark.parametrize("stored", ["../../escaped.pt", "ABSOLUTE"])
def test_artifact_download_of_a_stored_name_that_leads_out(snapshot, lab, stored):
    client, _, model, work = lab
    if stored == "ABSOLUTE":
        stored = str(work.parent / "abs-escaped.pt")
    (work / "w.pt").write_bytes(b"w")
    sha = model.artifacts.upload(work / "w.pt")[0].sha256
    cat = client.catalog
    cat._db.conn.execute("INSERT INTO artifacts (id, model_id, filename, sha256, size, created_at) "
                        "VALUES ('legacy', ?, ?, ?, 1, '')", (model.id, stored, sha))   # a restored backup's row
    cat._db.conn.commit()
    dest = work / "a" / "b" / "dest"
    before, outside = snapshot(client), _files(work.parent)
    with pytest.raises(ValidationError, match=f"artifact name {stored!r}"):
        model.artifacts.download(dest)
    assert snapshot(client) == before and _files(work.parent) == outside and not dest.exists()
    model.artifacts.delete(stored)
    assert (model.artifacts.download(dest) / "w.pt").read_bytes() == b"w"


# -- item names: items.upload, add_item --------------------------------------------------------------------

@pytest.mark.parametrize("remote_path, why", [
    ("../../../escaped", "'..' part"),
    ("/a/../../b", "'..' part"),
    ("a//b", "empty part"),
    ("C:", "drive letter"),
    ("dir\\sub", "backslash"),
    ("\ud800", "lone surrogate"),          # once a UnicodeEncodeError traceback from the name check itself
])
def test_items_upload(snapshot, lab, remote_path, why):
    client, ds, _, work = lab
    img = _png(work / "a.png")
    before, outside = snapshot(client), _files(work.parent)
    with pytest.raises(ValidationError, match=why) as e:
        ds.items.upload(img, remote_path=remote_path)
    assert "item name" in str(e.value) and "a.png" in str(e.value)
    assert snapshot(client) == before and _files(work.parent) == outside
    assert ds.items.upload(img, remote_path="/fine").name == "fine/a.png"


@pytest.mark.parametrize("name, why", [("../x.png", "'..' part"), ("x\x1b[2J.png", "control character")])
def test_catalog_add_item(snapshot, lab, name, why):
    client, ds, _, work = lab
    img = _png(work / "a.png")
    before = snapshot(client)
    with pytest.raises(ValidationError, match=why) as e:
        client.catalog.add_item(ds.id, img, name)
    assert repr(name) in str(e.value)
    assert snapshot(client) == before
    assert client.catalog.add_item(ds.id, img, "x.png").name == "x.png"


# -- item names: importers (a crafted file, and the same attack in reverse: reading outside) ------------------

def _coco(root: Path, file_name: str) -> Path:
    _png(root / "images" / "a.png")
    _png(root / "images" / "b.png")
    doc = {"images": [{"id": 1, "file_name": "a.png"}, {"id": 7, "file_name": file_name}],
           "annotations": [], "categories": [{"id": 1, "name": "cat"}]}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root / "annotations.json"


def _voc(root: Path, filename: str) -> Path:
    (root / "Annotations").mkdir(parents=True)
    _png(root / "JPEGImages" / "b.png")
    (root / "Annotations" / "a.xml").write_text(f"<annotation><filename>{filename}</filename></annotation>")
    return root / "Annotations" / "a.xml"


def _dataloop(root: Path, filename: str) -> Path:
    _png(root / "items" / "b.png")
    (root / "json").mkdir(parents=True)
    (root / "json" / "a.json").write_text(json.dumps({"filename": filename, "annotations": []}))
    return root / "json" / "a.json"


def _imagefolder(root: Path, filename: str) -> Path:
    _png(root / "cat" / "ok.png")
    return _png(root / "cat" / filename)


def _yolo(root: Path, filename: str) -> Path:
    (root).mkdir(parents=True)
    (root / "data.yaml").write_text("names: [cat]\n")
    _png(root / "images" / "train" / "ok.png")
    return _png(root / "images" / "train" / filename)


@pytest.mark.parametrize("fmt, make, crafted, entry, why", [
    ("coco", _coco, "../../../etc/passwd", "image id 7", "inside the dataset"),
    ("coco", _coco, "OUTSIDE", "image id 7", "outside the dataset folders"),    # an absolute path elsewhere
    ("coco", _coco, "a\x07bell.png", "image id 7", "control character"),
    ("voc", _voc, "../../outside.png", "<filename>", "inside the dataset"),
    ("dataloop", _dataloop, "/../../outside.png", "filename", "inside the dataset"),
    ("dataloop", _dataloop, "/dir/a\rb.png", "filename", "control character"),
    ("imagefolder", _imagefolder, "new\nline.png", "item 0", "control character"),   # read from disk, refused
    ("yolo", _yolo, "tab\tname.png", "item 1", "control character"),                 # as it goes in
])
def test_importers(snapshot, lab, fmt, make, crafted, entry, why):
    client, ds, _, work = lab
    outside = _png(work / "outside.png", color=(1, 2, 3))      # a real image beside the set: never read in
    if crafted == "OUTSIDE":
        crafted = str(outside)
    bad_file = make(work / "set", crafted)
    before, files = snapshot(client), _files(work.parent)
    with pytest.raises(FormatError, match=why) as e:
        ds.import_from(work / "set", fmt)
    assert e.value.file == str(bad_file) and e.value.entry == entry
    assert snapshot(client) == before and _files(work.parent) == files
    make(work / "good", "b.png" if fmt != "dataloop" else "/b.png")
    assert len(ds.import_from(work / "good", fmt)) >= 1


# -- export writes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc", "dataloop", "imagefolder"])
def test_export_of_a_stored_name_that_leads_out(snapshot, lab, fmt):
    client, ds, _, work = lab
    cat = client.catalog
    good = ds.items.upload(_png(work / "src" / "a.png"))
    ann = Annotation("class", "cat") if fmt == "imagefolder" else Annotation("box", "cat", [1, 1, 6, 6])
    cat.add_annotations(good.id, [ann])
    cat._db.conn.execute("INSERT INTO items (dataset_id, name, sha256, mimetype, width, height, created_at, "
                        "updated_at) VALUES (?, '../../../escaped.png', ?, 'image/png', 16, 12, '', '')",
                        (ds.id, cat.get_item(good.id).sha256))     # as a restored backup may hold it
    cat._db.conn.commit()
    cat.add_annotations(cat.find_item(ds.id, "../../../escaped.png").id, [ann])
    out = work / "x" / "y" / "out"
    before, files = snapshot(client), _files(work.parent)
    with pytest.raises(ValidationError, match=r"item name '\.\./\.\./\.\./escaped\.png' holds a '\.\.' part"):
        ds.export(out, fmt)
    assert snapshot(client) == before and _files(work.parent) == files and not (work / "x").exists()
    path = ds.export(out, fmt, filters={"id": good.id})
    assert [p.name for p in path.rglob("a.png")] == ["a.png"]


# -- filters: % and _ are literal -----------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, expected", [
    ("name", "%", ["100%.png"]),
    ("filename", "_", ["a_b.png", "sub_dir/c.png"]),
    ("text", "a_", ["a_b.png"]),
    ("dir", "/sub_dir", ["sub_dir/c.png"]),
])
def test_filters_match_literally(snapshot, lab, field, value, expected):
    client, ds, _, work = lab
    for i, n in enumerate(["100%.png", "a_b.png", "axb.png", "1000.png"]):
        ds.items.upload(_png(work / n, color=(i * 50, 0, 0)))
    for i, n in enumerate(["c.png", "d.png"]):
        ds.items.upload(_png(work / "s" / n, color=(0, i * 50, 0)), remote_path=["sub_dir", "subxdir"][i])
    before = snapshot(client)
    assert sorted(i.name for i in ds.items.list(filters={field: value})) == expected
    assert ds.items.count(filters={field: value}) == len(expected)
    assert snapshot(client) == before
    assert ds.items.count(filters={"name": "png"}) == 6


# -- restore: a backup's database holding a hostile name -------------------------------------------------------

@pytest.mark.parametrize("table, column, value", [("items", "name", "a.png"), ("artifacts", "filename", "w.pt")])
def test_restore_of_a_backup_holding_a_hostile_name(snapshot, lab, table, column, value):
    from desktop_app.catalog import housekeeping as hk

    client, ds, model, work = lab
    cat = client.catalog
    ds.items.upload(_png(work / "a.png"))
    (work / "w.pt").write_bytes(b"w")
    model.artifacts.upload(work / "w.pt")
    good = hk.backup(cat, work / "good.tar.gz")
    cat._db.conn.execute(f"UPDATE {table} SET {column} = '../../../escaped' WHERE {column} = ?", (value,))
    cat._db.conn.commit()
    bad = hk.backup(cat, work / "bad.tar.gz")
    before, files = snapshot(client), _files(work.parent)
    with pytest.raises(ValidationError, match=rf"bad\.tar\.gz: entry model-desk-catalog/catalog\.db: {table}\.{column} "
                                              r"of row \S+ \('\.\./\.\./\.\./escaped'\) holds a '\.\.' part"):
        hk.restore(bad, work / "restored")
    assert snapshot(client) == before and _files(work.parent) == files and not (work / "restored").exists()
    restored = hk.restore(good, work / "restored")
    assert restored.find_item(ds.id, "a.png") and [a.filename for a in restored.list_artifacts(model.id)] == ["w.pt"]
    restored.close()
