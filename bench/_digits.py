"""scikit-learn's handwritten digits as PNG files, and labelling items through the SDK as a person would."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

LABELS = [str(k) for k in range(10)]


def write_digits(folder: Path, size: int = 32) -> np.ndarray:
    """Write the 1,797 digits (8x8, grey levels 0-16) as `size` x `size` grey PNGs, `folder`/0000.png ...;
    returns their classes (0-9) in file order. Shipped with scikit-learn: nothing is downloaded."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(digits.images):
        grey = np.clip(image * (255.0 / 16.0), 0, 255).astype(np.uint8)
        Image.fromarray(grey, "L").resize((size, size), Image.Resampling.BICUBIC).save(folder / file_name(i))
    return np.asarray(digits.target, np.int64)


def file_name(index: int) -> str:
    return f"{index:04d}.png"


def label_items(dl, items: Sequence, classes: Sequence[int], subset: str) -> None:
    """Give each item its class as ground truth and put it in `subset`: what labelling it in the app does."""
    for item, k in zip(items, classes):
        labels = dl.AnnotationCollection()
        labels.add(annotation_definition=dl.Classification(label=LABELS[int(k)]))
        item.annotations.upload(labels)
        item.assign_subset(subset)
