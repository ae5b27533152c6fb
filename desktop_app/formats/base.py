"""The interchange form of the formats: its types now live in desktop_app.domain (re-exported here)."""

from __future__ import annotations

from desktop_app.domain.annotations import (ANNOTATION_TYPES, SUBSETS, Annotation, DatasetBundle,  # re-exported
                                            ImageEntry)
from desktop_app.domain.progress import tracked  # re-exported

__all__ = ["ANNOTATION_TYPES", "SUBSETS", "Annotation", "DatasetBundle", "ImageEntry", "tracked"]
