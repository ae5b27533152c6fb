"""The model page's aliases (chips: add, remove, moved from another model, history), tags and notes (saved on
focus-out and by the button), and the data version the model trained on."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QTreeWidget  # noqa: E402

from desktop_app.catalog.dataset_versions import DatasetVersions  # noqa: E402
from desktop_app.gui.widgets.model_marks import split_tags  # noqa: E402


@pytest.fixture
def two(client):
    base = client.models.get("pretrained-resnet")
    return base.clone(model_name="marks-a"), base.clone(model_name="marks-b")


def open_model(window, model_id):
    window.refresh_tree()
    assert window.navigate("model", model_id)
    return window.pages.model_page.marks


def test_split_tags():
    assert split_tags("a, b  c,,a") == ["a", "b", "c"]
    assert split_tags("  ") == []


def test_aliases_added_moved_removed_with_history(qtbot, client, window, two):
    a, b = two
    cat = client.catalog
    marks = open_model(window, a.id)
    assert marks.aliases == [] and "none" in marks.alias_chips.text()
    marks.ask_alias = lambda: "production"
    assert marks.add_alias()
    assert cat.get_alias(a.package_id, "production").model_id == a.id
    assert marks.aliases == ["production"] and "production" in marks.alias_chips.text()
    assert marks.history_button.isEnabled() and "production set here" in marks.alias_chips.toolTip()

    marks = open_model(window, b.id)         # the same alias on another model moves it
    assert marks.add_alias("production")
    assert cat.get_alias(a.package_id, "production").model_id == b.id
    marks = open_model(window, a.id)
    assert marks.aliases == []
    assert "moved away" in marks.alias_chips.toolTip()

    marks = open_model(window, b.id)
    marks.alias_chips.linkActivated.emit("remove:production")          # the chip's ✕
    assert marks.aliases == [] and cat.get_alias(b.package_id, "production") is None
    dlg = marks.show_history()
    tree = dlg.findChild(QTreeWidget)
    assert tree.topLevelItemCount() >= 2
    assert {tree.topLevelItem(k).text(1) for k in range(tree.topLevelItemCount())} == {"production"}
    dlg.close()


def test_tags_and_notes_are_saved(qtbot, client, window, two):
    a, _b = two
    cat = client.catalog
    marks = open_model(window, a.id)
    marks.tags_edit.setText("candidate, lr-study")
    marks.tags_edit.editingFinished.emit()
    assert cat.get_model(a.id).tags == ["candidate", "lr-study"]
    assert "Tags saved" in marks.status.text()

    marks.notes_edit.setFocus()
    marks.notes_edit.setPlainText("lr 0.003 was best; try more epochs")
    assert marks.save_notes_button.isEnabled() and "not saved" in marks.status.text()
    marks.notes_edit.focus_lost.emit()                  # leaving the box saves
    assert cat.get_model(a.id).notes == "lr 0.003 was best; try more epochs"
    assert not marks.save_notes_button.isEnabled()
    marks.notes_edit.setPlainText("second thought")
    qtbot.mouseClick(marks.save_notes_button, Qt.MouseButton.LeftButton)
    assert cat.get_model(a.id).notes == "second thought"
    window.pages.model_page.refresh()                    # read back from the catalog
    assert marks.notes_edit.toPlainText() == "second thought"


def test_the_data_version_it_trained_on_is_shown(qtbot, client, window, two):
    a, _b = two
    marks = open_model(window, a.id)
    assert "no data version" in marks.origin.text()
    DatasetVersions(client.catalog).record_model(a.id, "v1-clean")
    window.pages.model_page.refresh()
    assert "v1-clean" in marks.origin.text()
