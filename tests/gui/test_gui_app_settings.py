"""The Settings dialog: one field per schema entry, saved to settings.json, bad values refused beside the field."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit

from desktop_app.settings import SCHEMA, Settings


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(folder))
    return folder


@pytest.fixture
def dialog(qtbot, config):
    from desktop_app.gui.dialogs.settings_dialog import SettingsDialog
    dlg = SettingsDialog(Settings(config))
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_fields_come_from_the_schema(dialog):
    assert list(dialog.editors) == [s.key for s in SCHEMA]
    kinds = {s.key: s for s in SCHEMA}
    ed = dialog.editors
    assert isinstance(ed["parallel_cpu_jobs"].line, QLineEdit) and ed["parallel_cpu_jobs"].line.text() == "1"
    assert ed["parallel_cpu_jobs"].line.placeholderText() == "1 to 64"          # min / max from the schema
    assert isinstance(ed["theme"].combo, QComboBox)
    assert [ed["theme"].combo.itemText(i) for i in range(ed["theme"].combo.count())] == ["system", "light", "dark"]
    assert isinstance(ed["show_tour"].check, QCheckBox) and ed["show_tour"].check.isChecked()
    assert (ed["service_port_range"].first.text(), ed["service_port_range"].last.text()) == ("8600", "8699")
    assert ed["catalog_folder"].browse.text() == "Choose…"
    # Every description is shown beside its field (a bool's is its check box text).
    texts = {w.text() for w in dialog.findChildren(QLabel)} | {ed["show_tour"].check.text()}
    assert all(s.description in texts for s in SCHEMA)
    # Telemetry: none, and the dialog says so; it cannot be changed.
    assert not hasattr(ed["telemetry"], "combo") and "none" in ed["telemetry"].fixed.text()
    assert "no telemetry" in kinds["telemetry"].description
    assert dialog.save_button.isEnabled() and not dialog.invalid_keys()


def test_saved_values_persist(dialog, config, qtbot):
    dialog.editors["parallel_cpu_jobs"].line.setText("4")
    dialog.editors["theme"].combo.setCurrentText("dark")
    dialog.editors["service_port_range"].first.setText("9000")
    dialog.editors["service_port_range"].last.setText("9010")
    dialog.editors["show_tour"].check.setChecked(False)
    dialog.editors["default_device"].combo.setCurrentText("cuda:1")
    dialog.editors["catalog_folder"].line.setText(str(config.parent / "my catalog"))
    with qtbot.waitSignal(dialog.saved) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args[0] == {"catalog_folder": str(config.parent / "my catalog"), "default_device": "cuda:1",
                             "parallel_cpu_jobs": 4, "theme": "dark", "service_port_range": [9000, 9010],
                             "show_tour": False}
    assert not dialog.isVisible()
    again = Settings(config)
    assert again.get("parallel_cpu_jobs") == 4 and again.get("theme") == "dark"
    assert again.get("service_port_range") == [9000, 9010] and again.get("show_tour") is False
    assert json.loads((config / "settings.json").read_text())["default_device"] == "cuda:1"


@pytest.mark.parametrize("key, raw, message", [
    ("parallel_cpu_jobs", "0", "0 is outside 1..64"),
    ("parallel_cpu_jobs", "two", "expected a whole number"),
    ("thumbnail_cache_mb", "8", "8 is outside 16..65536"),
    ("default_device", "gpu", "expected auto, cpu, cuda or cuda:N"),
    ("service_port_range", ["80", "90"], "1024 <= first <= last <= 65535"),
    ("service_port_range", ["9000", ""], "expected [first, last] ports"),
])
def test_invalid_values_are_refused_next_to_the_field(dialog, config, key, raw, message):
    dialog.set_raw(key, raw)
    error = dialog.errors[key]
    assert error.isVisible() and message in error.text()
    assert not error.text().startswith(key)            # the field is beside it: no key prefix
    assert not dialog.save_button.isEnabled()
    assert dialog.save() is False and dialog.isVisible()
    assert not (config / "settings.json").exists()     # nothing written
    dialog.set_raw(key, SCHEMA[[s.key for s in SCHEMA].index(key)].default)
    assert error.isHidden() and dialog.save_button.isEnabled()


def test_bad_stored_values_are_reported_and_defaults_restorable(qtbot, config):
    from desktop_app.gui.dialogs.settings_dialog import SettingsDialog
    config.mkdir(parents=True)
    (config / "settings.json").write_text(json.dumps({"parallel_cpu_jobs": 500, "theme": "dark"}))
    dlg = SettingsDialog(Settings(config))
    qtbot.addWidget(dlg)
    warning = [w.text() for w in dlg.findChildren(QLabel) if "reset to their defaults" in w.text()]
    assert warning and "500 is outside 1..64" in warning[0]
    assert dlg.editors["parallel_cpu_jobs"].line.text() == "1" and dlg.editors["theme"].combo.currentText() == "dark"
    dlg.restore_defaults()
    assert dlg.editors["theme"].combo.currentText() == "system"
    assert dlg.save() is True and Settings(config).get("theme") == "system"


def test_the_window_opens_settings_and_applies_the_theme(window, qtbot, config):
    from desktop_app.gui.dialogs.settings_dialog import apply_theme
    from desktop_app.gui.style import is_dark
    light = not is_dark()
    window.services.settings = Settings(config)
    assert window.services.settings_action.shortcut().toString() == "Ctrl+,"
    file_menu = window.menuBar().actions()[0].menu()
    assert "&Settings…" in [a.text() for a in file_menu.actions()]
    dlg = window.services.open_settings()
    try:
        dlg.editors["theme"].combo.setCurrentText("dark")
        dlg.editors["parallel_cpu_jobs"].line.setText("3")
        assert dlg.save()
        assert is_dark()
        qtbot.waitUntil(lambda: is_dark(window), timeout=2000)  # the window gets the palette by an event
        assert os.environ["DESKTOP_APP_CPU_JOBS"] == "3"
    finally:
        apply_theme("system")
        os.environ["DESKTOP_APP_CPU_JOBS"] = "1"
    assert is_dark() != light
