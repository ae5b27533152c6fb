"""Start, stop and list service processes; keep service records and the model's `deployed` status true."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import ModelStatus, ServiceRecord, ServiceStatus
from desktop_app.catalog.stamps import now_iso
from desktop_app.errors import DesktopAppError, ValidationError
from desktop_app.ml.readiness import require_runnable

from .config import ServiceConfig

RUNNING = ServiceStatus.LIVE
# The service process's entry, run by module name (it loads the model through workflows, above serving).
SERVICE_ENTRY = "desktop_app.workflows.host"
# Statuses a model can be served from: it has weights (or, for user code, whatever load() needs).


class ServiceError(DesktopAppError):
    """A service process did not start; the message carries the end of its log."""


def log_path(catalog: Catalog, service_id: str) -> Path:
    p = catalog.logs_dir / "services"
    p.mkdir(parents=True, exist_ok=True)
    return p / f"{service_id}.log"


def metrics_path(catalog: Catalog, service_id: str) -> Path:
    """Where a running service keeps a copy of its /metrics figures (rewritten every second), so this
    workstation can show them without the token a service off loopback asks of every HTTP request."""
    return catalog.work_dir / "services" / f"{service_id}.metrics.json"


def admin_key_path(catalog: Catalog, service_id: str) -> Path:
    """Where a running service's admin key lives while it runs: a file only this user can read, under the
    catalog's scratch folder (which backups leave out); the service record keeps a salted hash of it."""
    return catalog.work_dir / "services" / f"{service_id}.admin-key"


def _write_admin_key(catalog: Catalog, service_id: str) -> str:
    key = secrets.token_urlsafe(24)
    path = admin_key_path(catalog, service_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key


def read_admin_key(catalog: Catalog, service_id: str) -> str | None:
    try:
        return admin_key_path(catalog, service_id).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def read_metrics_file(catalog: Catalog, service_id: str, *, max_age_s: float = 5.0) -> dict[str, Any] | None:
    """The figures a running service last wrote; None when there are none or they are stale (a hung or
    killed process)."""
    path = metrics_path(catalog, service_id)
    try:
        if time.time() - path.stat().st_mtime > max_age_s:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def with_package_defaults(catalog: Catalog, model_id: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """The service settings of `model_id`: its package version's stored service_config, then `config` over it."""
    defaults = (catalog.model_package(model_id).metadata or {}).get("service_config") or {}
    return {**defaults, **(config or {})}


def start_service(catalog: Catalog, model_id: str, config: dict[str, Any] | None = None) -> ServiceRecord:
    """Spawn a detached server for the model; return its record once /v2/health/ready answers. `config` goes over
    the settings the model's package version keeps (pushed with ``service_config=``): a key given here wins."""
    config = with_package_defaults(catalog, model_id, config)
    cfg = ServiceConfig.from_dict(config)
    model = catalog.get_model(model_id)
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None:
        raise ValidationError("serving needs uvicorn and starlette: pip install 'model-desk[serve]'")
    require_runnable(catalog, model_id, "deploy")      # the rule evaluate and predict follow too
    previous = _status_before_deploy(catalog, model_id)
    rec = catalog.create_service(model_id, str(config.get("name") or model.name), status=ServiceStatus.STARTING,
                                 host=cfg.host, config={**cfg.public(), "previous_status": previous})
    # The admin key guards hot model swaps (redeploy). Any process working on this catalog (a pipeline
    # promoting a model) can swap: the key is in a file beside the catalog's scratch files, and the record
    # (which travels in backups) keeps only its salted hash, which is what the server checks against.
    from .guards import hash_key
    try:
        key_hash = hash_key(_write_admin_key(catalog, rec.id))
    except OSError:
        catalog.update_service(rec.id, status=ServiceStatus.FAILED, stopped_at=now_iso())
        raise
    rec = catalog.update_service(rec.id, config={**rec.config, "admin_key_hash": key_hash})
    log_file = log_path(catalog, rec.id)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVICE_ENTRY, str(catalog.home), rec.id],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=_child_env())
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"token": cfg.token}).encode())
        proc.stdin.close()
    except OSError:
        pass  # it died at once; the wait below reports why
    catalog.update_service(rec.id, pid=proc.pid)
    _children[rec.id] = proc
    try:
        url = _wait_ready(catalog, rec.id, proc, cfg, log_file)
    except BaseException:
        _terminate(proc.pid, rec.id, timeout=5.0, proc=proc)
        catalog.update_service(rec.id, status=ServiceStatus.FAILED, stopped_at=now_iso())
        _remove_service_files(catalog, rec.id)
        raise
    catalog.update_service(rec.id, status=ServiceStatus.RUNNING, url=url)
    catalog.set_model_status(model_id, ModelStatus.DEPLOYED)
    return catalog.get_service(rec.id)


def _status_before_deploy(catalog: Catalog, model_id: str) -> str:
    status = catalog.get_model(model_id).status
    if status != ModelStatus.DEPLOYED:
        return status
    for s in catalog.list_services(model_id=model_id):
        if s.status in RUNNING and s.config.get("previous_status"):
            return s.config["previous_status"]
    return ModelStatus.TRAINED


