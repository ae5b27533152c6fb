"""Counters for GET /metrics: requests served, errors, latency percentiles, batches (JSON or Prometheus text)."""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np

# Probes and the metrics page itself are not traffic.
NOT_COUNTED = ("/metrics", "/v2/health/live", "/v2/health/ready", "/ping")


class ServiceMetrics:
    def __init__(self, window: int = 4096):
        self.started = time.time()
        self.requests = 0
        self.ok = 0
        self.client_errors = 0
        self.server_errors = 0
        self.by_status: collections.Counter[int] = collections.Counter()
        self.images = 0
        self.batches = 0
        self.batch_images = 0
        self.max_batch = 0
        self.batch_sizes: collections.Counter[int] = collections.Counter()
        self.model_seconds = 0.0
        self.latency_sum = 0.0
        self._latencies: collections.deque[float] = collections.deque(maxlen=window)

    def record_request(self, path: str, status: int, seconds: float) -> None:
        if path in NOT_COUNTED:
            return
        self.requests += 1
        self.by_status[status] += 1
        if status < 400:
            self.ok += 1
        elif status < 500:
            self.client_errors += 1
        else:
            self.server_errors += 1
        self.latency_sum += seconds
        self._latencies.append(seconds)

    def record_batch(self, size: int, seconds: float) -> None:
        self.batches += 1
        self.batch_images += size
        self.max_batch = max(self.max_batch, size)
        self.batch_sizes[size] += 1
        self.model_seconds += seconds

    def snapshot(self, queue_depth: int = 0) -> dict[str, Any]:
        lat = np.asarray(self._latencies, dtype=np.float64) * 1000.0
        pct = {f"p{p}": round(float(np.percentile(lat, p)), 3) if lat.size else None for p in (50, 90, 99)}
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": {"total": self.requests, "ok": self.ok, "errors": self.client_errors + self.server_errors,
                         "client_errors": self.client_errors, "server_errors": self.server_errors,
                         "by_status": {str(k): v for k, v in sorted(self.by_status.items())}},
            "latency_ms": {"mean": round(self.latency_sum * 1000.0 / self.requests, 3) if self.requests else None,
                           **pct, "max": round(float(lat.max()), 3) if lat.size else None,
                           "window": int(lat.size)},
            "batches": {"count": self.batches, "images": self.batch_images,
                        "mean_size": round(self.batch_images / self.batches, 3) if self.batches else None,
                        "max_size": self.max_batch,
                        "sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
                        "model_seconds": round(self.model_seconds, 4)},
            "queue_depth": queue_depth,
        }

    def prometheus(self, model: str, queue_depth: int = 0) -> str:
        """The text exposition format, for scrapers (GET /metrics?format=prometheus)."""
        m = model.replace("\\", "\\\\").replace('"', '\\"')
        lab = f'model="{m}"'
        lines = [
            "# HELP modeldesk_requests_total Inference requests by HTTP status.",
            "# TYPE modeldesk_requests_total counter",
            *(f'modeldesk_requests_total{{{lab},status="{s}"}} {n}' for s, n in sorted(self.by_status.items())),
            "# HELP modeldesk_request_seconds Request latency (sum and count).",
            "# TYPE modeldesk_request_seconds summary",
        ]
        lat = np.asarray(self._latencies, dtype=np.float64)
        for q in (0.5, 0.9, 0.99):
            if lat.size:
                lines.append(f'modeldesk_request_seconds{{{lab},quantile="{q}"}} {float(np.quantile(lat, q)):.6f}')
        lines += [
            f"modeldesk_request_seconds_sum{{{lab}}} {self.latency_sum:.6f}",
            f"modeldesk_request_seconds_count{{{lab}}} {self.requests}",
            "# TYPE modeldesk_batches_total counter",
            f"modeldesk_batches_total{{{lab}}} {self.batches}",
            "# TYPE modeldesk_batch_images_total counter",
            f"modeldesk_batch_images_total{{{lab}}} {self.batch_images}",
            "# TYPE modeldesk_queue_depth gauge",
            f"modeldesk_queue_depth{{{lab}}} {queue_depth}",
            "# TYPE modeldesk_uptime_seconds gauge",
            f"modeldesk_uptime_seconds{{{lab}}} {time.time() - self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"
