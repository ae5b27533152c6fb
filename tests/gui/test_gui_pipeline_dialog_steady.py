"""The new-pipeline dialog: subset counts are the dataset's own before any model is trained."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

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
