"""Serving fixtures: one real brightbox service per test module, on its own catalog and a free loopback port."""

from __future__ import annotations

import pytest

from servehelpers import brightbox_service


@pytest.fixture(scope="module")
def served(template_home, tmp_path_factory):
    """One brightbox service per test module (a process start costs about a second), on its own catalog."""
    config = {"max_batch_size": 8, "max_wait_ms": 20, "max_pixels": 250_000, "max_request_bytes": 2_000_000}
    with brightbox_service(template_home, tmp_path_factory.mktemp("served"), delay_s=0.02,
                           service_config=config) as (client, model, service):
        yield {"client": client, "model": model.refresh(), "service": service, "url": service.url}
