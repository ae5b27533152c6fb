"""The window's bundle calls (gui.bundle_actions): export and import run off the GUI thread and hand back one line;
a refused bundle reaches the error callback and the navigator is not rebuilt."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.actions import Actions  # noqa: E402
from desktop_app.gui.bundle_actions import bundle_filename, export_bundle, import_bundle  # noqa: E402
from desktop_app.gui.notifications import ErrorHub  # noqa: E402
from desktop_app.gui.workers import TaskRunner  # noqa: E402
from desktop_app.sdk.client import Client  # noqa: E402

WAIT_MS = 30_000


def test_export_then_import_through_the_window_calls(qtbot, client, tmp_path):
    from PySide6.QtCore import QObject
    owner = QObject()
    model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="for a friend/v2")
    assert bundle_filename(model.name) == "for_a_friend_v2.mdbundle"
    actions = Actions(client, ErrorHub(), TaskRunner(owner), owner)
    lines, errors = [], []
    export_bundle(actions, model.id, tmp_path / "friend", lines.append, errors.append)
    qtbot.waitUntil(lambda: bool(lines or errors), timeout=WAIT_MS)
    assert not errors and lines[0].startswith("Exported for a friend/v2 to ")
    assert (tmp_path / "friend.mdbundle").is_file()

    other = Client(home=tmp_path / "other")
    try:
        theirs = Actions(other, ErrorHub(), TaskRunner(owner), owner)
        lines.clear()
        with qtbot.waitSignal(theirs.catalog_changed, timeout=WAIT_MS):
            import_bundle(theirs, tmp_path / "friend.mdbundle", None, lines.append, errors.append)
        qtbot.waitUntil(lambda: bool(lines or errors), timeout=WAIT_MS)
        assert not errors and "imported" in lines[0]
        assert other.models.get(model_id=model.id).name == "for a friend/v2"

        (tmp_path / "bad.mdbundle").write_bytes(b"not a zip")
        with qtbot.assertNotEmitted(theirs.catalog_changed, wait=100):
            import_bundle(theirs, tmp_path / "bad.mdbundle", None, lines.append, errors.append)
            qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
        assert "not a Model Desk bundle" in str(errors[0])
    finally:
        other.catalog.close()


def test_the_menus_export_a_selected_model_and_import_a_bundle(window, client, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    assert window.import_bundle_action.isEnabled() and not window.export_bundle_action.isEnabled()
    model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="shared")
    window.refresh_tree()
    window.navigate("model", model.id)
    qtbot.waitUntil(window.export_bundle_action.isEnabled, timeout=WAIT_MS)
    target = tmp_path / "shared.mdbundle"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_bundle_action.trigger()
    qtbot.waitUntil(target.is_file, timeout=WAIT_MS)
    # back into the same catalog: it is already there, said, nothing added
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    before = len(client.catalog.find_models())
    window.import_bundle_action.trigger()
    qtbot.waitUntil(lambda: "already" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert len(client.catalog.find_models()) == before
