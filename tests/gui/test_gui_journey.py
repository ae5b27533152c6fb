"""The newcomer's whole journey in the real window on scikit-learn's digits (tests/gui/journey.py's steps):
import by the menu, split, clone pretrained-resnet, train / cancel / resume, evaluate on test, confusion matrix,
error gallery, relabel and undo, compare two models, deploy and call the service, back up."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("sklearn")
pytest.importorskip("torchvision")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from journey import Journey  # noqa: E402


@pytest.fixture(autouse=True)
def newcomer(tmp_path, monkeypatch):
    """A newcomer's computer: an empty settings folder, no pretrained weights in the torch hub cache."""
    from desktop_app.gui import pretrained
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    pretrained.forget()
    yield
    pretrained.forget()


@pytest.mark.slow
def test_the_whole_journey_on_digits(window, qtbot, tmp_path, monkeypatch):
    started = time.monotonic()
    walk = Journey(window, tmp_path, wait=lambda cond, s, what="": qtbot.waitUntil(cond, timeout=int(s * 1000)),
                   patch=monkeypatch.setattr)
    walk.walk()
    print(f"journey took {time.monotonic() - started:.1f} s")
