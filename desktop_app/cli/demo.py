"""The headless main job: clone a pretrained model, train it on the sample shapes, evaluate it, show the numbers."""

from __future__ import annotations

import sys
import time

from desktop_app.domain.status import ExecutionStatus

from .app import command
from .sample_commands import ensure_sample


def run_demo(model_name: str = "pretrained-resnet", epochs: int | None = None) -> int:
    import desktop_app.sdk as dl

    t0 = time.monotonic()
    client = dl.default_client()
    print(f"catalog: {client.catalog.home}")
    shapes = ensure_sample(client).datasets.get(dataset_name="shapes")
    package = dl.packages.get(package_name="resnet")
    pretrained = package.models.get(model_name=model_name)
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    model = pretrained.clone(model_name=name, dataset=shapes,
                             description="headless demo: first training on the sample shapes")
    if epochs:
        model.configuration["epochs"] = epochs
        model.update()
    ds = model.dataset
    print(f"cloned {pretrained.name} -> {model.name}; training on {ds.name} "
          f"({ds.items.count({'subset': 'train'})} train / "
          f"{ds.items.count({'subset': 'validation'})} validation images)")
    ex = model.train(progress=True)
    if ex.status != ExecutionStatus.SUCCESS:
        print(f"training {ex.status}: {ex.error}\n--- log ---\n{ex.logs()[-3000:]}", file=sys.stderr)
        return 1
    acc = [s.y for s in model.metrics.list(figure="accuracy", legend="validation")]
    print(f"trained in {time.monotonic() - t0:.0f} s; validation accuracy per epoch: "
          + ", ".join(f"{a:.3f}" for a in acc))
    ev = model.evaluate(dataset=ds, filters={"subset": "test"}, name="demo-test")
    if ev.status == ExecutionStatus.SUCCESS:
        summary = ev.output.get("summary", {})
        print("test subset: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)))
    else:
        print(f"evaluation {ev.status}: {ev.error}", file=sys.stderr)
    print(f"done in {time.monotonic() - t0:.0f} s. See it all with: desktop-app models list; "
          f"desktop-app info --model {model.name}")
    return 0


@command("demo", "Headless tour: clone pretrained-resnet, train it on the sample shapes, evaluate it.")
def _demo(p):
    p.add_argument("--model", default="pretrained-resnet")
    p.add_argument("--epochs", type=int)
    p.set_defaults(func=lambda a: run_demo(a.model, a.epochs))
