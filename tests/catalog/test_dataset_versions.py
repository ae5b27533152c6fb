"""Dataset versions: frozen by content (same data, same sha, one blob), listed newest first, diffed (items and
annotations, labels before and after), names checked, deleted versions' blobs freed unless shared."""

from __future__ import annotations

import json

import pytest

from desktop_app.catalog.dataset_versions import DatasetVersions, auto_name
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError
from desktop_app.formats.io import dataset_bundle


SUBSETS = ["train", "train", "train", "train", "validation", "validation", "test", None]


@pytest.fixture
def shapes(catalog, tmp_path):
    """A tiny dataset (8 one-colour images, a class and a box on all but the last) in an empty catalog."""
    from PIL import Image

    project = catalog.create_project("p")
    ds = catalog.create_dataset(project.id, "tiny", labels=["red", "blue"])
    catalog.create_dataset(project.id, "other")
    entries = []
    for i, subset in enumerate(SUBSETS):
        path = tmp_path / f"img_{i}.png"
        Image.new("RGB", (8, 6), (30 * i, 0, 255 - 30 * i)).save(path)
        label = "red" if i % 2 else "blue"
        anns = [] if subset is None else [Annotation(type="class", label=label),
                                          Annotation(type="box", label=label, coordinates=[1.0, 1.0, 5.5, 4.0])]
        entries.append(ImageEntry(source=path, name=("a/" if i < 3 else "") + f"img_{i}.png", width=8, height=6,
                                  subset=subset, annotations=anns))
    catalog.import_bundle(ds.id, DatasetBundle(labels=["red", "blue"], items=entries))
    return catalog, catalog.get_dataset(ds.id), DatasetVersions(catalog)


def test_a_snapshot_freezes_items_and_ground_truth_by_content(shapes):
    cat, ds, dv = shapes
    v1 = dv.snapshot(ds.id, "v1", description="before the fix", created_by="me")
    assert (v1.name, v1.description, v1.created_by) == ("v1", "before the fix", "me")
    n_items = cat.count_items(ds.id)
    n_gt = len(cat.list_annotations(dataset_id=ds.id, ground_truth=True))
    assert v1.counts["items"] == n_items and v1.counts["annotations"] == n_gt
    assert v1.counts["subsets"] == {k: v for k, v in cat.subset_counts(ds.id).items() if v}
    data = json.loads(cat.store.path(v1.sha).read_bytes())
    first = data["items"][0]
    item = cat.get_item(first["id"])
    assert (first["name"], first["sha256"], first["subset"], first["width"]) == (item.name, item.sha256, item.subset,
                                                                              item.width)
    box = next(a for a in first["annotations"] if a["type"] == "box")
    assert len(box["coordinates"]) == 4 and box["metadata"]["area"] > 0
    # The same data under another name: the same sha, one blob; nothing else in the row changes it.
    again = dv.snapshot(ds.id, "v1-again")
    assert again.sha == v1.sha and again.id != v1.id
    assert dv.read(ds.id).sha == v1.sha


def test_the_frozen_content_lays_out_as_the_live_data_does(shapes):
    cat, ds, dv = shapes
    frozen = dv.load(dv.snapshot(ds.id, "v1"))
    for f in ({}, {"subset": "train"}, {"subset": "train", "label": "red"}, {"text": "IMG_1"}, {"dir": "a"},
              {"item_ids": [3, 1, 2]}, {"has_annotations": False}, {"subset": "none"}, {"ann_type": "box"}):
        live = dataset_bundle(cat, ds.id, filters=f).items
        assert frozen.entries(cat, f) == live, f
    with pytest.raises(ValidationError, match="reviewed"):
        frozen.select({"reviewed": True})


def test_versions_are_listed_newest_first_and_found_by_name(shapes):
    cat, ds, dv = shapes
    for name in ("a", "b", "c"):
        dv.snapshot(ds.id, name)
    assert [v.name for v in dv.list(ds.id)] == ["c", "b", "a"]
    assert dv.get(ds.id, "b").name == "b"
    with pytest.raises(NotFoundError, match="no version named 'zz'.*c, b, a"):
        dv.get(ds.id, "zz")
    other = cat.get_dataset("other")
    assert dv.list(other.id) == []


def test_names_are_checked_and_a_taken_one_refused(shapes):
    cat, ds, dv = shapes
    dv.snapshot(ds.id, "v1")
    with pytest.raises(AlreadyExistsError, match="already has a version named 'v1'"):
        dv.snapshot(ds.id, "v1")
    for bad in ("", "../up", "a\x00b", "/abs"):
        with pytest.raises(ValidationError, match="dataset version name"):
            dv.snapshot(ds.id, bad)
    with pytest.raises(ValidationError, match="auto-"):
        dv.snapshot(ds.id, "auto-mine")
    # The same name in another dataset is another version.
    assert dv.snapshot(cat.get_dataset("other").id, "v1").name == "v1"


