"""The ASGI application: OIP v2 + TorchServe-style routes over a ModelHost, with auth, limits and JSON errors."""

from __future__ import annotations

import contextlib
import hmac
import logging
import sys
import time
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop_app import __version__

from .batching import Batcher
from .config import ServiceConfig
from .errors import ModelFailed, NotFound, RequestError, TooLarge
from .images import decode_image
from .metrics import ServiceMetrics
from .openapi import openapi_document
from .protocol import infer_response, model_metadata, parse_infer_request, parse_json

log = logging.getLogger(__name__)

WARMUP_SHAPE = (64, 64, 3)


class ServiceState:
    def __init__(self, host: Any, config: ServiceConfig):
        self.host = host
        self.config = config
        self.metrics = ServiceMetrics()
        self.batcher = Batcher(host.predict, max_batch_size=config.max_batch_size, max_wait_ms=config.max_wait_ms,
                               on_batch=self.metrics.record_batch)
        self.ready = False
        self.warmup_error: str | None = None

    @property
    def version(self) -> str:
        return self.host.model_id

    def check_model(self, request: Request) -> None:
        name = request.path_params["model_name"]
        if name not in (self.host.name, self.host.model_id):
            raise NotFound(f"unknown model {name!r}; this service serves {self.host.name!r}")
        version = request.path_params.get("model_version")
        if version is not None and version != self.version:
            raise NotFound(f"model {self.host.name!r} has no version {version!r} here; it serves {self.version!r}")


# -- body with a limit ---------------------------------------------------------------------------
async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                await _drain(request, 4 * limit)
                raise TooLarge(f"request body of {int(declared):,} bytes is over the limit of {limit:,}")
        except ValueError:
            raise RequestError("bad Content-Length header") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _drain(request, 4 * limit)
            raise TooLarge(f"request body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: Request, cap: int) -> None:
    """Read and drop the rest of a refused body (up to cap), so the client gets our 413 instead of a reset."""
    seen = 0
    with contextlib.suppress(Exception):
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > cap:
                break


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
    s.check_model(request)
    h = s.host
    return JSONResponse(model_metadata(h.name, s.version, f"model-desk/{h.package}", h.output_type, h.labels))


async def model_ready(request: Request) -> Response:
    s = _state(request)
    s.check_model(request)
    return JSONResponse({"name": s.host.name, "ready": s.ready})


async def infer(request: Request) -> Response:
    s = _state(request)
    s.check_model(request)
    body = await read_body(request, s.config.max_request_bytes)
    cfg = s.config

    def parse() -> tuple[list[np.ndarray], dict]:
        return parse_infer_request(parse_json(body), max_pixels=cfg.max_pixels,
                                   max_images=cfg.max_images_per_request)

    images, meta = await run_in_threadpool(parse)
    per_image = await s.batcher.submit(images)
    return JSONResponse(infer_response(s.host.name, s.version, per_image, meta))


async def predictions(request: Request) -> Response:
    s = _state(request)
    s.check_model(request)
    body = await read_body(request, s.config.max_request_bytes)
    image = await run_in_threadpool(decode_image, body, s.config.max_pixels, what="the request body")
    (anns,) = await s.batcher.submit([image])
    return JSONResponse(s.host.dataloop_json(anns))


async def metrics(request: Request) -> Response:
    s = _state(request)
    if request.query_params.get("format") == "prometheus":
        return PlainTextResponse(s.metrics.prometheus(s.host.name, s.batcher.depth),
                                 media_type="text/plain; version=0.0.4")
    return JSONResponse({"model": s.host.name, "model_id": s.host.model_id, "ready": s.ready,
                         "warmup_error": s.warmup_error, **s.metrics.snapshot(s.batcher.depth)})


async def openapi(request: Request) -> Response:
    s = _state(request)
    return JSONResponse(openapi_document(s.host.name, auth=bool(s.config.token)))


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
    Route("/ping", ping, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


# -- errors ----------------------------------------------------------------------------------------
async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no such endpoint {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)


async def _model_failed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=500)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)


# -- middleware (pure ASGI: no body buffering) ------------------------------------------------------
class BearerAuth:
    """Every HTTP request must carry `Authorization: Bearer <token>` when the service has a token."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
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
        resp = JSONResponse({"error": f"{msg}: send 'Authorization: Bearer <token>'"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="model-desk"'})
        await resp(scope, receive, send)


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


def create_app(host: Any, config: ServiceConfig) -> Starlette:
    state = ServiceState(host, config)

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
                state.warmup_error = f"{type(e).__name__}: {e}"
                log.warning("warm-up predict failed (the service runs anyway): %s", state.warmup_error)
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            await state.batcher.stop()

    app = Starlette(routes=ROUTES, lifespan=lifespan, exception_handlers={
        RequestError: _request_error, HTTPException: _http_error, ModelFailed: _model_failed,
        Exception: _unexpected})
    app.state.service = state
    app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(Timing, metrics=state.metrics)
    return app
