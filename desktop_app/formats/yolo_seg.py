"""YOLO segmentation labels (``class x1 y1 x2 y2 ...``, normalised): the YOLO layout with masks traced to polygons.

Reading is the YOLO reader's (it reads polygon lines as ``segment`` annotations). Writing traces every binary
mask to its outline(s) along pixel edges (domain.masks.mask_to_polygons), so a mask without holes comes back
as polygons covering the very same pixels; a mask of several parts becomes one line (one object) a part, as
Ultralytics' own converters do. Boxes become their four corners (Ultralytics wants one kind a dataset).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from desktop_app.domain import masks
from desktop_app.domain.annotations import Annotation, DatasetBundle
from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats.yolo import read_yolo, write_yolo

__all__ = ["read_yolo_seg", "write_yolo_seg", "traced"]


def read_yolo_seg(root: str | Path, *, names: list[str] | dict[int, str] | None = None) -> DatasetBundle:
    """Read an Ultralytics segmentation dataset (the YOLO reader: polygon lines become ``segment``)."""
    return read_yolo(root, names=names)


def traced(a: Annotation, *, tolerance: float = 0.0, where: str | None = None) -> Annotation | None:
    """A binary annotation as a ``segment`` of its outlines (None for an empty mask); others unchanged."""
    if a.type != "binary":
        return a
    try:
        m = masks.decode(a.coordinates)
    except (ValueError, KeyError, TypeError) as e:
        raise FormatError(f"mask cannot be decoded ({e})", entry=where) from None
    rings = masks.mask_to_polygons(m, tolerance=tolerance)
    if not rings:
        return None
    meta = {k: v for k, v in a.metadata.items() if k != "area"}
    return dataclasses.replace(a, type="segment", coordinates=rings, metadata=meta)


def write_yolo_seg(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
                   include_scores: bool = False, include_crowd: bool = False, tolerance: float = 0.0,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``data.yaml``, ``images/`` and ``labels/`` with one polygon line an object part; masks are traced
    (``tolerance`` > 0 simplifies each outline by up to that many pixels). Other options as write_yolo's."""
    if tolerance < 0:
        raise ValidationError(f"tolerance must be 0 or more pixels, got {tolerance}")
    items = []
    for it in bundle.items:
        anns = []
        for a in it.annotations:
            t = traced(a, tolerance=tolerance, where=it.name)
            if t is not None:
                anns.append(t)
        items.append(dataclasses.replace(it, annotations=anns))
    return write_yolo(DatasetBundle(labels=list(bundle.labels), items=items, info=dict(bundle.info)), out_dir,
                      copy_images=copy_images, task="segment", include_scores=include_scores,
                      include_crowd=include_crowd, progress=progress, cancelled=cancelled)
