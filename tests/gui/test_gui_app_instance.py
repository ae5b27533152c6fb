"""A second Model Desk on a catalog: asks (read-only by default), shows a badge, refuses writes with a message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtWidgets import QLabel

from desktop_app.catalog.lock import instance_lock

WAIT_MS = 60_000

HOLDER = textwrap.dedent("""
    import sys
    from desktop_app.catalog.lock import instance_lock
    lock = instance_lock(sys.argv[1])
    assert lock.acquire()
    print("held", flush=True)
    sys.stdin.readline()
""")


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))


@pytest.fixture
def other_instance(home):
    """Another running Model Desk process holding the catalog's instance lock."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(home)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.stdin.close()
    proc.wait(10)
    proc.stdout.close()


@pytest.fixture
def bare_window(qtbot, gui_settings):
    from desktop_app.gui.main_window import MainWindow
    w = MainWindow(gui_settings, jobs_interval=0.1, metrics_interval=0.1)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def open_and_wait(qtbot, window, home) -> None:
    with qtbot.waitSignal(window.catalog_ready, timeout=WAIT_MS):
        window.open_catalog(home)


def test_the_first_window_holds_the_lock_until_it_closes(bare_window, qtbot, home):
    open_and_wait(qtbot, bare_window, home)
    assert bare_window.services.lock is not None and not bare_window.client.catalog.read_only
    assert bare_window.services.triggers is not None            # pipelines' triggers run while it is open
    assert not instance_lock(home).acquire()                    # a second process would be refused
    assert bare_window.services.badge.isHidden()
    bare_window.shutdown()
    assert bare_window.services.triggers is None
    again = instance_lock(home)
    assert again.acquire()
    again.release()


def test_a_second_instance_opens_read_only_and_refuses_writes(bare_window, qtbot, home, other_instance,
                                                             tmp_path):
    w = bare_window
    asked = []
    w.services.ask_when_locked = lambda h, pid: asked.append((h, pid)) or "read_only"
    open_and_wait(qtbot, w, home)
    assert asked == [(home, other_instance.pid)]
    cat = w.client.catalog
    assert cat.read_only and w.services.lock is None and w.services.triggers is None
    assert w.services.badge.isVisible() and str(other_instance.pid) in w.services.badge.toolTip()
    assert w.windowTitle().endswith("(read-only)")
    assert w.navigator.topLevelItemCount() >= 1                 # everything can be looked at
    mid = cat.find_models(name="pretrained-resnet")[0].id
    w.navigate("model", mid)
    assert w.pages.model_page.title.text() == "pretrained-resnet"
    # Write actions show the UserError and the window carries on.
    assert w.actions.train(mid) is None
    assert w.notification.isVisible() and "read-only" in w.notification.label.text()
    assert w.actions.save_configuration(mid, {"epochs": 3}) is False
    assert "read-only" in w.notification.label.text()
    dlg = w.open_clone_dialog(mid)
    dlg.name.setText("not-allowed")
    assert dlg.clone() is None
    assert dlg.isVisible() and "read-only" in dlg.error.text()  # the clone dialog shows why
    dlg.reject()
    hk = w.services.open_housekeeping()
    qtbot.waitUntil(lambda: hk.work is None, timeout=WAIT_MS)
    assert "open read-only" in hk.findChild(QLabel, "where").text()
    hk.confirm = lambda *a: True
    clone_count = len(cat.find_models())
    hk.delete_model(mid)
    qtbot.waitUntil(lambda: hk.work is None, timeout=WAIT_MS)
    assert "read-only" in hk.message.text() and len(cat.find_models()) == clone_count
    hk.collect_garbage(dry_run=False)
    assert "read-only" in hk.message.text()
    hk.close()
    # Nothing was written: the catalog is intact for the window that holds it.
    from desktop_app.catalog import Catalog
    check = Catalog(home, read_only=True)
    assert check.integrity_check() == "ok" and not check.find_models(name="not-allowed")
    check.close()


def test_choose_another_catalog_or_quit(bare_window, qtbot, home, other_instance, tmp_path):
    w = bare_window
    w.services.ask_when_locked = lambda h, pid: "other"
    w.services.choose_other = lambda: ""                         # cancelled: nothing opens
    w.open_catalog(home)
    assert w.client is None and "No catalog" in w.pages.welcome.status.text()
    import shutil
    other = tmp_path / "second"
    shutil.copytree(home, other, ignore=shutil.ignore_patterns("instance.lock"))
    w.services.choose_other = lambda: str(other)
    open_and_wait(qtbot, w, home)
    assert w.client.catalog.home == other and not w.client.catalog.read_only and w.services.lock is not None
    w.services.ask_when_locked = lambda h, pid: "quit"
    w.open_catalog(home)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)


def test_the_dialog_defaults_to_read_only(qtbot, tmp_path):
    from desktop_app.gui.dialogs.instance_dialog import OTHER, QUIT, READ_ONLY, InstanceDialog
    dlg = InstanceDialog(tmp_path, 4242)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.read_only_button.isDefault()
    assert any("process 4242" in label.text() for label in dlg.findChildren(QLabel))
    dlg.reject()                                                # Escape / close box
    assert dlg.choice == READ_ONLY
    for button, choice in ((dlg.other_button, OTHER), (dlg.quit_button, QUIT), (dlg.read_only_button, READ_ONLY)):
        button.click()
        assert dlg.choice == choice


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_opens_read_only(bare_window, qtbot, home):
    home.chmod(0o555)
    try:
        open_and_wait(qtbot, bare_window, home)
        assert bare_window.client.catalog.read_only and bare_window.services.badge.isVisible()
        assert "read-only for this user" in bare_window.services.badge.toolTip()
    finally:
        home.chmod(0o755)
