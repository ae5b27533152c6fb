"""The in-memory interchange form every importer produces and every exporter consumes.

Coordinates use one compact form everywhere below the SDK (the SDK converts to Dataloop JSON):
- ``class``:   None
- ``box``:     [left, top, right, bottom] in pixels (floats), right > left, bottom > top
- ``segment``: list of rings, each ring a list of [x, y] pairs (a polygon may have several parts)
- ``point``:   [x, y]
- ``binary``:  {"size": [h, w], "counts": <COCO RLE counts string or list>}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ANNOTATION_TYPES = ("class", "box", "segment", "binary", "point")
SUBSETS = ("train", "validation", "test")


@dataclass
class Annotation:
    type: str
    label: str
    coordinates: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    iscrowd: bool = False
    # Set on predictions only; ground truth has score None and model_name None.
    score: float | None = None
    model_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImageEntry:
    source: Path | None          # the image file to read / copy
    name: str                    # path inside the dataset, '/'-separated, no leading '/': "train/cat_001.png"
    width: int | None = None
    height: int | None = None
    subset: str | None = None    # one of SUBSETS or None
    annotations: list[Annotation] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetBundle:
    labels: list[str] = field(default_factory=list)   # ordered; exporters use this order for class ids
    items: list[ImageEntry] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for it in self.items:
            for a in it.annotations:
                counts[a.label] = counts.get(a.label, 0) + 1
        return counts


def tracked(items: Sequence[T], progress: Callable[[int, int], None] | None = None,
            cancelled: Callable[[], bool] | None = None, *, every: int = 32,
            cancel_message: str = "export cancelled") -> Iterator[T]:
    """Yield ``items``, reporting (done, total) every ``every`` items and after the last; InterruptedError
    (with ``cancel_message``) before the next item once ``cancelled()``. Imports and exports both loop so."""
    total = len(items)
    for i, it in enumerate(items):
        if cancelled is not None and cancelled():
            raise InterruptedError(cancel_message)
        yield it
        if progress is not None and (i % every == 0 or i == total - 1):
            progress(i + 1, total)
