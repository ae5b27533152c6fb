"""What keeps a service to its own: the Host a tokenless loopback service answers, the admin key kept as a
salted hash, and no absolute path in what a client can read (500 bodies, /metrics)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import ServiceConfig, is_loopback

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


# -- Host (DNS rebinding) --------------------------------------------------------------------------
def allowed_hosts(config: ServiceConfig) -> frozenset[str] | None:
    """The Host names a service answers, or None for any: a service with a token (the token is the guard)
    or off loopback (which needs a token)."""
    if config.token or not is_loopback(config.host):
        return None
    return frozenset({*LOCAL_NAMES, config.host.lower().strip("[]")})


def host_name(value: str) -> str:
    """'localhost:8000' -> 'localhost', '[::1]:8000' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheck:
    """A web page on another site can reach a loopback service through a name it makes resolve to
    127.0.0.1 (DNS rebinding); its requests carry that name in Host. A tokenless loopback service answers
    only its own names (421 otherwise); a request without Host (no browser sends one) passes."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            for k, v in scope["headers"]:
                if k == b"host" and host_name(v.decode("latin-1")) not in self.allowed:
                    shown = v.decode("latin-1")[:100]
                    resp = JSONResponse({"error": f"this service answers Host {', '.join(sorted(self.allowed))} "
                                                  f"(with its port), not {shown!r}; a service that other names "
                                                  f"reach needs a token", "field": "Host"}, status_code=421)
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# -- the admin key ---------------------------------------------------------------------------------
def hash_key(key: str, salt: bytes | None = None) -> str:
    """'hmac-sha256$<salt hex>$<digest hex>': what the service record keeps instead of the key."""
    salt = os.urandom(16) if salt is None else salt
    return f"hmac-sha256${salt.hex()}${hmac.new(salt, key.encode(), hashlib.sha256).hexdigest()}"


def key_matches(given: str, stored_hash: str | None) -> bool:
    if not stored_hash or not given:
        return False
    try:
        scheme, salt, digest = stored_hash.split("$")
        if scheme != "hmac-sha256":
            return False
        expected = bytes.fromhex(digest)
        mac = hmac.new(bytes.fromhex(salt), given.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    except ValueError:
        return False
    return hmac.compare_digest(mac, expected)


# -- paths out of what clients read ----------------------------------------------------------------
_REST = r"""[^\s'"<>|,;)\]}]*"""
_PATH = re.compile(r"""(?:(?<![\w.~+-])/(?=[^\s/'"])|\b[A-Za-z]:[\\/]|\\\\|file://)""" + _REST)


def scrub(text: str, private: tuple[str, ...] = ()) -> str:
    """The text with every absolute path (POSIX, Windows, UNC, file://) replaced by '<path>'; `private`
    (the catalog folder, the home folder) go first, as a path with spaces in it is not found whole. The
    service log keeps the full message."""
    for p in sorted(filter(None, private), key=len, reverse=True):
        text = re.sub(re.escape(p) + _REST, "<path>", text)
    return _PATH.sub("<path>", text)
