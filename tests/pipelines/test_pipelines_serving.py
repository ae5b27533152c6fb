"""Promotion and rollback move a real running service to the new model over HTTP, without dropping requests."""

from __future__ import annotations

import base64
import io
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from desktop_app.errors import ValidationError

from pipehelpers import SMALL, make_champion, wait_until


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


BODY = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                    "data": [base64.b64encode(_png()).decode()]}]}


class Load:
    """Clients asking /v2/models/champion/infer back to back; every answer is kept with its times."""

    def __init__(self, url: str, clients: int = 4):
        self.url = url
        self.stop = threading.Event()
        self.answers: list[tuple[float, float, int, str | None, str | None]] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                t0 = time.monotonic()
                try:
                    r = http.post(f"{self.url}/v2/models/champion/infer", json=BODY)
                    doc = r.json() if r.status_code == 200 else {}
                    label = next((o["data"][0] for o in doc.get("outputs", []) if o["name"] == "labels"), None)
                    row = (t0, time.monotonic(), r.status_code, doc.get("model_name"), label)
                except httpx.HTTPError as e:  # a dropped connection is a failure of the swap
                    row = (t0, time.monotonic(), 0, repr(e), None)
                with self._lock:
                    self.answers.append(row)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_promotion_swaps_the_served_model_under_load_and_rollback_swaps_it_back(dl, dial, tmp_path):
    # Slow enough that requests are in flight during the swap: 20 ms a prediction, half a second to load.
    champion = make_champion(dl, dial, tmp_path, configuration={"predict_delay_s": 0.02, "load_delay_s": 0.5})
    p = dl.pipelines.create("live", champion=champion, training={"skill": 0.9}, max_items=SMALL)
    service = champion.deploy(service_config={"max_batch_size": 4, "max_wait_ms": 2})
    try:
        url = service.url
        labels = champion.labels
        with httpx.Client(timeout=30) as http:
            # It answers under the alias and the package name as well as its own name.
            for name in ("champion", "dial", champion.name):
                r = http.post(f"{url}/v2/models/{name}/infer", json=BODY)
                assert r.status_code == 200 and r.json()["model_name"] == champion.name
            assert http.post(f"{url}/v2/repository/models/champion/load", json={"model_id": champion.id}).status_code == 403
            assert http.post(f"{url}/v2/repository/models/champion/load", json={"model_id": champion.id},
                             headers={"X-Admin-Key": "wrong"}).status_code == 403

        with Load(url) as load:
            wait_until(lambda: len(load.answers) >= 8, 30, what="the load's first answers")
            run = p.run()
            t_done = time.monotonic()
            wait_until(lambda: sum(a[0] > t_done for a in load.answers) >= 8, 30,
                       what="answers to requests sent after the promotion")
        assert run.status == "promoted", f"{run.error}\n{run.logs()}"
        challenger = run.challenger
        answers = load.answers
        assert len(answers) > 20
        bad = [a for a in answers if a[2] != 200]
        assert not bad, bad[:5]
        # Before the swap the old model answered, after it the new one, never a mix afterwards.
        seen = [a[3] for a in sorted(answers)]
        assert seen[0] == champion.name and seen[-1] == challenger.name
        assert all(a[3] == challenger.name and a[4] == labels[1] for a in answers if a[0] > t_done)
        assert all(a[4] == labels[0] for a in answers if a[3] == champion.name)
        first_new = seen.index(challenger.name)
        assert champion.name not in seen[first_new + 8:]  # at most the requests already accepted
        assert run.details["redeploy"]["done"] == {service.id: challenger.id}

        rec = dl.default_client().catalog.get_service(service.id)
        assert rec.model_id == challenger.id and rec.status == "running"
        assert challenger.refresh().status == "deployed" and champion.refresh().status == "trained"
        with httpx.Client(timeout=30) as http:
            r = http.post(f"{url}/predictions/champion", content=_png())
            assert r.status_code == 200 and r.json()[0]["label"] == labels[1]
            assert http.post(f"{url}/v2/models/{challenger.name}/infer", json=BODY).status_code == 200
            assert http.post(f"{url}/v2/models/{champion.name}/infer", json=BODY).status_code == 404
            assert http.get(f"{url}/metrics").json()["swaps"] == 1

        # Rollback in one action: the alias and the service go back to the earlier champion.
        res = p.rollback(reason="customers prefer the old one")
        assert res["to_model_id"] == champion.id and res["services"] == {service.id: "redeployed"}
        assert p.champion == champion
        hist = p.history()
        assert [h["model_id"] for h in hist] == [champion.id, challenger.id, champion.id]
        assert hist[-1]["set_by"] == "user" and hist[-1]["reason"] == "customers prefer the old one"
        with httpx.Client(timeout=30) as http:
            doc = http.post(f"{url}/v2/models/champion/infer", json=BODY).json()
            assert doc["model_name"] == champion.name and doc["outputs"][1]["data"] == [labels[0]]
        other = make_champion(dl, dial, tmp_path, name="dial-other")
        with pytest.raises(ValidationError, match="never the 'champion'"):
            p.rollback(to_model=other)
        with pytest.raises(ValidationError, match="another package"):
            p.rollback(to_model=dl.packages.get("resnet").models.list()[0].id)
    finally:
        service.stop()
