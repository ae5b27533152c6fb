"""Serving test helpers: a deterministic user package ('brightbox'), images and OIP request bodies."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shutil
import textwrap
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

ADAPTER = textwrap.dedent('''
    """brightbox: a box around the brightest pixels (score from its artifact) and a dim frame box (0.3)."""
    import json
    import time
    from pathlib import Path

    import numpy as np

    import desktop_app.sdk as dl


    class BrightBox(dl.BaseModelAdapter):
        def load(self, local_path, **kwargs):
            cfg = json.loads((Path(local_path) / "brightbox.json").read_text())
            self.score = float(cfg["score"])
            self.delay = float(cfg.get("delay_s", 0.0))

        def save(self, local_path, **kwargs):
            Path(local_path).mkdir(parents=True, exist_ok=True)
            (Path(local_path) / "brightbox.json").write_text(json.dumps({"score": self.score}))

        def predict(self, batch, **kwargs):
            if self.delay:
                time.sleep(self.delay)   # a slow model on purpose (delay_s): requests pile up behind it
            out = []
            for img in batch:
                if img.max() == 0:
                    raise ValueError("cannot see anything in a black image")
                gray = img.astype(np.int32).sum(axis=2)
                ys, xs = np.nonzero(gray == gray.max())
                coll = dl.AnnotationCollection()
                info = {"name": "brightbox", "confidence": self.score}
                coll.add(dl.Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1),
                                label="bright"), model_info=info)
                coll.add(dl.Box(0, 0, float(img.shape[1]), float(img.shape[0]), label="frame"),
                         model_info={"name": "brightbox", "confidence": 0.3})
                out.append(coll)
            return out


    class BrokenLoad(BrightBox):
        def load(self, local_path, **kwargs):
            raise RuntimeError("weights are corrupt (on purpose)")
''')


def push_brightbox(dl, tmp_path: Path, *, package_name: str = "brightbox", class_name: str = "BrightBox"):
    src = tmp_path / f"src_{package_name}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "adapter.py").write_text(ADAPTER)
    return dl.packages.push(package_name=package_name, src_path=src, entry_point="adapter.py",
                            class_name=class_name, output_type="box")


def make_model(dl, package, tmp_path: Path, *, name: str = "bright-v1", score: float = 0.9,
               delay_s: float = 0.0, configuration: dict | None = None, dataset=None):
    project = dl.projects.get(project_name="Sample project")
    model = package.models.create(
        model_name=name, project_id=project.id, labels=["bright", "frame"], status="trained",
        dataset_id=dataset.id if dataset is not None else None,
        configuration=configuration if configuration is not None
        else {"conf_threshold": 0.1, "class_thresholds": {"frame": 0.5}})
    art = tmp_path / f"art_{name}"
    art.mkdir(parents=True, exist_ok=True)
    (art / "brightbox.json").write_text(json.dumps({"score": score, "delay_s": delay_s}))
    model.artifacts.upload(art / "brightbox.json")
    return model


def png_bytes(img: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    return buf.getvalue()


def spot_image(x: int, y: int, w: int = 32, h: int = 24, size: int = 3) -> np.ndarray:
    """A dark image with one white square of `size` at (x, y): brightbox answers exactly that box."""
    img = np.full((h, w, 3), 20, np.uint8)
    img[y:y + size, x:x + size] = 255
    return img


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def infer_body(*images: bytes, name: str = "image") -> dict:
    return {"id": "req-1", "inputs": [{"name": name, "datatype": "BYTES", "shape": [len(images)],
                                       "data": [b64(d) for d in images]}]}


def outputs(doc: dict) -> dict:
    return {o["name"]: o for o in doc["outputs"]}


class Facade:
    """The bits of `dl` the helpers use, over an explicit client (module fixtures outlive the dl fixture)."""

    def __init__(self, client):
        self.packages = client.packages
        self.projects = client.projects
        self.models = client.models
        self.services = client.services


@contextlib.contextmanager
def brightbox_service(template_home: Path, base: Path, *, delay_s: float = 0.0,
                      service_config: dict | None = None) -> Iterator[tuple]:
    """(client, model, service): a copy of the session's bootstrapped catalog under `base` with the brightbox
    model deployed; every service of that catalog is stopped and the catalog closed afterwards."""
    from desktop_app.sdk import Client

    home = base / "catalog"
    shutil.copytree(template_home, home)
    client = Client(home=home)
    dl = Facade(client)
    model = make_model(dl, push_brightbox(dl, base), base, delay_s=delay_s)
    try:
        yield client, model, model.deploy(service_config=service_config)
    finally:
        for s in client.services.list():
            s.stop()
        client.catalog.close()
