"""A real service process on a free loopback port, driven over HTTP: every endpoint, bad input, concurrency."""

from __future__ import annotations

import base64
import concurrent.futures
import struct
import zlib

import httpx
import numpy as np
import pytest

from desktop_app.formats.dataloop import from_dataloop_annotation

from servehelpers import b64, infer_body, outputs, png_bytes, spot_image


@pytest.fixture
def http(served):
    with httpx.Client(base_url=served["url"], timeout=30.0) as c:
        yield c


@pytest.fixture
def name(served):
    return served["model"].name


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a few bytes of pixel data: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + chunk(b"IEND", b""))


def assert_good_request_works(http, name, x: int = 4, y: int = 6) -> None:
    """The service keeps serving: a normal request right after a refused one is answered correctly."""
    r = http.post(f"/v2/models/{name}/infer", json=infer_body(png_bytes(spot_image(x, y))))
    assert r.status_code == 200, r.text
    assert outputs(r.json())["boxes"]["data"] == [x, y, x + 3, y + 3]


# -- health, metadata, documents ----------------------------------------------------------------------
def test_health_and_server_metadata(http):
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert http.get("/ping").json() == {"status": "Healthy"}
    meta = http.get("/v2").json()
    assert meta["name"] == "model-desk" and meta["extensions"] == []


def test_model_metadata_and_ready_by_name_id_and_version(http, served, name):
    model = served["model"]
    for path in (f"/v2/models/{name}", f"/v2/models/{model.id}", f"/v2/models/{name}/versions/{model.id}"):
        meta = http.get(path).json()
        assert meta["name"] == name and meta["versions"] == [model.id]
        assert {(i["name"], i["datatype"]) for i in meta["inputs"]} == {("image", "BYTES"), ("image", "UINT8")}
        assert [o["name"] for o in meta["outputs"]][:2] == ["boxes", "scores"]
        assert meta["parameters"]["labels"] == ["bright", "frame"]
    assert http.get(f"/v2/models/{name}/ready").json() == {"name": name, "ready": True}
    assert http.get(f"/v2/models/{name}/versions/{model.id}/ready").json()["ready"] is True


def test_openapi_documents_every_route(http):
    from desktop_app.serving.app import ROUTES

    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served_routes = {(r.path, m) for r in ROUTES for m in r.methods if m != "HEAD"}
    assert documented == served_routes
    infer = doc["paths"]["/v2/models/{model_name}/infer"]["post"]
    assert {"200", "400", "401", "404", "413", "500"} <= set(infer["responses"])
    assert "security" not in doc  # no token on this service


# -- inference ------------------------------------------------------------------------------------------
def test_infer_bytes_tensor_returns_named_detection_outputs_with_thresholds_applied(http, name, served):
    r = http.post(f"/v2/models/{name}/infer", json=infer_body(png_bytes(spot_image(10, 5))))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model_name"] == name and doc["model_version"] == served["model"].id and doc["id"] == "req-1"
    out = outputs(doc)
    assert out["boxes"] == {"name": "boxes", "datatype": "FP32", "shape": [1, 4], "data": [10, 5, 13, 8]}
    assert out["scores"]["data"] == pytest.approx([0.9])
    # The 'frame' box (score 0.3) passes conf_threshold 0.1 but not its class threshold 0.5.
    assert out["labels"] == {"name": "labels", "datatype": "BYTES", "shape": [1], "data": ["bright"]}
    assert out["batch_index"]["data"] == [0]


def test_infer_several_images_and_jpeg(http, name):
    imgs = [png_bytes(spot_image(2, 3)), png_bytes(spot_image(20, 12), "JPEG"), png_bytes(spot_image(7, 7))]
    doc = http.post(f"/v2/models/{name}/infer", json=infer_body(*imgs)).json()
    out = outputs(doc)
    assert out["batch_index"]["data"] == [0, 1, 2]
    boxes = np.asarray(out["boxes"]["data"]).reshape(out["boxes"]["shape"])
    assert boxes[0].tolist() == [2, 3, 5, 6] and boxes[2].tolist() == [7, 7, 10, 10]
    assert abs(boxes[1] - [20, 12, 23, 15]).max() <= 2  # JPEG blurs the square's edge a little


@pytest.mark.parametrize("layout", ["flat", "nested", "single_hwc"])
def test_infer_uint8_tensor(http, name, layout):
    img = spot_image(9, 4)
    if layout == "flat":
        tensor = {"shape": [1, *img.shape], "data": img.ravel().tolist()}
    elif layout == "nested":
        tensor = {"shape": [1, *img.shape], "data": [img.tolist()]}
    else:
        tensor = {"shape": list(img.shape), "data": img.tolist()}
    body = {"inputs": [{"name": "pixels", "datatype": "UINT8", **tensor}]}
    r = http.post(f"/v2/models/{name}/infer", json=body)
    assert r.status_code == 200, r.text
    assert outputs(r.json())["boxes"]["data"] == [9, 4, 12, 7]


