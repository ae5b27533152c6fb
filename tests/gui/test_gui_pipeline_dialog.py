"""New pipeline from the pipelines page: the dialog stores exactly what its fields say, refuses bad values under
their field with the core's own message, and the new pipeline runs to a decision with Run now."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from desktop_app.errors import AlreadyExistsError, ValidationError  # noqa: E402
from desktop_app.gui.views.pipelines_page import ID_ROLE, PipelinesPage  # noqa: E402
from desktop_app.pipelines import api  # noqa: E402
from desktop_app.pipelines.definition import PipelineDefinition, Trigger  # noqa: E402
from desktop_app.pipelines.gate import GateSpec  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))  # the dial package's helpers
from pipehelpers import SMALL, make_champion, push_dial  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def champion(client, tmp_path):
    return make_champion(client, push_dial(client), tmp_path, skill=0.5)


@pytest.fixture
def page(qtbot, client, champion):
    p = PipelinesPage(client)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=WAIT_MS):
        p.set_project(client.sample_project.id)
    yield p
    p.shutdown()


def _core_message(fn) -> str:
    with pytest.raises((ValidationError, AlreadyExistsError)) as e:
        fn()
    return str(e.value)


def _open_dialog(qtbot, button):
    page = button.parent()
    while not isinstance(page, PipelinesPage):
        page = page.parent()
    button.click()
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=WAIT_MS)
    return page.dialog


def test_the_dialog_creates_what_its_fields_say_and_run_now_decides_it(qtbot, client, champion, page):
    # No pipelines yet: the empty state offers the dialog.
    assert page.empty.isVisible() and not page.body.isVisible()
    dialog = _open_dialog(qtbot, page.empty_new_button)

    # Prefilled from the champion: its dataset and subsets, a free name, the gate defaults of a classifier.
    shapes = client.datasets.get("shapes")
    assert dialog.champion.currentData() == champion.id and dialog.dataset.currentData() == shapes.id
    assert dialog.name.text() == "dial-v1-retrain"
    assert {r: c.currentData() for r, c in dialog.subset_combos.items()} == {r: r for r in SMALL}
    gate = dialog.gate.texts()
    assert (gate["metric"], gate["class_metric"], gate["min_improvement"]) == ("accuracy", "f1", "0")
    assert "epochs=2" in dialog.fields["overrides"].hint.text()
    assert "'champion' alias becomes dial-v1" in dialog.fields["champion"].hint.text()
    assert dialog.create_button.isEnabled() and dialog.errors() == {}
    hint = dialog.trigger.itemData(dialog.trigger.findData("annotations"), Qt.ItemDataRole.ToolTipRole)
    assert "Label next queue counts once" in hint                  # what the annotations trigger counts

    dialog.name.setText("nightly")
    dialog.description.setText("retrain on reviewed shapes")
    for role, n in SMALL.items():
        dialog.max_items[role].setValue(n)
    dialog.trigger.setCurrentIndex(dialog.trigger.findData("annotations"))
    assert dialog.count.isVisibleTo(dialog) and not dialog.every.isVisibleTo(dialog)
    dialog.count.setValue(7)
    dialog.overrides.setText('{"skill": 0.9}')
    ed = dialog.gate.editors
    ed["min_improvement"].setText("0.01")
    ed["max_class_drop"].setText("0.2")
    ed["class_metric"].setCurrentText("recall")
    ed["checks"].setText("macro_f1, classes")
    ed["min_wins"].setText("0.5")
    dialog.seed.setValue(3)
    dialog.redeploy.setChecked(False)
    assert dialog.errors() == {}
    with qtbot.waitSignals([page.created, page.loaded], timeout=WAIT_MS):
        dialog.create_button.click()

    # Stored exactly as the fields said (read back through the SDK).
    p = client.pipelines.get("nightly")
    gate = GateSpec.from_dict({"metric": "accuracy", "min_improvement": 0.01, "max_class_drop": 0.2,
                               "class_metric": "recall", "checks": ["macro_f1", "classes"], "min_wins": 0.5},
                              method="classification").to_dict()
    want = PipelineDefinition(package_id=champion.package_id, dataset_id=shapes.id, alias="champion",
                              subsets={r: {"subset": r} for r in SMALL}, max_items=dict(SMALL), seed=3,
                              trigger=Trigger("annotations", count=7), training={"skill": 0.9}, gate=gate,
                              redeploy=False, enabled=True, description="retrain on reviewed shapes")
    assert p.definition.to_dict() == want.to_dict()
    assert p.champion.id == champion.id and p.project_id == client.sample_project.id

    # The page lists and selects it; its form shows the typed gate.
    qtbot.waitUntil(lambda: page.view is not None and page.view.id == p.id, timeout=WAIT_MS)
    assert page.list.currentData() == p.id and page.body.isVisible() and not page.empty.isVisible()
    assert page.gate_editor.texts()["class_metric"] == "recall"
    assert page.trigger_edit.text() == "annotations:7"

    # Run now: a detached runner trains skill 0.9 against 0.5 and the gate promotes it.
    with qtbot.waitSignal(page.run_started, timeout=WAIT_MS) as sig:
        page.run_button.click()
    run_id = sig.args[0]

    def outcome() -> str:
        for k in range(page.runs.topLevelItemCount()):
            item = page.runs.topLevelItem(k)
            if item.data(0, ID_ROLE) == run_id:
                return item.text(4)
        return ""
    qtbot.waitUntil(lambda: outcome() == "promoted", timeout=90_000)
    assert p.last_run.status == "promoted" and p.champion.id == p.last_run.challenger.id
    assert page.headline.text().startswith("Run: Promoted")


def test_bad_values_are_refused_under_their_field_and_nothing_is_created(qtbot, client, champion, page):
    client.pipelines.create("taken", champion=champion)
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.reload()
    dialog = _open_dialog(qtbot, page.new_button)
    cat, project_id = client.catalog, client.sample_project.id
    assert "pipeline taken moves it too" in dialog.fields["champion"].hint.text()

    dialog.name.setText("taken")
    dialog.gate.editors["metric"].setCurrentText("mAP")
    dialog.gate.editors["min_improvement"].setText("-0.1")
    dialog.overrides.setText("{skill: 0.9")
    errors = dialog.errors()
    assert errors["name"] == _core_message(lambda: api.check_name(cat, project_id, "taken"))
    assert errors["metric"] == _core_message(lambda: GateSpec.from_dict({"metric": "mAP"}, method="classification"))
    assert errors["min_improvement"] == _core_message(
        lambda: GateSpec.from_dict({"min_improvement": -0.1}, method="classification"))
    assert errors["overrides"].startswith("overrides must be a JSON object")
    assert set(errors) == {"name", "metric", "min_improvement", "overrides"}
    # Each message sits under its own field, and Create is off.
    assert dialog.fields["name"].error.isVisible() and dialog.fields["name"].editor is dialog.name
    assert dialog.gate.fields["min_improvement"].error.isVisible()
    assert not dialog.create_button.isEnabled()
    assert dialog.create() is None and dialog.isVisible()

    # Fixed one by one, the marks go as they are typed.
    dialog.name.setText("fresh")
    dialog.gate.editors["metric"].setCurrentText("macro_f1")
    dialog.gate.editors["min_improvement"].setText("0.01")
    dialog.overrides.setText('{"skill": 0.9}')
    assert dialog.errors() == {} and dialog.create_button.isEnabled()

    # What needs the items is checked on Create: testing on the training items is refused.
    dialog.subset_combos["test"].setCurrentIndex(dialog.subset_combos["test"].findData("train"))
    dialog.create_button.click()
    filters = {"train": {"subset": "train"}, "validation": {"subset": "validation"}, "test": {"subset": "train"}}
    want = _core_message(lambda: api.check_subsets(cat, dialog.dataset.currentData(), filters))
    assert dialog.errors() == {"subsets": want} and "share" in want
    assert dialog.isVisible()

    dialog.reject()
    assert [p.name for p in client.pipelines.list()] == ["taken"]


def test_a_second_champion_brings_its_own_defaults(qtbot, client, champion, page, tmp_path):
    other = make_champion(client, client.packages.get("dial"), tmp_path, name="dial-v2", skill=0.6,
                          configuration={"epochs": 4})
    dialog = _open_dialog(qtbot, page.new_button)
    assert dialog.champion.currentData() == other.id              # the newest trained model first
    assert dialog.name.text() == "dial-v2-retrain" and "epochs=4" in dialog.fields["overrides"].hint.text()
    dialog.champion.setCurrentIndex(dialog.champion.findData(champion.id))
    assert dialog.name.text() == "dial-v1-retrain" and "epochs=2" in dialog.fields["overrides"].hint.text()
    dialog.name.setText("mine")
    dialog.champion.setCurrentIndex(dialog.champion.findData(other.id))
    assert dialog.name.text() == "mine"                           # a typed name stays
    dialog.reject()
