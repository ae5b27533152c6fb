"""The clone dialog and the configuration form: edited values reach the new model, bad ones are refused."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog


def test_clone_dialog_creates_a_model_with_the_edited_configuration(window, qtbot, client, model_named):
    src_id = model_named("pretrained-resnet")
    dlg = window.open_clone_dialog(src_id)
    assert dlg.name.text() == "pretrained-resnet-v2"
    dlg.name.setText("resnet-small")
    dlg.description.setText("tiny images, one epoch")
    form = dlg.config_form
    form.set_value("epochs", 1)
    form.set_value("image_size", 32)
    form.set_value("learning_rate", "0.01")
    form.set_value("seed", 7)                  # an advanced one
    dlg.validation_subset.setCurrentIndex(dlg.validation_subset.findData("test"))
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg.clone_button.click()
    m = client.models.get(model_id=dlg.created.id)
    assert m.name == "resnet-small" and m.description == "tiny images, one epoch"
    assert m.parent_id == src_id
    assert m.configuration["epochs"] == 1 and m.configuration["image_size"] == 32
    assert m.configuration["learning_rate"] == 0.01 and m.configuration["seed"] == 7
    src = client.catalog.get_model(src_id)
    assert {k: v for k, v in m.configuration.items() if k not in ("epochs", "image_size", "learning_rate", "seed")} \
        == {k: v for k, v in src.configuration.items() if k not in ("epochs", "image_size", "learning_rate", "seed")}
    assert m.validation_filter == {"subset": "test"} and m.train_filter == {"subset": "train"}
    # The window shows the clone, under its parent in the navigator.
    assert window.navigator.current_key() == ("model", m.id)
    assert window.navigator.item_for("model", m.id).parent() is window.navigator.item_for("model", src_id)
    assert window.pages.model_page.title.text() == "resnet-small"
    assert not client.catalog.list_executions(model_id=m.id)  # "Clone" alone does not train


def test_clone_dialog_refuses_bad_values_and_a_taken_name(window, qtbot, client, model_named):
    src_id = model_named("pretrained-resnet")
    before = len(client.catalog.find_models())
    dlg = window.open_clone_dialog(src_id)
    dlg.config_form.set_value("learning_rate", "fast")
    assert dlg.clone() is None
    assert dlg.isVisible() and "learning_rate" in dlg.error.text()
    assert "border" in dlg.config_form.editors["learning_rate"].styleSheet()
    dlg.config_form.set_value("learning_rate", "100")  # above the declared maximum (10)
    assert dlg.clone() is None and "above the maximum" in dlg.error.text()
    dlg.config_form.set_value("learning_rate", "0.001")
    assert dlg.config_form.editors["learning_rate"].styleSheet() == ""  # the mark clears once fixed
    dlg.name.setText("pretrained-mobilenet")
    assert dlg.clone() is None and "already exists" in dlg.error.text()
    assert len(client.catalog.find_models()) == before
    dlg.reject()
    assert dlg.result() == QDialog.DialogCode.Rejected


def test_clone_to_another_dataset_takes_its_labels(window, qtbot, client, model_named):
    project = client.sample_project
    ds = project.datasets.create("two-labels", labels=["cat", "dog"])
    dlg = window.open_clone_dialog(model_named("pretrained-resnet"))
    dlg.dataset.setCurrentIndex(dlg.dataset.findData(ds.id))
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg.clone_button.click()
    m = client.catalog.get_model(dlg.created.id)
    assert m.dataset_id == ds.id and m.labels == ["cat", "dog"]


def test_model_page_saves_an_edited_configuration(window, qtbot, client, model_named):
    m = client.models.get(model_id=model_named("pretrained-resnet")).clone(model_name="editable")
    window.navigate("model", m.id)
    page = window.pages.model_page
    assert not page.save_button.isEnabled()
    page.config_form.set_value("batch_size", 8)
    assert page.save_button.isEnabled() and page.revert_button.isEnabled()
    page.save_button.click()
    assert client.catalog.get_model(m.id).configuration["batch_size"] == 8
    assert "Saved 1 change" in page.config_status.text()
    page.config_form.set_value("epochs", 0)  # below the minimum: the spin box clamps to 1
    assert page.config_form.raw_values()["epochs"] == 1
    page.config_form.set_value("learning_rate", "-1")
    assert not page.save_configuration()
    assert "below the minimum" in page.config_status.text()
    page.revert_button.click()
    saved = client.catalog.get_model(m.id).configuration["learning_rate"]
    assert page.config_form.raw_values()["learning_rate"] == f"{saved:g}"
