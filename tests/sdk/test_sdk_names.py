"""The SDK keeps names inside their folders (artifacts, items, exports), filters literally, and deletes a
package's models only when asked."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from desktop_app.errors import UserError, ValidationError
from desktop_app.formats.base import Annotation


def _png(path, color=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 12), color).save(path)
    return path


def _legacy_row(cat, table, **values):
    """A row as an older catalog, or a restored backup, may hold it: no way in lets such a name through."""
    cols = ", ".join(values)
    cat._db.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(values))})",
                        list(values.values()))
    cat._db.conn.commit()


@pytest.mark.parametrize("name", ["../../x.pt", "/tmp/abs.pt", "a/../../b.pt", "C:/x.pt", "w\\..\\x.pt", "x\x00.pt"])
def test_artifact_upload_refuses_a_name_outside_the_model(dl, tmp_path, name):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="m")
    src = tmp_path / "w.pt"
    src.write_bytes(b"weights")
    shas = set(dl.default_client().catalog.store.iter_shas())
    with pytest.raises(ValidationError, match="artifact name"):
        m.artifacts.upload(src, artifact_name=name)
    assert m.artifacts.list() == [] and set(dl.default_client().catalog.store.iter_shas()) == shas
    m.artifacts.upload(src, artifact_name="sub/w.pt")
    assert [a.filename for a in m.artifacts.list()] == ["sub/w.pt"]


def test_artifact_download_refuses_a_stored_name_that_leads_out(dl, tmp_path):
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="m")
    (tmp_path / "good.pt").write_bytes(b"good")
    m.artifacts.upload(tmp_path / "good.pt")
    sha = m.artifacts.get("good.pt").sha256
    _legacy_row(cat, "artifacts", id="evil", model_id=m.id, filename="../../escaped.pt", sha256=sha, size=4,
                created_at="")
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(ValidationError, match=r"artifact name '\.\./\.\./escaped\.pt'"):
        m.artifacts.download(dest)
    assert not (tmp_path / "a" / "escaped.pt").exists() and not dest.exists()  # nothing written, not even good.pt
    cat._db.conn.execute("DELETE FROM artifacts WHERE id = 'evil'")
    cat._db.conn.commit()
    m.artifacts.download(dest)
    assert (dest / "good.pt").read_bytes() == b"good"


def test_artifact_download_refuses_a_symlink_out_of_the_folder(dl, tmp_path):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="m")
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "w.pt").write_bytes(b"w")
    m.artifacts.upload(tmp_path / "src")
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "victim").mkdir()
    (dest / "sub").symlink_to(tmp_path / "victim")
    with pytest.raises(ValidationError, match="outside"):
        m.artifacts.download(dest)
    assert list((tmp_path / "victim").iterdir()) == []


@pytest.mark.parametrize("remote_path", ["../../../x", "/a/../../b", "a//b", "dir/./x", "a\\b", "C:"])
def test_items_upload_refuses_a_remote_path_outside_the_dataset(dl, tmp_path, remote_path):
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d")
    img = _png(tmp_path / "a.png")
    with pytest.raises(ValidationError, match="item name"):
        ds.items.upload(img, remote_path=remote_path)
    folder = tmp_path / "folder"
    _png(folder / "b.png")
    with pytest.raises(ValidationError, match="item name"):
        ds.items.upload(folder, remote_path=remote_path)
    assert ds.items_count == 0
    assert ds.items.upload(img, remote_path="/ok/dir").name == "ok/dir/a.png"


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc", "dataloop", "imagefolder"])
def test_export_refuses_a_stored_item_name_that_leads_out(dl, tmp_path, fmt):
    cat = dl.default_client().catalog
    tmp_path = tmp_path / "work"   # beside the catalog folder
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d", labels=["cat"])
    item = ds.items.upload(_png(tmp_path / "a.png"))
    item.annotations.upload([dl.Classification("cat")] if fmt == "imagefolder" else [dl.Box(1, 1, 5, 5, "cat")])
    _legacy_row(cat, "items", dataset_id=ds.id, name="../../../escaped.png", sha256=cat.get_item(item.id).sha256,
                mimetype="image/png", width=16, height=12, created_at="", updated_at="")
    bad = cat.find_item(ds.id, "../../../escaped.png")
    cat.add_annotations(bad.id, [Annotation("class", "cat") if fmt == "imagefolder"
                                 else Annotation("box", "cat", [1, 1, 5, 5])])
    out = tmp_path / "deep" / "er" / "out"
    with pytest.raises(ValidationError, match=r"item name '\.\./\.\./\.\./escaped\.png'"):
        ds.export(out, fmt)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["a.png"]   # the source image only: nothing outside, no half export inside
    path = ds.export(out, fmt, filters={"id": item.id})
    assert any(p.is_file() for p in path.rglob("a.png"))


def test_filters_with_percent_and_underscore_are_literal(dl, tmp_path):
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d")
    for i, name in enumerate(["50%.png", "a_b.png", "axb.png", "plain.png"]):
        ds.items.upload(_png(tmp_path / name, (i * 40, 0, 0)))
    assert [i.name for i in ds.items.list(filters={"name": "%"})] == ["50%.png"]
    assert [i.name for i in ds.items.list(filters=dl.Filters(field="filename", values="a_b"))] == ["a_b.png"]
    assert ds.items.count(filters={"text": "_"}) == 1
    assert ds.items.list(filters={"name": "%%"}) == []


def test_package_delete_refuses_then_deletes_with_models_when_asked(dl, tmp_path):
    pkg = dl.packages.get(package_name="mobilenet")
    m = pkg.models.get("pretrained-mobilenet").clone(model_name="mine")
    (tmp_path / "w.pt").write_bytes(os.urandom(2048))
    m.artifacts.upload(tmp_path / "w.pt")
    with pytest.raises(UserError, match=r"package 'mobilenet' has 2 models.*with_models=True"):
        pkg.delete()
    with pytest.raises(UserError, match="with_models=True"):
        dl.packages.delete(package_name="mobilenet")
    assert {x.name for x in pkg.models.list()} == {"pretrained-mobilenet", "mine"}
    out = dl.packages.delete(package_name="mobilenet", with_models=True)
    assert out == {"package": "mobilenet", "models": ["pretrained-mobilenet", "mine"], "removed_files": 1,
                   "freed_bytes": 2048}
    assert "mobilenet" not in {p.name for p in dl.packages.list()}


def test_a_package_without_models_deletes_at_once(dl, tmp_path):
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "adapter.py").write_text(
        "import desktop_app.sdk as dl\n\nclass A(dl.BaseModelAdapter):\n"
        "    def load(self, local_path, **kw): pass\n    def save(self, local_path, **kw): pass\n"
        "    def train(self, data_path, output_path, **kw): pass\n    def predict(self, batch, **kw): return []\n")
    pkg = dl.packages.push(package_name="empty", src_path=src, entry_point="adapter.py")
    code = dl.default_client().catalog.get_package(pkg.id).codebase_sha
    out = pkg.delete()
    assert out["models"] == [] and out["removed_files"] == 1
    assert not dl.default_client().catalog.store.exists(code)
