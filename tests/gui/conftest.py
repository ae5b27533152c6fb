"""Shared GUI fixtures: a main window on the test's fresh catalog, settings in a temp INI, a tiny package."""

from __future__ import annotations

from pathlib import Path

import pytest

CENTROID_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


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
