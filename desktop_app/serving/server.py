"""What a service process needs before it serves: the secrets the manager writes on its stdin, the bound socket,
the URL it is reached at. The process itself is `python -m desktop_app.workflows.host HOME SERVICE_ID`.

The manager writes {"token": ...} to the process's stdin (a token never goes into the catalog, the command line or
the environment, where `ps` and /proc show them). The admin key (hot swaps) is kept by the record as a salted hash
only; the manager keeps the key itself in a file only this user reads (manager.admin_key_path).
"""

from __future__ import annotations

import json
import logging
import socket
import sys

log = logging.getLogger("desktop_app.serving")


def read_secrets() -> dict:
    if sys.stdin is None or sys.stdin.closed or sys.stdin.isatty():
        return {}
    raw = sys.stdin.read()
    return json.loads(raw) if raw.strip() else {}


def port_range() -> tuple[int, int]:
    """The ports services may use (Settings > Service ports, default 8600-8699)."""
    from desktop_app.settings import Settings
    lo, hi = Settings().get("service_port_range")
    return int(lo), int(hi)


def bind(host: str, port: int, ports: tuple[int, int] | None = None) -> socket.socket:
    """A listening socket on `port`; port 0 takes the first free port within `ports` (the configured range
    by default), and an OSError naming the range when every port in it is taken."""
    if port:
        return _bind(host, port)
    lo, hi = ports or port_range()
    for candidate in range(lo, hi + 1):
        try:
            return _bind(host, candidate)
        except OSError:
            continue
    raise OSError(f"no free port for the service in the range {lo}-{hi} (Settings > Service ports): every "
                  f"one is taken; stop a service or widen the range")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
