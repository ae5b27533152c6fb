"""Peak memory of a real service answering three concurrent large JSON tensor requests, against its budget.

    python tools/memory_serving.py [--kind uint8|bytes|all] [--mb 61] [--concurrent 3]

Starts the tiny 'spot' model as a service on a fresh temporary catalog, sends `--concurrent` requests of
about `--mb` MB each at once (UINT8: a flat OIP v2 list of pixel values; BYTES: one base64 PNG of noise),
and reads the service process's peak resident set (VmHWM in /proc) before and after. Prints, per kind, the
idle and peak figures and the growth against the budget the README states; exits 1 when over it."""

from __future__ import annotations

import argparse
import base64
from concurrent.futures import ThreadPoolExecutor
import http.client
import io
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servesandbox import spot_service, vm_hwm_kb, vm_rss_kb  # noqa: E402

# What the README promises: three concurrent requests at the default JSON limit raise the service's peak
# resident set by at most this much over its idle peak.
BUDGET_MB = 400


def uint8_body(mb: float, rng: np.random.Generator) -> tuple[bytes, str]:
    """A flat UINT8 [1, H, W, 3] tensor of random values whose JSON text is about `mb` MB."""
    per_value = 3.57                                     # digits of a random 0..255 and a comma, on average
    pixels = int(mb * 1e6 / per_value / 3)
    w = int(pixels ** 0.5)
    h = pixels // w
    values = rng.integers(1, 256, h * w * 3, dtype=np.uint8)
    data = ",".join(map(str, values.tolist())).encode()
    head = json.dumps({"id": "mem", "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, h, w, 3],
                                                "data": ["@"]}]}).encode()
    return head.replace(b'["@"]', b"[" + data + b"]"), f"UINT8 [1, {h}, {w}, 3]"


def bytes_body(mb: float, rng: np.random.Generator) -> tuple[bytes, str]:
    """One base64 PNG of noise (incompressible) whose JSON text is about `mb` MB."""
    from PIL import Image

    pixels = int(mb * 1e6 * 0.75 / 3)
    side = int(pixels ** 0.5)
    img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=0)
    doc = {"id": "mem", "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                    "data": [base64.b64encode(buf.getvalue()).decode()]}]}
    return json.dumps(doc).encode(), f"BYTES [1] (a {side}x{side} PNG)"


def post(url: str, path: str, body: bytes) -> int:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def measure(kind: str, mb: float, concurrent: int, service_config: dict | None = None) -> dict:
    rng = np.random.default_rng(0)
    body, what = (uint8_body if kind == "uint8" else bytes_body)(mb, rng)
    with spot_service(service_config) as svc:
        pid, url = svc["pid"], svc["url"]
        path = f"/v2/models/{svc['name']}/infer"
        assert post(url, path, json.dumps({"inputs": [{"name": "i", "datatype": "UINT8", "shape": [1, 2, 2, 3],
                                                       "data": [9] * 12}]}).encode()) == 200
        idle_hwm, idle_rss = vm_hwm_kb(pid), vm_rss_kb(pid)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrent) as pool:
            statuses = list(pool.map(lambda _: post(url, path, body), range(concurrent)))
        seconds = time.perf_counter() - t0
        peak = vm_hwm_kb(pid)
    return {"kind": kind, "what": what, "body_mb": round(len(body) / 1e6, 1), "concurrent": concurrent,
            "statuses": statuses, "seconds": round(seconds, 2), "idle_rss_mb": round(idle_rss / 1024),
            "idle_peak_mb": round(idle_hwm / 1024), "peak_mb": round(peak / 1024),
            "growth_mb": round((peak - idle_hwm) / 1024), "budget_mb": BUDGET_MB}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["uint8", "bytes", "all"], default="all")
    p.add_argument("--mb", type=float, default=61.0, help="size of each request body (MB)")
    p.add_argument("--concurrent", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    kinds = ["uint8", "bytes"] if a.kind == "all" else [a.kind]
    results = [measure(k, a.mb, a.concurrent) for k in kinds]
    over = False
    for r in results:
        ok = r["growth_mb"] <= r["budget_mb"]
        over |= not ok
        if not a.json:
            print(f"{r['kind']:6} {r['concurrent']} x {r['body_mb']} MB ({r['what']}): answers {r['statuses']} in "
                  f"{r['seconds']} s; service peak RSS {r['peak_mb']} MB (idle {r['idle_rss_mb']} MB, idle peak "
                  f"{r['idle_peak_mb']} MB): +{r['growth_mb']} MB against a budget of +{r['budget_mb']} MB "
                  f"-> {'within' if ok else 'OVER'}")
    if a.json:
        print(json.dumps(results, indent=2))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
