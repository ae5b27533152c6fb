"""The housekeeping dialog: space by kind, delete a model with its files, garbage collection, backup / restore."""

from __future__ import annotations

import os
import tarfile

import pytest
from PySide6.QtCore import Qt

WAIT_MS = 120_000


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))


def idle(qtbot, dlg):
    """The dialog's worker finished and its result was applied on the GUI thread."""
    qtbot.waitUntil(lambda: dlg.work is None, timeout=WAIT_MS)


@pytest.fixture
def dialog(window, qtbot):
    dlg = window.services.open_housekeeping()
    idle(qtbot, dlg)
    yield dlg
    idle(qtbot, dlg)
    dlg.close()


def model_with_weights(client, tmp_path, name: str, data: bytes):
    m = client.models.get("pretrained-resnet").clone(model_name=name)
    (tmp_path / f"{name}.pt").write_bytes(data)
    m.artifacts.upload(tmp_path / f"{name}.pt")
    return m


def rows(tree) -> dict[str, list[str]]:
    return {tree.topLevelItem(i).text(0): [tree.topLevelItem(i).text(c) for c in range(1, tree.columnCount())]
            for i in range(tree.topLevelItemCount())}


def test_sizes_by_kind_and_the_models(window, dialog, client):
    assert window.services.housekeeping_action.isEnabled()
    sizes = rows(dialog.sizes_tree)
    assert {"Images", "Model files", "Database", "Total"} <= set(sizes)
    assert sizes["Images"][0].endswith("MB") or sizes["Images"][0].endswith("KB")
    assert dialog.sizes_tree.topLevelItem(dialog.sizes_tree.topLevelItemCount() - 1).font(0).bold()
    models = rows(dialog.models_tree)
    assert models["pretrained-resnet"][0] == "pre-trained" and len(models) == len(client.catalog.find_models())
    assert not dialog.delete_button.isEnabled()   # nothing selected


