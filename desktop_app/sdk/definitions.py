"""Dataloop's builders as the SDK shows them (dl.Box, dl.AnnotationCollection, dl.Filters, ...); they live in
desktop_app.domain.dataloop, the bottom room, so every room can build annotations without the SDK."""

from __future__ import annotations

from typing import Any

from desktop_app.domain.dataloop import (ADD_IGNORED, ADD_REFUSED, AnnotationCollection,  # re-exported
                                         AnnotationType, BaseDefinition, Box, Classification, DatasetSubsetType,
                                         PendingAnnotation, PlotSample, Point, Polygon, check_model_info,
                                         definition_from, filter_dict)

from desktop_app.errors import ValidationError

from .filters import Filters  # Dataloop's full query builder (resource, operators, joins, paging)


class Polyline:
    """Dataloop's dl.Polyline (an open line): refused when built, saying what to use, since the catalog, the
    formats and the evaluation know class, box, segment (polygon), point and binary (mask) annotations only."""

    type = "polyline"

    def __init__(self, geo: Any = None, label: str | None = None, attributes: Any = None,
                 description: str | None = None):
        raise ValidationError("polyline annotations are not supported here (annotation types: class, box, "
                              "segment, point, binary); draw a closed shape with dl.Polygon(geo, label), or mark "
                              "the points with dl.Point(x, y, label)")

__all__ = [
    "ADD_IGNORED", "ADD_REFUSED", "AnnotationCollection", "AnnotationType", "BaseDefinition", "Box",
    "Classification", "DatasetSubsetType", "Filters", "PendingAnnotation", "PlotSample", "Point", "Polygon",
    "Polyline", "check_model_info", "definition_from", "filter_dict",
]
