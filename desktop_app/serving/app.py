"""The ASGI application: OIP v2 + TorchServe-style routes over a ModelHost, with auth, limits and JSON errors.

The served model can be swapped while serving (POST /v2/repository/models/{name}/load with the admin key):
the new one loads and warms up in the background, then replaces the old one in one step; requests accepted
before the swap finish on the old model, which is closed when the last of them is done."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop_app import __version__

from .batching import Batcher
from .budget import MemoryBudget
from .config import ServiceConfig
from .errors import ModelFailed, NotFound, RequestError, TooLarge
from .guards import HostCheck, allowed_hosts, hash_key, key_matches, scrub
from .images import decode_image, image_size
from .jsonbody import parse_request_json
from .metrics import ServiceMetrics
from .openapi import openapi_document
from .protocol import infer_response, model_metadata, parse_json, read_infer_request

log = logging.getLogger(__name__)

WARMUP_SHAPE = (64, 64, 3)


class JSONResponse(StarletteJSONResponse):
    """Starlette's, except that a lone surrogate a request brought (JSON text may spell "\\ud800") goes back
    as that escape: UTF-8 cannot encode it, and the answer would otherwise fail as a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")) \
            .encode("utf-8", "backslashreplace")


ADMIN_HEADER = "x-admin-key"
ADMIN_PREFIX = "/v2/repository/"


def host_names(host: Any) -> list[str]:
    """The names a model answers under: its name, id, package and aliases (e.g. 'champion')."""
    names = [host.name, host.model_id, getattr(host, "package", None), *getattr(host, "aliases", ())]
    return [n for n in dict.fromkeys(names) if n]


class ServiceState:
    def __init__(self, host: Any, config: ServiceConfig, *, loader: Callable[[str], Any] | None = None,
                 admin_key_hash: str | None = None, private_paths: tuple[str, ...] = ()):
        self.host = host
        self.config = config
        self.metrics = ServiceMetrics()
        self.budget = MemoryBudget(config.memory_budget_mb * 2**20, wait_s=config.body_timeout_s)
        self.private_paths = private_paths   # scrubbed from what clients read (the catalog folder, home)
        self.batcher = Batcher(host.predict, max_batch_size=config.max_batch_size, max_wait_ms=config.max_wait_ms,
                               on_batch=self.metrics.record_batch)
        self.ready = False
        self.warmup_error: str | None = None
        self.loader = loader          # model id -> a loaded host (runs in a worker thread)
        self.admin_key_hash = admin_key_hash
        self.swaps = 0
        self._inflight: dict[int, int] = {}
        self._retired: dict[int, Any] = {}
        self._swap_lock: asyncio.Lock | None = None

    @property
    def version(self) -> str:
        return self.host.model_id

    def check_model(self, request: Request) -> Any:
        """The current host, if the path names it (and its version, if any)."""
        h = self.host
        name = request.path_params["model_name"]
        if name not in host_names(h):
            raise NotFound(f"unknown model {name!r}; this service serves {h.name!r}", field="model")
        version = request.path_params.get("model_version")
        if version is not None and version != h.model_id:
            raise NotFound(f"model {h.name!r} has no version {version!r} here; it serves {h.model_id!r}",
                           field="version")
        return h

    @contextlib.contextmanager
    def lease(self, request: Request) -> Iterator[Any]:
        """The host this request is bound to; a swapped-out host stays open until its last request ends."""
        h = self.check_model(request)
        key = id(h)
        self._inflight[key] = self._inflight.get(key, 0) + 1
        try:
            yield h
        finally:
            self._inflight[key] -= 1
            if self._inflight[key] == 0:
                del self._inflight[key]
                if key in self._retired:
                    _close_later(self._retired.pop(key))

    def swap(self, new_host: Any) -> Any:
        """Serve new_host from now on (one assignment on the event loop: atomic for every request)."""
        old, self.host = self.host, new_host
        self.batcher.predict = new_host.predict
        self.swaps += 1
        if old is not new_host:
            if self._inflight.get(id(old)):
                self._retired[id(old)] = old
            else:
                _close_later(old)
        return old

    @property
    def swap_lock(self) -> asyncio.Lock:
        if self._swap_lock is None:
            self._swap_lock = asyncio.Lock()
        return self._swap_lock

    def scrub(self, text: str | None) -> str | None:
        return None if text is None else scrub(text, self.private_paths)

    def close_all(self) -> None:
        for h in [self.host, *self._retired.values()]:
            with contextlib.suppress(Exception):
                h.close()
        self._retired.clear()


