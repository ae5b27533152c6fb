"""Export from the dataset page: what is written matches the catalog, the live count, cancel and bad destinations."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelection, QItemSelectionModel  # noqa: E402

from desktop_app import formats  # noqa: E402
from desktop_app.formats import io as fio  # noqa: E402
from desktop_app.formats.base import Annotation  # noqa: E402
from desktop_app.formats.export import STAGING_PREFIX  # noqa: E402
from desktop_app.gui.dialogs.export_dialog import ExportDialog  # noqa: E402
from desktop_app.gui.itemmodels.gallery_model import GalleryFilter  # noqa: E402
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def ds(client):
    return client.catalog.get_dataset("shapes-detection")


@pytest.fixture
def page(qtbot, client, ds):
    p = DatasetPage(client)
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    with qtbot.waitSignal(p.model.query_done, timeout=WAIT_MS):
        p.set_dataset(ds.id)
    yield p
    p.shutdown()


def open_dialog(qtbot, page, **choices) -> ExportDialog:
    """The page's dialog with `choices` made (as keys) and its item count settled."""
    dlg = page.export_dialog()
    with qtbot.waitSignal(dlg.count_done, timeout=WAIT_MS):
        pass                             # the first count is queued: it cannot have arrived yet
    if choices.get("scope") not in (None, dlg.scope_box.currentData()):
        with qtbot.waitSignal(dlg.count_done, timeout=WAIT_MS):
            dlg.choose(**choices)
    elif choices:
        dlg.choose(**choices)
    return dlg


def gt_labels(catalog, item_ids) -> Counter:
    return Counter(a.label for a in catalog.list_annotations(item_ids=item_ids, ground_truth=True))


def leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_coco_export_of_the_test_subset_equals_the_catalog(qtbot, monkeypatch, client, page, ds, tmp_path):
    cat = client.catalog
    seen: list[tuple[int, int]] = []
    real = fio.export_dataset

    def spied(*args, progress=None, **kw):      # records in the worker thread: no race with a late connect
        return real(*args, progress=lambda d, t: (seen.append((d, t)), progress(d, t)), **kw)

    monkeypatch.setattr(fio, "export_dataset", spied)
    test_ids = cat.item_ids(ds.id, subset="test")
    out = tmp_path / "coco"
    dlg = open_dialog(qtbot, page, fmt="coco", scope="subset:test", path=out)
    assert dlg.count == len(test_ids) == 150
    assert dlg.count_label.text() == "150 of 1,000 items will be exported"
    with qtbot.waitSignal(dlg.exported, timeout=WAIT_MS) as done:
        assert dlg.start()
    assert done.args == [str(out), 150] and seen[-1] == (150, 150)
    doc = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    want_names = sorted(it.name for it in cat.list_items(ds.id, subset="test"))
    assert sorted(im["file_name"] for im in doc["images"]) == want_names
    assert Counter(names[a["category_id"]] for a in doc["annotations"]) == gt_labels(cat, test_ids)
    assert len([p for p in (out / "images").rglob("*") if p.is_file()]) == 150
    # And it reads back into a new dataset as the same thing.
    copy = cat.create_dataset(ds.project_id, "test-copy")
    assert len(fio.import_dataset(cat, copy.id, out, "coco")) == 150
    assert cat.label_counts(copy.id) == dict(gt_labels(cat, test_ids))

    def boxes(anns):
        return sorted((a.type, a.label, tuple(round(v, 4) for v in a.box)) for a in anns)
    assert boxes(cat.list_annotations(dataset_id=copy.id)) == boxes(cat.list_annotations(item_ids=test_ids))
    assert leftovers(tmp_path) == []


def test_yolo_export_of_the_gallery_filter(qtbot, client, page, ds, tmp_path):
    cat = client.catalog
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.filters.set_filter(GalleryFilter(subset="validation", label="star"))
    want = cat.item_ids(ds.id, subset="validation", label="star")
    out = tmp_path / "yolo"
    dlg = open_dialog(qtbot, page, fmt="yolo", path=out)
    assert dlg.scope_box.currentData() == "gallery"                  # the default while the gallery is filtered
    assert "subset validation, label 'star'" in dlg.scope_box.currentText()
    assert dlg.count == len(want) > 0
    with qtbot.waitSignal(dlg.exported, timeout=WAIT_MS):
        assert dlg.start()
    back = formats.read("yolo", out)
    assert len(back.items) == len(want) and {it.subset for it in back.items} == {"validation"}
    assert Counter(a.label for it in back.items for a in it.annotations) == gt_labels(cat, want)
    assert "names:" in (out / "data.yaml").read_text()


def test_the_live_count_follows_the_choices(qtbot, client, page, ds):
    cat = client.catalog
    page.open_row(0)
    sm = page.gallery.selectionModel()
    sm.select(QItemSelection(page.model.index(0), page.model.index(4)), QItemSelectionModel.SelectionFlag.Select)
    dlg = open_dialog(qtbot, page)
    assert dlg.count == 1000 and dlg.count_label.text() == "1,000 items will be exported"
    for scope, n in (("subset:train", 700), ("subset:validation", 150), ("subset:none", 0), ("selected", 5),
                     ("all", 1000)):
        with qtbot.waitSignal(dlg.count_done, timeout=WAIT_MS) as b:
            dlg.choose(scope=scope)
        assert b.args == [n] == [dlg.count], scope
        assert dlg.export_button.isEnabled() == (n > 0)
    assert dlg.scope_box.findData("gallery") < 0           # the gallery shows everything: no such choice
    assert cat.count_items(ds.id) == 1000
    # No predictions on this dataset: the choice is there, switched off, and says why.
    qtbot.waitUntil(lambda: dlg.predictions_box.currentText() != "Loading…", timeout=WAIT_MS)
    assert not dlg.predictions_box.isEnabled() and "None stored" in dlg.predictions_box.currentText()
    dlg.choose(fmt="imagefolder")
    assert dlg.flag_boxes["imagefolder"]["skip_unlabeled"].isVisibleTo(dlg)
    assert not dlg.flag_boxes["coco"]["include_classes"].isVisibleTo(dlg)


