"""Serving fixtures: one real brightbox service per test module, on its own catalog and a free loopback port."""

from __future__ import annotations

import shutil

import pytest

from servehelpers import Facade, make_model, push_brightbox


@pytest.fixture(scope="module")
def served(template_home, tmp_path_factory):
    """One brightbox service per test module (a process start costs about a second), on its own catalog."""
    from desktop_app.sdk import Client

    base = tmp_path_factory.mktemp("served")
    home = base / "catalog"
    shutil.copytree(template_home, home)
    client = Client(home=home)
    dl = Facade(client)
    pkg = push_brightbox(dl, base)
    model = make_model(dl, pkg, base, delay_s=0.02)
    service = model.deploy(service_config={"max_batch_size": 8, "max_wait_ms": 20, "max_pixels": 250_000,
                                           "max_request_bytes": 2_000_000})
    try:
        yield {"client": client, "model": model.refresh(), "service": service, "url": service.url}
    finally:
        service.stop()
        client.catalog.close()
