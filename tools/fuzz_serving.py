"""Seeded mutation fuzzing of one real service: OIP v2 JSON bodies, /predictions image bytes, headers
(Content-Length, Content-Type, Host, Transfer-Encoding, ...), methods, paths and raw garbage.

    python tools/fuzz_serving.py [--cases 5000] [--seed 0] [--workers 8] [--json]

Starts the tiny 'spot' model as a service on a fresh temporary catalog and sends every case on its own
connection, exactly as built (raw sockets: a lying Content-Length is sent as it lies). Counts the answers by
status, the HTTP 500s, the connections closed without an answer, client-side errors, the tracebacks in the
service's log, and whether a good request is still answered every 250 cases. `run(cases, seed)` returns
those figures as a dict; main prints them and exits 1 on any 500, traceback or unanswered good request."""

from __future__ import annotations

import argparse
import base64
import collections
import copy
import io
import json
import random
import socket
import struct
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servesandbox import spot_service  # noqa: E402

SERVICE_CONFIG = {"max_request_bytes": 3_000_000, "max_json_bytes": 3_000_000, "max_pixels": 1_000_000,
                  "max_images_per_request": 8, "body_timeout_s": 1.0, "header_timeout_s": 1.0,
                  "max_batch_size": 8, "max_wait_ms": 2, "memory_budget_mb": 64}
CLIENT_TIMEOUT_S = 8.0


@dataclass
class Case:
    kind: str
    data: bytes          # everything sent on the connection


# -- seeds ---------------------------------------------------------------------------------------------------
def _image(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = rng.integers(0, 200, (h, w, 3), dtype=np.uint8)
    img[h // 2, w // 3] = 255
    return img


def _encode(img: np.ndarray, fmt: str, mode: str | None = None, **kw) -> bytes:
    im = Image.fromarray(img)
    if mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def seed_images(rng: np.random.Generator) -> list[bytes]:
    img = _image(rng, 32, 24)
    out = [_encode(img, f) for f in ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")]
    out += [_encode(img, "PNG", "RGBA"), _encode(img, "PNG", "L"), _encode(img, "PNG", "P"),
            _encode(img, "PNG", "I;16"), _encode(img, "JPEG", "CMYK"), _encode(img, "TIFF", "CMYK"),
            _encode(img, "PNG", "1"), _encode(img, "TIFF", compression="tiff_deflate"),
            _encode(_image(rng, 300, 200), "PNG"), _encode(img, "JPEG", progressive=True)]
    frames = [Image.fromarray(_image(rng, 16, 16)) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out.append(buf.getvalue())
    return out


def png_with_size(width: int, height: int, payload: bytes = b"\0" * 64) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(payload)) + chunk(b"IEND", b""))


# -- mutations -----------------------------------------------------------------------------------------------
JUNK = [b"\0", b"\xff", b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\r\n", b"\xc3\x28", b"\xed\xa0\x80",
        b"NaN", b"-Infinity", b"1e999", b"\\u0000", b"\\ud800", b"\xef\xbb\xbf", b" " * 50, b"9" * 400]


def mutate_bytes(r: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    b = bytearray(data)
    for _ in range(rounds or r.randint(1, 4)):
        op = r.randrange(8)
        if not b:
            b += r.choice(JUNK)
            continue
        i = r.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << r.randrange(8)
        elif op == 1:
            b[i] = r.randrange(256)
        elif op == 2:
            del b[i:]
        elif op == 3:
            b[i:i] = r.choice(JUNK)
        elif op == 4:
            j = min(len(b), i + r.randint(1, 64))
            b[i:i] = b[i:j] * r.randint(2, 20)
        elif op == 5:
            del b[i:i + r.randint(1, 32)]
        elif op == 6:
            b[i:i + 4] = struct.pack(">I", r.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 65535, 65536]))
        else:
            b[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
    return bytes(b)


WEIRD_VALUES = [None, True, False, 0, -1, 1, 255, 256, 2**31, 2**63, 2**64, 10**400, -10**400, 1.5, 1e308,
                float("nan"), float("inf"), "", "x", "\ud800", "\u202e", "A" * 5000, [], {}, [[]], [None],
                [1, 2, 3], {"a": 1}, [0] * 3, ["AAAA"], [[[[[[[[[[1]]]]]]]]]], "../../etc/passwd", "/tmp/x",
                "UINT8", "BYTES", "FP32", [1, 24, 32, 3], [1, 0, 0, 3], [-1], [10**12, 10**12, 3], [1, 2**40, 2**40, 3]]


STRINGS = ["", "\ud800", "\udfff", "\x00", "é" * 3, "\u2028", "<script>", "A" * 5000, "../../x", "BYTES",
           "UINT8", "boxes", "%s%n", "\ufeff"]


def _nodes(doc, path=()):
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:20]):
            yield from _nodes(v, (*path, i))