def test_a_chosen_model_s_predictions_go_out_with_scores(qtbot, client, page, ds, tmp_path):
    cat = client.catalog
    first = cat.item_ids(ds.id, subset="test")[:2]
    for i in first:
        cat.add_annotations(i, [Annotation("box", "star", [1.0, 1.0, 8.0, 8.0], score=0.75, model_name="m-a")])
    cat.add_annotations(first[0], [Annotation("box", "circle", [2.0, 2.0, 9.0, 9.0], score=0.5, model_name="m-b")])
    out = tmp_path / "with-preds"
    dlg = open_dialog(qtbot, page, fmt="coco", scope="subset:test", path=out)
    qtbot.waitUntil(lambda: dlg.predictions_box.isEnabled(), timeout=WAIT_MS)
    assert [dlg.predictions_box.itemText(i) for i in range(dlg.predictions_box.count())] == [
        "None (ground truth only)", "m-a (2 predictions)", "m-b (1 predictions)"]
    dlg.choose(predictions="m-a")
    dlg.choose(fmt="imagefolder")
    assert not dlg.predictions_box.isEnabled() and dlg.predictions() is None    # ImageFolder cannot hold them
    assert dlg.predictions_box.currentText() == "None (ground truth only)"
    dlg.choose(fmt="coco", path=out)
    assert dlg.predictions() == "m-a"                                            # the choice comes back
    with qtbot.waitSignal(dlg.exported, timeout=WAIT_MS):
        assert dlg.start()
    anns = json.loads((out / "annotations.json").read_text())["annotations"]
    assert sorted(a["score"] for a in anns if "score" in a) == [0.75, 0.75]
    assert len(anns) == sum(gt_labels(cat, cat.item_ids(ds.id, subset="test")).values()) + 2


def test_cancel_leaves_nothing_behind(qtbot, monkeypatch, page, tmp_path):
    gate = threading.Event()
    real = fio.export_dataset

    def held_at_first_progress(*args, progress=None, **kw):
        # In the worker thread: report, then wait until the user has pressed Cancel (no sleeps, no races).
        def report(done, total):
            progress(done, total)
            gate.wait(WAIT_MS / 1000)
        return real(*args, progress=report, **kw)

    monkeypatch.setattr(fio, "export_dataset", held_at_first_progress)
    out = tmp_path / "new" / "voc"
    dlg = open_dialog(qtbot, page, fmt="voc", path=out)
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.progress.maximum() == 1000, timeout=WAIT_MS)
    assert dlg.state == "running" and 0 < dlg.progress.value() < 1000
    with qtbot.waitSignal(dlg.worker.cancelled, timeout=WAIT_MS):
        dlg.cancel_button.click()
        assert dlg.state == "cancelling" and dlg.worker.cancel_requested
        gate.set()
    assert dlg.state == "cancelled" and "nothing was written" in dlg.status.text() and str(out) in dlg.status.text()
    assert not (tmp_path / "new").exists()
    assert dlg.isVisible()                                           # stays open to say what happened


def test_a_file_as_destination_is_refused_up_front(qtbot, page, tmp_path):
    f = tmp_path / "not-a-folder.txt"
    f.write_text("x")
    dlg = open_dialog(qtbot, page, path=f)
    assert "is a file" in dlg.dest_hint.text()
    assert not dlg.start()
    assert dlg.state == "failed" and str(f) in dlg.status.text() and "is a file" in dlg.status.text()
    assert dlg.worker is None and f.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_a_read_only_folder_is_refused(qtbot, page, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        dlg = open_dialog(qtbot, page, path=ro / "out")
        assert not dlg.start()
        assert "no permission" in dlg.status.text() and str(ro) in dlg.status.text()
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_a_non_empty_folder_needs_a_yes(qtbot, monkeypatch, page, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    dlg = open_dialog(qtbot, page, fmt="dataloop", scope="subset:test", path=out)
    assert "holds files" in dlg.dest_hint.text()
    answers = [False, True]
    monkeypatch.setattr(ExportDialog, "confirm_merge", lambda self, p: answers.pop(0))
    assert not dlg.start() and dlg.worker is None
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with qtbot.waitSignal(dlg.exported, timeout=WAIT_MS):
        assert dlg.start()
    assert (out / "notes.txt").read_text() == "mine"
    assert len(list((out / "json").rglob("*.json"))) == 150 and leftovers(out) == []


def test_a_failed_export_names_the_file_and_leaves_nothing(qtbot, client, page, ds, tmp_path):
    item = client.catalog.list_items(ds.id, subset="test")[3]
    blob = client.catalog.store.path(item.sha256)
    blob.unlink()
    out = tmp_path / "exports" / "coco"
    dlg = open_dialog(qtbot, page, fmt="coco", scope="subset:test", path=out)
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=WAIT_MS)
    message = dlg.status.text()
    assert f"Nothing was written to {out}" in message and str(blob) in message and item.name in message
    assert not (tmp_path / "exports").exists()


def test_the_page_action_opens_the_dialog(qtbot, page):
    assert page.export_action.isEnabled()
    page.export_action.trigger()
    dlg = page.findChild(ExportDialog)
    assert dlg is not None and dlg.isVisible()
    with qtbot.waitSignal(dlg.count_done, timeout=WAIT_MS):
        pass
    dlg.reject()
