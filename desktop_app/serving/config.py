"""A service's settings: validated once, stored on the service record (the token never is)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, fields
from typing import Any

from desktop_app.errors import ValidationError

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 0                        # 0: a free port within Settings > Service ports (8600-8699)
    token: str | None = None             # required off loopback; when set every request must carry it
    max_batch_size: int = 16             # images per model call
    max_wait_ms: float = 5.0             # how long the first request of a batch waits for company
    max_request_bytes: int = 64 * 2**20  # request bodies above this are refused (413) before reading them
    max_json_bytes: int = 64 * 2**20     # the same for JSON (OIP v2) bodies, which cost more to parse
    memory_budget_mb: int = 256          # requests being parsed and decoded share this much memory at once;
                                         # others wait their turn (serving/budget.py)
    max_pixels: int = 40_000_000         # images above this (from the header) are refused before decoding
    max_images_per_request: int = 64
    max_request_pixels: int = 0          # one request's images together, from their headers (0: 3 x max_pixels,
                                         # 120M by default: about 360 MB decoded)
    max_concurrency: int = 256           # requests in flight above this get a JSON 503 with Retry-After
    header_timeout_s: float = 10.0       # a connection that has not sent a request's headers by then is closed
    body_timeout_s: float = 60.0         # a request body not received by then is refused (408)
    device: str | None = None            # passed to the adapter as configuration['device']
    torch_threads: int = 0               # intra-op threads of a torch model (0: torch's default, all cores);
                                         # fewer leave cores to HTTP and image decoding under load
    warmup: bool = True                  # one predict on a small grey image before answering ready
    access_log: bool = False
    start_timeout_s: float = 120.0

    @property
    def json_limit(self) -> int:
        """The largest JSON body accepted."""
        return min(self.max_json_bytes, self.max_request_bytes)

    @property
    def request_pixels(self) -> int:
        """The per-request pixel budget in force."""
        return self.max_request_pixels or 3 * self.max_pixels

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ServiceConfig:
        """Check types and ranges; unknown keys are an error (a typo must not silently do nothing)."""
        values = dict(values or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known) - {"name", "previous_status", "auth"})
        if unknown:
            raise ValidationError(f"unknown service_config key(s): {', '.join(unknown)}; "
                                  f"known: {', '.join(known)}")
        kw: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known or value is None:
                continue
            kw[name] = _coerce(name, value, type(getattr(cls, name)) if getattr(cls, name) is not None else str)
        cfg = cls(**kw)
        cfg.check()
        return cfg

    def check(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ValidationError("host must be a non-empty address")
        if not 0 <= self.port <= 65535:
            raise ValidationError(f"port must be within 0..65535, got {self.port}")
        for name, low in (("max_batch_size", 1), ("max_request_bytes", 1), ("max_json_bytes", 1),
                          ("memory_budget_mb", 16), ("max_pixels", 1),
                          ("max_images_per_request", 1), ("max_concurrency", 1), ("torch_threads", 0),
                          ("max_request_pixels", 0)):
            if getattr(self, name) < low:
                raise ValidationError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if 0 < self.max_request_pixels < self.max_pixels:
            raise ValidationError(f"max_request_pixels ({self.max_request_pixels:,}) must be at least max_pixels "
                                  f"({self.max_pixels:,}), or 0 for three times it")
        for name in ("header_timeout_s", "body_timeout_s"):
            if not 0 < getattr(self, name) <= 3600:
                raise ValidationError(f"{name} must be within (0, 3600] seconds, got {getattr(self, name)}")
        if not 0 <= self.max_wait_ms <= 10_000:
            raise ValidationError(f"max_wait_ms must be within 0..10000, got {self.max_wait_ms}")
        if self.token is not None and (not isinstance(self.token, str) or len(self.token) < 8
                                       or any(c.isspace() for c in self.token)):
            raise ValidationError("token must be a string of at least 8 characters without spaces")
        if not is_loopback(self.host) and not self.token:
            raise ValidationError(f"binding to {self.host} (not loopback) needs a token: every request must then "
                                  f"carry 'Authorization: Bearer <token>' "
                                  f"(e.g. token=secrets.token_urlsafe(24))")

    def public(self) -> dict[str, Any]:
        """What the service record keeps: everything but the token."""
        d = asdict(self)
        d.pop("token")
        d["auth"] = bool(self.token)
        return d


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ValidationError(f"service_config {name} must be {kind.__name__}, got {value!r}") from None
