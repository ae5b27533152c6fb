"""Uncaught exceptions: a dialog with the message, the log file and "Copy details"; the app carries on."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))


@pytest.fixture
def reporter(window):
    from desktop_app.gui.app import install_excepthook
    r = install_excepthook(window)
    yield r
    r.uninstall()
    if r.dialog is not None:
        r.dialog.close()


def boom() -> None:
    raise ZeroDivisionError("the slot divided by zero")


@pytest.mark.qt_no_exception_capture
@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="^uncaught exception$")
def test_an_exception_in_a_slot_shows_the_dialog_and_the_app_carries_on(window, reporter, qtbot, client,
                                                                       model_named):
    QTimer.singleShot(0, boom)   # raised inside Qt's event loop, as a buggy slot would
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=5000)
    dlg = reporter.dialog
    assert "ZeroDivisionError: the slot divided by zero" in dlg.message.text()
    log_file = client.catalog.home / "logs" / "app.log"
    assert dlg.log_label.text() == f"Log file: {log_file}"
    assert "the slot divided by zero" in log_file.read_text() and "Traceback" in log_file.read_text()
    assert "carries on" in dlg.carry_on.text()
    dlg.copy_button.click()
    copied = QApplication.clipboard().text()
    assert "Traceback" in copied and "in boom" in copied and "torch:" in copied and "Model Desk:" in copied
    assert dlg.copied.text() == "Copied to the clipboard."
    # The window still works.
    window.navigate("model", model_named("pretrained-resnet"))
    assert window.pages.model_page.title.text() == "pretrained-resnet"
    # A second error goes into the same dialog, not a second one.
    QTimer.singleShot(0, boom)
    qtbot.waitUntil(lambda: dlg.count == 2, timeout=5000)
    assert "2 errors" in dlg.message.text()
    assert len([w for w in QApplication.topLevelWidgets() if w.objectName() == "crashDialog"]) == 1


@pytest.mark.qt_no_exception_capture
@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="^uncaught exception$")
def test_an_exception_in_a_thread_reaches_the_dialog(window, reporter, qtbot):
    t = threading.Thread(target=boom)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=5000)
    assert "ZeroDivisionError" in reporter.dialog.message.text()


@pytest.mark.qt_no_exception_capture
def test_a_user_error_is_a_message_not_a_crash(window, reporter, qtbot):
    from desktop_app.errors import UserError

    def full() -> None:
        raise UserError("the disk holding the catalog is full; nothing was written")
    QTimer.singleShot(0, full)
    qtbot.waitUntil(lambda: window.notification.isVisible(), timeout=5000)
    assert "disk holding the catalog is full" in window.notification.label.text()
    assert reporter.dialog is None