def _close_later(host: Any) -> None:
    """Closing removes the host's files; never on the event loop."""
    close = getattr(host, "close", None)
    if close is not None:
        threading.Thread(target=close, name="close-host", daemon=True).start()


# -- body with a limit ---------------------------------------------------------------------------
async def read_body(request: Request, limit: int, timeout_s: float | None = None) -> bytearray:
    """The whole body, refused (413) above `limit` bytes and (408) when it has not all come in `timeout_s`.

    A declared Content-Length over the limit is refused at once, before a byte is read; a body found over it
    while reading is refused there. Nothing is read after a refusal: uvicorn drops the rest of the body as it
    comes (the connection is closed when it has not come by the header deadline), and the request's place
    among those in flight is free at once."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 18:
            raise RequestError("bad Content-Length header", field="Content-Length")
        if (expected := int(declared)) > limit:
            raise TooLarge(f"request body of {expected:,} bytes is over the limit of {limit:,}",
                           field="Content-Length")
    # One growing buffer (no list of chunks joined into a second copy), never more than has come: a client
    # that declares 60 MB and sends nothing costs nothing.
    body = bytearray()

    async def receive_all() -> None:
        async for chunk in request.stream():
            if len(body) + len(chunk) > limit:
                raise TooLarge(f"request body is over the limit of {limit:,} bytes", field="Content-Length")
            body.extend(chunk)

    try:
        async with asyncio.timeout(timeout_s):
            await receive_all()
    except ClientDisconnect:
        raise RequestError(f"the client closed the connection after {len(body):,} bytes of its body",
                           field="body") from None
    except TimeoutError:
        raise RequestError(f"the request body did not arrive within {timeout_s:g} s ({len(body):,} bytes came); "
                           f"send it at once", status=408, field="body") from None
    return body


def check_content_type(request: Request, refused: tuple[str, ...], hint: str) -> None:
    """A 415 for a Content-Type this route cannot read (no header, or any other, is tried)."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given and any(given == r or (r.endswith("/") and given.startswith(r)) for r in refused):
        raise RequestError(f"Content-Type {given} is not what this route reads: {hint}", status=415,
                           field="Content-Type")


