"""Import from the dataset page: progress, cancel (nothing imported), errors that name the file, drag and drop."""

from __future__ import annotations

import json
import threading

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from desktop_app import formats  # noqa: E402
from desktop_app.gui.dialogs import import_dialog  # noqa: E402
from desktop_app.gui.dialogs.import_dialog import IMAGES, ImportDialog, resolve_format  # noqa: E402
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from desktop_app.ml.sample_data import generate_shapes  # noqa: E402

WAIT_MS = 30_000
N = 12


@pytest.fixture(scope="module")
def coco_set(tmp_path_factory):
    """A small COCO detection set written by the formats package."""
    root = tmp_path_factory.mktemp("coco")
    bundle = generate_shapes(root / "src", kind="detection", n=N, size=48, seed=1)
    return formats.write("coco", bundle, root / "coco")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    generate_shapes(root, kind="classification", n=N, size=32, seed=2)
    return root


@pytest.fixture
def target(client):
    """An empty dataset in the sample project to import into."""
    project = client.catalog.get_project("Sample project")
    return client.catalog.create_dataset(project.id, "imported")


@pytest.fixture
def page(qtbot, client, target):
    p = DatasetPage(client)
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    with qtbot.waitSignal(p.model.query_done, timeout=WAIT_MS):
        p.set_dataset(target.id)
    yield p
    p.shutdown()


def test_format_detection_falls_back_to_plain_images(coco_set, image_folder):
    assert resolve_format(coco_set) == "coco"
    assert resolve_format(image_folder) == IMAGES
    assert resolve_format(image_folder, "voc") == "voc"      # what the user picks wins


def test_import_reports_progress_and_refreshes_the_page(qtbot, client, page, target, coco_set):
    dlg = page.import_dialog()
    seen: list[tuple[int, int]] = []
    done: list[int] = []
    dlg.imported.connect(done.append)
    with qtbot.waitSignals([dlg.imported, page.model.query_done], timeout=WAIT_MS):
        assert dlg.start(coco_set, "coco")
        dlg.worker.progressed.connect(lambda d, t: seen.append((d, t)))
    assert done == [N]                                  # and the dialog has closed itself
    assert seen and seen[-1] == (N, N)
    assert client.catalog.count_items(target.id) == N
    assert page.model.rowCount() == N
    assert client.catalog.label_counts(target.id)       # the annotations came too


@pytest.mark.parametrize("fmt, kind", [("yolo", "detection"), ("voc", "detection"),
                                       ("imagefolder", "classification"), ("dataloop", "detection")])
def test_every_other_format_is_recognised_and_imported_with_its_annotations(qtbot, client, page, target,
                                                                          tmp_path, fmt, kind):
    """YOLO, VOC, ImageFolder and Dataloop folders: detected from their layout, imported with the labels
    and annotation counts the formats package reads from the same folder."""
    bundle = generate_shapes(tmp_path / "src", kind=kind, n=N, size=48, seed=3)
    folder = formats.write(fmt, bundle, tmp_path / fmt)
    assert resolve_format(folder) == fmt
    want = formats.read(fmt, folder)
    want_counts: dict[str, int] = {}
    for item in want.items:
        for a in item.annotations:
            want_counts[a.label] = want_counts.get(a.label, 0) + 1
    dlg = page.import_dialog(folder)                        # nothing chosen: the dialog detects it
    with qtbot.waitSignals([dlg.imported, page.model.query_done], timeout=WAIT_MS):
        assert dlg.start()
    assert client.catalog.count_items(target.id) == N == page.model.rowCount()
    assert client.catalog.label_counts(target.id) == want_counts and want_counts


def test_plain_image_folder_imports_without_annotations(qtbot, client, page, target, image_folder):
    dlg = page.import_dialog(image_folder)
    with qtbot.waitSignal(dlg.imported, timeout=WAIT_MS) as blocker:
        dlg.start()
    assert blocker.args == [N]
    assert client.catalog.count_items(target.id) == N
    assert client.catalog.label_counts(target.id) == {}


def test_cancel_leaves_nothing_imported(qtbot, monkeypatch, client, page, target, coco_set):
    blobs_before = set(client.catalog.store.iter_shas())
    gate = threading.Event()
    real = import_dialog.run_import

    def held_at_first_progress(*args, progress=None, **kw):
        # In the worker thread: report, then wait until the user has pressed Cancel (no sleeps, no races).
        def report(done, total):
            progress(done, total)
            gate.wait(WAIT_MS / 1000)
        return real(*args, progress=report, **kw)

    monkeypatch.setattr(import_dialog, "run_import", held_at_first_progress)
    dlg = page.import_dialog()
    assert dlg.start(coco_set, "coco")
    qtbot.waitUntil(lambda: dlg.progress.maximum() == N, timeout=WAIT_MS)    # the bar shows the copy phase
    assert dlg.state == "running" and 0 < dlg.progress.value() < N
    with qtbot.waitSignal(dlg.worker.cancelled, timeout=WAIT_MS):
        dlg.cancel_button.click()
        assert dlg.state == "cancelling" and dlg.worker.cancel_requested
        gate.set()
    assert dlg.state == "cancelled" and "nothing was imported" in dlg.status.text()
    assert client.catalog.count_items(target.id) == 0
    assert set(client.catalog.store.iter_shas()) == blobs_before     # copied files were taken back
    assert dlg.isVisible()                                           # stays open to say what happened


def test_errors_name_the_file_and_import_nothing(qtbot, client, page, target, coco_set, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in coco_set.rglob("*"):
        if f.is_file():
            dest = bad / f.relative_to(coco_set)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.read_bytes())
    ann_file = next(bad.rglob("*.json"))
    doc = json.loads(ann_file.read_text())
    doc["annotations"][3]["bbox"] = [1, 2, -5, 4]           # negative width
    ann_file.write_text(json.dumps(doc))
    dlg = page.import_dialog()
    assert dlg.start(bad, "coco")
    # the import may fail before a waitSignal could connect: wait for the dialog's state instead
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=WAIT_MS)
    assert ann_file.name in dlg.status.text() and "annotation" in dlg.status.text()
    assert dlg.state == "failed" and "Nothing was imported" in dlg.status.text()
    assert ann_file.name in dlg.status.text()
    assert client.catalog.count_items(target.id) == 0


def test_missing_source_is_reported_before_starting(qtbot, page, tmp_path):
    dlg = page.import_dialog()
    assert not dlg.start(tmp_path / "nope")
    assert dlg.state == "failed" and "nope" in dlg.status.text()
    assert dlg.worker is None


def test_dropping_a_folder_on_the_page_imports_it(qtbot, client, page, target, coco_set):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(coco_set))])
    ev = QDropEvent(QPointF(QPoint(100, 100)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.dropEvent(ev)
        dlg = page.findChild(ImportDialog)
        assert dlg is not None and dlg.state == "running"
        assert dlg.wait(WAIT_MS)
    assert ev.isAccepted()
    assert client.catalog.count_items(target.id) == N == page.model.rowCount()