def test_delete_a_model_with_its_files(window, dialog, client, qtbot, tmp_path):
    m = model_with_weights(client, tmp_path, "to-delete", os.urandom(5000))
    sha = client.catalog.list_artifacts(m.id)[0].sha256
    dialog.refresh()
    idle(qtbot, dialog)
    assert rows(dialog.models_tree)["to-delete"][1] == "4.9 KB"
    asked = []
    dialog.confirm = lambda title, text: asked.append(text) or False   # the user says no first
    assert dialog.select_model(m.id) and dialog.delete_button.isEnabled()
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert asked and "to-delete" in asked[0] and client.catalog.find_models(name="to-delete")
    dialog.confirm = lambda title, text: True
    with qtbot.waitSignal(dialog.catalog_changed, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert "Deleted to-delete: 1 file(s), 4.9 KB freed" in dialog.message.text()
    assert not client.catalog.find_models(name="to-delete")
    assert not client.catalog.store.path(sha).exists()
    assert client.catalog.garbage_collect(dry_run=True)["removed"] == 0          # no orphans left
    assert "to-delete" not in rows(dialog.models_tree)
    assert window.navigator.item_for("model", m.id) is None                      # the navigator followed


def test_a_busy_model_is_not_deleted(dialog, client, qtbot):
    mid = client.models.get("pretrained-resnet").clone(model_name="busy").id
    client.catalog.set_model_status(mid, "training")
    dialog.confirm = lambda title, text: pytest.fail("must not ask")
    assert dialog.delete_model(mid) is False
    assert "cancel the job first" in dialog.message.text()
    assert client.catalog.find_models(name="busy")


def test_garbage_collection_finds_then_deletes_unreferenced_files(dialog, client, qtbot):
    cat = client.catalog
    orphan = cat.store.put_bytes(b"left behind by a crash" * 100)
    assert not dialog.collect_button.isEnabled()
    qtbot.mouseClick(dialog.find_garbage_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert dialog.garbage_label.text() == "1 unreferenced file(s): 2.1 KB in all"
    assert cat.store.path(orphan).exists() and dialog.collect_button.isEnabled()   # a dry run first
    qtbot.mouseClick(dialog.collect_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert "Deleted 1 unreferenced file(s)" in dialog.message.text()
    assert not cat.store.path(orphan).exists()
    assert cat.count_items(cat.get_dataset("shapes").id) == 1000        # referenced files stay
    assert cat.garbage_collect(dry_run=True)["removed"] == 0 and not dialog.collect_button.isEnabled()


def test_backup_and_restore_round_trip_through_the_dialog(window, dialog, client, qtbot, tmp_path):
    model_with_weights(client, tmp_path, "kept", b"weights")
    steps = []
    archive = tmp_path / "backups" / "catalog"          # the dialog adds .tar.gz
    dialog.backup(archive)
    assert dialog.progress.isVisible() and not dialog.backup_button.isEnabled()   # busy while it works
    dialog.work.progress.connect(lambda done, total: steps.append((done, total)))
    idle(qtbot, dialog)
    archive = archive.with_name("catalog.tar.gz")
    assert archive.is_file() and "Backed up to" in dialog.message.text()
    assert steps and steps[-1][0] == steps[-1][1] and all(a[0] <= b[0] for a, b in zip(steps, steps[1:]))
    assert dialog.progress.isHidden() and dialog.backup_button.isEnabled()
    with tarfile.open(archive) as tar:
        assert all(n.startswith("model-desk-catalog/") for n in tar.getnames())    # relative paths only

    target = tmp_path / "other machine" / "catalog"
    dialog.restore(archive, target)
    idle(qtbot, dialog)
    n = len(client.catalog.find_models())
    assert f"Restored {n} model(s) into {target}" in dialog.message.text()
    from desktop_app.catalog import Catalog
    restored = Catalog(target)
    try:
        got = restored.find_models(name="kept")[0]
        assert restored.store.path(restored.list_artifacts(got.id)[0].sha256).read_bytes() == b"weights"
        assert restored.integrity_check() == "ok"
    finally:
        restored.close()
    # "Open the restored catalog" switches the window to it.
    assert dialog.open_restored_button.isVisible()
    with qtbot.waitSignal(window.catalog_ready, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.open_restored_button, Qt.MouseButton.LeftButton)
    assert window.client.catalog.home == target and window.services.lock is not None
    # Restoring into a folder that is not empty is refused with the message.
    dlg2 = window.services.open_housekeeping()
    idle(qtbot, dlg2)
    dlg2.restore(archive, target)
    idle(qtbot, dlg2)
    assert "is not empty; restore into a new folder" in dlg2.message.text()
    dlg2.close()


def test_an_archive_with_escaping_paths_is_refused(dialog, qtbot, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="model-desk-catalog/catalog.db")
        tar.add(payload, arcname="model-desk-catalog/../../escaped.txt")
    dialog.restore(evil, tmp_path / "target")
    idle(qtbot, dialog)
    assert "path outside the catalog folder" in dialog.message.text() and "refused" in dialog.message.text()
    assert "d64545" in dialog.message.styleSheet()                  # shown as an error
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "target").exists()
    assert dialog.open_restored_button.isHidden()


def test_garbage_collection_shows_and_frees_the_folders_finished_jobs_left(dialog, client, qtbot):
    from desktop_app.catalog import ExecutionStatus, scratch
    cat = client.catalog
    ex = cat.create_execution("train")
    cat.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
    cat.set_execution_status(ex.id, ExecutionStatus.SUCCESS)
    folder = scratch.execution_dir(cat, ex.id) / "output"
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(b"c" * 3000)
    qtbot.mouseClick(dialog.find_garbage_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert dialog.garbage_label.text() == "1 finished job folder(s) (2.9 KB): 2.9 KB in all"
    assert dialog.collect_button.isEnabled() and folder.is_dir()          # no unreferenced files, still offered
    qtbot.mouseClick(dialog.collect_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert "1 finished job folder(s)" in dialog.message.text()
    assert not scratch.execution_dir(cat, ex.id).exists()
