"""The new-pipeline dialog: subset counts are the dataset's own before any model is trained, and the form does
not jump while the user types into a checked field."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.gui.dialogs.pipeline_dialog import PipelineDialog  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def dialog(qtbot, client):
    dlg = PipelineDialog(client, client.sample_project.id)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def test_subset_counts_before_any_trained_model(client, dialog):
    assert dialog.champion.count() == 0                            # nothing trained yet
    ds_id = dialog.dataset.currentData()
    counts = client.catalog.subset_counts(ds_id)
    assert counts.get("train", 0) > 0
    texts = [dialog.subset_combos["train"].itemText(i) for i in range(dialog.subset_combos["train"].count())]
    assert f"train  ({counts['train']} items)" in texts
    assert f"test  ({counts['test']} items)" in texts


def test_typing_into_a_checked_field_does_not_move_the_form(qtbot, dialog):
    def y_of(w) -> int:
        return w.mapTo(dialog, QPoint(0, 0)).y()

    below = dialog.overrides
    dialog.name.setText("ok-name")
    qtbot.waitUntil(lambda: not dialog.fields["name"].message(), timeout=WAIT_MS)
    _settle()
    before, height = y_of(below), dialog.fields["name"].height()
    for text, refused in (("", True), ("fine", False), ("", True), ("again", False)):   # a message comes, goes
        dialog.name.setText(text)
        _settle()
        assert bool(dialog.fields["name"].message()) == refused
        assert (y_of(below), dialog.fields["name"].height()) == (before, height), text
    dialog.overrides.setText("{not json")
    qtbot.waitUntil(lambda: bool(dialog.fields["overrides"].message()), timeout=WAIT_MS)
    _settle()
    gate_y = y_of(dialog.gate)
    dialog.overrides.setText("")
    _settle()
    assert not dialog.fields["overrides"].message()
    assert y_of(dialog.gate) == gate_y


def _settle() -> None:
    """Let the layouts apply the change (queued layout requests), without waiting for time to pass."""
    for _ in range(3):
        QApplication.sendPostedEvents()
        QApplication.processEvents()
