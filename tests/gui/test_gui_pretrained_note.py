"""A pre-trained built-in says when its weights are absent on this computer (badge, clone dialog), and why
Evaluate… is off; the look-up goes through the ml layer on a worker thread, never importing torch at start."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui import pretrained  # noqa: E402

WAIT_MS = 60_000     # the first look-up imports torch on a worker thread


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty torch hub cache: no pretrained file on 'this computer'."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    pretrained.forget()
    yield tmp_path / "torch"
    pretrained.forget()


def test_clone_dialog_says_the_weights_are_absent(window, qtbot, model_named, no_weights):
    dlg = window.open_clone_dialog(model_named("pretrained-resnet"))
    assert dlg.config_form.editors["pretrained"].isChecked()
    qtbot.waitUntil(lambda: dlg.weights_note.isVisible(), timeout=WAIT_MS)
    text = dlg.weights_note.text()
    assert "No pretrained weights" in text and "random initialisation" in text and str(no_weights) in text
    assert "random initialisation" in dlg.config_form.editors["pretrained"].toolTip()
    dlg.config_form.set_value("pretrained", False)          # nothing to say when it is off
    qtbot.waitUntil(lambda: not dlg.weights_note.isVisible(), timeout=WAIT_MS)
    dlg.reject()


def test_model_page_badge_and_evaluate_reason(window, qtbot, model_named, no_weights):
    window.navigate("model", model_named("pretrained-resnet"))
    page = window.pages.model_page
    assert not page.evaluate_button.isEnabled()
    qtbot.waitUntil(lambda: "No pretrained weights" in page.badge.toolTip(), timeout=WAIT_MS)
    assert page.note.isVisible()
    assert "Evaluate… is off" in page.note.text() and "clone" in page.note.text()
    assert "random initialisation" in page.note.text() and "random initialisation" in page.badge.toolTip()


def test_weights_found_in_the_hub_cache(no_weights):
    from desktop_app.ml.models import torchvision_filenames
    name = torchvision_filenames("resnet18")[0]
    (no_weights / "hub" / "checkpoints").mkdir(parents=True)
    (no_weights / "hub" / "checkpoints" / name).write_bytes(b"x")
    found = pretrained.look_up("resnet18")
    assert found.present and found.path.name == name and "are on this computer" in found.note()
    assert pretrained.known("resnet18") is found
    assert not pretrained.look_up("tinydet").present


def test_the_window_modules_do_not_import_torch():
    code = ("import sys, desktop_app.gui.pretrained, desktop_app.gui.views.model_page, "
            "desktop_app.gui.dialogs.clone_dialog; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
