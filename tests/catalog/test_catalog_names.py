"""Names that become paths (catalog/names.py), literal name filters, and deleting a package with its models."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from desktop_app.catalog import housekeeping as hk
from desktop_app.catalog.names import MAX_NAME, check_name, contained, name_problem
from desktop_app.errors import UserError, ValidationError


@pytest.mark.parametrize("name", ["a.png", "train/cat 001.png", "é/ü.jpg", "..png", "a..b/c", ".hidden",
                                  "x" * 255, "/".join(["d"] * 400)])
def test_good_names_pass(name):
    assert name_problem(name) is None and check_name(name) == name


@pytest.mark.parametrize("name, why", [
    ("", "is empty"),
    ("../x.png", "'..' part"),
    ("a/../../x", "'..' part"),
    ("a/..", "'..' part"),
    ("./x.png", "'.' part"),
    ("a/./b", "'.' part"),
    ("a//b", "empty part"),
    ("a/", "empty part"),
    ("/etc/passwd", "absolute"),
    ("C:/Windows/x", "drive letter"),
    ("c:x", "drive letter"),
    ("a\\..\\b", "backslash"),
    ("a\x00b", "control character"),
    ("a\nb", "control character"),
    ("a\x85b", "control character"),
    ("x" * (MAX_NAME + 1), "over the limit"),
    ("é" * 128, "over 255 bytes"),
    (None, "must be a string"),
    (b"x.png", "must be a string"),
])
def test_bad_names_are_refused_naming_the_name_and_why(name, why):
    assert why in name_problem(name)
    with pytest.raises(ValidationError, match="artifact name") as e:
        check_name(name, "artifact name")
    assert why in str(e.value)


def test_contained_refuses_a_symlink_that_leads_out(tmp_path):
    root = tmp_path / "root"
    (root / "inside").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "out").symlink_to(tmp_path / "elsewhere")
    assert contained(root, "inside/a.png") == root / "inside" / "a.png"
    assert contained(root, "new/dir/a.png") == root / "new" / "dir" / "a.png"   # need not exist yet
    with pytest.raises(ValidationError, match="outside") as e:
        contained(root, "out/a.png", "item name")
    assert "'out/a.png'" in str(e.value)
    with pytest.raises(ValidationError, match="'..' part"):
        contained(root, "../root2/a.png")


# -- % and _ in filters are literal ---------------------------------------------------------------------

@pytest.fixture
def named_items(catalog, tmp_path):
    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    img = tmp_path / "img.png"
    Image.new("RGB", (8, 8)).save(img)
    names = ["100%/a.png", "100x/b.png", "cat_1.png", "catx1.png", "back\\slash.png", "plain.png",
             "sub_dir/c.png", "subxdir/d.png"]
    for n in names:
        (tmp_path / "src").mkdir(exist_ok=True)
        src = tmp_path / "src" / f"{len(os.listdir(tmp_path / 'src'))}.png"
        Image.new("RGB", (8, 8), (len(n), 0, 0)).save(src)
        if "\\" in n:   # a name no way in lets through today, as an older catalog may hold it
            catalog._db.conn.execute("INSERT INTO items (dataset_id, name, sha256, mimetype, width, height, "
                                    "created_at, updated_at) VALUES (?, ?, NULL, 'image/png', 8, 8, '', '')",
                                    (ds.id, n))
            catalog._db.conn.commit()
        else:
            catalog.add_item(ds.id, src, n)
    return catalog, ds


@pytest.mark.parametrize("text, expected", [
    ("%", ["100%/a.png"]),
    ("_", ["cat_1.png", "sub_dir/c.png"]),
    ("cat_", ["cat_1.png"]),
    ("0%/", ["100%/a.png"]),
    ("\\", ["back\\slash.png"]),
    ("PLAIN", ["plain.png"]),        # still case-insensitive, as before
])
def test_text_filter_matches_percent_underscore_and_backslash_literally(named_items, text, expected):
    catalog, ds = named_items
    assert sorted(i.name for i in catalog.list_items(ds.id, text=text)) == expected
    assert catalog.count_items(ds.id, text=text) == len(expected)


def test_dir_filter_is_literal(named_items):
    catalog, ds = named_items
    assert [i.name for i in catalog.list_items(ds.id, dir="/sub_dir")] == ["sub_dir/c.png"]
    assert [i.name for i in catalog.list_items(ds.id, dir="100%")] == ["100%/a.png"]


# -- item names at every way in -----------------------------------------------------------------------------

def test_add_item_and_import_bundle_refuse_escaping_names(catalog, tmp_path):
    from desktop_app.errors import FormatError
    from desktop_app.formats.base import DatasetBundle, ImageEntry

    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    img = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(img)
    with pytest.raises(ValidationError, match=r"item name '\.\./\.\./x\.png'"):
        catalog.add_item(ds.id, img, "../../x.png")
    bundle = DatasetBundle(items=[ImageEntry(source=img, name="ok.png", width=8, height=8),
                                  ImageEntry(source=img, name="a/\x1b[31mred.png", width=8, height=8)])
    with pytest.raises(FormatError, match="control character") as e:
        catalog.import_bundle(ds.id, bundle)
    assert e.value.entry == "item 1"
    assert catalog.count_items(ds.id) == 0 and list(catalog.store.iter_shas()) == []
    item = catalog.add_item(ds.id, img, "/dir/a.png")   # Dataloop's '/' is the dataset's root
    assert item.name == "dir/a.png"
    with pytest.raises(ValidationError, match="'..' part"):
        catalog.update_item(item.id, name="../a.png")


# -- a package's models go only when asked -------------------------------------------------------------------

def test_delete_package_refuses_while_models_exist(dl, tmp_path):
    cat = dl.default_client().catalog
    pkg = cat.get_package("resnet")
    n = len(cat.find_models(package_id=pkg.id))
    assert n == 2
    with pytest.raises(UserError, match=r"package 'resnet' has 2 models.*with_models=True"):
        cat.delete_package(pkg.id)
    with pytest.raises(UserError, match=r"package 'resnet' has 2 models.*with_models=True"):
        hk.delete_package(cat, pkg.id)
    assert len(cat.find_models(package_id=pkg.id)) == 2 and cat.get_package("resnet")


def test_delete_package_with_models_frees_their_files_and_says_what_went(dl, tmp_path):
    cat = dl.default_client().catalog
    base = dl.packages.get("resnet").models.get("pretrained-resnet")
    m = base.clone(model_name="mine")
    (tmp_path / "weights.pt").write_bytes(os.urandom(3000))
    m.artifacts.upload(tmp_path / "weights.pt")
    other = dl.packages.get("mobilenet").models.get("pretrained-mobilenet").clone(model_name="other")
    (tmp_path / "shared.bin").write_bytes(b"s" * 100)
    m.artifacts.upload(tmp_path / "shared.bin")
    other.artifacts.upload(tmp_path / "shared.bin")   # used by a model of another package: stays
    shared_sha = other.artifacts.get("shared.bin").sha256
    out = hk.delete_package(cat, base.package_id, with_models=True)
    assert out["package"] == "resnet"
    assert sorted(out["models"]) == ["mine", "pretrained-resnet", "pretrained-resnet50"]
    assert out["removed_files"] == 1 and out["freed_bytes"] == 3000
    assert cat.find_models(name="mine") == [] and cat.store.exists(shared_sha)
    assert [a.filename for a in cat.list_artifacts(other.id)] == ["shared.bin"]


def test_delete_package_refuses_while_a_model_is_busy(dl):
    cat = dl.default_client().catalog
    pkg = cat.get_package("mobilenet")
    m = cat.find_models(package_id=pkg.id)[0]
    cat.set_model_status(m.id, "training")
    with pytest.raises(UserError, match=r"'pretrained-mobilenet' is training"):
        hk.delete_package(cat, pkg.id, with_models=True)
    assert cat.find_models(package_id=pkg.id)


# -- restore: a backup's database is checked against the same rule ------------------------------------------

def test_restore_refuses_a_backup_holding_a_name_that_leads_out(catalog, tmp_path):
    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    img = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(img)
    item = catalog.add_item(ds.id, img, "a.png")
    good = hk.backup(catalog, tmp_path / "good.tar.gz")
    catalog._db.conn.execute("UPDATE items SET name = '../../../escaped.png' WHERE id = ?", (item.id,))
    catalog._db.conn.commit()
    bad = hk.backup(catalog, tmp_path / "bad.tar.gz")
    with pytest.raises(ValidationError, match=r"bad\.tar\.gz: entry model-desk-catalog/catalog\.db: items\.name of "
                                              rf"row {item.id} \('\.\./\.\./\.\./escaped\.png'\) holds a '\.\.' part"):
        hk.restore(bad, tmp_path / "restored")
    assert not (tmp_path / "restored").exists() and [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["empty"]
    again = hk.restore(good, tmp_path / "restored")
    assert again.find_item(ds.id, "a.png").id == item.id
    again.close()
