"""The hot swap inside the server (no process): requests finish on the model they were accepted for."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time

import httpx
import numpy as np
from PIL import Image
from waiting import async_wait_for

from desktop_app.formats.base import Annotation
from desktop_app.serving.app import create_app
from desktop_app.serving.config import ServiceConfig

KEY = "admin-key-for-tests"


class FakeHost:
    def __init__(self, name: str, delay: float = 0.0):
        self.name, self.model_id, self.package = name, f"{name}-id", "pkg"
        self.output_type, self.labels, self.aliases = "class", ["a"], ["champion"]
        self.delay = delay
        self.closed = False
        self.predicting = threading.Event()

    def predict(self, images):
        self.predicting.set()
        time.sleep(self.delay)  # a slow model: the request is still on it when the swap comes
        return [[Annotation(type="class", label=self.name, score=0.9)] for _ in images]

    def dataloop_json(self, anns):
        return [{"label": a.label} for a in anns]

    def close(self):
        self.closed = True


def _body() -> dict:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                        "data": [base64.b64encode(buf.getvalue()).decode()]}]}


def test_requests_accepted_before_a_swap_finish_on_the_old_model_which_closes_after_them():
    old, new = FakeHost("old", delay=0.3), FakeHost("new")
    loaded: list[str] = []

    def loader(model_id):
        loaded.append(model_id)
        return new

    app = create_app(old, ServiceConfig(warmup=False, token="a-secret-token"), loader=loader, admin_key=KEY)
    auth = {"Authorization": "Bearer a-secret-token"}

    async def scenario():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
                first = asyncio.create_task(c.post("/v2/models/champion/infer", json=_body(), headers=auth))
                await async_wait_for(old.predicting.is_set, 10, what="the first request on the old model")
                # The admin key guards swaps (the bearer token is not needed, nor enough).
                assert (await c.post("/v2/repository/models/champion/load", json={"model_id": "new-id"},
                                     headers=auth)).status_code == 403
                r = await c.post("/v2/repository/models/champion/load", json={"model_id": "new-id"},
                                 headers={"X-Admin-Key": KEY})
                assert r.status_code == 200, r.text
                assert r.json()["previous_model_id"] == "old-id" and r.json()["model_id"] == "new-id"
                assert not old.closed  # the first request is still on it
                second = await c.post("/v2/models/champion/infer", json=_body(), headers=auth)
                done = await first
                assert done.json()["model_name"] == "old" and done.json()["outputs"][1]["data"] == ["old"]
                assert second.json()["model_name"] == "new"
                await async_wait_for(lambda: old.closed, 10, what="the old model to close after its last request")
                assert not new.closed
                # Meta routes and versions follow the new model; the old name is gone.
                assert (await c.get("/v2/models/new", headers=auth)).json()["versions"] == ["new-id"]
                assert (await c.get("/v2/models/old", headers=auth)).status_code == 404
                bad = await c.post("/v2/repository/models/new/load", json={"model": 1}, headers={"X-Admin-Key": KEY})
                assert bad.status_code == 400
        assert loaded == ["new-id"]

    asyncio.run(scenario())
