"""A damaged catalog database at start-up: a dialog naming the file and what to do, and the window carries on."""

from __future__ import annotations

import pytest


@pytest.fixture
def bare_window(qtbot, gui_settings):
    from desktop_app.gui.main_window import MainWindow
    w = MainWindow(gui_settings, jobs_interval=0.1, metrics_interval=0.1)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


@pytest.mark.parametrize("damage", ["empty", "garbage header", "garbage in the middle", "a run of pages"])
@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="could not open the catalog: .* is damaged")
def test_a_damaged_catalog_opens_a_dialog_not_a_crash(bare_window, qtbot, home, damage):
    db = home / "catalog.db"
    data = db.read_bytes()
    if damage == "empty":
        data = b""
    elif damage == "garbage header":
        data = b"\x5a" * 100 + data[100:]
    elif damage == "a run of pages":
        # 300 KB in the middle: pages of items and annotations only, which opening the window need not read;
        # the whole-file check at open finds them before the window shows a catalog that fails later.
        mid = len(data) // 2
        data = data[:mid] + bytes((i * 31 + 7) % 256 for i in range(300_000)) + data[mid + 300_000:]
    else:
        # Every page after the first few: the schema reads, the rows the start-up needs do not.
        data = data[:8192] + bytes((i * 7 + 3) % 256 for i in range(len(data) - 8192))
    db.write_bytes(data)
    w = bare_window
    w.open_catalog(home)
    qtbot.waitUntil(lambda: w.services.damaged_dialog is not None and w.services.damaged_dialog.isVisible(),
                    timeout=60_000)
    dlg = w.services.damaged_dialog
    text = dlg.text() + "\n" + dlg.informativeText()
    assert str(db) in text and "damaged" in text and "doctor --repair" in text
    assert w.client is None and w.isVisible()
    assert w.services.lock is None                      # released: another catalog can be opened
    if damage == "empty":
        assert db.stat().st_size == 0                   # not replaced by a new catalog
    dlg.accept()


def test_housekeeping_collects_a_killed_imports_temporary_files_but_not_while_one_writes(window, qtbot,
                                                                                          client, monkeypatch,
                                                                                          tmp_path):
    from PySide6.QtCore import Qt
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))
    cat = client.catalog
    dlg = window.services.open_housekeeping()
    qtbot.waitUntil(lambda: dlg.work is None, timeout=120_000)
    left = cat.store.tmp / "tmp-of-a-killed-import"
    left.write_bytes(b"x" * 2048)
    with cat.store.writing():                                   # an import is copying files right now
        qtbot.mouseClick(dlg.find_garbage_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.work is None, timeout=120_000)
        assert "Another process is writing into the store" in dlg.garbage_label.text()
        assert not dlg.collect_button.isEnabled() and left.exists()
    qtbot.mouseClick(dlg.find_garbage_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.work is None, timeout=120_000)
    assert dlg.garbage_label.text() == "1 unreferenced file(s) (1 left by interrupted writes): 2.0 KB in all"
    qtbot.mouseClick(dlg.collect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.work is None, timeout=120_000)
    assert "Deleted 1 unreferenced file(s)" in dlg.message.text() and not left.exists()
    dlg.close()