def _set(doc, path, value):
    if not path:
        return value
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


def _weird(r: random.Random):
    return copy.deepcopy(r.choice(WEIRD_VALUES))


def mutate_doc(r: random.Random, doc):
    doc = json.loads(json.dumps(doc))
    for _ in range(r.randint(1, 3)):
        doc = _mutate_once(r, doc)
        doc = json.loads(json.dumps(doc))               # no shared parts: the next edit changes one place
    return doc


def _mutate_once(r: random.Random, doc):
    path, node = r.choice(list(_nodes(doc)))
    op = r.randrange(6)
    if op <= 1:
        return _set(doc, path, _weird(r))
    if op == 2 and path:
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            del parent[path[-1]]
        return doc
    if op == 3 and isinstance(node, dict):
        node[r.choice(["inputs", "outputs", "id", "parameters", "name", "datatype", "shape", "data", "extra",
                       ""])] = _weird(r)
        return doc
    if op == 4 and isinstance(node, list) and node:
        node.extend(copy.deepcopy(node[: r.randint(1, 3)]))
        return doc
    return _set(doc, path, [node] * r.randint(2, 70) if r.random() < 0.5 else {"x": node})


def deep(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


# -- cases -----------------------------------------------------------------------------------------------------
class Cases:
    def __init__(self, seed: int, name: str, host: str, port: int):
        self.r = random.Random(seed)
        rng = np.random.default_rng(seed)
        self.name, self.host, self.port = name, host, port
        self.images = seed_images(rng)
        small = _image(rng, 8, 6)
        self.docs = [
            {"id": "a", "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                    "data": [base64.b64encode(self.images[0]).decode()]}]},
            {"inputs": [{"name": "px", "datatype": "UINT8", "shape": [1, 6, 8, 3], "data": small.ravel().tolist()}]},
            {"inputs": [{"name": "px", "datatype": "UINT8", "shape": [6, 8, 3], "data": small.tolist()}],
             "outputs": [{"name": "boxes"}, {"name": "labels"}], "parameters": {"k": 1}},
            {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [3, 1],
                         "data": [[base64.b64encode(i).decode()] for i in self.images[1:4]]}]},
        ]
        big = _image(rng, 400, 300)                        # over 1 MB of JSON: read by numpy, not json
        self.big_bodies = [
            json.dumps({"inputs": [{"name": "px", "datatype": "UINT8", "shape": [1, 300, 400, 3],
                                    "data": big.ravel().tolist()}]}, separators=(",", ":")).encode(),
            json.dumps({"inputs": [{"name": "px", "datatype": "UINT8", "shape": [1, 300, 400, 3],
                                    "data": big.tolist()}]}).encode(),
            json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [
                base64.b64encode(_encode(_image(rng, 700, 600), "PNG", compress_level=0)).decode()]}]}).encode(),
        ]

    # request building
    def request(self, method: str, path: str, body: bytes = b"", *, content_type: str | None = "application/json",
                length: str | None = "auto", host: str | None = "auto", extra: list[tuple[str, str]] = (),
                version: str = "HTTP/1.1", chunked: bool = False) -> bytes:
        lines = [f"{method} {path} {version}"]
        if host == "auto":
            host = f"127.0.0.1:{self.port}"
        if host is not None:
            lines.append(f"Host: {host}")
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length == "auto":
            lines.append(f"Content-Length: {len(body)}")
        elif length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{k}: {v}" for k, v in extra]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        if chunked:
            body = self._chunks(body)
        return head + body

    def _chunks(self, body: bytes) -> bytes:
        r = self.r
        out, i = b"", 0
        while i < len(body):
            n = r.randint(1, max(1, len(body) // 3))
            out += b"%x\r\n" % n + body[i:i + n] + b"\r\n"
            i += n
        out += b"0\r\n\r\n"
        return mutate_bytes(r, out, 1) if r.random() < 0.3 else out

    def infer_path(self) -> str:
        r = self.r
        if r.random() < 0.85:
            return f"/v2/models/{self.name}/infer"
        return r.choice([
            f"/v2/models/{self.name}/versions/x/infer", "/v2/models/nope/infer", f"/v2/models/{self.name}/infer?x=1",
            f"/v2/models/{self.name}%00/infer", "/v2/models/%2e%2e/infer", f"/v2/models/{self.name}/infer/",
            "/v2/models/" + "a" * 5000 + "/infer", "/v2/models/\u00e9/infer", f"//v2/models/{self.name}/infer"])

    # generators
    def oip_json(self) -> Case:
        r = self.r
        doc = r.choice(self.docs)
        body = json.dumps(mutate_doc(r, doc) if r.random() < 0.8 else doc).encode("utf-8", "surrogatepass")
        if r.random() < 0.3:
            body = mutate_bytes(r, body)
        return Case("oip_json", self.request("POST", self.infer_path(), body))

    FIELDS = (("id",), ("inputs", 0, "name"), ("inputs", 0, "datatype"), ("inputs", 0, "shape"),
              ("inputs", 0, "shape", 0), ("inputs", 0, "data"), ("inputs", 0, "data", 0), ("outputs",),
              ("outputs", 0, "name"), ("parameters",), ("parameters", "k"), ("inputs", 0), ("inputs",))

    def oip_one_field(self) -> Case:
        """A good request with exactly one field changed: what the service echoes must survive it."""
        r = self.r
        doc = json.loads(json.dumps(r.choice(self.docs)))
        doc.setdefault("id", "req-1")
        doc.setdefault("outputs", [{"name": "boxes"}])
        doc.setdefault("parameters", {"k": 1})
        path = r.choice(self.FIELDS)
        try:
            old = doc
            for p in path:
                old = old[p]
            pool = STRINGS if isinstance(old, str) and r.random() < 0.7 else WEIRD_VALUES
            doc = _set(doc, path, copy.deepcopy(r.choice(pool)))
        except (IndexError, KeyError, TypeError):
            pass
        body = json.dumps(doc, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")
        return Case("oip_one_field", self.request("POST", f"/v2/models/{self.name}/infer", body))

    def oip_bytes_image(self) -> Case:
        r = self.r
        img = r.choice(self.images)
        if r.random() < 0.8:
            img = mutate_bytes(r, img)
        if r.random() < 0.15:
            img = png_with_size(r.choice([0, 1, 2**16, 2**31 - 1, 50_000, 1001, 999]), r.choice([0, 1, 1000, 2**31]))
        doc = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                           "data": [base64.b64encode(img).decode()]}]}
        return Case("oip_bytes_image", self.request("POST", self.infer_path(), json.dumps(doc).encode()))

    def big_json(self) -> Case:
        r = self.r
        body = r.choice(self.big_bodies)
        if r.random() < 0.7:
            b = bytearray(body)
            for _ in range(r.randint(1, 3)):                # a few edits deep in the data
                i = r.randrange(len(b))
                b[i:i + 1] = r.choice([b"1.5", b"-1", b"999", b"1000", b"01", b",,", b"[", b"]", b" ", b'"', b"x",
                                       b"65537", b"\n", b"256"])
            body = bytes(b)
        return Case("big_json", self.request("POST", f"/v2/models/{self.name}/infer", body))

    def predictions(self) -> Case:
        r = self.r
        img = r.choice(self.images)
        roll = r.random()
        if roll < 0.6:
            img = mutate_bytes(r, img)
        elif roll < 0.7:
            img = png_with_size(r.randint(0, 70_000), r.randint(0, 70_000))
        elif roll < 0.75:
            img = b""
        ct = r.choice(["image/png", "image/jpeg", "application/octet-stream", None, "application/json",
                       "multipart/form-data; boundary=x", "text/plain", "image/png; charset=\xff"])
        path = f"/predictions/{self.name}" if r.random() < 0.85 else r.choice([
            f"/predictions/{self.name}/v1", "/predictions/x", f"/predictions/{self.name}/x/y"])
        return Case("predictions", self.request("POST", path, img, content_type=ct))

    def headers(self) -> Case:
        r = self.r
        body = json.dumps(r.choice(self.docs)).encode()
        kw: dict = {}
        roll = r.randrange(12)
        if roll == 0:
            kw["length"] = r.choice(["abc", "-1", "+5", " 5", "99999999999999999999999", "1e3", "0x10", "",
                                     f"{len(body)}, {len(body)}", str(len(body) + r.randint(1, 50)),
                                     str(max(0, len(body) - r.randint(1, 50))), "0", str(10**12)])
        elif roll == 1:
            kw["length"] = None
        elif roll == 2:
            kw["extra"] = [("Content-Length", str(len(body) + 1))]
        elif roll == 3:
            kw["chunked"] = True
        elif roll == 4:
            kw["chunked"] = True
            kw["extra"] = [("Content-Length", str(len(body)))]
        elif roll == 5:
            kw["content_type"] = r.choice(["multipart/form-data", "image/png", "text/plain", "application/json; "
                                           "charset=utf-16", "", "\x7f", "a" * 3000, None])
        elif roll == 6:
            kw["host"] = r.choice([None, "", "evil.example", "localhost", f"localhost:{self.port}", "[::1]:1",
                                   "127.0.0.1.evil.example", "LOCALHOST", "[::1", "a:b:c", "\u00e9.example",
                                   f"127.0.0.1:{self.port}, evil.example", "x" * 5000])
        elif roll == 7:
            kw["extra"] = [("Host", "evil.example")]
        elif roll == 8:
            kw["extra"] = [("Authorization", r.choice(["Bearer", "Bearer x", "Basic Zm9vOmJhcg==", "", "Bearer " +
                                                       "x" * 9000]))]
        elif roll == 9:
            kw["extra"] = [(f"X-{i}", "v" * r.randint(0, 100)) for i in range(r.randint(1, 300))]
        elif roll == 10:
            kw["version"] = r.choice(["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 x"])
        else:
            kw["extra"] = [("Expect", "100-continue"), ("Connection", r.choice(["close", "upgrade", "keep-alive"])),
                           ("Upgrade", r.choice(["websocket", "h2c", "x"]))]
        method = r.choice(["POST"] * 5 + ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "FOO", "post"])
        return Case("headers", self.request(method, self.infer_path(), body, **kw))

    def other_routes(self) -> Case:
        r = self.r
        path = r.choice(["/v2/health/live", "/v2/health/ready", "/v2", f"/v2/models/{self.name}",
                         f"/v2/models/{self.name}/ready", f"/v2/models/{self.name}/versions/x", "/ping", "/metrics",
                         "/metrics?format=prometheus", "/metrics?format=\xff", "/openapi.json", "/", "/v3", "/%",
                         f"/v2/repository/models/{self.name}/load", "/v2/repository/models/x/load",
                         "/" + "%ff" * 200, "/v2/models/" + "../" * 30])
        method = r.choice(["GET", "GET", "POST", "HEAD", "DELETE"])
        body = b""
        extra = []
        if "repository" in path:
            body = mutate_bytes(r, json.dumps({"model_id": r.choice(["x", "", None, 1])}).encode()) \
                if r.random() < 0.5 else json.dumps({"model_id": "x"}).encode()
            extra = [("X-Admin-Key", r.choice(["", "x", "\u00e9", "hmac-sha256$00$00", "a" * 2000]))]
            method = "POST"
        return Case("other_routes", self.request(method, path, body, extra=extra))

    def garbage(self) -> Case:
        r = self.r
        roll = r.randrange(8)
        if roll == 0:
            data = bytes(r.randrange(256) for _ in range(r.randint(1, 2000)))
        elif roll == 1:
            data = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(r.randrange(256) for _ in range(60))
        elif roll == 2:
            data = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        elif roll == 3:
            data = mutate_bytes(r, self.request("POST", f"/v2/models/{self.name}/infer",
                                                json.dumps(self.docs[1]).encode()), r.randint(1, 6))
        elif roll == 4:
            data = self.request("GET", "/v2/health/live", b"") * r.randint(2, 5)        # pipelined
        elif roll == 5:
            data = b"\r\n" * r.randint(1, 500)
        elif roll == 6:
            data = self.request("POST", f"/v2/models/{self.name}/infer", deep(r.choice([100, 2000, 100_000])))
        else:
            data = b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * r.randint(1000, 100_000) + b"\r\n\r\n"
        return Case("garbage", data)

    GENERATORS = (("oip_json", 20), ("oip_one_field", 20), ("oip_bytes_image", 15), ("big_json", 3),
                  ("predictions", 20), ("headers", 17), ("other_routes", 7), ("garbage", 8))

    def make(self) -> Case:
        names, weights = zip(*self.GENERATORS)
        return getattr(self, self.r.choices(names, weights)[0])()


