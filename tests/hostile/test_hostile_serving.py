"""Hostile service requests against real services (one without a token, one with): each is refused with its
status and a JSON error whose "field" names the part at fault (and whose message says what is wrong), the
service's catalog is left as it was, and the next good request is answered."""

from __future__ import annotations

import base64
import json
import struct
import sys
import zlib
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
from servehelpers import brightbox_service, infer_body, outputs, png_bytes, spot_image  # noqa: E402

TOKEN = "hostile-suite-token"
CONFIG = {"max_batch_size": 4, "max_wait_ms": 0, "max_pixels": 250_000, "max_request_bytes": 2_000_000,
          "max_json_bytes": 1_500_000, "body_timeout_s": 5, "header_timeout_s": 5}


@pytest.fixture(scope="module")
def open_service(template_home, tmp_path_factory):
    with brightbox_service(template_home, tmp_path_factory.mktemp("hostile-open"), service_config=CONFIG) \
            as (client, model, service):
        yield {"url": service.url, "name": model.name, "id": model.id, "home": client.catalog.home, "headers": {}}


@pytest.fixture(scope="module")
def token_service(template_home, tmp_path_factory):
    with brightbox_service(template_home, tmp_path_factory.mktemp("hostile-token"),
                           service_config={**CONFIG, "token": TOKEN}) as (client, model, service):
        yield {"url": service.url, "name": model.name, "id": model.id, "home": client.catalog.home,
               "headers": {"Authorization": f"Bearer {TOKEN}"}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that says width x height and holds a few bytes: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def tensor(**fields) -> dict:
    return {"inputs": [{"name": "image", **fields}]}


GOOD_PNG = png_bytes(spot_image(4, 6))

# name: (service, method, path, request kwargs, status, field, words in the error)
CASES = {
    "bad json": ("open", "POST", "/v2/models/{name}/infer", {"content": b'{"inputs": [', "headers": {
        "Content-Type": "application/json"}}, 400, "body", "not valid JSON"),
    "json not an object": ("open", "POST", "/v2/models/{name}/infer", {"json": [1, 2]}, 400, "body", "JSON object"),
    "no inputs": ("open", "POST", "/v2/models/{name}/infer", {"json": {"inputs": []}}, 400, "inputs", "non-empty"),
    "uint8 shape without channels": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="UINT8", shape=[1, 4, 4], data=[0] * 16)}, 400, "inputs[0].shape", "[N, H, W, 3]"),
    "negative shape": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="UINT8", shape=[1, -4, 4, 3], data=[0])}, 400, "inputs[0].shape", "non-negative integers"),
    "wrong datatype": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="FP32", shape=[1, 2, 2, 3], data=[0.5] * 12)}, 400, "inputs[0].datatype", "not an image"),
    "unknown datatype": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="FLOAT128", shape=[1], data=[1])}, 400, "inputs[0].datatype", "unknown datatype"),
    "huge declared shape": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="UINT8", shape=[1, 100_000, 100_000, 3], data=[0])}, 413, "inputs[0].shape",
        "over the service's limit"),
    "too many images": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[10_000], data=["AA=="])}, 413, "inputs[0].shape", "over the limit of 64"),
    "uint8 values out of range": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="UINT8", shape=[1, 1, 1, 3], data=[0, 300, 1])}, 400, "inputs[0].data", "0..255"),
    "data short of its shape": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="UINT8", shape=[1, 2, 2, 3], data=[1] * 5)}, 400, "inputs[0].data", "needs 12 values"),
    "bad base64": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[1], data=["not base64 at all!"])}, 400, "inputs[0].data[0]", "base64"),
    "non-image bytes": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[1], data=[b64(b"%PDF-1.7 certainly not an image")])}, 400, "inputs[0].data[0]",
        "not an image"),
    "truncated png": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[1], data=[b64(GOOD_PNG[:60])])}, 400, "inputs[0].data[0]", "truncated"),
    "decompression bomb png": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[1], data=[b64(png_header_only(60_000, 60_000))])}, 413, "inputs[0].data[0]",
        "too large"),
    "unknown output": ("open", "POST", "/v2/models/{name}/infer", {"json": {**tensor(
        datatype="BYTES", shape=[1], data=[b64(GOOD_PNG)]), "outputs": [{"name": "logits"}]}}, 400, "outputs",
        "logits"),
    "id not a string": ("open", "POST", "/v2/models/{name}/infer", {"json": {**tensor(
        datatype="BYTES", shape=[1], data=[b64(GOOD_PNG)]), "id": {"$gt": ""}}}, 400, "id", "string"),
    "bad host": ("open", "POST", "/v2/models/{name}/infer", {"json": infer_body(GOOD_PNG), "headers": {
        "Host": "attacker.example:80"}}, 421, "Host", "attacker.example"),
    "missing token": ("token", "POST", "/v2/models/{name}/infer", {"json": infer_body(GOOD_PNG), "headers": {
        "Authorization": ""}}, 401, "Authorization", "missing bearer token"),
    "wrong token": ("token", "POST", "/v2/models/{name}/infer", {"json": infer_body(GOOD_PNG), "headers": {
        "Authorization": "Bearer " + TOKEN[::-1]}}, 401, "Authorization", "wrong bearer token"),
    "oversize json body": ("open", "POST", "/v2/models/{name}/infer", {"json": tensor(
        datatype="BYTES", shape=[1], data=["A" * 1_600_000])}, 413, "Content-Length", "over the limit of 1,500,000"),
    "oversize raw body": ("open", "POST", "/predictions/{name}", {"content": b"\0" * 2_100_000}, 413,
                          "Content-Length", "over the limit of 2,000,000"),
    "multipart to infer": ("open", "POST", "/v2/models/{name}/infer", {"files": {"data": GOOD_PNG}}, 415,
                           "Content-Type", "multipart/form-data"),
    "json to predictions": ("open", "POST", "/predictions/{name}", {"json": infer_body(GOOD_PNG)}, 415,
                            "Content-Type", "application/json"),
    "raw non-image body": ("open", "POST", "/predictions/{name}", {"content": b"GIF89a? no"}, 400, "body",
                           "not an image"),
    "raw bomb body": ("open", "POST", "/predictions/{name}", {"content": png_header_only(60_000, 60_000)}, 413,
                      "body", "too large"),
    "unknown model": ("open", "POST", "/v2/models/no-such-model/infer", {"json": infer_body(GOOD_PNG)}, 404,
                      "model", "unknown model 'no-such-model'"),
    "unknown version": ("open", "POST", "/v2/models/{name}/versions/v999/infer", {"json": infer_body(GOOD_PNG)},
                        404, "version", "no version 'v999'"),
    "wrong admin key": ("open", "POST", "/v2/repository/models/{name}/load", {"json": {"model_id": "x"},
                        "headers": {"X-Admin-Key": "guess"}}, 403, "X-Admin-Key", "wrong x-admin-key header"),
}


