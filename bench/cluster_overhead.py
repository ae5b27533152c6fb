"""Training on Ray against training here: the same model, data and epochs, locally and as a 1-worker Ray Train job.

Both run ml.trainer.Trainer over the same JPEG layout; the Ray run goes through workflows.cluster (TorchTrainer on a
Ray started on this machine, its relay and checkpoint reports), as a cluster job does. The two alternate
--repeats times. Prints the median images/s of each over the epochs after the first of every run (the trainer's
own train_images_per_s, measured where it trains), the Ray job's start-up time (ray.init to the first training
step, median) and their ratio (aim: >= 0.9 once started).

    python bench/cluster_overhead.py                      # CPU defaults, ~4 minutes on 2 cores
    python bench/cluster_overhead.py --epochs 8 --files 1024 --image-size 96

Needs Ray Train (pip install -e '.[cluster]').
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_overhead import NUM_CLASSES, write_jpegs  # noqa: E402

from desktop_app.ml import trainer  # noqa: E402
from desktop_app.ml.hparams import schema_for, validate_config  # noqa: E402
from desktop_app.ml.layout import write_layout  # noqa: E402
from desktop_app.workflows import cluster  # noqa: E402


def steady(history: list[dict]) -> list[float]:
    """images/s of each epoch after the first (the first warms caches and, on Ray, the process group)."""
    return [h["train_images_per_s"] for h in history[1:]] or [h["train_images_per_s"] for h in history]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet50", "mobilenet_v3_small"])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--files", type=int, default=512, help="training JPEGs (and a quarter as many to validate)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    root = Path(tmp.name)
    entries = write_jpegs(root / "jpeg", args.files + args.files // 4, size=args.image_size)
    for e in entries[args.files:]:
        e.subset = "validation"
    labels = [f"c{i}" for i in range(NUM_CLASSES)]
    data = write_layout(root / "data", {"train": entries[: args.files], "validation": entries[args.files:]}, labels)
    config = validate_config(schema_for("classification", args.arch), {
        "arch": args.arch, "epochs": args.epochs, "batch_size": args.batch_size, "image_size": args.image_size,
        "pretrained": False, "num_workers": 0, "device": "cpu", "scheduler": "none", "cache_images": "no"})
    print(f"{args.arch} {args.image_size}px batch {args.batch_size}, {args.files} JPEGs, {args.epochs} epochs, cpu, "
          f"{torch.get_num_threads()} threads")

    local: list[float] = []
    on_ray: list[float] = []
    startup: list[float] = []
    for r in range(args.repeats):
        t = time.perf_counter()
        result = trainer.train("classification", data, root / f"local{r}", config)
        local += steady(result.history)
        print(f"  repeat {r + 1} local {time.perf_counter() - t:6.1f} s, epochs at {steady(result.history)} img/s",
              flush=True)
        t = time.perf_counter()
        ray_result = cluster.run_ray_training(
            {"address": cluster.LOCAL, "workers": 1, "device": "cpu"}, "classification", str(data), config,
            root / f"ray-out{r}", storage=root / "ray-storage", name=f"bench{r}", resume_folder=None,
            callbacks_for_attempt=lambda attempt: [], should_stop=lambda: False)
        on_ray += steady(ray_result["history"])
        startup.append(ray_result["startup_s"])
        print(f"  repeat {r + 1} Ray   {time.perf_counter() - t:6.1f} s, epochs at {steady(ray_result['history'])} "
              f"img/s, started in {ray_result['startup_s']:.1f} s", flush=True)

    here, there = statistics.median(local), statistics.median(on_ray)
    print(f"local trainer      : {here:9.1f} img/s (median of {len(local)} epochs)")
    print(f"1-worker Ray job   : {there:9.1f} img/s (median of {len(on_ray)} epochs)")
    print(f"Ray job start-up   : {statistics.median(startup):9.1f} s (median; ray.init to the first step: a local "
          f"Ray, its controller and worker)")
    print(f"ratio ray/local images per s: {there / here:.3f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
