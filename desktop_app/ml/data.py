"""Datasets over the local layout: PIL decode, resize, light augmentation, uint8 tensors out.

Images leave the loader as uint8 CHW tensors (4x less to copy than float); the model normalises on the
device. Small sets are decoded once and kept in memory. An unreadable image yields `None`; the collate
function drops it and hands its name to the trainer, which warns once per file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler
from torchvision.transforms import v2

from desktop_app.domain import masks
from desktop_app.formats.base import ImageEntry
from desktop_app.ml.errors import TrainingError

CACHE_BUDGET_BYTES = 2 * 1024**3
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS / Windows
        return os.cpu_count() or 1


def resolve_num_workers(setting: int | str, device_type: str = "cpu", world_size: int = 1) -> int:
    """'auto': no workers on <= 2 cores (they compete with torch's own threads, see perf-notes); with a GPU
    every spare core decodes; on a CPU-only machine a quarter of the cores, since the model needs the rest."""
    if setting != "auto":
        return int(setting)
    cores = max(1, available_cores() // max(1, world_size))
    if cores <= 2:
        return 0
    if device_type == "cuda":
        return min(cores - 1, 32)
    return max(1, cores // 4)


class Batch(NamedTuple):
    images: torch.Tensor | None     # uint8 [B,3,S,S]; None when every item of the batch was unreadable
    targets: Any                    # classification: int64 [B]; detection: list of {'boxes','labels'};
                                    # instance segmentation: the same with 'masks' uint8 [N,S,S];
                                    # semantic segmentation: int64 [B,S,S] class indices (255 ignored)
    skipped: list[str]              # names of unreadable items dropped from this batch

    def __len__(self) -> int:  # type: ignore[override]
        return 0 if self.images is None else int(self.images.shape[0])


def _decode(path, min_size: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """(RGB image, original (w, h)). With `min_size`, a JPEG may decode at 1/2..1/8 scale when that is enough."""
    with Image.open(path) as im:
        orig = im.size
        if min_size and im.format == "JPEG":
            im.draft("RGB", (min_size, min_size))
        return im.convert("RGB"), orig


def _to_tensor(img: Image.Image) -> torch.Tensor:
    return v2.functional.pil_to_tensor(img)


class ColorJitter:
    """Random brightness, contrast and saturation on a uint8 CHW tensor: ~10x faster than torchvision's
    tensor ColorJitter on small images (which the loop would otherwise wait for on a 2-core CPU)."""

    _GRAY = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)

    def __init__(self, strength: float = 0.3):
        self.strength = strength

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        b, c, s = (1.0 + (torch.rand(3) * 2 - 1) * self.strength).tolist()
        x = img.float() * b
        gray = (x * self._GRAY).sum(0, keepdim=True)
        mean = gray.mean()
        x = (x - mean) * c + mean                    # contrast around the mean grey
        gray = (gray - mean) * c + mean
        x = (x - gray) * s + gray                    # saturation around each pixel's grey
        return x.clamp_(0, 255).to(torch.uint8)


class _ImageDataset(Dataset):
    """Shared decoding and caching. `cache`: keep resized uint8 tensors after the first decode."""

    def __init__(self, entries: list[ImageEntry], image_size: int, cache: bool):
        self.entries = entries
        self.size = int(image_size)
        self.cache_enabled = cache
        self._cache: dict[int, tuple[torch.Tensor | None, tuple[int, int]]] = {}
        self.draft_size = self.size  # subclasses that crop ask for more

    def __len__(self) -> int:
        return len(self.entries)

    def _load(self, i: int) -> tuple[torch.Tensor | Image.Image | None, tuple[int, int]]:
        """(resized uint8 tensor when caching else the PIL image, original (w, h)); None when unreadable."""
        if i in self._cache:
            return self._cache[i]
        try:
            img, orig = _decode(self.entries[i].source, None if self.cache_enabled else self.draft_size)
        except _DECODE_ERRORS:
            if self.cache_enabled:
                self._cache[i] = (None, (0, 0))
            return None, (0, 0)
        if not self.cache_enabled:
            return img, orig
        t = _to_tensor(img.resize((self.size, self.size), Image.Resampling.BILINEAR))
        self._cache[i] = (t, orig)
        return t, orig


def should_cache(setting: str, n_items: int, image_size: int, num_workers: int) -> bool:
    if setting in ("yes", "no"):
        return setting == "yes"
    return num_workers == 0 and n_items * image_size * image_size * 3 <= CACHE_BUDGET_BYTES


class ClassificationDataset(_ImageDataset):
    """(uint8 image, class id, name). Items without exactly one known class label are left out."""

    def __init__(self, entries: list[ImageEntry], labels: list[str], image_size: int, train: bool,
                 augment: dict[str, bool] | None = None, cache: bool = False):
        index = {name: k for k, name in enumerate(labels)}
        kept, self.dropped = [], []
        self.targets: list[int] = []
        for e in entries:
            cls = [a.label for a in e.annotations if a.type == "class"]
            if len(cls) >= 1 and cls[0] in index:
                kept.append(e)
                self.targets.append(index[cls[0]])
            else:
                self.dropped.append(e.name)
        super().__init__(kept, image_size, cache)
        augment = augment or {}
        s = self.size
        steps: list[Any] = []
        if train and augment.get("random_resized_crop"):
            steps.append(v2.RandomResizedCrop((s, s), scale=(0.35, 1.0), antialias=True))
            self.draft_size = 2 * s
        else:
            steps.append(v2.Resize((s, s), antialias=True))
        if train and augment.get("flip"):
            steps.append(v2.RandomHorizontalFlip())
        self.transform = v2.Compose(steps)
        self.jitter = ColorJitter(0.3) if train and augment.get("color_jitter") else None
        self.train = train

    def __getitem__(self, i: int):
        img, _ = self._load(i)
        name = self.entries[i].name
        if img is None:
            return None, None, name
        if isinstance(img, torch.Tensor) and not self.train:
            return img, self.targets[i], name   # cached at the final size already
        out = self.transform(img)
        if isinstance(out, Image.Image):
            out = _to_tensor(out)
        if self.jitter is not None:
            out = self.jitter(out)
        return out, self.targets[i], name


class DetectionDataset(_ImageDataset):
    """(uint8 image resized to S x S, {'boxes': float [N,4] in the resized pixels, 'labels': int64 [N]}, name)."""

    def __init__(self, entries: list[ImageEntry], labels: list[str], image_size: int, train: bool,
                 augment: dict[str, bool] | None = None, cache: bool = False):
        index = {name: k for k, name in enumerate(labels)}
        self.dropped: list[str] = []
        self.boxes: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []
        kept = []
        for e in entries:
            bx, lb = [], []
            for a in e.annotations:
                if a.type == "box" and a.label in index and a.coordinates is not None:
                    left, top, right, bottom = (float(v) for v in a.coordinates)
                    if right > left and bottom > top:
                        bx.append([left, top, right, bottom])
                        lb.append(index[a.label])
            kept.append(e)
            self.boxes.append(torch.tensor(bx, dtype=torch.float32).reshape(-1, 4))
            self.labels.append(torch.tensor(lb, dtype=torch.int64))
        super().__init__(kept, image_size, cache)
        augment = augment or {}
        self.flip = train and augment.get("flip", False)
        self.jitter = ColorJitter(0.3) if train and augment.get("color_jitter") else None

    def __getitem__(self, i: int):
        img, (w, h) = self._load(i)
        entry = self.entries[i]
        if img is None:
            return None, None, entry.name
        s = self.size
        if isinstance(img, Image.Image):
            img = _to_tensor(img.resize((s, s), Image.Resampling.BILINEAR))
        boxes = self.boxes[i].clone()
        if len(boxes):
            boxes[:, 0::2] *= s / w
            boxes[:, 1::2] *= s / h
            boxes.clamp_(0, s)
        if self.flip and torch.rand(()) < 0.5:
            img = img.flip(-1)
            boxes = torch.stack([s - boxes[:, 2], boxes[:, 1], s - boxes[:, 0], boxes[:, 3]], dim=1)
        if self.jitter is not None:
            img = self.jitter(img)
        return img, {"boxes": boxes, "labels": self.labels[i]}, entry.name


IGNORE_INDEX = 255
MASK_TYPES = ("binary", "segment")


def _mask_problem(entry: ImageEntry, k: int, a) -> str | None:
    """Why annotation `k` of `entry` cannot be drawn (checked before training starts), or None."""
    if a.type == "binary":
        problem = masks.rle_problem(a.coordinates, entry.width, entry.height, allow_empty=True)
    else:
        problem = masks.polygon_problem(a.coordinates)
    return f"item {entry.name}: annotation {k} ({a.type} {a.label!r}): {problem}" if problem else None


def _check_masks(entry: ImageEntry) -> None:
    for k, a in enumerate(entry.annotations):
        if a.type in MASK_TYPES:
            problem = _mask_problem(entry, k, a)
            if problem:
                raise TrainingError(problem)
    ignore = entry.metadata.get("ignore_mask") if entry.metadata else None
    if ignore is not None:
        problem = masks.rle_problem(ignore, entry.width, entry.height, allow_empty=True)
        if problem:
            raise TrainingError(f"item {entry.name}: metadata ignore_mask: {problem}")


def _resize_nearest(arr, size: int) -> torch.Tensor:
    """A (h, w) uint8 / bool array at size x size, nearest neighbour (class indices must not blend)."""
    import numpy as np

    a = np.ascontiguousarray(arr, dtype=np.uint8)
    if a.shape != (size, size):
        a = np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.NEAREST))
    return torch.from_numpy(a.copy())


class _MaskDataset(_ImageDataset):
    """Shared by the two segmentation sets: every mask checked up front, S x S targets cached when images are."""

    def __init__(self, entries: list[ImageEntry], labels: list[str], image_size: int, train: bool,
                 augment: dict[str, bool] | None = None, cache: bool = False):
        for e in entries:
            _check_masks(e)
        self.index = {name: k for k, name in enumerate(labels)}
        self.dropped: list[str] = []
        super().__init__(list(entries), image_size, cache)
        augment = augment or {}
        self.flip = train and augment.get("flip", False)
        self.jitter = ColorJitter(0.3) if train and augment.get("color_jitter") else None
        self._targets: dict[int, Any] = {}

    def _image_and_target(self, i: int):
        img, (w, h) = self._load(i)
        if img is None:
            return None, None
        s = self.size
        if isinstance(img, Image.Image):
            img = _to_tensor(img.resize((s, s), Image.Resampling.BILINEAR))
        target = self._targets.get(i)
        if target is None:
            try:
                target = self._target(self.entries[i], w, h)
            except ValueError as exc:   # a mask of another size than the image it is on
                raise TrainingError(f"item {self.entries[i].name}: {exc}") from None
            if self.cache_enabled:
                self._targets[i] = target
        return img, target

    def _target(self, entry: ImageEntry, w: int, h: int) -> Any:
        raise NotImplementedError


class SemanticSegmentationDataset(_MaskDataset):
    """(uint8 image at S x S, uint8 [S,S] class indices, name): 0 background, k+1 = labels[k], 255 ignored.

    The label map is the item's 'binary' and 'segment' annotations painted in order (a later one wins) at the
    image's size, its metadata 'ignore_mask' as 255, then resized to S x S by nearest neighbour. A mask of a
    label the model does not know is ignored (255), not taught as background."""

    def _target(self, entry: ImageEntry, w: int, h: int) -> torch.Tensor:
        shapes = [(self.index[a.label] + 1 if a.label in self.index else IGNORE_INDEX, a.type, a.coordinates)
                  for a in entry.annotations if a.type in MASK_TYPES and a.coordinates is not None]
        ignore = entry.metadata.get("ignore_mask") if entry.metadata else None
        return _resize_nearest(masks.label_map(shapes, h, w, fill=0, ignore=ignore), self.size)

    def __getitem__(self, i: int):
        img, target = self._image_and_target(i)
        name = self.entries[i].name
        if img is None:
            return None, None, name
        if self.flip and torch.rand(()) < 0.5:
            img, target = img.flip(-1), target.flip(-1)
        if self.jitter is not None:
            img = self.jitter(img)
        return img, target, name


class InstanceSegmentationDataset(_MaskDataset):
    """(uint8 image at S x S, {'boxes': float [N,4] l,t,r,b in S-pixels, 'labels': int64 [N], 'masks': uint8
    [N,S,S]}, name): one instance per 'binary' / 'segment' annotation of a known label, not crowd. A polygon
    is drawn at S x S directly, a mask resized by nearest neighbour; the box bounds the resized mask, and an
    instance too small to keep a pixel at S x S is left out."""

    def _target(self, entry: ImageEntry, w: int, h: int) -> dict[str, torch.Tensor]:
        import numpy as np

        s = self.size
        found: list[torch.Tensor] = []
        boxes: list[list[float]] = []
        labels: list[int] = []
        for a in entry.annotations:
            if a.type not in MASK_TYPES or a.label not in self.index or a.iscrowd or a.coordinates is None:
                continue
            if a.type == "binary":
                if a.coordinates.get("size") and list(a.coordinates["size"]) != [h, w]:
                    raise ValueError(f"mask size {a.coordinates['size']} (h, w) is not the image's [{h}, {w}]")
                m = _resize_nearest(masks.decode(a.coordinates), s)
            else:
                rings = [[[x * s / w, y * s / h] for x, y in ring] for ring in a.coordinates]
                m = torch.from_numpy(masks.polygon_to_mask(rings, s, s).astype(np.uint8))
            box = masks.bbox(m.numpy().astype(bool))
            if box is None:
                continue
            found.append(m)
            boxes.append(box)
            labels.append(self.index[a.label])
        return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(labels, dtype=torch.int64),
                "masks": torch.stack(found) if found else torch.zeros((0, s, s), dtype=torch.uint8)}

    def __getitem__(self, i: int):
        img, target = self._image_and_target(i)
        name = self.entries[i].name
        if img is None:
            return None, None, name
        s = self.size
        if self.flip and torch.rand(()) < 0.5:
            img = img.flip(-1)
            b = target["boxes"]
            target = {"boxes": torch.stack([s - b[:, 2], b[:, 1], s - b[:, 0], b[:, 3]], dim=1),
                      "labels": target["labels"], "masks": target["masks"].flip(-1)}
        if self.jitter is not None:
            img = self.jitter(img)
        return img, target, name


def collate_semantic(items) -> Batch:
    good = [it for it in items if it[0] is not None]
    skipped = [it[2] for it in items if it[0] is None]
    if not good:
        return Batch(None, None, skipped)
    return Batch(torch.stack([g[0] for g in good]), torch.stack([g[1] for g in good]).long(), skipped)


DATASETS = {"classification": ClassificationDataset, "detection": DetectionDataset,
            "semantic_segmentation": SemanticSegmentationDataset,
            "instance_segmentation": InstanceSegmentationDataset}


def collate_for(task: str):
    if task == "classification":
        return collate_classification
    return collate_semantic if task == "semantic_segmentation" else collate_detection


def collate_classification(items) -> Batch:
    good = [it for it in items if it[0] is not None]
    skipped = [it[2] for it in items if it[0] is None]
    if not good:
        return Batch(None, None, skipped)
    return Batch(torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good], dtype=torch.int64), skipped)


def collate_detection(items) -> Batch:
    good = [it for it in items if it[0] is not None]
    skipped = [it[2] for it in items if it[0] is None]
    if not good:
        return Batch(None, None, skipped)
    return Batch(torch.stack([g[0] for g in good]), [g[1] for g in good], skipped)


class ResumableSampler(DistributedSampler):
    """DistributedSampler (per-epoch seeded shuffle, sharded by rank) that can start mid-epoch after a resume."""

    def __init__(self, dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True, seed: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.start = 0

    def set_start(self, start_index: int) -> None:
        """Skip the first `start_index` samples of this rank's share of the next epoch (once)."""
        self.start = int(start_index)

    def __iter__(self):
        indices = list(super().__iter__())[self.start:]
        self.start = 0
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples - self.start


@dataclass
class LoaderSpec:
    batch_size: int
    num_workers: int
    pin_memory: bool


def make_loader(dataset, sampler, spec: LoaderSpec, collate, train: bool):
    from torch.utils.data import DataLoader

    n = len(sampler) if sampler is not None else len(dataset)
    return DataLoader(
        dataset,
        batch_size=spec.batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=spec.num_workers,
        collate_fn=collate,
        pin_memory=spec.pin_memory,
        drop_last=train and n > spec.batch_size,
        persistent_workers=spec.num_workers > 0,
        prefetch_factor=4 if spec.num_workers > 0 else None,
    )


def steps_for(n_samples: int, batch_size: int, drop_last: bool) -> int:
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)