def _wait_ready(catalog: Catalog, service_id: str, proc: subprocess.Popen, cfg: ServiceConfig,
                log_file: Path) -> str:
    deadline = time.monotonic() + cfg.start_timeout_s
    headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
    while True:
        code = proc.poll()
        if code is not None:
            raise ServiceError(f"the service process ended (exit code {code}) before it was ready:\n"
                               f"{log_tail(log_file)}")
        rec = catalog.get_service(service_id)
        if rec.url and _ready(_probe_url(rec), headers):
            return rec.url
        if time.monotonic() > deadline:
            raise ServiceError(f"the service was not ready within {cfg.start_timeout_s:.0f} s:\n{log_tail(log_file)}")
        time.sleep(0.05)


def probe_base(rec: ServiceRecord) -> str:
    """The service's base url as seen from this machine (one bound to every interface is asked on loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(rec.host, rec.host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{rec.port}"


def _probe_url(rec: ServiceRecord) -> str:
    return probe_base(rec) + "/v2/health/ready"


def get_json(url: str, headers: dict[str, str] | None = None, *, timeout: float = 2.0) -> Any | None:
    """GET a JSON answer; None when the server does not answer with one (down, refusing, not JSON)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read()) if r.status == 200 else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _ready(url: str, headers: dict[str, str]) -> bool:
    answer = get_json(url, headers)
    return isinstance(answer, dict) and bool(answer.get("ready"))


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# -- hot swap -----------------------------------------------------------------------------------------
def redeploy(catalog: Catalog, service_id: str, model_id: str, *, timeout: float = 300.0,
             reload: bool = False) -> ServiceRecord:
    """Serve another model from a running service without dropping requests.

    The server loads and warms up the new model beside the old one, then swaps: requests already accepted
    finish on the old model, later ones get the new one. The record and both models' statuses follow.
    reload=True loads the model it serves again (its configuration changed: new thresholds)."""
    rec = catalog.get_service(service_id)
    if rec.status not in RUNNING or not _alive(rec):
        raise ValidationError(f"service {service_id} is not running ({rec.status})")
    if rec.model_id == model_id and not reload:
        return rec
    key = read_admin_key(catalog, service_id) if rec.config.get("admin_key_hash") else None
    if not key or not rec.url:
        raise ServiceError(f"service {service_id} was started without hot-swap support; restart it to swap models")
    model = catalog.get_model(model_id)
    require_runnable(catalog, model_id, "deploy")      # the rule evaluate and predict follow too
    previous = _status_before_deploy(catalog, model_id)
    url = probe_base(rec) + f"/v2/repository/models/{rec.model_id}/load"
    req = urllib.request.Request(url, data=json.dumps({"model_id": model_id}).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Admin-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        with contextlib.suppress(ValueError):
            detail = json.loads(detail).get("error", detail)
        raise ServiceError(f"service {service_id} refused to load model {model.name!r} (HTTP {e.code}): "
                           f"{detail}") from None
    except (OSError, urllib.error.URLError) as e:
        raise ServiceError(f"could not reach service {service_id} at {rec.url}: {e}") from None
    old = rec
    catalog.update_service(service_id, model_id=model_id,
                           config={**rec.config, "previous_status": previous})
    catalog.set_model_status(model_id, ModelStatus.DEPLOYED)
    if old.model_id != model_id:
        _restore_model_status(catalog, old)
    if answer.get("model_id") != model_id:  # pragma: no cover - a server of another version
        raise ServiceError(f"service {service_id} answered {answer!r}")
    return catalog.get_service(service_id)


def apply_thresholds(catalog: Catalog, model_id: str, conf_threshold: float | None = None,
                     class_thresholds: dict[str, float] | None = None, *,
                     reload_services: bool = True) -> dict[str, Any]:
    """Keep the confidence thresholds chosen in review on the model (configuration `conf_threshold`, and
    `class_thresholds` per label: what its services and exports apply), then have its running services load
    the model again so they apply them now, without dropping a request. class_thresholds={} clears them."""
    from .host import Thresholds

    model = catalog.get_model(model_id)
    configuration = dict(model.configuration)
    if conf_threshold is not None:
        configuration["conf_threshold"] = conf_threshold
    if class_thresholds is not None:
        if not isinstance(class_thresholds, dict):
            raise ValidationError("class_thresholds must be a {label: threshold} mapping")
        unknown = sorted(set(map(str, class_thresholds)) - set(model.labels))
        if unknown:
            raise ValidationError(f"class_thresholds name label(s) {', '.join(map(repr, unknown))} that model "
                                  f"{model.name!r} does not have; its labels: {', '.join(model.labels)}")
        if class_thresholds:
            configuration["class_thresholds"] = {str(k): v for k, v in class_thresholds.items()}
        else:
            configuration.pop("class_thresholds", None)
    thresholds = Thresholds.from_configuration(configuration)   # refuses a bad value before anything is kept
    configuration["conf_threshold"] = thresholds.conf
    catalog.update_model(model_id, configuration=configuration)
    reloaded, failed = [], {}
    if reload_services:
        for s in list_running(catalog):
            if s.model_id != model_id or s.status != ServiceStatus.RUNNING:
                continue
            try:
                redeploy(catalog, s.id, model_id, reload=True)
                reloaded.append(s.id)
            except (ServiceError, ValidationError) as e:   # kept on the model; this service needs a restart
                failed[s.id] = str(e)
    return {"model_id": model_id, "conf_threshold": thresholds.conf, "class_thresholds": thresholds.per_class,
            "services_reloaded": reloaded, "services_failed": failed}


# -- stopping -----------------------------------------------------------------------------------------
def stop_service(catalog: Catalog, service_id: str, timeout: float = 10.0) -> ServiceRecord:
    """SIGTERM (uvicorn finishes open requests), then SIGKILL after `timeout`; status 'stopped'."""
    rec = catalog.get_service(service_id)
    if rec.pid and _is_our_server(rec.pid, service_id):
        _terminate(rec.pid, service_id, timeout=timeout, proc=_children.get(service_id))
    _children.pop(service_id, None)
    mark_ended(catalog, service_id)
    return catalog.get_service(service_id)


def mark_ended(catalog: Catalog, service_id: str) -> None:
    """The process is gone (or going): record it and give the model its status back if nothing serves it."""
    rec = catalog.get_service(service_id)
    if rec.status in RUNNING:
        ended = ServiceStatus.STOPPED if rec.status == ServiceStatus.RUNNING else ServiceStatus.FAILED
        catalog.update_service(service_id, status=ended, stopped_at=now_iso())
    _remove_service_files(catalog, service_id)
    _restore_model_status(catalog, rec)


def _restore_model_status(catalog: Catalog, rec: ServiceRecord) -> None:
    with contextlib.suppress(Exception):  # the model may have been deleted meanwhile
        others = [s for s in catalog.list_services(model_id=rec.model_id)
                  if s.id != rec.id and s.status in RUNNING and _alive(s)]
        if others:
            return
        catalog.restore_model_status(rec.model_id, rec.config.get("previous_status") or ModelStatus.TRAINED,
                                     expect=ModelStatus.DEPLOYED)


def _terminate(pid: int, service_id: str, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    def signal_group(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # The server leads its own session: its group includes any helper processes the model started.
            if hasattr(os, "killpg") and os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    def gone() -> bool:
        if proc is not None:
            return proc.poll() is not None
        return not pid_alive(pid)

    signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not gone():
        if time.monotonic() > deadline:
            signal_group(signal.SIGKILL)
            break
        time.sleep(0.05)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)


# -- listing ------------------------------------------------------------------------------------------
def list_running(catalog: Catalog) -> list[ServiceRecord]:
    """Services that are running now; records whose process is gone are marked stopped first."""
    cleanup_stale(catalog)
    return [s for s in catalog.list_services() if s.status in RUNNING]


def cleanup_stale(catalog: Catalog) -> list[str]:
    """Mark 'stopped' every starting / running record whose process is no longer our server."""
    changed = []
    for s in catalog.list_services():
        if s.status in RUNNING and not _alive(s):
            if s.status == ServiceStatus.STARTING and s.pid is None:
                continue  # being started right now by another caller
            catalog.update_service(s.id, status=ServiceStatus.STOPPED, stopped_at=now_iso())
            _remove_service_files(catalog, s.id)
            _restore_model_status(catalog, s)
            changed.append(s.id)
        elif s.status not in RUNNING and "admin_key" in s.config:
            # Records of services started before the key was kept as a hash held it in plain text.
            catalog.update_service(s.id, config={k: v for k, v in s.config.items() if k != "admin_key"})
    return changed


def _remove_service_files(catalog: Catalog, service_id: str) -> None:
    metrics_path(catalog, service_id).unlink(missing_ok=True)
    admin_key_path(catalog, service_id).unlink(missing_ok=True)


def _alive(rec: ServiceRecord) -> bool:
    return bool(rec.pid) and _is_our_server(rec.pid, rec.id)


def pid_alive(pid: int) -> bool:
    from desktop_app.jobs.scheduler import pid_alive as alive
    return alive(pid)


def _is_our_server(pid: int, service_id: str) -> bool:
    """The pid is alive and is this service's server (after a reboot the pid may belong to anyone)."""
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc (macOS, Windows): trust the pid
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return SERVICE_ENTRY.encode() in args and service_id.encode() in args


def _child_env() -> dict[str, str]:
    # The token goes on the child's stdin; the variable the CLI may have read it from stays here.
    env = {k: v for k, v in os.environ.items() if k != "DESKTOP_APP_SERVICE_TOKEN"}
    # The package must be importable from a source checkout too.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# Popen objects of services this process started: reaped on stop (no zombies left behind).
_children: dict[str, subprocess.Popen] = {}


@atexit.register
def _leave_services_running() -> None:
    """At exit: reap the services that ended; one still running outlives this process on purpose (a service
    started from the command line serves on), so letting go of its Popen is no leak and says nothing (Python
    would warn "subprocess N is still running")."""
    running = [p for p in _children.values() if p.poll() is None]
    _children.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        running.clear()   # the last references: CPython collects each Popen here, inside the filter
