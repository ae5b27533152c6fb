"""The pipelines page: the run timeline with a chip per step, the decision and its figures, compare, the
definition form (Pipeline.update), Run now in a detached runner, and rollback with a confirm."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from desktop_app.gui.views.pipelines_page import ID_ROLE, PipelinesPage  # noqa: E402
from desktop_app.gui.widgets.step_chips import ChipsRole  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))  # the dial package's helpers
from pipehelpers import SMALL, make_champion, push_dial  # noqa: E402

WAIT_MS = 30_000
STEPS = ["snapshot", "clone", "train", "evaluate", "compare"]


@pytest.fixture(scope="module")
def two_runs(template_home, tmp_path_factory):
    """One catalog per module: pipeline 'improve' over dial-v1 (skill 0.5); run 1 trains skill 0.9 and is
    promoted, run 2 trains skill 0.3 against that and is discarded (both in-process: seconds, no torch)."""
    from desktop_app.sdk import Client

    base = tmp_path_factory.mktemp("pipes")
    home = base / "catalog"
    shutil.copytree(template_home, home)
    client = Client(home=home)
    pkg = push_dial(client)
    champion = make_champion(client, pkg, base, skill=0.5)
    p = client.pipelines.create("improve", champion=champion, training={"skill": 0.9}, max_items=SMALL)
    first = p.run()
    assert first.status == "promoted", first.error
    p.update(training={"skill": 0.3})
    second = p.run()
    assert second.status == "discarded", second.error
    try:
        yield {"client": client, "pipeline": p, "champion": champion, "promoted": first, "discarded": second}
    finally:
        client.catalog.close()


@pytest.fixture
def page(qtbot, two_runs):
    p = PipelinesPage(two_runs["client"])
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=WAIT_MS):
        p.set_project(two_runs["pipeline"].project_id)
    yield p
    p.shutdown()


def _run_items(page) -> dict[str, object]:
    return {page.runs.topLevelItem(k).data(0, ID_ROLE): page.runs.topLevelItem(k)
            for k in range(page.runs.topLevelItemCount())}


def test_timeline_shows_each_run_with_step_chips_and_its_decision(qtbot, page, two_runs):
    promoted, discarded = two_runs["promoted"], two_runs["discarded"]
    assert [page.list.itemText(k) for k in range(page.list.count())] == ["improve"]
    items = _run_items(page)
    assert {promoted.id, discarded.id} <= set(items)
    order = list(items)
    assert order.index(discarded.id) < order.index(promoted.id)            # newest first

    def chips(run_id):
        return items[run_id].data(3, ChipsRole)
    assert chips(promoted.id) == [(s, "success") for s in STEPS] + [("promote", "promoted")]
    assert chips(discarded.id) == [(s, "success") for s in STEPS] + [("discard", "discarded")]
    assert items[promoted.id].text(4) == "promoted" and items[discarded.id].text(4) == "discarded"
    assert items[promoted.id].text(5) == promoted.challenger.name

    # The decision of the chosen run, and the figures behind it, as the gate recorded them.
    page.runs.setCurrentItem(items[promoted.id])
    prim = promoted.decision["figures"]["primary"]
    assert page.headline.text().startswith("Run: Promoted")
    assert promoted.decision["reasons"][0] in page.reasons.text()
    first = page.figures.topLevelItem(0)
    assert first.text(0).startswith("accuracy")
    assert (first.text(1), first.text(2), first.text(4)) == (f"{prim['champion']:.3f}", f"{prim['challenger']:.3f}",
                                                             "pass")
    page.runs.setCurrentItem(items[discarded.id])
    assert page.headline.text().startswith("Run: Discarded")
    assert page.figures.topLevelItem(0).text(4) == "fail"

    # Compare opens the compare page for that run's champion vs challenger.
    with qtbot.waitSignal(page.navigate, timeout=1000) as sig:
        page.compare_button.click()
    assert sig.args == ["compare", f"{discarded.champion.id},{discarded.challenger.id}"]

    # The definition in words, and the champion's audit trail.
    assert page.fields["Champion"].text().startswith(promoted.challenger.name)
    assert "shapes" in page.fields["Dataset"].text() and "train" in page.fields["Dataset"].text()
    hist = [page.history.topLevelItem(k).data(0, ID_ROLE) for k in range(page.history.topLevelItemCount())]
    assert hist == [promoted.challenger.id, two_runs["champion"].id]


def test_the_form_saves_through_update_and_refuses_bad_values(qtbot, page, two_runs):
    p = two_runs["pipeline"]
    assert page.training_edit.text() == '{"skill": 0.3}' and page.trigger_edit.text() == "manual"
    assert page.gate_editor.texts()["metric"] == "accuracy"
    page.training_edit.setText("{not json")
    assert not page.save_definition()
    assert "overrides must be a JSON object" in page.form_error.text()
    page.training_edit.setText('{"skill": 0.3}')
    page.gate_editor.editors["min_improvement"].setText("-0.5")     # marked as it is typed, with GateSpec's words
    assert "gate min_improvement must be within" in page.gate_editor.errors()["min_improvement"]
    assert not page.save_definition()
    page.trigger_edit.setText("annotations:7")
    page.gate_editor.editors["min_improvement"].setText("0.02")
    assert page.gate_editor.errors() == {}
    page.enabled_check.setChecked(False)
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.save_button.click()
    d = p.refresh().definition          # the entity is a snapshot: the page saved through its own Pipeline
    assert d.trigger.type == "annotations" and d.trigger.count == 7 and not d.enabled
    assert d.gate["min_improvement"] == 0.02 and d.training == {"skill": 0.3}
    assert page.form_error.text() == "" and page.trigger_edit.text() == "annotations:7"
    assert page.gate_editor.texts()["min_improvement"] == "0.02"
    p.update(trigger="manual", gate={}, enabled=True)


def test_run_now_runs_detached_and_the_timeline_follows_it(qtbot, page, two_runs):
    p = two_runs["pipeline"]
    before = len(p.runs())
    with qtbot.waitSignal(page.run_started, timeout=WAIT_MS) as sig:
        page.run_button.click()
    run_id = sig.args[0]
    assert not page.run_button.isEnabled() or p.runs()[-1].status != "running"
    # The runner is another process; the page re-reads itself until the run has ended.
    qtbot.waitUntil(lambda: run_id in _run_items(page) and _run_items(page)[run_id].text(4) == "discarded",
                    timeout=90_000)
    assert len(p.runs()) == before + 1
    assert _run_items(page)[run_id].data(3, ChipsRole)[-1] == ("discard", "discarded")
    assert page.run_button.isEnabled()


def test_rollback_moves_the_champion_back_after_a_confirm(qtbot, page, two_runs, monkeypatch):
    p, old = two_runs["pipeline"], two_runs["champion"]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    current = page.history.currentItem()
    assert current.data(0, ID_ROLE) == old.id                    # the earlier champion is offered
    with qtbot.waitSignal(page.rolled_back, timeout=WAIT_MS) as sig:
        page.rollback_button.click()
    assert asked and old.name in asked[0]
    assert sig.args[0]["to_model_id"] == old.id and sig.args[0]["changed"]
    assert p.champion.id == old.id
    hist = p.history()
    assert [h["model_id"] for h in hist][-1] == old.id and hist[-1]["set_by"] == "user"
    qtbot.waitUntil(lambda: page.history.topLevelItem(0).data(0, ID_ROLE) == old.id, timeout=WAIT_MS)
    assert page.fields["Champion"].text().startswith(old.name)


def test_a_cancelled_confirm_changes_nothing(qtbot, page, two_runs, monkeypatch):
    p = two_runs["pipeline"]
    before = p.champion.id
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    with qtbot.assertNotEmitted(page.rolled_back, wait=200):   # a no: nothing is started, now or a little later
        page.rollback_button.click()
    assert page.rollback_button.isEnabled()
    assert p.champion.id == before