def _field(field: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, its RequestErrors naming `field` where they name none."""
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RequestError as e:
            e.field = e.field or field
            raise
    return call


# -- routes ----------------------------------------------------------------------------------------
def _state(request: Request) -> ServiceState:
    return request.app.state.service


async def live(request: Request) -> Response:
    return JSONResponse({"live": True})


async def ready(request: Request) -> Response:
    return JSONResponse({"ready": _state(request).ready})


async def ping(request: Request) -> Response:
    return JSONResponse({"status": "Healthy" if _state(request).ready else "Unhealthy"})


async def server_metadata(request: Request) -> Response:
    return JSONResponse({"name": "model-desk", "version": __version__, "extensions": []})


async def model_meta(request: Request) -> Response:
    s = _state(request)
    h = s.check_model(request)
    return JSONResponse(model_metadata(h.name, h.model_id, f"model-desk/{h.package}", h.output_type, h.labels))


async def model_ready(request: Request) -> Response:
    s = _state(request)
    h = s.check_model(request)
    return JSONResponse({"name": h.name, "ready": s.ready})


async def infer(request: Request) -> Response:
    s = _state(request)
    with s.lease(request) as h:
        check_content_type(request, ("multipart/", "image/"),
                           "send an OIP v2 JSON document (application/json); raw image bytes go to "
                           "/predictions/{model}")
        cfg = s.config
        body = await read_body(request, cfg.json_limit, cfg.body_timeout_s)

        def parse(body: bytearray) -> Any:
            return read_infer_request(_field("body", parse_request_json)(body), max_pixels=cfg.max_pixels,
                                      max_images=cfg.max_images_per_request, max_request_pixels=cfg.request_pixels)

        # Parsing takes at most about the body's size again (serving/jsonbody.py), decoding 8 bytes a pixel:
        # each is asked of the memory budget in turn, never both at once.
        async with s.budget.reserve(len(body), "a JSON request"):
            req = await run_in_threadpool(parse, body)
        del body
        async with s.budget.reserve(req.decode_bytes, "a request's images"):
            images = await run_in_threadpool(req.decode)
        meta = req.meta
        del req                      # the encoded images can go
        per_image = await s.batcher.submit(images, h.predict)
        return JSONResponse(infer_response(h.name, h.model_id, per_image, meta))


async def predictions(request: Request) -> Response:
    s = _state(request)
    with s.lease(request) as h:
        check_content_type(request, ("application/json", "multipart/"),
                           "send the image file's bytes as the body; OIP v2 JSON goes to /v2/models/{model}/infer")
        cfg = s.config
        body = await read_body(request, cfg.max_request_bytes, cfg.body_timeout_s)
        w, h_ = await run_in_threadpool(_field("body", image_size), body, what="the request body")
        if w * h_ > cfg.max_pixels:
            raise TooLarge(f"the request body is {w}x{h_} = {w * h_:,} pixels, over the service's limit of "
                           f"{cfg.max_pixels:,}; it was not decoded", field="body")
        async with s.budget.reserve(8 * w * h_ + len(body), "the request's image"):
            image = await run_in_threadpool(_field("body", decode_image), body, cfg.max_pixels,
                                            what="the request body")
        del body
        (anns,) = await s.batcher.submit([image], h.predict)
        return JSONResponse(h.dataloop_json(anns))


async def load_model(request: Request) -> Response:
    """Hot swap: load {"model_id": ...} beside the served model, warm it up, then serve it instead."""
    s = _state(request)
    if not s.admin_key_hash or s.loader is None:
        raise RequestError("this service cannot swap models (it has no admin key); restart it", status=403)
    if not key_matches(request.headers.get(ADMIN_HEADER, ""), s.admin_key_hash):
        raise RequestError(f"missing or wrong {ADMIN_HEADER} header", status=403, field="X-Admin-Key")
    s.check_model(request)
    doc = _field("body", parse_json)(await read_body(request, 64 * 1024, s.config.body_timeout_s))
    model_id = doc.get("model_id") if isinstance(doc, dict) else None
    if not isinstance(model_id, str) or not model_id:
        raise RequestError('the body must be {"model_id": "<id of the model to serve>"}', field="model_id")
    async with s.swap_lock:  # one load at a time
        t0 = time.perf_counter()
        try:
            new = await run_in_threadpool(s.loader, model_id)
        except Exception as e:  # noqa: BLE001 - the old model keeps serving
            log.exception("loading model %s for a swap failed", model_id)
            raise RequestError(s.scrub(f"could not load model {model_id}: {type(e).__name__}: {e}"),
                               status=422) from None
        warmup_error = None
        if s.config.warmup:
            try:
                await run_in_threadpool(new.predict, [np.full(WARMUP_SHAPE, 128, np.uint8)])
            except Exception as e:  # noqa: BLE001 - as at start-up, a grey square may not suit every model
                warmup_error = s.scrub(f"{type(e).__name__}: {e}")
        old = s.swap(new)
    log.info("now serving model %s (%s) instead of %s", new.name, new.model_id, old.model_id)
    return JSONResponse({"name": new.name, "model_id": new.model_id, "names": host_names(new),
                         "previous_model_id": old.model_id, "load_seconds": round(time.perf_counter() - t0, 3),
                         "warmup_error": warmup_error})


async def metrics(request: Request) -> Response:
    s = _state(request)
    if request.query_params.get("format") == "prometheus":
        return PlainTextResponse(s.metrics.prometheus(s.host.name, s.batcher.depth),
                                 media_type="text/plain; version=0.0.4")
    return JSONResponse(metrics_document(s))


async def openapi(request: Request) -> Response:
    s = _state(request)
    doc = openapi_document(s.host.name, auth=bool(s.config.token))
    doc["paths"][f"{ADMIN_PREFIX}models/{{model_name}}/load"] = {"post": _LOAD_DOC}
    return JSONResponse(doc)


_LOAD_DOC = {
    "summary": "Serve another model (hot swap): it loads beside the current one, then replaces it; requests "
               "already accepted finish on the old model. Needs the service's admin key in X-Admin-Key.",
    "tags": ["admin"],
    "parameters": [{"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}},
                   {"name": "X-Admin-Key", "in": "header", "required": True, "schema": {"type": "string"}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["model_id"], "properties": {"model_id": {"type": "string"}}}}}},
    "responses": {
        "200": {"description": "{name, model_id, names, previous_model_id, load_seconds, warmup_error}",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": {"description": "No model_id in the body"},
        "403": {"description": "Missing or wrong admin key, or a service without one"},
        "404": {"description": "Unknown model name"},
        "422": {"description": "The new model failed to load; the old one keeps serving"},
    },
    "security": [],
}


ROUTES = [
    Route("/v2/health/live", live, methods=["GET"]),
    Route("/v2/health/ready", ready, methods=["GET"]),
    Route("/v2", server_metadata, methods=["GET"]),
    Route("/v2/models/{model_name}", model_meta, methods=["GET"]),
    Route("/v2/models/{model_name}/versions/{model_version}", model_meta, methods=["GET"]),
    Route("/v2/models/{model_name}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{model_name}/versions/{model_version}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{model_name}/infer", infer, methods=["POST"]),
    Route("/v2/models/{model_name}/versions/{model_version}/infer", infer, methods=["POST"]),
    Route("/predictions/{model_name}", predictions, methods=["POST"]),
    Route("/predictions/{model_name}/{model_version}", predictions, methods=["POST"]),
    Route("/v2/repository/models/{model_name}/load", load_model, methods=["POST"]),
    Route("/ping", ping, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


# -- errors ----------------------------------------------------------------------------------------
async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    body = exc.body()
    if exc.status >= 500:
        body["error"] = _state(request).scrub(body["error"])
    return JSONResponse(body, status_code=exc.status, headers={"Retry-After": "1"} if exc.status == 503 else None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no such endpoint {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)


async def _model_failed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": _state(request).scrub(str(exc))}, status_code=500)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": _state(request).scrub(f"internal error: {type(exc).__name__}: {exc}; "
                                                        f"the service log has the details")}, status_code=500)


# -- middleware (pure ASGI: no body buffering) ------------------------------------------------------
class BearerAuth:
    """Every HTTP request must carry `Authorization: Bearer <token>` when the service has a token.

    The admin routes (/v2/repository/...) are guarded by the admin key instead (the manager that swaps
    models knows the admin key from the service record, never the token)."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        header = b""
        for k, v in scope["headers"]:
            if k == b"authorization":
                header = v
        scheme, _, given = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token):
            await self.app(scope, receive, send)
            return
        msg = "missing bearer token" if not header else "wrong bearer token"
        resp = JSONResponse({"error": f"{msg}: send 'Authorization: Bearer <token>'", "field": "Authorization"},
                            status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="model-desk"'})
        await resp(scope, receive, send)


class InFlightLimit:
    """At most `limit` requests in flight; above it a JSON 503 with Retry-After at once (health, metrics and
    the documents stay answerable). Counted here rather than by uvicorn's limit_concurrency, which counts
    open connections: idle or half-sent ones would then lock every client out."""

    EXEMPT = ("/v2/health/", "/metrics", "/ping", "/openapi.json")

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.limit:
            resp = JSONResponse({"error": f"the service is busy: {self.inflight} requests in flight, its limit "
                                          f"(max_concurrency) is {self.limit}; retry shortly"},
                                status_code=503, headers={"Retry-After": "1"})
            await resp(scope, receive, send)
            return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1


class Timing:
    """Counts every request by status and records its latency (outermost, so refusals count too)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.record_request(scope["path"], status, time.perf_counter() - t0)


def metrics_document(state: ServiceState) -> dict[str, Any]:
    """What GET /metrics answers (as JSON), and what the metrics file holds."""
    return {"model": state.host.name, "model_id": state.host.model_id, "ready": state.ready, "swaps": state.swaps,
            "warmup_error": state.scrub(state.warmup_error), **state.metrics.snapshot(state.batcher.depth),
            "memory_budget": {"bytes": state.budget.total, "in_use": state.budget.used, "peak": state.budget.peak}}


def write_metrics_file(state: ServiceState, path: Path) -> None:
    """Atomically: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(metrics_document(state)), encoding="utf-8")
    os.replace(tmp, path)