@pytest.fixture
def services(open_service, token_service):
    return {"open": open_service, "token": token_service}


def assert_next_good_request_works(svc) -> None:
    with httpx.Client(base_url=svc["url"], headers=svc["headers"], timeout=30) as http:
        r = http.post(f"/v2/models/{svc['name']}/infer", json=infer_body(png_bytes(spot_image(9, 3))))
    assert r.status_code == 200, r.text
    assert outputs(r.json())["boxes"]["data"] == [9, 3, 12, 6]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_request_is_refused_naming_its_field_and_changes_nothing(services, snapshot, case):
    which, method, path, kwargs, status, field, words = CASES[case]
    svc = services[which]
    kwargs = dict(kwargs)
    headers = {k: v for k, v in {**svc["headers"], **kwargs.pop("headers", {})}.items() if v}
    before = snapshot(svc["home"])
    with httpx.Client(base_url=svc["url"], timeout=30) as http:
        r = http.request(method, path.format(name=svc["name"]), headers=headers, **kwargs)
    assert r.status_code == status, r.text
    doc = r.json()
    assert doc.get("field") == field, doc
    assert words in doc["error"], doc
    assert snapshot(svc["home"]) == before
    assert_next_good_request_works(svc)


def test_json_tensors_over_a_megabyte_are_read_by_numpy_or_refused_naming_the_list(open_service, snapshot):
    """Over 1 MB, what json turns into objects is bounded: a long list of integers is read by numpy (flat or
    nested, the same pixels as a PNG of them), a long list of floats is refused before json reads it, with
    where it is and why."""
    url = f"{open_service['url']}/v2/models/{open_service['name']}/infer"
    img = spot_image(250, 180, w=400, h=300)
    via_png = httpx.post(url, json=infer_body(png_bytes(img)), timeout=30)
    for data, separators in ((img.ravel().tolist(), (", ", ": ")), ([img.tolist()], (",", ":"))):
        body = json.dumps({"inputs": [{"name": "px", "datatype": "UINT8", "shape": [1, 300, 400, 3],
                                       "data": data}]}, separators=separators).encode()
        assert 1 << 20 < len(body) < CONFIG["max_json_bytes"]
        r = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text
        assert outputs(r.json())["boxes"] == outputs(via_png.json())["boxes"]
        assert outputs(r.json())["boxes"]["data"] == [250, 180, 253, 183]
    before = snapshot(open_service["home"])
    body = b'{"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 300, 400, 3], "data": [' \
        + b",".join([b"1.5"] * 360_000) + b"]}]}"
    r = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413, r.text
    assert r.json()["field"] == "body"
    at = body.index(b'"data": [') + len(b'"data": ')
    assert f"the list of numbers at byte {at} holds '[1.5,1.5,1': not an integer 0..255" in r.json()["error"]
    assert snapshot(open_service["home"]) == before
    assert_next_good_request_works(open_service)