# -- sending ---------------------------------------------------------------------------------------------------
def send(host: str, port: int, data: bytes, timeout: float = CLIENT_TIMEOUT_S) -> str:
    """The status of the first answer ('closed' when none came, 'timeout', or 'error:<what>' on our side)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            try:
                s.sendall(data)
            except OSError:
                pass                        # the service may answer (413) and stop reading before we are done
            reply = b""
            deadline = time.monotonic() + timeout
            while b"\r\n" not in reply and time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                reply += chunk
    except TimeoutError:
        return "timeout"
    except OSError as e:
        return f"error:{type(e).__name__}"
    if not reply:
        return "closed"
    parts = reply.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode() if len(parts) > 1 and parts[1].isdigit() else "garbled"


def good_request(host: str, port: int, name: str, image: bytes) -> bool:
    body = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                   "data": [base64.b64encode(image).decode()]}]}).encode()
    req = (f"POST /v2/models/{name}/infer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    return send(host, port, req, timeout=30) == "200"


def run(cases: int, seed: int, *, workers: int = 8, progress: bool = False) -> dict:
    """Fuzz one fresh service with `cases` requests from `seed`; the figures as a dict."""
    t0 = time.perf_counter()
    statuses: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    examples_500: list[str] = []
    liveness_failures = 0
    with spot_service(SERVICE_CONFIG) as svc:
        u = urlparse(svc["url"])
        host, port = u.hostname, u.port
        gen = Cases(seed, svc["name"], host, port)
        good_image = gen.images[0]
        done = 0
        with ThreadPoolExecutor(workers) as pool:
            while done < cases:
                batch = [gen.make() for _ in range(min(250, cases - done))]
                for case, status in zip(batch, pool.map(lambda c: send(host, port, c.data), batch)):
                    statuses[status] += 1
                    by_kind[case.kind][status] += 1
                    if status == "500" and len(examples_500) < 10:
                        examples_500.append(case.data[:300].decode("latin-1"))
                done += len(batch)
                if not good_request(host, port, svc["name"], good_image):
                    liveness_failures += 1
                if progress:
                    print(f"  {done} cases, {statuses.get('500', 0)} HTTP 500s", file=sys.stderr, flush=True)
        log_text = Path(svc["log"]).read_text(errors="replace")
    tracebacks = log_text.count("Traceback (most recent call last)")
    first_tb = ""
    if tracebacks:                           # the first one's head line and its last frames
        i = log_text.index("Traceback (most recent call last)")
        end = min((j for j in (log_text.find(m, i) for m in ("\n20", "\nINFO", "\nWARNING", "\n---"))
                   if j > 0), default=len(log_text))
        head = log_text[log_text.rfind("\n", 0, max(0, i - 1)) + 1:i]
        first_tb = head + "...\n" + log_text[max(i, end - 1500):end]
    return {"cases": cases, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "statuses": dict(sorted(statuses.items())), "http_500": statuses.get("500", 0),
            "closed_without_answer": statuses.get("closed", 0), "timeouts": statuses.get("timeout", 0),
            "client_errors": sum(n for s, n in statuses.items() if s.startswith("error:")),
            "tracebacks_in_log": tracebacks, "liveness_failures": liveness_failures,
            "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "examples_500": examples_500, "first_traceback": first_tb}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    res = run(a.cases, a.seed, workers=a.workers, progress=not a.json)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{res['cases']} cases (seed {res['seed']}) in {res['seconds']} s against one service")
        print(f"  statuses: {res['statuses']}")
        for kind, counts in res["by_kind"].items():
            print(f"    {kind:16} {counts}")
        print(f"  HTTP 500s: {res['http_500']}   tracebacks in the service log: {res['tracebacks_in_log']}   "
              f"good request unanswered: {res['liveness_failures']}")
        print(f"  closed without an answer: {res['closed_without_answer']}   client timeouts: {res['timeouts']}   "
              f"client-side errors: {res['client_errors']}")
        for ex in res["examples_500"]:
            print("  500 on:", ex.replace("\r\n", " | ")[:300])
        if res["first_traceback"]:
            print(res["first_traceback"])
    bad = res["http_500"] or res["tracebacks_in_log"] or res["liveness_failures"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
