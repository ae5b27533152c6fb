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


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