def test_infer_outputs_selection(http, name):
    body = infer_body(png_bytes(spot_image(1, 1)))
    body["outputs"] = [{"name": "labels"}, {"name": "scores"}]
    doc = http.post(f"/v2/models/{name}/infer", json=body).json()
    assert [o["name"] for o in doc["outputs"]] == ["labels", "scores"]
    body["outputs"] = [{"name": "logits"}]
    r = http.post(f"/v2/models/{name}/infer", json=body)
    assert r.status_code == 400 and "logits" in r.json()["error"]


def test_torchserve_style_predictions_answer_dataloop_annotations(http, name, served):
    r = http.post(f"/predictions/{name}", content=png_bytes(spot_image(3, 11)),
                  headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    anns = r.json()
    assert len(anns) == 1
    a = anns[0]
    assert a["type"] == "box" and a["label"] == "bright"
    assert a["coordinates"] == [{"x": 3, "y": 11, "z": 0}, {"x": 6, "y": 14, "z": 0}]
    assert a["metadata"]["user"]["model"] == {"name": name, "model_id": served["model"].id, "confidence": 0.9}
    parsed = from_dataloop_annotation(a)  # what item.annotations.upload would read back
    assert parsed.coordinates == [3, 11, 6, 14] and parsed.score == 0.9
    r = http.post(f"/predictions/{name}/{served['model'].id}", content=png_bytes(spot_image(3, 11)))
    assert r.status_code == 200


def test_metrics_count_requests_errors_latency_and_batches(http, name):
    before = http.get("/metrics").json()
    http.post(f"/v2/models/{name}/infer", json=infer_body(png_bytes(spot_image(1, 2))))
    http.post(f"/v2/models/{name}/infer", content=b"not json")
    after = http.get("/metrics").json()
    assert after["requests"]["total"] == before["requests"]["total"] + 2
    assert after["requests"]["ok"] == before["requests"]["ok"] + 1
    assert after["requests"]["client_errors"] == before["requests"]["client_errors"] + 1
    assert after["latency_ms"]["p50"] > 0 and after["latency_ms"]["p99"] >= after["latency_ms"]["p50"]
    assert after["batches"]["images"] >= before["batches"]["images"] + 1
    assert after["model"] == name and after["ready"] is True
    text = http.get("/metrics", params={"format": "prometheus"}).text
    assert f'modeldesk_requests_total{{model="{name}",status="200"}}' in text
    assert "modeldesk_request_seconds_count" in text


# -- bad input: each a 4xx with {"error": ...}, and the next request is served ---------------------------
def _jpeg_truncated() -> bytes:
    rng = np.random.default_rng(0)
    data = png_bytes(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), "JPEG")
    return data[: len(data) // 2]


def _bytes_body(data: bytes) -> dict:
    return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [b64(data)]}]}


BAD_INFER = {
    "non-image bytes": (_bytes_body(b"GIF? no: just some text, certainly not an image"), 400, "not an image"),
    "empty image": (_bytes_body(b""), 400, "empty"),
    "truncated jpeg": (_bytes_body(_jpeg_truncated()), 400, "truncated"),
    "decompression bomb": (_bytes_body(png_header_only(50_000, 50_000)), 413, "too large"),
    "over the pixel limit": (_bytes_body(png_bytes(np.zeros((600, 600, 3), np.uint8))), 413, "not decoded"),
    "bad base64": ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["%%%"]}]}, 400,
                   "base64"),
    "uint8 without channels": ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 4, 4],
                                            "data": [0] * 16}]}, 400, "[N, H, W, 3]"),
    "uint8 data short of its shape": ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 4, 4, 3],
                                                   "data": [0] * 10}]}, 400, "needs 48 values"),
    "uint8 out of range": ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 1, 1, 3],
                                        "data": [0, 256, 3]}]}, 400, "0..255"),
    "uint8 floats": ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 1, 1, 3],
                                  "data": [0.5, 1, 3]}]}, 400, "integers"),
    "ragged uint8": ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 1, 2, 3],
                                  "data": [[[1, 2, 3], [4, 5]]]}]}, 400, "ragged"),
    "fp32 datatype": ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2, 2, 3],
                                   "data": [0.0] * 12}]}, 400, "not an image"),
    "unknown datatype": ({"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1], "data": [1]}]}, 400,
                         "unknown datatype"),
    "bytes shape mismatch": ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2],
                                          "data": [b64(b"x")]}]}, 400, "holds 1"),
    "no inputs": ({"inputs": []}, 400, "inputs"),
    "two inputs": ({"inputs": [_bytes_body(b"a")["inputs"][0]] * 2}, 400, "exactly one"),
    "not an object": ([1, 2, 3], 400, "JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_INFER))
def test_bad_infer_requests_are_4xx_json_and_the_service_keeps_serving(http, name, case):
    body, status, words = BAD_INFER[case]
    r = http.post(f"/v2/models/{name}/infer", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert_good_request_works(http, name)


@pytest.mark.parametrize("case, body, status, words", [
    ("empty body", b"", 400, "empty"),
    ("non-image bytes", b"\x00\x01 plainly not an image", 400, "not an image"),
    ("truncated jpeg", _jpeg_truncated(), 400, "truncated"),
    ("decompression bomb", png_header_only(50_000, 50_000), 413, "too large"),
])
def test_bad_raw_bodies(http, name, case, body, status, words):
    r = http.post(f"/predictions/{name}", content=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert_good_request_works(http, name)


def test_empty_and_invalid_json_bodies(http, name):
    for body, words in ((b"", "empty"), (b"{not json", "not valid JSON"), (b"\xff\xfe", "not valid JSON")):
        r = http.post(f"/v2/models/{name}/infer", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and words in r.json()["error"]
    assert_good_request_works(http, name)


def test_body_over_the_request_limit_is_413(http, name):
    big = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["A" * 2_500_000]}]}
    r = http.post(f"/v2/models/{name}/infer", json=big)
    assert r.status_code == 413 and "over the limit" in r.json()["error"]
    r = http.post(f"/predictions/{name}", content=b"\0" * 2_500_000)
    assert r.status_code == 413
    assert_good_request_works(http, name)


def test_unknown_model_version_route_and_method(http, name):
    r = http.post("/v2/models/no-such-model/infer", json=infer_body(png_bytes(spot_image(1, 1))))
    assert r.status_code == 404 and "unknown model 'no-such-model'" in r.json()["error"]
    assert http.get("/v2/models/no-such-model").status_code == 404
    assert http.post("/predictions/no-such-model", content=png_bytes(spot_image(1, 1))).status_code == 404
    r = http.post(f"/v2/models/{name}/versions/v999/infer", json=infer_body(png_bytes(spot_image(1, 1))))
    assert r.status_code == 404 and "version" in r.json()["error"]
    r = http.get("/v3/nothing")
    assert r.status_code == 404 and "error" in r.json()
    r = http.get(f"/v2/models/{name}/infer")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]
    assert_good_request_works(http, name)


