"""Model > Train on the cluster: refused with what to set when no cluster address is set; the job's name says where
it trains (jobs.naming)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


def test_train_on_the_cluster_without_an_address_says_what_to_set(window, client, qtbot):
    model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="far away")
    window.refresh_tree()
    window.navigate("model", model.id)
    qtbot.waitUntil(window.cluster_train_action.isEnabled, timeout=10_000)
    reported = []
    window.hub.reported.connect(reported.append)
    window.cluster_train_action.trigger()
    qtbot.waitUntil(lambda: bool(reported), timeout=10_000)
    assert "no cluster address is set" in reported[0].message and "Settings" in reported[0].message
    assert client.catalog.list_executions(model_id=model.id) == []        # nothing queued


def test_a_cluster_jobs_name_says_where_it_trains(client):
    from desktop_app.jobs.naming import job_title
    model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="exp")
    cat = client.catalog
    assert job_title(cat, "train", model.id, {"cluster": {"address": "local", "workers": 2}}) == \
        "Train exp on a local Ray (2 workers)"
    assert job_title(cat, "train", model.id, {"cluster": {"address": "ray://head:10001", "workers": 1}}) == \
        "Train exp on Ray ray://head:10001 (1 worker)"
    assert job_title(cat, "train", model.id, {}) == "Train exp"
