"""A service takes a free port within Settings > Service ports, or says the range is full (issue 18)."""

import socket

import pytest

from desktop_app.serving import server
from desktop_app.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_service_port_comes_from_the_configured_range(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path))
    lo = _free_port()
    Settings().set("service_port_range", [lo, lo + 5])
    first = server.bind("127.0.0.1", 0)
    second = server.bind("127.0.0.1", 0)
    try:
        ports = {first.getsockname()[1], second.getsockname()[1]}
        assert len(ports) == 2 and all(lo <= p <= lo + 5 for p in ports), ports
    finally:
        first.close()
        second.close()


def test_a_full_range_is_an_error_naming_the_range(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    Settings().set("service_port_range", [port, port])
    try:
        with pytest.raises(OSError, match=f"range {port}-{port}"):
            server.bind("127.0.0.1", 0)
    finally:
        taken.close()


def test_an_explicit_port_is_used_as_given():
    port = _free_port()
    sock = server.bind("127.0.0.1", port)
    try:
        assert sock.getsockname()[1] == port
    finally:
        sock.close()
