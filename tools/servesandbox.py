"""A real service for the serving tools: a fresh catalog in a temporary folder with a tiny model deployed."""

from __future__ import annotations

import contextlib
import json
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]

# 'spot': a box around the brightest pixels; quick on any size, so the service's own costs are what is measured.
ADAPTER = textwrap.dedent('''
    """spot: one box around the brightest pixels (score from its artifact), on any image."""
    import json
    from pathlib import Path

    import numpy as np

    import desktop_app.sdk as dl


    class Spot(dl.BaseModelAdapter):
        def load(self, local_path, **kwargs):
            self.score = float(json.loads((Path(local_path) / "spot.json").read_text())["score"])

        def save(self, local_path, **kwargs):
            (Path(local_path) / "spot.json").write_text(json.dumps({"score": self.score}))

        def predict(self, batch, **kwargs):
            out = []
            for img in batch:
                gray = img.max(axis=2)
                ys, xs = np.nonzero(gray == gray.max())
                coll = dl.AnnotationCollection()
                coll.add(dl.Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1),
                                label="bright"), model_info={"name": "spot", "confidence": self.score})
                out.append(coll)
            return out
''')


@contextlib.contextmanager
def spot_service(service_config: dict | None = None, *, keep: bool = False) -> Iterator[dict]:
    """{"url", "name", "pid", "home", "log", "service"}: the spot model served from a new temporary catalog."""
    import sys
    sys.path.insert(0, str(ROOT))
    from desktop_app.sdk import Client
    from desktop_app.serving import manager

    tmp = Path(tempfile.mkdtemp(prefix="serving-tool-"))
    home = tmp / "catalog"
    client = Client(home=home)
    try:
        src = tmp / "spot_src"
        src.mkdir()
        (src / "adapter.py").write_text(ADAPTER)
        package = client.packages.push(package_name="spot", src_path=src, entry_point="adapter.py",
                                       class_name="Spot", output_type="box")
        project = client.projects.get(project_name="Sample project")
        model = package.models.create(model_name="spot-v1", project_id=project.id, labels=["bright"],
                                      status="trained")
        (tmp / "spot.json").write_text(json.dumps({"score": 0.9}))
        model.artifacts.upload(tmp / "spot.json")
        service = model.deploy(service_config=service_config or {})
        try:
            yield {"url": service.url, "name": model.name, "pid": service.pid, "home": home, "service": service,
                   "log": manager.log_path(client.catalog, service.id)}
        finally:
            service.stop()
    finally:
        client.catalog.close()
        if not keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def vm_hwm_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
