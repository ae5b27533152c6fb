"""What the window's dialogs and pages leave in app.log (issue 18): a backup and a restore (start, result, failure),
an import's and a split's failures, and a service that could not start (through the window's error hub)."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.errors import UserError  # noqa: E402

WAIT_MS = 120_000


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))


def _lines(caplog, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level and r.name.startswith("desktop_app")]


def test_backup_and_restore_are_logged_with_their_outcome(window, qtbot, client, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="desktop_app")
    dlg = window.services.open_housekeeping()
    qtbot.waitUntil(lambda: dlg.work is None, timeout=WAIT_MS)
    archive = tmp_path / "backup.tar.gz"
    dlg.backup(archive)
    qtbot.waitUntil(lambda: dlg.work is None, timeout=WAIT_MS)
    lines = _lines(caplog)
    assert any(f"backing up {client.catalog.home} to {archive}" in ln for ln in lines)
    assert any(f"Backed up to {archive}" in ln for ln in lines)
    target = tmp_path / "restored"
    dlg.restore(archive, target)
    qtbot.waitUntil(lambda: dlg.work is None, timeout=WAIT_MS)
    lines = _lines(caplog)
    assert any(f"restoring {archive} into {target}" in ln for ln in lines)
    assert any(f"restored {archive} into {target}" in ln and "model(s)" in ln for ln in lines)
    # a restore that fails: the failure names the task in app.log, as the dialog shows it
    caplog.clear()
    dlg.restore(archive, target)                     # not empty now
    qtbot.waitUntil(lambda: dlg.work is None, timeout=WAIT_MS)
    warned = _lines(caplog, logging.WARNING)
    assert any(f"the restore of {archive} into {target} failed" in ln and "not empty" in ln for ln in warned)
    assert "not empty" in dlg.message.text()
    dlg.close()


def test_import_and_split_failures_are_logged(window, qtbot, client, tmp_path, caplog, monkeypatch):
    from desktop_app.gui.dialogs.import_dialog import IMAGES, ImportDialog
    from desktop_app.gui.dialogs.split_dialog import SplitDialog
    caplog.set_level(logging.INFO, logger="desktop_app")
    ds = client.datasets.get("shapes")
    dlg = ImportDialog(client.catalog, ds.id)
    qtbot.addWidget(dlg)
    assert not dlg.start(tmp_path / "nope")          # refused before it starts
    assert any("refused" in ln and "nope" in ln for ln in _lines(caplog, logging.WARNING))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert dlg.start(empty, IMAGES)                  # fails in its worker: no images
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=WAIT_MS)
    assert any(f"import of {empty} into dataset {ds.id} failed" in ln and "no images" in ln
               for ln in _lines(caplog, logging.WARNING))

    def refuse(*_a, **_k):
        raise UserError("the dataset is locked by another import")
    monkeypatch.setattr(client.catalog, "split_subsets", refuse)
    split = SplitDialog(client.catalog, ds.id)
    qtbot.addWidget(split)
    split.ok_button.click()
    qtbot.waitUntil(lambda: not split.running, timeout=WAIT_MS)
    assert "locked" in split.message.text()
    assert any(f"split of dataset {ds.id} failed" in ln and "locked" in ln
               for ln in _lines(caplog, logging.WARNING))


def test_a_service_that_cannot_start_goes_through_the_error_hub(window, qtbot, client, caplog, monkeypatch,
                                                                 centroid_model):
    caplog.set_level(logging.INFO, logger="desktop_app")
    client.catalog.set_model_status(centroid_model.id, "trained")      # a model the page offers to serve
    assert window.open_project_page("services")
    page = window.pages.currentWidget()
    assert page.model_combo.count() > 0
    monkeypatch.setattr(window.actions, "start_service",
                        lambda model_id, done, failed, tasks=None: failed(UserError("no free port in 8600-8699")))
    seen = []
    window.hub.reported.connect(seen.append)
    page.start_selected()
    name = page.model_combo.currentText()
    assert seen and seen[-1].title == f"Could not start a service of {name}"
    assert "no free port" in seen[-1].message
    assert "no free port" in page.status.text()                          # still said on the page too
    assert any("Could not start a service" in ln for ln in _lines(caplog, logging.WARNING))
