"""A service's own limits, on a real process: requests in flight (a JSON 503, health still answered),
connections that never finish their headers (closed, and they lock nobody out), bodies that never finish
(408), and one request's images together (413 before any is decoded)."""

from __future__ import annotations

import concurrent.futures
import socket
import time
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from waiting import wait_for

from servehelpers import brightbox_service, infer_body, outputs, png_bytes, spot_image

CONFIG = {"max_concurrency": 3, "max_batch_size": 1, "max_wait_ms": 0, "header_timeout_s": 1.5,
          "body_timeout_s": 1.5, "max_pixels": 250_000, "max_request_pixels": 300_000}


@pytest.fixture(scope="module")
def limited(template_home, tmp_path_factory):
    with brightbox_service(template_home, tmp_path_factory.mktemp("limited"), delay_s=0.25,   # a slow model:
                           service_config=CONFIG) as (_client, model, service):             # requests pile up
        yield {"url": service.url, "name": model.name}


def _good(url: str, name: str, timeout: float = 30.0) -> httpx.Response:
    return httpx.post(f"{url}/v2/models/{name}/infer", json=infer_body(png_bytes(spot_image(4, 6))), timeout=timeout)


def _address(url: str) -> tuple[str, int]:
    u = urlparse(url)
    return u.hostname, u.port


def test_requests_over_the_in_flight_limit_get_a_json_503_and_health_still_answers(limited):
    url, name = limited["url"], limited["name"]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(_good, url, name) for _ in range(12)]
        wait_for(lambda: any(f.done() and f.result().status_code == 503 for f in futures), 30,
                 what="a 503: the first three are in the model, the limit is full")
        health = httpx.get(f"{url}/v2/health/ready", timeout=5)
        answers = [f.result() for f in futures]
    assert health.status_code == 200 and health.json() == {"ready": True}
    busy = [r for r in answers if r.status_code == 503]
    ok = [r for r in answers if r.status_code == 200]
    assert busy and ok and len(busy) + len(ok) == 12
    assert all(r.headers["retry-after"] == "1" and "max_concurrency" in r.json()["error"] for r in busy)
    assert all(outputs(r.json())["boxes"]["data"] == [4, 6, 7, 9] for r in ok)
    assert _good(url, name).status_code == 200                  # and afterwards, served again


def test_half_sent_headers_lock_nobody_out_and_are_closed_at_the_deadline(limited):
    url, name = limited["url"], limited["name"]
    host, port = _address(url)
    socks = []
    for _ in range(40):                                          # far more than max_concurrency (3)
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"POST /v2/models/x/infer HTTP/1.1\r\nHost: a\r\nContent-Type: appl")
        socks.append(s)
    try:
        for _ in range(3):
            r = _good(url, name, timeout=10)
            assert r.status_code == 200, r.text               # uvicorn's limit would have answered 503 here
        deadline = time.monotonic() + CONFIG["header_timeout_s"] + 6.0
        for s in socks:                                        # each one closed once its header deadline passes
            s.settimeout(max(0.1, deadline - time.monotonic()))
            assert s.recv(100) == b""                          # closed by the service, nothing sent
    finally:
        for s in socks:
            s.close()
    assert _good(url, name).status_code == 200


def test_a_body_that_never_finishes_is_a_408(limited):
    host, port = _address(limited["url"])
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /predictions/{limited['name']} HTTP/1.1\r\nHost: localhost:{port}\r\n"
                  f"Content-Length: 5000\r\n\r\n".encode() + b"\x89PNG" + b"\0" * 40)
        t0 = time.monotonic()
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    waited = time.monotonic() - t0
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"did not arrive within 1.5 s (44 bytes came)" in body
    assert CONFIG["body_timeout_s"] - 0.2 < waited < 10
    assert _good(limited["url"], limited["name"]).status_code == 200


def test_one_requests_images_together_are_refused_before_decoding(limited):
    url, name = limited["url"], limited["name"]
    each = png_bytes(np.full((400, 400, 3), 9, np.uint8))       # 160,000 pixels: within max_pixels alone
    r = httpx.post(f"{url}/v2/models/{name}/infer", json=infer_body(each), timeout=30)
    assert r.status_code == 200, r.text
    r = httpx.post(f"{url}/v2/models/{name}/infer", json=infer_body(each, each), timeout=30)
    assert r.status_code == 413
    assert "2 images of 320,000 pixels in all, over the service's limit of 300,000 pixels per request" \
        in r.json()["error"]
    r = httpx.post(f"{url}/v2/models/{name}/infer", timeout=30, json={"inputs": [
        {"name": "x", "datatype": "UINT8", "shape": [3, 400, 400, 3], "data": [0]}]})   # refused before the data
    assert r.status_code == 413 and "3 images of 480,000 pixels" in r.json()["error"]
    assert _good(url, name).status_code == 200


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n", b"POST /predictions/x HTTP/1.1\r\nHost: a\r\n"
                                 b"Content-Length: abc\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"])
def test_requests_http_cannot_parse_get_a_json_400_too(limited, raw):
    import json
    host, port = _address(limited["url"])
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(raw)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower(), reply[:300]
    assert "could not be parsed" in json.loads(body)["error"]
    assert _good(limited["url"], limited["name"]).status_code == 200


def test_the_limits_are_checked_when_the_service_is_configured():
    from desktop_app.errors import ValidationError
    from desktop_app.serving.config import ServiceConfig
    assert ServiceConfig().request_pixels == 3 * ServiceConfig().max_pixels
    for bad, words in (({"max_pixels": 1000, "max_request_pixels": 999}, "at least max_pixels"),
                       ({"header_timeout_s": 0}, "header_timeout_s"), ({"body_timeout_s": 1e6}, "body_timeout_s")):
        with pytest.raises(ValidationError, match=words):
            ServiceConfig.from_dict(bad)
