"""Training throughput: Model Desk's trainer against a plain PyTorch loop, same model, data, batch and steps.

Prints images/s of each (median of --repeats runs, alternated) and their ratio (aim: >= 0.95).

    python bench/train_overhead.py                                   # CPU defaults, ~1-2 minutes on 2 cores
    python bench/train_overhead.py --arch resnet50 --image-size 224 --batch-size 256 --bf16 \\
        --channels-last --steps 60 --data files --device cuda        # a GPU run (JPEGs + worker DataLoader)
    python bench/train_overhead.py --gpu                             # the same GPU run, in one flag (~4 min)
    python bench/train_overhead.py --gpu --compile                   # and torch.compile in both loops

GPU utilisation is read through NVML (nvidia-ml-py) every 0.2 s while each run is timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.formats.base import Annotation, ImageEntry  # noqa: E402
from desktop_app.ml import data as mldata  # noqa: E402
from desktop_app.ml.callbacks import Callback  # noqa: E402
from desktop_app.ml.hparams import schema_for, validate_config  # noqa: E402
from desktop_app.ml.models import build_model  # noqa: E402
from desktop_app.ml.trainer import Trainer, resolve_device, seed_everything  # noqa: E402

NUM_CLASSES = 10


# -- data --------------------------------------------------------------------------------------------

class SyntheticSet(Dataset):
    """`length` items cycling over a pool of random uint8 images; the same tuples the trainer's datasets give."""

    def __init__(self, size: int, length: int, pool: int = 256):
        g = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (pool, 3, size, size), dtype=torch.uint8, generator=g)
        self.labels = torch.randint(0, NUM_CLASSES, (pool,), generator=g).tolist()
        self.length = length
        self.entries: list = []

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        k = i % len(self.images)
        return self.images[k], self.labels[k], str(k)