def test_diff_names_items_and_annotations_added_removed_and_changed(shapes):
    cat, ds, dv = shapes
    dv.snapshot(ds.id, "v1")
    items = cat.list_items(ds.id, limit=3)
    gt = cat.list_annotations(item_ids=[items[0].id], ground_truth=True)
    cls = next(a for a in gt if a.type == "class")
    fixed = next(x for x in ds.labels if x != cls.label)
    cat.update_annotation(cls.id, label=fixed)                       # a label fix
    box = next(a for a in gt if a.type == "box")
    cat.delete_annotation(box.id)
    [added] = cat.add_annotations(items[1].id, [Annotation(type="point", label=fixed, coordinates=[3.0, 4.0])])
    cat.set_subset([items[2].id], "test" if items[2].subset != "test" else "train")
    gone = cat.list_items(ds.id)[-1]
    gone_anns = [a.id for a in cat.list_annotations(item_ids=[gone.id], ground_truth=True)]
    cat.delete_items([gone.id])
    dv.snapshot(ds.id, "v2")
    d = dv.diff(ds.id, "v1", "v2")
    assert not d["same"] and d["a"] == "v1" and d["b"] == "v2"
    [changed] = d["annotations_changed"]
    assert (changed["id"], changed["before"], changed["after"], changed["fields"]) == (cls.id, cls.label, fixed,
                                                                                       ["label"])
    assert [a["id"] for a in d["annotations_removed"]] == sorted([box.id, *gone_anns])   # the item's go with it
    assert [a["id"] for a in d["annotations_added"]] == [added]
    assert [it["id"] for it in d["items_removed"]] == [gone.id]
    [moved] = d["items_changed"]
    assert moved["id"] == items[2].id and list(moved["changes"]) == ["subset"]
    assert d["counts"]["annotations_changed"] == 1 and d["counts"]["items_removed"] == 1
    assert d["counts"]["b"]["labels"][fixed] == d["counts"]["a"]["labels"][fixed] + 2
    # Against the live dataset: nothing since v2; v1 and v2 are the same data in the other order.
    assert dv.diff(ds.id, "v2")["same"] and dv.diff(ds.id, "v2", None)["b"] is None
    back = dv.diff(ds.id, "v2", "v1")
    assert back["annotations_changed"][0]["after"] == cls.label


def test_an_image_replaced_under_the_same_name_is_a_changed_item(shapes, tmp_path):
    cat, ds, dv = shapes
    dv.snapshot(ds.id, "v1")
    item = cat.list_items(ds.id, limit=1)[0]
    blob = tmp_path / "other.png"
    blob.write_bytes(cat.store.path(cat.list_items(ds.id, limit=2)[1].sha256).read_bytes())
    sha, _ = cat.store.put_file(blob)
    cat.update_item(item.id, sha256=sha)
    d = dv.diff(ds.id, "v1")
    assert [(c["id"], list(c["changes"])) for c in d["items_changed"]] == [(item.id, ["sha256"])]


def test_deleting_a_version_frees_its_blob_unless_another_shares_it(shapes):
    cat, ds, dv = shapes
    v1 = dv.snapshot(ds.id, "v1")
    dv.snapshot(ds.id, "same-data")
    dv.delete(ds.id, "v1")
    assert [v.name for v in dv.list(ds.id)] == ["same-data"]
    cat.garbage_collect()
    assert cat.store.exists(v1.sha)                   # "same-data" still holds it
    dv.delete(ds.id, "same-data")
    cat.garbage_collect()
    assert not cat.store.exists(v1.sha)
    with pytest.raises(NotFoundError):
        dv.delete(ds.id, "v1")


def test_the_automatic_version_is_reused_for_the_same_content(shapes):
    cat, ds, dv = shapes
    first = dv.auto(ds.id, created_by="training m")
    assert first.name == auto_name(first.sha) and first.created_by == "training m"
    assert dv.auto(ds.id).id == first.id
    named = dv.snapshot(ds.id, "mine", source=first.name)      # a name of the user's for the same content
    assert named.sha == first.sha
    a = cat.list_annotations(dataset_id=ds.id, ground_truth=True)[0]
    cat.update_annotation(a.id, label=next(x for x in ds.labels if x != a.label))
    second = dv.auto(ds.id)
    assert second.sha != first.sha and [v.name for v in dv.list(ds.id)][0] == second.name


def test_a_versions_images_outlive_their_items_until_the_version_goes(shapes):
    cat, ds, dv = shapes
    dv.snapshot(ds.id, "v1")
    gone = cat.list_items(ds.id)[0]
    cat.delete_items([gone.id])
    cat.garbage_collect()
    assert cat.store.exists(gone.sha256)              # the version still holds the image
    entries = dv.load(dv.get(ds.id, "v1")).entries(cat)    # a training on v1 finds every image
    assert gone.name in {e.name for e in entries} and all(e.source.exists() for e in entries)
    dv.delete(ds.id, "v1")
    cat.garbage_collect()
    assert not cat.store.exists(gone.sha256)          # nothing holds it now
