"""Evaluate and export from the model page: the dialog's checks, a real evaluation job listed with the core's
figures, the buttons' states, an exported file that loads, and a failing export's message."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from review_fixtures import oracle_model  # noqa: E402

from desktop_app.evaluation.run import score_model  # noqa: E402
from desktop_app.gui.dialogs.evaluate_dialog import EvaluateDialog  # noqa: E402

JOB_TIMEOUT_MS = 120_000
LABELS = ["circle", "square", "triangle", "star"]


def _open_dialog(window, model_id) -> EvaluateDialog:
    window.navigate("model", model_id)
    window.evaluate_action.trigger()           # the Model menu's action, as the user would
    dlg = window.dialogs[-1]
    assert isinstance(dlg, EvaluateDialog) and dlg.isVisible()
    return dlg


def _shown_errors(dlg) -> dict[str, str]:
    return {k: lab.text() for k, lab in dlg.errors.items() if lab.isVisibleTo(dlg)}


def _job_row(window, model_id, kind):
    rows = [r for r in window.jobs.rows.values() if r.model_id == model_id and r.kind == kind]
    return rows[0] if rows else None


def test_the_dialog_refuses_bad_values_beside_the_field(window, qtbot, client, centroid_model):
    client.catalog.set_model_status(centroid_model.id, "trained")   # the checks need no weights
    shapes = client.datasets.get("shapes")
    empty = client.catalog.create_dataset(client.sample_project.id, "empty-one", labels=shapes.labels)
    dlg = _open_dialog(window, centroid_model.id)
    assert dlg.dataset.itemData(0) == shapes.id and "trained on" in dlg.dataset.itemText(0)
    assert [dlg.subset.itemData(k) for k in range(dlg.subset.count())] == ["test", "validation", "train", "all"]
    assert dlg.name.text() == "shapes-test" and "iou" not in dlg.errors   # a classifier: no IoU field
    assert dlg.ok_button.isEnabled() and _shown_errors(dlg) == {}
    dlg.subset.setCurrentIndex(dlg.subset.findData("validation"))
    assert dlg.name.text() == "shapes-validation"                        # the core's default follows
    for text, message in (("1.5", "Must be within [0, 1]"), ("abc", "A number"), ("-0.1", "Must be within")):
        dlg.conf.setText(text)
        assert message in _shown_errors(dlg)["conf"] and not dlg.ok_button.isEnabled()
    dlg.ok_button.click()
    assert dlg.isVisible() and dlg.execution is None                      # refused: nothing queued
    dlg.conf.setText("0,25")                                              # a decimal comma is a number too
    assert "conf" not in _shown_errors(dlg) and dlg.ok_button.isEnabled()
    qtbot.keyClicks(dlg.name, "x")
    dlg.name.clear()
    assert "needs a name" in _shown_errors(dlg)["name"]
    qtbot.keyClicks(dlg.name, "mine")
    dlg.subset.setCurrentIndex(dlg.subset.findData("train"))
    assert dlg.name.text() == "mine"                                      # typed: kept
    dlg.dataset.setCurrentIndex(dlg.dataset.findData(empty.id))
    assert "has no items" in _shown_errors(dlg)["subset"] and not dlg.ok_button.isEnabled()
    detection = client.datasets.get("shapes-detection")   # boxes only, nothing a classifier is scored against;
    dlg.dataset.setCurrentIndex(dlg.dataset.findData(detection.id))   # the empty train subset fell back to test
    shown = _shown_errors(dlg)
    assert "The test subset of shapes-detection holds no ground-truth class labels" in shown["dataset"]
    assert "subset" not in shown and not dlg.ok_button.isEnabled()
    dlg.dataset.setCurrentIndex(dlg.dataset.findData(shapes.id))
    assert _shown_errors(dlg) == {} and dlg.ok_button.isEnabled()
    dlg.reject()


def test_a_detection_model_gets_the_iou_field(window, client):
    model = oracle_model(client)
    client.catalog.set_model_status(model.id, "trained")
    dlg = _open_dialog(window, model.id)
    assert client.catalog.get_dataset(dlg.dataset.itemData(0)).name == "shapes-detection"
    assert dlg.iou.text() == "0.5" and not _shown_errors(dlg)
    for text in ("0", "1.01", "nan"):
        dlg.iou.setText(text)
        assert "Must be within (0, 1]" in _shown_errors(dlg)["iou"] and not dlg.ok_button.isEnabled()
    dlg.iou.setText("0.75")
    assert dlg.ok_button.isEnabled()
    dlg.reject()


def test_evaluate_from_the_gui_runs_the_job_and_lists_the_core_figures(window, qtbot, client, centroid_model):
    window.navigate("model", centroid_model.id)
    page = window.pages.model_page
    # A user's adapter decides what its load() needs (deploy's rule): the button does not wait for training.
    assert page.evaluate_button.isEnabled()
    assert "None yet" in page.evaluations.item(0).text()
    page.train_button.click()
    qtbot.waitUntil(lambda: page.badge.text() == "trained" and page.evaluate_button.isEnabled(),
                    timeout=JOB_TIMEOUT_MS)
    page.evaluate_button.click()
    dlg = window.dialogs[-1]
    dlg.subset.setCurrentIndex(dlg.subset.findData("validation"))
    with qtbot.waitSignal(window.actions.job_submitted, timeout=5000) as submitted:
        dlg.ok_button.click()
    assert not dlg.isVisible() and dlg.execution.id == submitted.args[0]
    assert page.tabs.currentIndex() == 0          # back from the charts to the list that will show it
    qtbot.waitUntil(lambda: (r := _job_row(window, centroid_model.id, "evaluate")) is not None
                    and r.status == "success", timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.evaluations.item(0).data(Qt.ItemDataRole.UserRole) is not None, timeout=10_000)

    stored = client.models.get(model_id=centroid_model.id).evaluations.list()
    assert [e.name for e in stored] == ["shapes-validation"]
    ev = stored[0]
    shapes = client.datasets.get("shapes")
    assert ev.record.filter == {"subset": "validation"} and ev.dataset_id == shapes.id
    assert ev.results["n_items"] == client.catalog.count_items(shapes.id, subset="validation")
    item = page.evaluations.item(0)
    assert item.data(Qt.ItemDataRole.UserRole) == ev.id and page.evaluations.currentItem() is item
    assert f"shapes-validation · accuracy {ev.summary['accuracy']:.3f}" in item.text()
    # Double-click opens it.
    center = page.evaluations.visualItemRect(item).center()
    qtbot.mouseClick(page.evaluations.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseDClick(page.evaluations.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.waitUntil(lambda: window.pages.current_kind() == "evaluation", timeout=10_000)
    evaluation_page = window.pages.pages["evaluation"]
    assert evaluation_page.evaluation_id == ev.id
    qtbot.waitUntil(lambda: evaluation_page.session is not None, timeout=30_000)   # it loads and shows
    # The job's figures are the evaluation core's on that subset (rescored from the stored predictions).
    again = score_model(client.catalog, centroid_model.id, shapes.id, filters={"subset": "validation"},
                        name="rescored")["summary"]
    assert ev.summary == pytest.approx(again) and 0 < ev.summary["accuracy"] <= 1


def test_a_model_that_cannot_be_evaluated_says_why(window, client, model_named):
    window.navigate("model", model_named("pretrained-resnet"))
    page = window.pages.model_page
    assert not page.evaluate_button.isEnabled() and "pre-trained" in page.evaluate_button.toolTip()
    assert not page.exporter.button.isEnabled() and "clone and train" in page.exporter.button.toolTip()
    dlg = _open_dialog(window, model_named("pretrained-resnet"))   # the menu still opens it: with the reason
    assert dlg.problem.isVisibleTo(dlg) and "pre-trained" in dlg.problem.text()
    assert not dlg.ok_button.isEnabled()
    dlg.reject()


@pytest.fixture
def trained_resnet(client, tmp_path):
    """A clone of the built-in resnet holding weights.pt in the built-in format (as training leaves it)."""
    import torch

    from desktop_app.ml.models import build_model, weights_payload
    torch.manual_seed(0)
    net, _ = build_model("resnet18", len(LABELS), image_size=64, pretrained=False)
    torch.save(weights_payload(net, LABELS, {"arch": "resnet18"}), tmp_path / "weights.pt")
    model = client.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet").clone(
        model_name="r18-small", labels=LABELS, status="trained")
    model.artifacts.upload(tmp_path / "weights.pt")
    return model


def test_export_from_the_menu_writes_a_file_that_loads(window, qtbot, trained_resnet, tmp_path, monkeypatch):
    import numpy as np

    from desktop_app.gui.views import model_export
    from desktop_app.serving.export import read_export_metadata, run_exported
    window.navigate("model", trained_resnet.id)
    exporter = window.pages.model_page.exporter
    assert exporter.button.isEnabled()
    out = tmp_path / "out" / "r18.pt"
    asked = {}

    def save_name(parent, caption, start, filt):
        asked.update(caption=caption, start=start, filter=filt)
        return str(out), filt
    monkeypatch.setattr(model_export.QFileDialog, "getSaveFileName", save_name)
    torchscript = [a for a in exporter.button.menu().actions() if a.text() == "TorchScript…"][0]
    with qtbot.waitSignal(exporter.finished, timeout=60_000) as done:
        torchscript.trigger()
        assert exporter.busy and exporter.button.text() == "Exporting…" and not exporter.button.isEnabled()
    res = done.args[0]
    assert asked["start"].endswith("r18-small.pt") and "*.pt" in asked["filter"]
    assert res.ok and res.path == out and out.is_file()
    box = exporter.message
    assert box.isVisible() and str(out) in box.text() and "max abs diff vs torch" in box.informativeText()
    assert box.informativeText().rstrip(".").endswith("OK")
    assert exporter.button.isEnabled() and exporter.button.text() == "Export"
    # The file alone classifies images, and carries the labels.
    probs = run_exported(out, "torchscript", np.random.default_rng(0).integers(0, 256, (2, 3, 64, 64))
                         .astype(np.float32))[0]
    assert probs.shape == (2, 4) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert read_export_metadata(out, "torchscript")["labels"] == LABELS
    box.close()


def test_a_failing_export_shows_its_message(window, qtbot, client, centroid_model, tmp_path):
    client.catalog.set_model_status(centroid_model.id, "trained")
    window.navigate("model", centroid_model.id)
    exporter = window.pages.model_page.exporter
    assert exporter.button.isEnabled()
    with qtbot.waitSignal(exporter.finished, timeout=60_000) as done:
        exporter.export("onnx", str(tmp_path / "c.onnx"))
    assert isinstance(done.args[0], Exception)
    bar = window.notification
    qtbot.waitUntil(bar.isVisible, timeout=5000)
    text = bar.label.text()
    assert "Could not export centroid-v1" in text and "user package" in text and "Traceback" not in text
    assert not (tmp_path / "c.onnx").exists() and exporter.message is None
    assert exporter.button.isEnabled() and exporter.button.text() == "Export"