def write_jpegs(folder: Path, n: int, size: int = 320) -> list[ImageEntry]:
    """n JPEGs of smooth random colour fields (so that they decode like photos, not like noise)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    entries = []
    for i in range(n):
        low = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(low).resize((size, size), Image.Resampling.BICUBIC)
        path = folder / f"img_{i:05d}.jpg"
        img.save(path, quality=90)
        entries.append(ImageEntry(source=path, name=path.name, width=size, height=size, subset="train",
                                  annotations=[Annotation("class", f"c{i % NUM_CLASSES}")]))
    return entries


class RepeatSet(Dataset):
    def __init__(self, base: Dataset, length: int):
        self.base, self.length = base, length
        self.entries = getattr(base, "entries", [])

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        return self.base[i % len(self.base)]


class PlainFiles(Dataset):
    """What a plain PyTorch script would write: PIL open, RandomResizedCrop, flip, uint8 tensor."""

    def __init__(self, paths: list[Path], labels: list[int], size: int, length: int):
        from torchvision import transforms as T

        self.paths, self.labels, self.length = paths, labels, length
        self.tf = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.PILToTensor()])

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        k = i % len(self.paths)
        with Image.open(self.paths[k]) as im:
            return self.tf(im.convert("RGB")), self.labels[k]


# -- the two loops ----------------------------------------------------------------------------------

class Timestamps(Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_batch_end(self, step: int, loss: float) -> None:
        self.times.append(time.perf_counter())


def run_trainer(args, config, train_set, val_set, device) -> float:
    seed_everything(0)
    model, _ = build_model(args.arch, NUM_CLASSES, image_size=args.image_size, pretrained=False)
    stamps = Timestamps()
    labels = [f"c{i}" for i in range(NUM_CLASSES)]
    with tempfile.TemporaryDirectory() as out:
        Trainer("classification", config, labels, train_set, val_set, out, [stamps], model=model,
                device=device).fit()
    t = stamps.times[args.warmup:]
    return (len(t) - 1) * args.batch_size / (t[-1] - t[0])


def run_plain(args, loader_factory, device) -> float:
    seed_everything(0)
    model, _ = build_model(args.arch, NUM_CLASSES, image_size=args.image_size, pretrained=False)
    net = model.net.to(device)
    cuda = device.type == "cuda"
    if args.channels_last and cuda:
        net = net.to(memory_format=torch.channels_last)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1) * 255
    inv_std = 1 / (torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1) * 255)
    if args.compile and cuda:
        net = torch.compile(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4,
                          **({"foreach": True} if cuda else {}))
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if (args.bf16 and cuda) else torch.autocast("cpu", enabled=False)
    net.train()
    t0 = None
    n = 0
    for i, (x, y) in enumerate(loader_factory()):
        if i == args.warmup:
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if args.channels_last and cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with amp:
            loss = torch.nn.functional.cross_entropy(net((x.float() - mean) * inv_std), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= args.warmup:
            n += x.shape[0]
    loss.item()  # waits for the GPU
    return n / (time.perf_counter() - t0)


class GpuSampler(threading.Thread):
    """NVML utilisation and memory (desktop_app.jobs.gpu_stats), sampled every 0.2 s while a run is timed."""

    def __init__(self, index: int):
        super().__init__(daemon=True)
        self.index, self.samples, self.memory, self.stop = index, [], [], threading.Event()

    def run(self):
        from desktop_app.jobs import gpu_stats

        while not self.stop.is_set():
            reading = gpu_stats.read(self.index)
            if reading is None:
                return
            self.samples.append(reading.utilization)
            self.memory.append(reading.memory_used)
            self.stop.wait(0.2)

    def mean(self) -> float | None:
        # the first second is the loader's workers starting: count the steady part
        steady = self.samples[5:] or self.samples
        return statistics.mean(steady) if steady else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet50", "mobilenet_v3_small"])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=12, help="timed steps per run (after --warmup)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", default="synthetic", choices=["synthetic", "files"])
    p.add_argument("--files", type=int, default=2048, help="JPEGs to write for --data files")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", default="auto", help="DataLoader workers ('auto': from the cores available)")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model in both loops (CUDA)")
    p.add_argument("--gpu", action="store_true",
                   help="the issue's GPU run: resnet50, 224 px, batch 256, bf16, channels-last, JPEG files, cuda")
    args = p.parse_args(argv)
    if args.gpu:
        args.arch, args.image_size, args.batch_size, args.bf16, args.channels_last = "resnet50", 224, 256, True, True
        args.data, args.device = "files", "cuda"
        args.steps = max(args.steps, 40)
        args.warmup = max(args.warmup, 8 if args.compile else 5)

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    total = (args.warmup + args.steps + 1) * args.batch_size   # +1: the trainer reports step S after S+1
    workers = mldata.resolve_num_workers(args.workers if args.workers == "auto" else int(args.workers),
                                         device.type)
    if args.data == "synthetic":
        workers = 0   # in-memory tensors: workers would only add copies
    config = validate_config(schema_for("classification", args.arch), {
        "arch": args.arch, "epochs": 1, "batch_size": args.batch_size, "image_size": args.image_size,
        "optimizer": "sgd", "learning_rate": 0.01, "scheduler": "none", "weight_decay": 1e-4, "momentum": 0.9,
        "mixed_precision": "bf16" if args.bf16 else "none", "channels_last": args.channels_last,
        "num_workers": workers, "pretrained": False, "augment_color_jitter": False, "augment_flip": True,
        "augment_random_resized_crop": args.data == "files", "cache_images": "no",
        "device": str(device), "compile": args.compile})
    tmp = tempfile.TemporaryDirectory()
    if args.data == "synthetic":
        train_set = SyntheticSet(args.image_size, total)
        val_set = SyntheticSet(args.image_size, args.batch_size)

        def plain_loader():
            return DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=0, drop_last=True,
                              collate_fn=lambda b: (torch.stack([x[0] for x in b]), torch.tensor([x[1] for x in b])))
    else:
        t = time.perf_counter()
        entries = write_jpegs(Path(tmp.name) / "jpeg", args.files)
        print(f"wrote {len(entries)} JPEGs in {time.perf_counter() - t:.1f} s")
        labels = [f"c{i}" for i in range(NUM_CLASSES)]
        aug = {"flip": True, "random_resized_crop": True, "color_jitter": False}
        base = mldata.ClassificationDataset(entries, labels, args.image_size, train=True, augment=aug, cache=False)
        train_set = RepeatSet(base, total)
        val_set = mldata.ClassificationDataset(entries[: args.batch_size], labels, args.image_size, train=False)
        plain_set = PlainFiles([e.source for e in entries], [i % NUM_CLASSES for i in range(len(entries))],
                               args.image_size, total)

        def plain_loader():
            return DataLoader(plain_set, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                              pin_memory=cuda, drop_last=True, persistent_workers=False,
                              prefetch_factor=4 if workers else None)

    print(f"{args.arch} {args.image_size}px batch {args.batch_size}, {args.steps} timed steps after {args.warmup}, "
          f"data={args.data}, workers={workers}, device={device}"
          f"{' (' + torch.cuda.get_device_name(device) + ')' if cuda else ''}, threads={torch.get_num_threads()}, "
          f"bf16={args.bf16 and cuda}, channels_last={args.channels_last and cuda}, compile={args.compile and cuda}")
    results: dict[str, list[float]] = {"plain": [], "trainer": []}
    util: dict[str, list[float]] = {"plain": [], "trainer": []}
    for r in range(args.repeats):
        for name in ("plain", "trainer"):
            sampler = GpuSampler(device.index or 0) if cuda else None
            if sampler:
                sampler.start()
            if name == "plain":
                ips = run_plain(args, plain_loader, device)
            else:
                ips = run_trainer(args, config, train_set, val_set, device)
            if sampler:
                sampler.stop.set()
                sampler.join()
                if sampler.mean() is not None:
                    util[name].append(sampler.mean())
            results[name].append(ips)
            print(f"  repeat {r + 1} {name:8s} {ips:9.1f} img/s", flush=True)
    plain, ours = statistics.median(results["plain"]), statistics.median(results["trainer"])
    print(f"plain PyTorch loop : {plain:9.1f} img/s (median of {args.repeats})")
    print(f"Model Desk trainer : {ours:9.1f} img/s (median of {args.repeats})")
    for name in ("plain", "trainer"):
        if util[name]:
            print(f"GPU utilisation {name}: {statistics.mean(util[name]):.0f}% (NVML, mean over the timed runs)")
    print(f"ratio trainer/plain: {ours / plain:.3f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
