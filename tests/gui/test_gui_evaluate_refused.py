"""The window refuses to evaluate a model without weights by the SDK's rule: the same message on the model
page, in the evaluate dialog and, from the evaluate action itself, in the notification bar; nothing queued."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.ml.readiness import why_cannot_run  # noqa: E402
from desktop_app.sdk.evaluate_form import EvaluateRequest  # noqa: E402


def test_evaluating_a_clone_without_weights_says_why_everywhere(window, qtbot, client):
    cat = client.catalog
    model = client.models.get("pretrained-resnet").clone(model_name="no-weights")
    reason = why_cannot_run(cat, cat.get_model(model.id), "evaluate")
    assert reason.startswith("model 'no-weights' has no weights.pt yet")
    shown = reason[0].upper() + reason[1:] + "."
    window.navigate("model", model.id)
    page = window.pages.model_page
    assert not page.evaluate_button.isEnabled() and page.evaluate_button.toolTip() == shown
    window.evaluate_action.trigger()
    dlg = window.dialogs[-1]
    assert dlg.problem.text() == shown and not dlg.ok_button.isEnabled()
    dlg.reject()
    # The action that queues the job refuses by the same rule: a notice in the bar, no crash, no job.
    notices = []
    window.hub.reported.connect(notices.append)
    ds = client.datasets.get("shapes")
    assert window.actions.evaluate(EvaluateRequest(model.id, ds.id, {"subset": "test"}, "t", 0.5, 0.0)) is None
    qtbot.waitUntil(lambda: len(notices) == 1, timeout=5000)
    assert notices[0].title == "Could not start the evaluation" and notices[0].message == reason
    assert "Traceback" not in notices[0].message and window.notification.isVisible()
    assert cat.list_executions(model_id=model.id) == [] and cat.list_evaluations(model_id=model.id) == []
    # the next good request goes through
    from review_fixtures import oracle_model
    oracle = oracle_model(client)
    det = client.datasets.get("shapes-detection")
    ex = window.actions.evaluate(EvaluateRequest(oracle.id, det.id, {"subset": "test"}, "ok", 0.5, 0.0))
    assert ex is not None and len(notices) == 1
    qtbot.waitUntil(lambda: cat.get_execution(ex.id).status in ("success", "failed"), timeout=120_000)
    assert cat.get_execution(ex.id).status == "success"
