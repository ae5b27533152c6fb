"""Dataloop's builders as the SDK shows them (dl.Box, dl.AnnotationCollection, dl.Filters, ...); they live in
desktop_app.domain.dataloop, the bottom room, so every room can build annotations without the SDK."""

from __future__ import annotations

from desktop_app.domain.dataloop import (ADD_IGNORED, ADD_REFUSED, AnnotationCollection,  # re-exported
                                         AnnotationType, BaseDefinition, Box, Classification, DatasetSubsetType,
                                         PendingAnnotation, PlotSample, Point, Polygon, check_model_info,
                                         definition_from, filter_dict)

from .filters import Filters  # Dataloop's full query builder (resource, operators, joins, paging)

__all__ = [
    "ADD_IGNORED", "ADD_REFUSED", "AnnotationCollection", "AnnotationType", "BaseDefinition", "Box",
    "Classification", "DatasetSubsetType", "Filters", "PendingAnnotation", "PlotSample", "Point", "Polygon",
    "check_model_info", "definition_from", "filter_dict",
]
