"""The service process: `python -m desktop_app.workflows.host HOME SERVICE_ID` loads the model and serves it.

The manager writes {"token": ...} to our stdin (a token never goes into the catalog, the command line or the
environment, where `ps` and /proc show them), we load the model (load_host: its adapter over a model handle),
bind the socket (port 0: the system picks), record the port, and run serving's app under uvicorn. The admin key
(hot swaps) is kept by the record as a salted hash only; the manager keeps the key itself in a file only this
user reads (manager.admin_key_path). stdout is the service's log.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from desktop_app.catalog import Catalog
from desktop_app.catalog.stamps import now_iso
from desktop_app.serving.host import ModelHost, Thresholds

from .adapters import build_adapter, model_handle

log = logging.getLogger("desktop_app.serving")


def load_host(catalog: Catalog, model_id: str, *, device: str | None = None,
              work_dir: Path | None = None) -> ModelHost:
    """The model's adapter built from the catalog, wrapped for serving (its own copy of the artifacts under
    work_dir)."""
    model = model_handle(catalog, model_id)
    thresholds = Thresholds.from_configuration(model.configuration)
    # A folder of our own: two services (or a predict job) of one model must not share one that
    # load_from_model wipes first.
    local = work_dir / "model" if work_dir else catalog.work_dir / "models" / model_id
    adapter = build_adapter(catalog, model, device=device, local_path=local)
    aliases = catalog.model_aliases(model.package_id, model.id)
    return ModelHost(adapter, name=model.name, model_id=model.id, package=model.package_name,
                     output_type=model.output_type, labels=model.labels, thresholds=thresholds, work_dir=work_dir,
                     aliases=aliases)


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    from desktop_app.serving import manager
    from desktop_app.serving.config import ServiceConfig
    from desktop_app.serving.server import bind, read_secrets, url_for

    argv = sys.argv[1:] if argv is None else argv
    home, service_id = Path(argv[0]), argv[1]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM ends the process through `finally` (records, scratch files), during loading too; uvicorn
    # installs its own handler while serving and re-raises the signal after its graceful shutdown.
    signal.signal(signal.SIGTERM, _exit_on_term)
    secrets = read_secrets()
    catalog = Catalog(home)
    rec = catalog.get_service(service_id)
    print(f"--- {now_iso()} service {rec.id} of model {rec.model_id} pid {os.getpid()}", flush=True)

    host = None
    app = None
    try:
        admin_key_hash = rec.config.get("admin_key_hash")
        settings = {k: v for k, v in rec.config.items() if k not in ("admin_key", "admin_key_hash")}
        config = ServiceConfig.from_dict({**settings, "token": secrets.get("token")})
        host = load_host(catalog, rec.model_id, device=config.device,
                         work_dir=catalog.work_dir / "services" / service_id)
        swaps = iter(range(1, 1 << 30))

        def loader(model_id: str) -> ModelHost:
            # A folder of its own beside the first one: closing the old host removes only its own.
            return load_host(catalog, model_id, device=config.device,
                             work_dir=catalog.work_dir / "services" / f"{service_id}.{next(swaps)}")
        sock = bind(config.host, config.port)
        port = sock.getsockname()[1]
        catalog.update_service(service_id, port=port, url=url_for(config.host, port), pid=os.getpid())
        print(f"model {host.name} loaded; listening on {url_for(config.host, port)}", flush=True)

        import uvicorn

        from desktop_app.serving.app import create_app
        from desktop_app.serving.http_protocol import with_header_timeout

        app = create_app(host, config, loader=loader, admin_key_hash=admin_key_hash,
                         metrics_file=manager.metrics_path(catalog, service_id),
                         private_paths=(str(catalog.home), str(catalog.home.resolve())))
        # The app limits requests in flight itself (a JSON 503); uvicorn's limit_concurrency would count
        # idle and half-sent connections too, so a few dozen of those locked every client out.
        server = uvicorn.Server(uvicorn.Config(
            app, log_level="info", access_log=config.access_log, http=with_header_timeout(config.header_timeout_s),
            timeout_keep_alive=5, timeout_graceful_shutdown=5, server_header=False, lifespan="on"))
        server.run(sockets=[sock])
        return 0
    except Exception as e:  # noqa: BLE001 - the manager shows this line with the log tail
        log.exception("service failed")
        print(f"--- {now_iso()} failed: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        if app is not None:
            app.state.service.close_all()  # the host served last, and any swapped-out one still open
        if host is not None:
            host.close()
        manager.mark_ended(catalog, service_id)
        print(f"--- {now_iso()} stopped", flush=True)
        catalog.close()


if __name__ == "__main__":
    raise SystemExit(main())
