"""Package versions in the window: the add-package dialog says a known name makes a new version (and which), the
package page lists the versions with their models, the model page shows its version and moves it to another."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from pathlib import Path  # noqa: E402

CENTROID_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def _push_again(client, **kwargs):
    return client.packages.push(package_name="centroid", src_path=CENTROID_DIR, entry_point="adapter.py",
                                class_name="CentroidAdapter", **kwargs)


def test_the_dialog_says_an_existing_name_makes_a_new_version(window, qtbot, client, centroid_model):
    dlg = window.open_package_dialog(str(CENTROID_DIR))
    qtbot.waitUntil(dlg.isVisible, timeout=5000)
    assert not dlg.version_note.isVisible()           # 'centroid-package' is a new name
    assert dlg.add_button.text() == "Add package"
    dlg.name.setText("centroid")
    note = dlg.version_note.text()
    assert dlg.version_note.isVisible()
    assert "new version of 'centroid'" in note and "version 1.0.1" in note and "(version 1.0.0" in note
    assert dlg.add_button.text() == "Add version 1.0.1" and dlg.add_button.isEnabled()
    # the new version keeps the current one's settings unless the user types others
    assert '"epochs": 3' in dlg.config.toPlainText()
    dlg.name.setText("resnet")                        # a built-in's code is never replaced: said before pushing
    assert "built-in" in dlg.version_note.text() and not dlg.add_button.isEnabled()
    dlg.name.setText("centroid")
    with qtbot.waitSignal(dlg.pushed, timeout=120_000):
        dlg.add_button.click()
    pkg = client.packages.get("centroid")
    assert pkg.version == "1.0.1" and pkg.default_configuration == {"epochs": 3, "sleep": 0.0}
    assert client.catalog.model_package_version(centroid_model.id) == "1.0.0"   # its model stays where it was


def test_the_package_page_lists_the_versions_and_their_models(window, qtbot, client, centroid_model):
    _push_again(client)
    pkg = client.packages.get("centroid")
    assert window.navigate("package", pkg.id)
    page = window.pages.currentWidget()
    rows = [[page.versions.topLevelItem(k).text(c) for c in range(4)]
            for k in range(page.versions.topLevelItemCount())]
    assert [r[0] for r in rows] == ["1.0.1  (current)", "1.0.0"]
    assert [r[3] for r in rows] == ["CentroidAdapter", "CentroidAdapter"]
    assert [r[2] for r in rows] == ["0", "1"]                       # centroid-v1 is on 1.0.0
    assert all(len(r[1]) == 16 for r in rows)                       # 'YYYY-MM-DD HH:MM'
    assert page.versions_box.title() == "Versions (2)"
    model_row = page.models.topLevelItem(0)
    assert (model_row.text(0), model_row.text(2)) == ("centroid-v1", "1.0.0")


def test_the_model_page_shows_its_version_and_moves_it(window, qtbot, client, centroid_model, model_named):
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    assert page.fields["Package"].text() == "centroid (user), version 1.0.0"
    assert not page.move_version_button.isEnabled()                 # one version: nowhere to move
    assert "one version" in page.move_version_button.toolTip()
    _push_again(client)
    page.refresh()
    assert page.fields["Package"].text() == ("centroid (user), version 1.0.0 (the package's current version "
                                             "is 1.0.1)")
    assert page.move_version_button.isEnabled()
    asked = []
    page.choose_version = lambda versions, current: asked.append((versions, current)) or "1.0.1"
    page.move_version_button.click()
    assert asked == [(["1.0.0", "1.0.1"], "1.0.0")]
    assert client.catalog.model_package_version(centroid_model.id) == "1.0.1"
    assert page.fields["Package"].text() == "centroid (user), version 1.0.1 (current)"
    # a refused move (a version the package does not have) goes to the error hub; the model stays
    seen = []
    window.hub.reported.connect(seen.append)
    assert not page.move_to_version("9.9.9")
    assert seen and "9.9.9" in seen[-1].message
    assert client.catalog.model_package_version(centroid_model.id) == "1.0.1"
    # a built-in's model: one version, the button off
    window.navigate("model", model_named("pretrained-resnet"))
    assert page.fields["Package"].text() == "resnet (builtin), version 1.0.0"
    assert not page.move_version_button.isEnabled()
