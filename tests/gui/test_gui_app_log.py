"""<catalog>/logs/app.log tells what happened: what the app runs on, each job submitted / started / ended, a
split done, a service started, every error shown with its traceback; Help > Open the app log says where the
logs are (issue 18)."""

import re
import sys

import pytest

import desktop_app

WAIT_MS = 60_000


def _log(client):
    for h in __import__("logging").getLogger("desktop_app").handlers:
        h.flush()
    return (client.catalog.home / "logs" / "app.log").read_text(encoding="utf-8")


@pytest.mark.expect_log(logger="desktop_app.gui", level="ERROR", match="Could not refresh the page")
def test_the_window_writes_what_happened_into_app_log(window, qtbot, client, centroid_model):
    text = _log(client)
    start = re.search(r"INFO desktop_app\.gui: Model Desk (\S+) on catalog (\S+): Python ([\d.]+), Qt ([\d.]+) "
                      r"\(PySide6 [\d.]+\), torch ([^,]+), platform plugin (\w+)", text)
    assert start, text
    assert start.group(1) == desktop_app.__version__ and start.group(2) == str(client.catalog.home)
    assert start.group(3) == ".".join(map(str, sys.version_info[:3])) and start.group(6) == "offscreen"
    assert start.group(5).endswith(("installed (loaded)", "installed (not loaded)", "not installed"))

    # A job: submitted, started, ended, with its id, name, kind, model and outcome.
    ex = window.actions.train(centroid_model.id)
    what = r"Train centroid-v1 \(kind train, model centroid-v1\)"
    qtbot.waitUntil(lambda: bool(re.search(f"job {ex.id} ended success: {what}", _log(client))), timeout=WAIT_MS)
    text = _log(client)
    assert re.search(f"job {ex.id} submitted: {what}", text) and re.search(f"job {ex.id} started: {what}", text)

    # A split done on the dataset page, with the dataset it was done on.
    detection = client.catalog.get_dataset("shapes-detection")
    assert window.navigate("dataset", detection.id)
    dlg = window.pages.currentWidget().split_dialog()
    dlg.set_percentages({"train": 60, "validation": 25, "test": 15})
    with qtbot.waitSignal(dlg.split_done, timeout=WAIT_MS):
        dlg.ok_button.click()
    qtbot.waitUntil(lambda: bool(re.search(r"INFO desktop_app\.gui: Split: .*train 600.* \[dataset shapes-detection",
                                           _log(client))), timeout=WAIT_MS)

    # A service started from the services page (its record, as the page reports it).
    svc = client.catalog.create_service(centroid_model.id, "centroid-svc", url="http://127.0.0.1:8601", port=8601)
    assert window.open_project_page("services")
    window.pages.currentWidget().service_started.emit(svc.id)
    assert f"service {svc.id} started: centroid-svc of model centroid-v1 at http://127.0.0.1:8601" in _log(client)

    # Errors shown to the user, with their traceback: a refused action and a bug.
    window.actions.train("no-such-model")
    window.pages.currentWidget().refresh = lambda: 1 / 0
    window.refresh_view()
    text = _log(client)
    assert re.search(r"WARNING desktop_app\.gui: Could not start training: .*no-such-model.*\nTraceback", text)
    assert re.search(r"ERROR desktop_app\.gui: Could not refresh the page: ZeroDivisionError.*\nTraceback", text)


def test_help_open_the_app_log_says_where_the_logs_are(window, qtbot, client):
    dlg = window._open_app_log()
    assert dlg.view.path == client.catalog.home / "logs" / "app.log"
    note = dlg.findChild(type(window.jobs_label), "appLogNote").text()
    assert "logs/ folder" in note and "scheduler.log" in note and "services/" in note
    dlg.close()


def test_before_a_catalog_opens_the_log_is_the_settings_folders_and_says_so(qtbot, gui_settings, tmp_path,
                                                                            monkeypatch):
    import logging

    from desktop_app.gui.logging_setup import start_logging
    from desktop_app.gui.main_window import MainWindow
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))
    root = logging.getLogger("desktop_app")
    before = list(root.handlers)
    try:
        path = start_logging()
        w = MainWindow(gui_settings)
        qtbot.addWidget(w)
        dlg = w._open_app_log()
        assert dlg.view.path == path == tmp_path / "config" / "logs" / "app.log"
        note = dlg.findChild(type(w.jobs_label), "appLogNote").text()
        assert "No catalog is open" in note and "settings folder" in note and "<catalog>/logs/app.log" in note
        dlg.close()
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
