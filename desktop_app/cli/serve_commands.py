"""Serving commands: serve, services, export-model."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from desktop_app.domain.status import ServiceStatus
from desktop_app.errors import UserError

from .app import client, command, print_json, print_table, resolve_model


TOKEN_ENV = "DESKTOP_APP_SERVICE_TOKEN"


def service_token(a) -> str | None:
    """The token from --token-file, --token or $DESKTOP_APP_SERVICE_TOKEN (in that order; one flag at most).
    The service process gets it on its stdin, never on its command line."""
    if a.token_file and a.token:
        raise UserError("give the token once: --token-file or --token, not both")
    if a.token_file:
        path = Path(a.token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"cannot read the token file {path}: {e.strerror if isinstance(e, OSError) else e}") \
                from None
        if not token:
            raise UserError(f"the token file {path} is empty")
        return token
    return a.token or os.environ.get(TOKEN_ENV, "").strip() or None


@command("serve", "Deploy a model as a local HTTP service (Open Inference Protocol v2) and print its URL.")
def _serve(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback; others need a token)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--token-file", metavar="PATH",
                   help="a file holding the bearer token every request must carry (required off loopback); "
                        f"or set ${TOKEN_ENV}")
    p.add_argument("--token", help="the token itself (other users see it in `ps`: prefer --token-file or "
                                   f"${TOKEN_ENV})")
    p.add_argument("--max-batch-size", type=int)
    p.add_argument("--max-wait-ms", type=float)
    p.add_argument("--device", help="cpu, cuda, cuda:N (passed to the model)")
    p.add_argument("--foreground", action="store_true", help="stay attached; Ctrl+C stops the service")

    def run(a):
        m = resolve_model(a.model)
        config = {"host": a.host, "port": a.port, "token": service_token(a), "max_batch_size": a.max_batch_size,
                  "max_wait_ms": a.max_wait_ms, "device": a.device}
        service = m.deploy(service_config={k: v for k, v in config.items() if v is not None})
        print(f"service {service.id} serving {m.name} at {service.url} (pid {service.pid})")
        print(f"  POST {service.url}/v2/models/{m.name}/infer    POST {service.url}/predictions/{m.name}")
        if not a.foreground:
            print(f"  stop it with: desktop-app services stop {service.id}")
            return 0
        from desktop_app.serving import manager
        try:
            while True:
                manager.cleanup_stale(client().catalog)  # notices a server that died
                if service.status != ServiceStatus.RUNNING:
                    break
                time.sleep(1.0)
            print(f"service {service.id} ended ({service.status})", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            service.stop()
            print(f"service {service.id} stopped")
            return 0
    p.set_defaults(func=run)


@command("services", "List running model services, or stop one.")
def _services(p):
    p.add_argument("action", nargs="?", choices=["list", "stop"], default="list")
    p.add_argument("service", nargs="?", help="service id (for stop)")
    p.add_argument("--all", action="store_true", help="list stopped and failed services too")
    p.add_argument("--json", action="store_true")

    def run(a):
        from desktop_app.serving import manager
        c = client()
        if a.action == "stop":
            if not a.service:
                print("services stop needs a service id", file=sys.stderr)
                return 2
            rec = manager.stop_service(c.catalog, c.services.get(a.service).id)
            print(f"service {rec.id}: {rec.status}")
            return 0
        running = manager.list_running(c.catalog)
        recs = c.catalog.list_services() if a.all else running
        names = {m.id: m.name for m in c.catalog.find_models()}
        rows = [{"id": s.id, "model": names.get(s.model_id, s.model_id), "status": s.status, "url": s.url or "",
                 "pid": s.pid or "", "started": s.started_at[:19], "stopped": (s.stopped_at or "")[:19]}
                for s in recs]
        if a.json:
            print_json(rows)
        else:
            print_table(rows, ["id", "model", "status", "url", "pid", "started"] + (["stopped"] if a.all else []))
        return 0
    p.set_defaults(func=run)


@command("thresholds", "Keep confidence thresholds on a model (what its services apply); running ones reload.")
def _thresholds(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--conf", type=float, help="confidence threshold for every class (0..1)")
    p.add_argument("--class", dest="per_class", action="append", default=[], metavar="LABEL=THR",
                   help="a threshold for one label, the others' kept (repeatable)")
    p.add_argument("--clear-classes", action="store_true", help="drop the per-class thresholds")
    p.add_argument("--no-reload", action="store_true", help="leave running services as they are")

    def run(a):
        from desktop_app.errors import ValidationError
        m = resolve_model(a.model)
        per_class = {} if a.clear_classes else None
        kept = {} if a.clear_classes else dict(m.configuration.get("class_thresholds") or {})
        for spec in a.per_class:
            label, sep, value = spec.rpartition("=")
            if not sep or not label:
                raise ValidationError(f"--class takes LABEL=THRESHOLD, got {spec!r}")
            try:
                thr = float(value)
            except ValueError:
                raise ValidationError(f"--class {spec!r}: {value!r} is not a number") from None
            per_class = {**(per_class if per_class is not None else kept), label: thr}   # others kept
        if a.conf is None and per_class is None:
            raise ValidationError("give --conf, --class LABEL=THR or --clear-classes")
        out = m.apply_thresholds(a.conf, per_class, reload_services=not a.no_reload)
        classes = ", ".join(f"{k} {v:g}" for k, v in out["class_thresholds"].items()) or "none"
        print(f"{m.name}: conf_threshold {out['conf_threshold']:g}; per class: {classes}")
        for sid in out["services_reloaded"]:
            print(f"  service {sid} reloaded")
        for sid, why in out["services_failed"].items():
            print(f"  service {sid} NOT reloaded (restart it): {why}", file=sys.stderr)
        return 0 if not out["services_failed"] else 1
    p.set_defaults(func=run)


@command("export-model", "Export a trained model's network to ONNX or TorchScript, checked against torch.")
def _export_model(p):
    p.add_argument("model", help="model id, name or package/name")
    p.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    p.add_argument("--out", help="output file (default: <model name>.onnx / .pt in this folder)")

    def run(a):
        from desktop_app.serving.export import default_filename, export_model
        m = resolve_model(a.model)
        res = export_model(client().catalog, m.id, a.format, a.out or default_filename(m.name, a.format))
        print(res.summary())
        print(f"max abs diff: {res.max_abs_diff:.3e}")
        return 0 if res.ok else 1
    p.set_defaults(func=run)
