"""What a services list shows: service rows with live figures from each server's /metrics, curl examples."""

from __future__ import annotations

import shlex
import urllib.parse
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import ModelStatus, ServiceRecord, ServiceStatus

from . import manager



def fetch_metrics(url: str, *, timeout: float = 1.0) -> dict[str, Any] | None:
    """GET <url>/metrics as JSON; None when the server does not answer (or wants a token we do not have)."""
    return manager.get_json(url.rstrip("/") + "/metrics", {"Accept": "application/json"}, timeout=timeout)


def _probe_base(rec: ServiceRecord) -> str | None:
    """The url to reach the service from this machine, once it has one."""
    if not rec.url or not rec.port:
        return None
    return manager.probe_base(rec)


def service_rows(catalog: Catalog, *, project_id: str | None = None, running_only: bool = True,
                 with_metrics: bool = True, timeout: float = 1.0) -> list[dict[str, Any]]:
    """One row per service (newest first): where it listens, which model, its process, and the figures its
    /metrics reports (requests, errors, mean / p50 latency; for a service with a token, from the metrics file
    it keeps in the catalog). Records of dead processes are marked first."""
    manager.cleanup_stale(catalog)
    models = {m.id: m for m in catalog.find_models(project_id=project_id)}
    rows = []
    for s in catalog.list_services():
        if s.model_id not in models:
            continue
        running = s.status in manager.RUNNING
        if running_only and not running:
            continue
        m, source = None, None
        if with_metrics and running and s.status == ServiceStatus.RUNNING:
            if s.config.get("auth"):
                # over HTTP it would want the token, which is never stored: read the copy it keeps instead
                m, source = manager.read_metrics_file(catalog, s.id), "file"
            else:
                base = _probe_base(s)
                m, source = (fetch_metrics(base, timeout=timeout) if base else None), "http"
        req = (m or {}).get("requests") or {}
        lat = (m or {}).get("latency_ms") or {}
        model = models[s.model_id]
        rows.append({
            "id": s.id, "name": s.name, "url": s.url or "", "model": (m or {}).get("model") or model.name,
            "model_id": s.model_id, "port": s.port, "pid": s.pid, "status": s.status,
            "started_at": (s.started_at or "")[:19].replace("T", " "),
            "stopped_at": (s.stopped_at or "")[:19].replace("T", " "), "auth": bool(s.config.get("auth")),
            "answering": m is not None, "figures_from": source if m is not None else None,
            "requests": req.get("total"), "errors": req.get("errors"),
            "mean_ms": lat.get("mean"), "p50_ms": lat.get("p50"), "uptime_s": (m or {}).get("uptime_s"),
        })
    running = [r for r in rows if r["status"] in manager.RUNNING]
    ended = [r for r in rows if r["status"] not in manager.RUNNING]
    return sorted(running, key=lambda r: r["started_at"], reverse=True) + \
        sorted(ended, key=lambda r: r["started_at"], reverse=True)


def deployable_models(catalog: Catalog, project_id: str | None = None) -> list[tuple[str, str]]:
    """(id, name) of the models a service can start from: trained (or already deployed) ones."""
    # a pre-trained built-in has no weights of its own
    return [(m.id, m.name) for m in catalog.find_models(project_id=project_id)
            if m.status in ModelStatus.WITH_WEIGHTS]


def curl_example(url: str, model_name: str, *, image: str = "image.jpg", auth: bool = False) -> str:
    """A shell command that posts one image file to POST /predictions/{name} and prints the annotations."""
    endpoint = f"{url.rstrip('/')}/predictions/{urllib.parse.quote(model_name, safe='')}"
    parts = ["curl", "-sS", "-X", "POST", "-H", shlex.quote("Content-Type: application/octet-stream")]
    if auth:
        parts += ["-H", '"Authorization: Bearer $MODEL_DESK_TOKEN"']
    parts += ["--data-binary", shlex.quote("@" + image), shlex.quote(endpoint)]
    return " ".join(parts)