async def _keep_metrics_file(state: ServiceState, path: Path, interval_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            write_metrics_file(state, path)   # ~1 KB: cheaper than a thread hop
        except OSError as e:  # a full disk must not stop the serving
            log.warning("could not write %s: %s", path, e)
        await asyncio.sleep(interval_s)


def create_app(host: Any, config: ServiceConfig, *, loader: Callable[[str], Any] | None = None,
               admin_key: str | None = None, admin_key_hash: str | None = None, metrics_file: Path | None = None,
               metrics_interval_s: float = 1.0, private_paths: tuple[str, ...] = ()) -> Starlette:
    """loader(model_id) -> host enables hot swaps through the admin route guarded by the admin key (given,
    or as its hash: guards.hash_key; the service keeps only the hash).

    metrics_file: a file the /metrics figures are copied to every metrics_interval_s while serving (the app's
    services page reads it, so a service that wants a token over HTTP still shows its figures).
    private_paths: folders never shown to a client (errors and /metrics have every absolute path scrubbed;
    these go first, whole)."""
    if admin_key and not admin_key_hash:
        admin_key_hash = hash_key(admin_key)
    state = ServiceState(host, config, loader=loader, admin_key_hash=admin_key_hash,
                         private_paths=(*private_paths, str(Path.home())))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await state.batcher.start()
        if config.torch_threads and "torch" in sys.modules:
            # On the model thread itself: OpenMP thread counts are per calling thread.
            await state.batcher.run_sync(lambda: sys.modules["torch"].set_num_threads(config.torch_threads))
        if config.warmup:
            try:
                await state.batcher.run_sync(lambda: host.predict([np.full(WARMUP_SHAPE, 128, np.uint8)]))
            except Exception as e:  # noqa: BLE001 - a model that fails on a grey square may still serve
                state.warmup_error = f"{type(e).__name__}: {e}"   # scrubbed where shown
                log.warning("warm-up predict failed (the service runs anyway): %s", state.warmup_error)
        state.ready = True
        writer = None
        if metrics_file is not None:
            writer = asyncio.create_task(_keep_metrics_file(state, metrics_file, metrics_interval_s),
                                         name="metrics-file")
        try:
            yield
        finally:
            state.ready = False
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
                with contextlib.suppress(OSError):
                    metrics_file.unlink()  # type: ignore[union-attr]
            await state.batcher.stop()

    app = Starlette(routes=ROUTES, lifespan=lifespan, exception_handlers={
        RequestError: _request_error, HTTPException: _http_error, ModelFailed: _model_failed,
        Exception: _unexpected})
    app.state.service = state
    app.add_middleware(InFlightLimit, limit=config.max_concurrency)
    app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(HostCheck, allowed=allowed_hosts(config))
    app.add_middleware(Timing, metrics=state.metrics)
    return app