def test_model_failing_inside_predict_is_a_500_with_its_message_not_a_dead_service(http, name):
    black = png_bytes(np.zeros((16, 16, 3), np.uint8))
    r = http.post(f"/v2/models/{name}/infer", json=infer_body(black))
    assert r.status_code == 500
    assert "cannot see anything in a black image" in r.json()["error"]
    r = http.post(f"/predictions/{name}", content=black)
    assert r.status_code == 500 and "ValueError" in r.json()["error"]
    assert_good_request_works(http, name)
    assert http.get("/v2/health/ready").json() == {"ready": True}


# -- concurrency and batching ---------------------------------------------------------------------------
def test_concurrent_clients_are_batched_and_each_gets_its_own_answer(served, name):
    url = served["url"]
    before = httpx.get(f"{url}/metrics").json()["batches"]
    jobs = [(x % 28, (x * 7) % 20) for x in range(64)]

    def call(xy):
        x, y = xy
        with httpx.Client(base_url=url, timeout=60.0) as c:
            r = c.post(f"/v2/models/{name}/infer", json=infer_body(png_bytes(spot_image(x, y))))
            return xy, r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, jobs))
    for (x, y), status, doc in results:
        assert status == 200, doc
        assert outputs(doc)["boxes"]["data"] == [x, y, x + 3, y + 3]
    after = httpx.get(f"{url}/metrics").json()["batches"]
    images = after["images"] - before["images"]
    batches = after["count"] - before["count"]
    assert images == len(jobs)
    assert batches < len(jobs) and after["max_size"] > 1  # requests really were gathered
    assert after["max_size"] <= 8  # max_batch_size


def test_a_failing_request_in_a_batch_does_not_fail_its_neighbours(served, name):
    url = served["url"]
    black = png_bytes(np.zeros((16, 16, 3), np.uint8))
    jobs = [None if i % 4 == 0 else (i % 25, i % 17) for i in range(32)]

    def call(job):
        data = black if job is None else png_bytes(spot_image(*job))
        r = httpx.post(f"{url}/v2/models/{name}/infer", json=infer_body(data), timeout=60.0)
        return job, r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, jobs))
    for job, status, doc in results:
        if job is None:
            assert status == 500 and "black image" in doc["error"]
        else:
            x, y = job
            assert status == 200 and outputs(doc)["boxes"]["data"] == [x, y, x + 3, y + 3]


def test_base64_element_can_be_any_standard_encoding(http, name):
    data = base64.b64encode(png_bytes(spot_image(5, 5))).decode()
    r = http.post(f"/v2/models/{name}/infer", json={"inputs": [{"name": "img", "datatype": "BYTES",
                                                               "shape": [1, 1], "data": [[data]]}]})
    assert r.status_code == 200 and outputs(r.json())["boxes"]["data"] == [5, 5, 8, 8]
    mime = base64.encodebytes(png_bytes(spot_image(6, 4))).decode()      # MIME style: a newline every 76
    assert "\n" in mime.strip()
    r = http.post(f"/v2/models/{name}/infer", json={"inputs": [{"name": "img", "datatype": "BYTES",
                                                               "shape": [1], "data": [mime]}]})
    assert r.status_code == 200 and outputs(r.json())["boxes"]["data"] == [6, 4, 9, 7]
