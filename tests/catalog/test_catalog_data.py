"""Datasets, items and annotations: bulk import in one transaction, queries, review edits, concurrency."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry


def _images(tmp_path, n, size=(32, 24)):
    paths = []
    for i in range(n):
        p = tmp_path / f"img_{i:03d}.png"
        Image.new("RGB", size, (i * 7 % 255, 100, 50)).save(p)
        paths.append(p)
    return paths


def _bundle(paths, subset="train"):
    items = []
    for i, p in enumerate(paths):
        anns = [Annotation("box", "cat" if i % 2 else "dog", [1, 2, 11, 12]),
                Annotation("class", "cat" if i % 2 else "dog"),
                Annotation("segment", "dog", [[[0, 0], [10, 0], [10, 10], [0, 10]]])]
        items.append(ImageEntry(source=p, name=f"sub/{p.name}", width=32, height=24, subset=subset, annotations=anns))
    return DatasetBundle(labels=["dog", "cat"], items=items)


@pytest.fixture
def ds(catalog):
    p = catalog.create_project("p")
    return catalog.create_dataset(p.id, "d")


def test_import_copies_files_and_inserts_rows(catalog, ds, tmp_path):
    paths = _images(tmp_path, 6)
    ids = catalog.import_bundle(ds.id, _bundle(paths))
    assert len(ids) == 6
    assert catalog.count_items(ds.id) == 6
    assert catalog._db.scalar("SELECT COUNT(*) FROM annotations") == 18
    item = catalog.get_item(ids[0])
    assert catalog.item_path(item).read_bytes() == paths[0].read_bytes()
    assert catalog.get_dataset(ds.id).labels == ["dog", "cat"]
    box = catalog.list_annotations(item_ids=[ids[0]], types=["box"])[0]
    assert box.box == [1, 2, 11, 12] and box.area == 100 and box.coordinates is None
    poly = catalog.list_annotations(item_ids=[ids[0]], types=["segment"])[0]
    assert poly.compact_coordinates() == [[[0, 0], [10, 0], [10, 10], [0, 10]]] and poly.area == 100
    assert catalog.label_counts(ds.id) == {"dog": 3 + 3 + 6, "cat": 3 + 3}
    assert catalog.count_items(ds.id, label="cat") == 3
    assert catalog.count_items(ds.id, dir="sub") == 6 and catalog.count_items(ds.id, dir="other") == 0


def test_an_item_id_filter_past_sqlites_variable_limit(catalog, ds, tmp_path):
    ids = catalog.import_bundle(ds.id, _bundle(_images(tmp_path, 6)))
    many = [ids[4], ids[1]] + list(range(10**9, 10**9 + 40_000))      # 40,002 ids: more than 32,766 variables
    assert catalog.count_items(ds.id, item_ids=many) == 2
    assert [it.id for it in catalog.list_items(ds.id, item_ids=many)] == sorted([ids[4], ids[1]])
    assert catalog.item_ids(ds.id, item_ids=many, label="cat") == [i for i in (ids[1],)]   # other filters still apply
    assert catalog.count_items(ds.id, item_ids=[]) == 0


def test_a_stored_mask_gets_its_box_and_pixel_area(catalog, ds, tmp_path):
    import numpy as np

    from desktop_app.domain.masks import encode
    [item] = catalog.import_bundle(ds.id, _bundle(_images(tmp_path, 1)))
    m = np.zeros((24, 32), bool)
    m[3:9, 5:15] = True                               # 6 rows x 10 columns
    m[20, 30] = True
    catalog.add_annotations(item, [Annotation("binary", "dog", encode(m)),
                                   Annotation("binary", "cat", encode(np.zeros((24, 32), bool)))])
    mask, empty = catalog.list_annotations(item_ids=[item], types=["binary"])
    assert (mask.left, mask.top, mask.right, mask.bottom, mask.area) == (5, 3, 31, 21, 61)
    assert empty.area == 0 and empty.left is None


def test_a_bad_entry_imports_nothing_and_leaves_no_files(catalog, ds, tmp_path):
    paths = _images(tmp_path, 5)
    bundle = _bundle(paths)
    bundle.items[-1].annotations.append(Annotation("box", "cat", [10, 10, 5, 5]))  # negative size
    with pytest.raises(FormatError) as err:
        catalog.import_bundle(ds.id, bundle)
    assert "img_004.png" in str(err.value) and "annotation 3" in str(err.value)
    assert catalog.count_items(ds.id) == 0
    assert list(catalog.store.iter_shas()) == []


def test_a_failure_after_files_were_copied_removes_them_again(catalog, ds, tmp_path):
    paths = _images(tmp_path, 4)
    bundle = _bundle(paths)
    bundle.items[2].source = tmp_path / "gone.png"  # discovered while copying
    with pytest.raises(FormatError, match="gone.png"):
        catalog.import_bundle(ds.id, bundle)
    assert catalog.count_items(ds.id) == 0
    assert list(catalog.store.iter_shas()) == []


def test_duplicate_names_are_refused_naming_the_file(catalog, ds, tmp_path):
    paths = _images(tmp_path, 3)
    bundle = _bundle(paths)
    bundle.items[2].name = bundle.items[0].name
    with pytest.raises(FormatError, match="duplicate file name 'sub/img_000.png'"):
        catalog.import_bundle(ds.id, bundle)
    catalog.import_bundle(ds.id, _bundle(paths[:1]))
    with pytest.raises(FormatError, match="already has an item named 'sub/img_000.png'"):
        catalog.import_bundle(ds.id, _bundle(paths[:2]))
    assert catalog.count_items(ds.id) == 1


def test_split_subsets_is_deterministic_and_complete(catalog, ds, tmp_path):
    catalog.import_bundle(ds.id, _bundle(_images(tmp_path, 20), subset=None))
    counts = catalog.split_subsets(ds.id, {"train": 70, "validation": 15, "test": 15}, seed=3)
    assert counts == {"train": 14, "validation": 3, "test": 3}
    first = {i.id: i.subset for i in catalog.list_items(ds.id)}
    catalog.split_subsets(ds.id, {"train": 70, "validation": 15, "test": 15}, seed=3)
    assert {i.id: i.subset for i in catalog.list_items(ds.id)} == first
    assert catalog.subset_counts(ds.id) == {"train": 14, "validation": 3, "test": 3}
    with pytest.raises(ValidationError, match="sum to 100"):
        catalog.split_subsets(ds.id, {"train": 50, "test": 20})
    with pytest.raises(ValidationError, match="unknown subset"):
        catalog.split_subsets(ds.id, {"train": 50, "holdout": 50})


def test_items_with_label_above_confidence_uses_predictions(catalog, ds, tmp_path):
    ids = catalog.import_bundle(ds.id, _bundle(_images(tmp_path, 4)))
    model_preds = {ids[0]: [Annotation("box", "cat", [0, 0, 5, 5], score=0.9)],
                   ids[1]: [Annotation("box", "cat", [0, 0, 5, 5], score=0.3)],
                   ids[2]: [Annotation("box", "dog", [0, 0, 5, 5], score=0.95)]}
    p = catalog.get_project("p")
    pkg = catalog.create_package("pkg")
    m = catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    assert catalog.replace_predictions(m.id, "m", model_preds, ds.id) == 3
    assert catalog.items_with_label_above(ds.id, "cat", 0.5) == [ids[0]]
    assert sorted(catalog.items_with_label_above(ds.id, "cat", 0.1)) == [ids[0], ids[1]]
    # Ground truth has no score and never matches.
    assert catalog.items_with_label_above(ds.id, "dog", 0.0) == [ids[2]]
    plan = " ".join(r[3] for r in catalog._db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT DISTINCT item_id FROM annotations WHERE dataset_id = ? AND label = ? "
        "AND score > ?", (ds.id, "cat", 0.5)).fetchall())
    assert "COVERING INDEX idx_ann_label_score" in plan
    # New predictions replace the model's earlier ones on those items only.
    catalog.replace_predictions(m.id, "m", {ids[0]: []}, ds.id)
    assert catalog.items_with_label_above(ds.id, "cat", 0.1) == [ids[1]]


def test_review_edits_are_logged_and_undoable(catalog, ds, tmp_path):
    ids = catalog.import_bundle(ds.id, _bundle(_images(tmp_path, 1)))
    box = catalog.list_annotations(item_ids=ids, types=["box"])[0]
    updated = catalog.update_annotation(box.id, who="ann", label="cat", coordinates=[2, 2, 20, 20])
    assert updated.label == "cat" and updated.box == [2, 2, 20, 20] and updated.area == 324
    assert catalog.get_item(ids[0]).reviewed == 1
    deleted = catalog.delete_annotation(box.id, who="ann")
    changes = catalog.annotation_changes(item_id=ids[0])
    assert [c.action for c in changes] == ["update", "delete"]
    assert changes[0].before["label"] == "dog" and changes[0].after["label"] == "cat"
    assert changes[0].who == "ann" and changes[0].at
    new_id = catalog.restore_annotation(changes[1].before, who="ann")
    assert new_id == deleted.id
    assert catalog.get_annotation(new_id).box == [2, 2, 20, 20]
    with pytest.raises(ValidationError, match="negative size"):
        catalog.update_annotation(box.id, coordinates=[5, 5, 1, 1])
    assert catalog.get_annotation(box.id).box == [2, 2, 20, 20]


WRITER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from desktop_app.catalog import Catalog
    from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
    home, mode, ident = sys.argv[1], sys.argv[2], sys.argv[3]
    cat = Catalog(home)
    if mode == "metrics":
        m = cat.find_models(name="m")[0]
        for i in range(300):
            cat.add_metric_samples(m.id, [{"figure": "loss", "legend": ident, "x": i, "y": 1.0}])
    else:
        ds = cat.list_datasets()[0]
        for k in range(30):
            items = [ImageEntry(source=None, name=f"{ident}/{k}/{j}.png", width=8, height=8,
                                annotations=[Annotation("box", "a", [0, 0, 1, 1])] * 50) for j in range(40)]
            cat.import_bundle(ds.id, DatasetBundle(items=items))
    print("ok")
''')


def test_two_processes_writing_at_once_never_see_database_locked(catalog, ds):
    p = catalog.get_project("p")
    pkg = catalog.create_package("pkg")
    catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(catalog.home), mode, ident],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for mode, ident in (("metrics", "a"), ("import", "b"), ("metrics", "c"), ("import", "d"))]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "locked" not in err
    assert catalog._db.scalar("SELECT COUNT(*) FROM metrics") == 600
    assert catalog.count_items(ds.id) == 2 * 30 * 40
    assert catalog._db.scalar("SELECT COUNT(*) FROM annotations") == 2 * 30 * 40 * 50
    assert catalog.integrity_check() == "ok"
