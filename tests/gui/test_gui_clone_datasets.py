"""The clone dialog offers only datasets a model of the package can learn from (a classifier: class tags)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


def _offered(dlg) -> list[str]:
    return [dlg.dataset.itemText(i).split("  (")[0] for i in range(dlg.dataset.count())]


def test_a_classifier_is_not_offered_a_detection_dataset(window, client, model_named):
    client.sample_project.datasets.create("empty-one", labels=["a", "b"])
    dlg = window.open_clone_dialog(model_named("pretrained-resnet"))
    offered = _offered(dlg)
    assert "shapes" in offered and "empty-one" in offered           # class tags; nothing yet
    assert "shapes-detection" not in offered
    assert "shapes-detection" in dlg.dataset.toolTip()
    dlg.reject()


def test_a_detector_is_offered_every_dataset_with_boxes(window, client, model_named):
    dlg = window.open_clone_dialog(model_named("pretrained-fasterrcnn"))
    assert _offered(dlg) == ["shapes", "shapes-detection"]          # the classification sample has boxes too
    assert dlg.dataset.toolTip().endswith("not offered: shapes-segmentation")   # masks only, no boxes
    dlg.reject()
