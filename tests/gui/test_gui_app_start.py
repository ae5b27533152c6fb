"""Start-up and shut-down as a user sees them: first run, the guided tour, About, quitting on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QDialog
from waiting import wait_for

from desktop_app.settings import Settings


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(folder))
    return folder


def test_first_run_asks_where_the_catalog_goes(qtbot, config, tmp_path, monkeypatch):
    from desktop_app.gui import first_run as fr
    settings = Settings(config)
    assert fr.is_first_run(settings)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "a-file").write_text("x")
    assert fr.check_catalog_folder(tmp_path / "new" / "catalog") == ""
    assert "holds other files" in fr.check_catalog_folder(tmp_path / "busy")
    assert "is a file" in fr.check_catalog_folder(tmp_path / "a-file")
    dlg = fr.FirstRunDialog(tmp_path / "suggested")
    qtbot.addWidget(dlg)
    assert dlg.path.text() == str(tmp_path / "suggested") and dlg.start_button.isEnabled()
    dlg.path.setText(str(tmp_path / "busy"))
    assert not dlg.start_button.isEnabled() and "holds other files" in dlg.error.text()

    chosen = tmp_path / "my catalog"

    def accept(self):
        self.path.setText(str(chosen))
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(fr.FirstRunDialog, "exec", accept)
    assert fr.first_run(settings) == chosen
    assert not fr.is_first_run(settings) and Settings(config).get("catalog_folder") == str(chosen)
    # The next start opens it: the settings' folder comes before the last catalog opened.
    from desktop_app.gui.app import choose_home, parse_args
    from desktop_app.gui.settings_store import SettingsStore
    monkeypatch.delenv("DESKTOP_APP_HOME")
    assert choose_home(parse_args([]), SettingsStore(tmp_path / "s.ini"), Settings(config)) == str(chosen)
    monkeypatch.setattr(fr.FirstRunDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert fr.first_run(Settings(tmp_path / "other-config")) is None          # Quit


def test_the_tour_walks_the_window_and_can_be_dismissed_for_good(window, qtbot, config):
    from desktop_app.gui.app import _tour_once_ready
    window.services.settings = Settings(config)
    _tour_once_ready(window)
    window.catalog_ready.emit()                                   # as when the catalog finished opening
    tour = window.services.tour
    assert tour is not None and tour.isVisible() and tour.geometry() == window.rect()
    targets = []
    for i in range(5):
        assert tour.counter.text() == f"Step {i + 1} of 5"
        t = tour.target_rect()
        assert t is not None and tour.bubble.isVisible()
        if i != 1:  # the page area is too big to stand beside: the bubble sits inside it
            assert not t.intersects(QRect(tour.bubble.pos(), tour.bubble.size()))
        targets.append(tour.steps[i].target())
        if i < 4:
            qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert targets[0] is window.navigator
    assert targets[1] is window.pages.model_page and window.pages.model_page.title.text() == "pretrained-resnet"
    assert targets[2] is window.pages.model_page.clone_button     # a built-in is cloned, not trained in place
    assert targets[3] is window.jobs and targets[4] is window.menuBar()
    assert tour.next_button.text() == "Done"
    qtbot.mouseClick(tour.back_button, Qt.MouseButton.LeftButton)
    assert tour.counter.text() == "Step 4 of 5"
    qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    tour.dont_show.setChecked(True)
    with qtbot.waitSignal(tour.finished):
        qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert window.services.tour is None
    assert Settings(config).get("show_tour") is False              # dismissed for good, on disk
    window.services.maybe_start_tour()
    assert window.services.tour is None
    # Help ▸ Take the tour still shows it; Escape closes it without changing the setting.
    window.services.tour_action.trigger()
    tour = window.services.tour
    assert tour.isVisible()
    qtbot.keyClick(tour, Qt.Key.Key_Escape)
    assert window.services.tour is None and Settings(config).get("show_tour") is False


def test_done_ends_the_tour_for_good_and_skip_keeps_it_for_the_next_start(window, qtbot, config):
    settings = Settings(config)
    window.services.settings = settings
    tour = window.services.start_tour()
    with qtbot.waitSignal(tour.finished):
        qtbot.mouseClick(tour.skip_button, Qt.MouseButton.LeftButton)
    assert Settings(config).get("show_tour") is True                 # skipped: shown again on the next start
    tour = window.services.start_tour()
    for _ in range(len(tour.steps) - 1):
        qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert tour.next_button.text() == "Done" and not tour.dont_show.isChecked()
    with qtbot.waitSignal(tour.finished):
        qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert Settings(config).get("show_tour") is False                # walked to the end: not on start again
    window.services.maybe_start_tour()
    assert window.services.tour is None


def test_the_tour_bubble_paints_an_opaque_background(window, qtbot):
    # Under X11 with no compositor the bubble was see-through: the page's text showed through its own.
    from PySide6.QtGui import QColor
    tour = window.services.start_tour()
    qtbot.waitUntil(lambda: tour.bubble.isVisible())
    image = window.grab().toImage()                    # the window as composed: page, shade, bubble
    background = QColor(tour.bubble.palette().color(tour.bubble.backgroundRole()))
    # A point inside the frame, clear of text and border (its left margin, half-way down).
    at = tour.bubble.mapTo(window, tour.bubble.rect().topLeft()) + QPoint(6, tour.bubble.height() // 2)
    probe = image.pixelColor(at)
    assert (probe.red(), probe.green(), probe.blue()) == (background.red(), background.green(), background.blue())
    tour.finish()


def test_about_shows_version_build_and_library_versions(window, qtbot, client):
    import desktop_app
    from desktop_app.gui.build_info import build_info
    torch_loaded = "torch" in sys.modules
    dlg = window.services.open_about()
    f = dlg.fields
    assert f["Version"].text() == desktop_app.__version__
    assert f["torch"].text() == metadata.version("torch")
    assert f["Qt"].text().startswith(build_info().qt) and "PySide6" in f["Qt"].text()
    assert f["Python"].text().startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert f["Commit"].text() and f["Build date"].text()
    assert f["Catalog"].text() == str(client.catalog.home)
    assert f["Log file"].text() == str(client.catalog.home / "logs" / "app.log")
    assert ("torch" in sys.modules) == torch_loaded             # read from metadata, not imported
    dlg.copy()
    from PySide6.QtWidgets import QApplication
    assert f"torch: {metadata.version('torch')}" in QApplication.clipboard().text()
    dlg.close()


def test_the_icons_are_rendered_from_the_svg():
    from desktop_app.gui.build_info import app_icon, icon_files
    sizes = [int(p.stem.rsplit("-", 1)[1]) for p in icon_files()]
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]
    icon = app_icon()
    assert not icon.isNull() and icon.actualSize(icon.availableSizes()[-1]).width() == 512
    root = Path(__file__).resolve().parents[2]
    desktop = (root / "build_spec" / "model-desk.desktop").read_text()
    assert "Icon=model-desk" in desktop and "Exec=" in desktop


def test_the_app_quits_cleanly_on_sigterm(tmp_path, home, config):
    """The real entry point: opens the catalog with its lock, logs to <catalog>/logs/app.log, and on SIGTERM
    (logout, kill) saves state, releases the lock and exits 0."""
    code = ("import sys; from desktop_app.gui import app; "
            f"sys.exit(app.run(['--home', {str(home)!r}, '--settings', {str(tmp_path / 's.ini')!r}, "
            f"'--config', {str(config)!r}, '--no-tour']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    log = home / "logs" / "app.log"

    def window_open():
        assert proc.poll() is None, proc.stdout.read()           # the app died before its window opened
        return log.exists() and "opened in the window" in log.read_text()

    wait_for(window_open, 120, poll=0.2, what="the window to open (app.log: 'opened in the window')")
    from desktop_app.catalog.lock import instance_lock
    assert not instance_lock(home).acquire()                     # held by the running app
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    lock = instance_lock(home)
    assert lock.acquire()
    lock.release()
    text = log.read_text()
    assert "signal 15: quitting" in text and "Model Desk closed (exit code 0)" in text
    start_log = (config / "logs" / "app.log").read_text()
    assert "Model Desk starting" in start_log and "torch" in start_log


def test_start_up_log_is_plain_until_the_window_is_up_then_rotating(config):
    """Before the first window the log is a plain file (no logging.handlers import); once the window is up
    the same file continues under a rotating handler, with the build's versions in it."""
    import logging

    from desktop_app.gui.logging_setup import _app_handler, current_log_file, log_build_info, start_logging

    root = logging.getLogger("desktop_app")
    before = list(root.handlers)
    try:
        path = start_logging()
        assert path == config / "logs" / "app.log" and current_log_file() == path
        assert type(_app_handler()) is logging.FileHandler
        log_build_info()
        handler = _app_handler()
        assert type(handler).__name__ == "RotatingFileHandler" and handler.maxBytes > 0
        assert current_log_file() == path and sum(h in root.handlers for h in [handler]) == 1
        handler.flush()
        text = path.read_text()
        assert "Model Desk starting (version" in text and "build: Model Desk:" in text and "torch:" in text
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
