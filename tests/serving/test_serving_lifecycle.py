"""model.deploy() / service.stop() / dl.services.list(): processes, records, model status, tokens, failures."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from waiting import wait_for

from desktop_app.errors import ValidationError
from desktop_app.serving import manager

from servehelpers import infer_body, make_model, outputs, png_bytes, push_brightbox, spot_image


@pytest.fixture
def bright(dl, tmp_path):
    pkg = push_brightbox(dl, tmp_path)
    return make_model(dl, pkg, tmp_path)


def _alive(pid: int) -> bool:
    return manager.pid_alive(pid)


def test_dataloop_deploy_snippet_runs_as_written(dl, bright):
    package = dl.packages.get(package_name='brightbox')
    model = package.models.get(model_name='bright-v1')
    service = model.deploy()

    assert isinstance(service, dl.Service)
    assert service.status == "running" and service.model == model
    assert service.url == f"http://127.0.0.1:{service.port}" and service.port > 0
    assert service.pid and _alive(service.pid) and service.started_at
    assert model.status == "deployed"
    assert service in dl.services.list()
    assert [s.id for s in model.services] == [service.id]
    r = httpx.post(f"{service.url}/v2/models/{model.name}/infer", json=infer_body(png_bytes(spot_image(3, 4))))
    assert r.status_code == 200 and outputs(r.json())["boxes"]["data"] == [3, 4, 6, 7]

    service.stop()
    assert service.status == "stopped"
    assert not _alive(service.pid)
    assert model.refresh().status == "trained"
    assert manager.list_running(dl.default_client().catalog) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{service.url}/v2/health/live", timeout=2.0)
    service.stop()  # stopping twice is harmless
    assert service.status == "stopped"


def test_model_stays_deployed_until_its_last_service_stops(dl, tmp_path):
    pkg = push_brightbox(dl, tmp_path)
    model = make_model(dl, pkg, tmp_path, name="no-thresholds", configuration={})
    a = model.deploy()
    b = model.deploy(service_config={"max_batch_size": 1})
    try:
        assert a.port != b.port and model.status == "deployed"
        # Without thresholds in the configuration, the dim 'frame' box (0.3) comes back too.
        doc = httpx.post(f"{b.url}/v2/models/{model.name}/infer", json=infer_body(png_bytes(spot_image(1, 2)))).json()
        assert sorted(outputs(doc)["labels"]["data"]) == ["bright", "frame"]
        a.stop()
        assert model.refresh().status == "deployed"
    finally:
        b.stop()
        a.stop()
    assert model.refresh().status == "trained"


def test_a_port_in_use_fails_the_start_with_the_reason(dl, bright):
    first = bright.deploy()
    try:
        with pytest.raises(manager.ServiceError, match="[Aa]ddress already in use"):
            bright.deploy(service_config={"port": first.port})
        assert bright.status == "deployed" and first.status == "running"
    finally:
        first.stop()
    assert bright.refresh().status == "trained"
    work = dl.default_client().catalog.work_dir / "services"
    assert not (work / first.id).exists()  # its copy of the artifacts went with it


def test_a_killed_service_is_marked_stopped_when_listed(dl, bright):
    service = bright.deploy()
    os.kill(service.pid, signal.SIGKILL)
    wait_for(lambda: not _alive(service.pid), 10, what=f"the killed service (pid {service.pid}) to be gone")
    catalog = dl.default_client().catalog
    assert catalog.get_service(service.id).status == "running"  # nobody noticed yet
    assert manager.list_running(catalog) == []
    assert service.refresh().status == "stopped"
    assert bright.refresh().status == "trained"


def test_token_is_required_on_every_request_when_set(dl, bright):
    token = "s3cret-token-for-tests"
    service = bright.deploy(service_config={"token": token})
    try:
        url = f"{service.url}/v2/models/{bright.name}/infer"
        body = infer_body(png_bytes(spot_image(2, 2)))
        r = httpx.post(url, json=body)
        assert r.status_code == 401 and "missing bearer token" in r.json()["error"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = httpx.post(url, json=body, headers={"Authorization": "Bearer wrong-token-1234"})
        assert r.status_code == 401 and "wrong bearer token" in r.json()["error"]
        r = httpx.post(url, json=body, headers={"Authorization": f"Basic {token}"})
        assert r.status_code == 401
        assert httpx.get(f"{service.url}/v2/health/ready").status_code == 401
        assert httpx.get(f"{service.url}/metrics").status_code == 401
        ok = {"Authorization": f"Bearer {token}"}
        r = httpx.post(url, json=body, headers=ok)
        assert r.status_code == 200 and outputs(r.json())["boxes"]["data"] == [2, 2, 5, 5]
        doc = httpx.get(f"{service.url}/openapi.json", headers=ok).json()
        assert doc["security"] == [{"bearer": []}]
        metrics = httpx.get(f"{service.url}/metrics", headers=ok).json()
        assert metrics["requests"]["by_status"]["401"] == 3
        # The token is not written to the catalog.
        rec = dl.default_client().catalog.get_service(service.id)
        assert token not in str(rec.to_dict()) and rec.config["auth"] is True
    finally:
        service.stop()


def test_a_service_with_a_token_shows_its_figures_from_its_metrics_file(dl, bright):
    """The token is never stored, so the services list cannot GET /metrics; the service keeps a copy of its
    figures in the catalog every second instead, and removes it when it stops."""
    from desktop_app.serving.status import service_rows

    catalog = dl.default_client().catalog
    token = "another-s3cret-token"
    service = bright.deploy(service_config={"token": token})
    path = manager.metrics_path(catalog, service.id)
    try:
        ok = {"Authorization": f"Bearer {token}"}
        url = f"{service.url}/v2/models/{bright.name}/infer"
        for _ in range(3):
            assert httpx.post(url, json=infer_body(png_bytes(spot_image(2, 2))), headers=ok).status_code == 200
        assert httpx.post(url, json={"inputs": []}, headers=ok).status_code == 400
        want = httpx.get(f"{service.url}/metrics", headers=ok).json()["requests"]
        assert want["total"] == 4 and want["errors"] == 1

        def row():
            return next(r for r in service_rows(catalog) if r["id"] == service.id)
        wait_for(lambda: row()["requests"] == 4, 15, poll=0.2, what="the services row counting the 4 requests",
                 details=row)
        r = row()
        assert r["auth"] and r["answering"] and r["figures_from"] == "file"
        assert r["requests"] == 4 and r["errors"] == 1 and r["mean_ms"] > 0 and r["p50_ms"] > 0
        assert token not in path.read_text()
    finally:
        service.stop()
    assert not path.exists()
    assert next(r for r in service_rows(catalog, running_only=False) if r["id"] == service.id)["requests"] is None


def test_thresholds_chosen_in_review_are_kept_on_the_model_and_the_running_service_applies_them(dl, bright):
    service = bright.deploy()
    url = f"{service.url}/predictions/{bright.name}"
    image = png_bytes(spot_image(4, 4))

    def labels() -> list[str]:
        r = httpx.post(url, content=image, timeout=30)
        assert r.status_code == 200, r.text
        return sorted(a["label"] for a in r.json())
    try:
        assert labels() == ["bright"]                 # the frame (0.3) is under its class threshold 0.5
        out = bright.apply_thresholds(0.2, {})        # one threshold for every class, the per-class one cleared
        assert out["services_reloaded"] == [service.id] and not out["services_failed"]
        assert bright.configuration["conf_threshold"] == 0.2 and "class_thresholds" not in bright.configuration
        assert labels() == ["bright", "frame"]
        bright.apply_thresholds(class_thresholds={"bright": 0.95})
        assert labels() == ["frame"]                  # bright scores 0.9
        rec = dl.default_client().catalog.get_service(service.id)
        assert rec.status == "running" and rec.pid == service.pid and rec.model_id == bright.id
        assert dl.models.get(model_id=bright.id).status == "deployed"

        # refused before anything is kept
        for conf, per_class, words in ((1.5, None, "within 0..1"), (None, {"cat": 0.5}, "'cat'"),
                                       (None, {"frame": "high"}, "class_thresholds")):
            with pytest.raises(ValidationError, match=words):
                bright.apply_thresholds(conf, per_class)
        assert bright.refresh().configuration["class_thresholds"] == {"bright": 0.95}
        assert labels() == ["frame"]
    finally:
        service.stop()
    assert dl.models.get(model_id=bright.id).status == "trained"
    # with nothing running, the thresholds are kept for the next start
    assert bright.apply_thresholds(0.0, {})["services_reloaded"] == []
    service = bright.deploy()
    url = f"{service.url}/predictions/{bright.name}"
    try:
        assert labels() == ["bright", "frame"]
    finally:
        service.stop()


def test_a_stale_metrics_file_is_not_shown_as_live(dl, tmp_path):
    catalog = dl.default_client().catalog
    path = manager.metrics_path(catalog, "svc-x")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"requests": {"total": 7}}')
    assert manager.read_metrics_file(catalog, "svc-x")["requests"]["total"] == 7
    old = time.time() - 60
    os.utime(path, (old, old))
    assert manager.read_metrics_file(catalog, "svc-x") is None      # a hung or killed service
    path.write_text("{half a fi")
    assert manager.read_metrics_file(catalog, "svc-x") is None      # never raises on a bad file


@pytest.mark.parametrize("config, words", [
    ({"host": "0.0.0.0"}, "needs a token"),
    ({"host": "192.168.1.20", "token": "short"}, "at least 8"),
    ({"max_batch_size": 0}, "max_batch_size"),
    ({"port": 70000}, "port"),
    ({"max_wait_ms": "soon"}, "max_wait_ms"),
    ({"batch": 4}, "unknown service_config"),
])
def test_bad_service_config_is_refused_before_any_process(dl, bright, config, words):
    with pytest.raises(ValidationError, match=words):
        bright.deploy(service_config=config)
    assert dl.services.list() == []
    assert bright.status == "trained"


def test_bad_thresholds_in_the_model_configuration_fail_the_start_with_the_log(dl, tmp_path):
    pkg = push_brightbox(dl, tmp_path)
    model = make_model(dl, pkg, tmp_path, name="bad-thr", configuration={"class_thresholds": {"frame": 3}})
    with pytest.raises(manager.ServiceError, match=r"class_thresholds\['frame'\] must be a number within 0..1"):
        model.deploy()
    assert model.status == "trained"


def test_a_model_that_fails_to_load_gives_a_clear_error_with_the_log_tail(dl, tmp_path):
    pkg = push_brightbox(dl, tmp_path, package_name="broken", class_name="BrokenLoad")
    model = make_model(dl, pkg, tmp_path, name="broken-v1")
    with pytest.raises(manager.ServiceError) as err:
        model.deploy()
    assert "ended (exit code 1) before it was ready" in str(err.value)
    assert "weights are corrupt (on purpose)" in str(err.value)
    (svc,) = dl.services.list()
    assert svc.status == "failed" and not _alive(svc.pid)
    assert model.status == "trained"


def test_builtin_model_without_weights_cannot_be_deployed(dl):
    model = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet")
    with pytest.raises(ValidationError, match="has no weights.pt yet"):
        model.deploy()
    assert model.status == "pre-trained" and dl.services.list() == []


def test_cli_serve_list_and_stop(dl, bright, capsys):
    import desktop_app.cli.serve_commands  # noqa: F401  (registers serve / services / export-model)
    from desktop_app.cli.main import main

    assert main(["serve", bright.id, "--max-batch-size", "4"]) == 0
    out = capsys.readouterr().out
    service = dl.services.list()[0]
    assert service.url in out and service.id in out
    assert service.refresh()._record.config["max_batch_size"] == 4
    assert main(["services", "--json"]) == 0
    assert service.id in capsys.readouterr().out
    assert main(["services", "stop", service.id]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["services"]) == 0
    assert "(none)" in capsys.readouterr().out
    assert main(["services", "list", "--all"]) == 0
    assert service.id in capsys.readouterr().out
    assert main(["services", "stop", "nope"]) == 2
    assert main(["serve", bright.id, "--host", "0.0.0.0"]) == 2
    assert "needs a token" in capsys.readouterr().err


def test_cli_thresholds(dl, bright, capsys):
    import desktop_app.cli.serve_commands  # noqa: F401
    from desktop_app.cli.main import main

    assert main(["thresholds", bright.id, "--conf", "0.35", "--class", "bright=0.8", "--no-reload"]) == 0
    assert "conf_threshold 0.35; per class: frame 0.5, bright 0.8" in capsys.readouterr().out
    cfg = dl.models.get(model_id=bright.id).configuration
    assert cfg["conf_threshold"] == 0.35 and cfg["class_thresholds"] == {"frame": 0.5, "bright": 0.8}
    assert main(["thresholds", bright.id, "--clear-classes"]) == 0
    assert "per class: none" in capsys.readouterr().out
    assert "class_thresholds" not in dl.models.get(model_id=bright.id).configuration
    for args, words in ((["--class", "bright"], "LABEL=THRESHOLD"), (["--class", "bright=x"], "not a number"),
                        (["--conf", "2"], "within 0..1"), ([], "give --conf"), (["--class", "dog=0.3"], "'dog'")):
        assert main(["thresholds", bright.id, *args]) == 2
        assert words in capsys.readouterr().err
    assert dl.models.get(model_id=bright.id).configuration["conf_threshold"] == 0.35
