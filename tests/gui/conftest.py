"""Shared GUI fixtures: a main window on the test's fresh catalog, settings in a temp INI, a tiny package."""

from __future__ import annotations

from pathlib import Path

import pytest

CENTROID_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


# Modal calls a test has not replaced. Under the offscreen platform nobody can answer a modal dialog, and
# while Qt's modal loop runs no Python code runs, so pytest-timeout's alarm never fires: one stray
# QMessageBox.warning in an error path would hold a CI run until its hard limit. Each raises instead, naming
# the call, so the test fails at once (pytest-qt reports exceptions raised inside slots).
_MODAL_CALLS = {
    "QDialog": ["exec"],
    "QMessageBox": ["exec", "question", "warning", "information", "critical", "about"],
    "QFileDialog": ["exec", "getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory"],
    "QInputDialog": ["exec", "getItem", "getText", "getInt", "getDouble", "getMultiLineText"],
    "QMenu": ["exec"],
}


@pytest.fixture(autouse=True)
def _no_unanswered_modals(monkeypatch):
    from PySide6 import QtWidgets

    for cls_name, names in _MODAL_CALLS.items():
        cls = getattr(QtWidgets, cls_name)
        for name in names:
            def refuse(*args, _what=f"{cls_name}.{name}", **kwargs):
                raise AssertionError(f"{_what} opened a modal that nothing answers; monkeypatch it in the test")
            monkeypatch.setattr(cls, name, refuse)


@pytest.fixture
def gui_settings(tmp_path):
    from desktop_app.gui.settings_store import SettingsStore
    return SettingsStore(tmp_path / "gui-settings.ini")


@pytest.fixture
def window(qtbot, client, gui_settings):
    """The main window bound to the test's catalog, polling fast so tests wait less."""
    from desktop_app.gui.main_window import MainWindow
    w = MainWindow(gui_settings, jobs_interval=0.1, metrics_interval=0.1)
    qtbot.addWidget(w)
    w.use_client(client)
    w.show()
    yield w
    w.shutdown()


@pytest.fixture
def centroid_model(client):
    """A model of the tiny deterministic user package (no torch): trains in about a second."""
    pkg = client.packages.push(package_name="centroid", src_path=CENTROID_DIR, entry_point="adapter.py",
                               class_name="CentroidAdapter", default_configuration={"epochs": 3, "sleep": 0.0},
                               output_type="class")
    shapes = client.datasets.get("shapes")
    return pkg.models.create(model_name="centroid-v1", dataset_id=shapes.id,
                             project_id=client.sample_project.id, labels=shapes.labels)

@pytest.fixture
def model_named(client):
    """name -> model id in the test's catalog."""
    return lambda name: client.catalog.find_models(name=name)[0].id
