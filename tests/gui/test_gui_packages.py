"""Adding a package from a folder: pushed in a child process, then shown in the navigator with its page."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QDialog

CENTROID_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def _user_modules() -> set[str]:
    return {name for name in sys.modules if name.startswith("desktop_app_user_")}


def test_add_a_package_from_a_folder(window, qtbot, client):
    loaded_before = _user_modules()
    dlg = window.open_package_dialog(str(CENTROID_DIR))
    assert dlg.name.text() == "centroid-package"
    assert dlg.entry_point.currentText() == "adapter.py"
    dlg.name.setText("centroid")
    dlg.config.setPlainText('{"epochs": 2}')
    with qtbot.waitSignal(dlg.pushed, timeout=120_000):
        dlg.add_button.click()
    assert dlg.result() == QDialog.DialogCode.Accepted
    pkg = client.packages.get("centroid")
    assert pkg.kind == "user" and pkg.class_name == "CentroidAdapter" and pkg.default_configuration == {"epochs": 2}
    assert window.navigator.current_key() == ("package", pkg.id)
    page = window.pages.currentWidget()
    assert page.title.text() == "centroid" and page.fields["Class"].text() == "CentroidAdapter"
    # The user's code ran only in the child process.
    assert _user_modules() == loaded_before


def test_a_bad_package_is_refused_with_the_reason(window, qtbot, client, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter.py").write_text("import desktop_app.sdk as dl\nclass A(dl.BaseModelAdapter):\n"
                                    "    def load(self, p): pass\n")
    dlg = window.open_package_dialog(str(bad))
    dlg.add_button.click()
    qtbot.waitUntil(lambda: "does not implement" in dlg.status.text(), timeout=120_000)
    assert dlg.isVisible() and dlg.add_button.isEnabled()
    dlg.config.setPlainText("[1, 2]")
    dlg.push()
    assert "JSON object" in dlg.status.text()
    dlg.folder.setText(str(tmp_path / "missing"))
    dlg.push()
    assert "is not a folder" in dlg.status.text()
    dlg.reject()


def test_the_dialog_says_that_adding_a_package_runs_its_code(window, qtbot, client, tmp_path):
    from desktop_app.ml.adapter import PUSH_WARNING
    dlg = window.open_package_dialog(str(CENTROID_DIR))
    qtbot.waitUntil(dlg.isVisible, timeout=5000)
    assert dlg.warning.isVisible() and PUSH_WARNING in dlg.warning.text()
    assert "runs its Python code with your permissions" in dlg.warning.text()
    assert "only add code you trust" in dlg.warning.text()
    # a name with path characters is refused in the dialog, before any code runs
    dlg.name.setText("../evil")
    dlg.push()
    assert "package name '../evil'" in dlg.status.text() and dlg.add_button.isEnabled()
    assert [p.name for p in client.packages.list() if p.name == "../evil"] == []
    dlg.reject()
