"""Exporting from the catalog: progress, cancel and errors leave the destination as it was, merges, predictions."""

from __future__ import annotations

import json
import os

import pytest

from desktop_app import formats
from desktop_app.errors import FormatError, UserError
from desktop_app.formats.base import Annotation
from desktop_app.formats.export import STAGING_PREFIX, check_destination, staged, writer_kwargs
from desktop_app.formats.io import dataset_bundle, export_dataset


@pytest.fixture
def dataset(catalog, rich_bundle):
    """rich_bundle in a catalog dataset (its predictions come from 'm1'), plus a second model's predictions."""
    ds = catalog.create_dataset(catalog.create_project("p").id, "d", labels=rich_bundle.labels)
    ids = catalog.import_bundle(ds.id, rich_bundle)
    catalog.add_annotations(ids[0], [Annotation("box", "cat", [1.0, 1.0, 9.0, 9.0], score=0.9, model_name="m2")])
    return ds


def test_every_writer_reports_progress(int_box_bundle, tmp_path):
    n = len(int_box_bundle.items)
    for fmt in ("coco", "yolo", "voc", "dataloop"):
        seen: list[tuple[int, int]] = []
        formats.write(fmt, int_box_bundle, tmp_path / fmt, progress=lambda d, t: seen.append((d, t)))
        assert seen[0] == (1, n) and seen[-1] == (n, n), fmt
    # ImageFolder writes only class-labelled images: progress counts those.
    seen = []
    for it in int_box_bundle.items[:2]:
        it.annotations = [Annotation("class", "car")]
    formats.write("imagefolder", int_box_bundle, tmp_path / "if", progress=lambda d, t: seen.append((d, t)),
                  skip_unlabeled=True)
    assert seen[-1] == (2, 2)


def test_cancel_leaves_nothing_behind(catalog, dataset, tmp_path):
    out = tmp_path / "exports" / "new" / "deeper" / "coco"
    calls: list[int] = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(InterruptedError):
        export_dataset(catalog, dataset.id, out, "coco", cancelled=cancel_after_two)
    assert not (tmp_path / "exports").exists()        # the folders it made are gone too


def test_cancel_into_an_existing_folder_keeps_its_files(catalog, dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InterruptedError):
        export_dataset(catalog, dataset.id, out, "yolo", cancelled=lambda: True)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_failed_write_leaves_nothing_and_names_the_file(catalog, dataset, tmp_path):
    item = catalog.list_items(dataset.id)[2]
    blob = catalog.store.path(item.sha256)
    blob.unlink()
    with pytest.raises(FormatError) as e:
        export_dataset(catalog, dataset.id, tmp_path / "exports" / "voc", "voc")
    assert str(blob) in str(e.value) and item.name in str(e.value)
    assert not (tmp_path / "exports").exists()


def test_export_merges_into_a_non_empty_folder(catalog, dataset, tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "annotations.json").write_text("old")
    assert check_destination(out) is True
    path = export_dataset(catalog, dataset.id, out, "coco")
    assert path == out
    assert (out / "notes.txt").read_text() == "mine"
    doc = json.loads((out / "annotations.json").read_text())
    assert len(doc["images"]) == catalog.count_items(dataset.id)
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert len(formats.read("coco", out).items) == catalog.count_items(dataset.id)


def test_a_clash_is_refused_before_anything_moves(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "images").write_text("a file where a folder goes")
    with pytest.raises(UserError, match="in the way"):
        with staged(out) as tmp:
            (tmp / "images").mkdir()
            (tmp / "annotations.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["images"]


def test_destination_rules(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        check_destination(f)
    with pytest.raises(UserError, match="is a file"):
        check_destination(f / "below")
    assert check_destination(tmp_path / "new") is False
    (tmp_path / "empty").mkdir()
    assert check_destination(tmp_path / "empty") is False


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(UserError, match="no permission"):
            check_destination(ro / "out")
    finally:
        ro.chmod(0o755)


def test_predictions_of_one_model(catalog, dataset):
    def models(b):
        return {a.model_name for it in b.items for a in it.annotations}
    assert models(dataset_bundle(catalog, dataset.id)) == {None}
    assert models(dataset_bundle(catalog, dataset.id, include_predictions=True)) == {None, "m1", "m2"}
    assert models(dataset_bundle(catalog, dataset.id, include_predictions="m2")) == {None, "m2"}


def test_writer_kwargs_follow_the_format():
    assert writer_kwargs("coco", "m1") == {"include_scores": True, "include_predictions": "m1"}
    assert writer_kwargs("dataloop", "m1") == {"include_predictions": "m1"}
    assert writer_kwargs("imagefolder", "m1", {"skip_unlabeled": True, "include_classes": True}) == \
        {"skip_unlabeled": True}
    assert writer_kwargs("coco", None, {"include_classes": False}) == {"include_classes": False}


def test_scored_predictions_round_trip_through_coco(catalog, dataset, tmp_path):
    out = export_dataset(catalog, dataset.id, tmp_path / "c", "coco", **writer_kwargs("coco", "m2"))
    anns = json.loads((out / "annotations.json").read_text())["annotations"]
    assert [a["score"] for a in anns if "score" in a] == [0.9]


def test_a_large_selection_is_read_in_chunks(catalog, dataset, monkeypatch):
    from desktop_app.formats import io as fio
    picked = catalog.item_ids(dataset.id)[::-1]
    want = [it.name for it in catalog.list_items(dataset.id, item_ids=picked, subset="train")]
    monkeypatch.setattr(fio, "ID_CHUNK", 2)
    got = dataset_bundle(catalog, dataset.id, filters={"item_ids": picked, "subset": "train"})
    assert [it.name for it in got.items] == want and len(want) >= 2
