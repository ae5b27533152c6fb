"""The in-memory interchange form every importer produces, every exporter consumes and the catalog stores.

Coordinates use one compact form everywhere below the SDK (the SDK converts to Dataloop JSON):
- ``class``:   None
- ``box``:     [left, top, right, bottom] in pixels (floats), right > left, bottom > top
- ``segment``: list of rings, each ring a list of [x, y] pairs (a polygon may have several parts)
- ``point``:   [x, y]
- ``binary``:  {"size": [h, w], "counts": <COCO RLE counts string or list>}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def subset_of(filter_: dict | None, default: str) -> str | None:
    """The subset a model's train / validation filter selects, or None when it is something else."""
    f = filter_ or {"subset": default}
    if set(f) == {"subset"} and f["subset"] in SUBSETS:
        return f["subset"]
    return None
