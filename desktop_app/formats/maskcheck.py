"""The mask checks every importer runs after its own: a binary mask must be its image's size and not empty."""

from __future__ import annotations

from desktop_app.domain import masks
from desktop_app.domain.annotations import Annotation
from desktop_app.errors import FormatError


def mask_check(a: Annotation, width: int | None, height: int | None, *, file: str | None = None,
               entry: str | None = None) -> None:
    """FormatError naming ``file`` and ``entry`` when a ``binary`` annotation is not a usable mask of a ``width``
    x ``height`` image: wrong size, over the pixel limit, counts that do not sum to h*w, or no pixel set.
    (Polygons: formats.images.validate_annotation checks their points, NaN and bounds.)"""
    if a.type != "binary":
        return
    problem = masks.rle_problem(a.coordinates, width, height)
    if problem:
        raise FormatError(problem, file=file, entry=entry)
