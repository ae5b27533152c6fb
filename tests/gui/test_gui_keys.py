"""F1 opens the help (the "What to do first" page) and F5 makes the page on show read the catalog again, on every
platform plugin (some bind HelpContents / Refresh to nothing) (issue 18)."""

from PySide6.QtCore import Qt

WAIT_MS = 10_000


def _activate(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)


def test_f5_rereads_the_page_on_show(window, qtbot, client, model_named):
    model_id = model_named("pretrained-resnet")
    assert window.navigate("model", model_id)
    page = window.pages.model_page
    assert page.fields["Description"].text() != "changed behind the window's back"
    client.catalog.update_model(model_id, description="changed behind the window's back")
    _activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: page.fields["Description"].text() == "changed behind the window's back", timeout=WAIT_MS)
    assert window.pages.currentWidget() is page


def test_f1_opens_the_help(window, qtbot, model_named):
    assert window.navigate("model", model_named("pretrained-resnet"))
    assert window.pages.currentWidget() is window.pages.model_page
    _activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.pages.welcome, timeout=WAIT_MS)
    assert window.pages.welcome.isVisible()
