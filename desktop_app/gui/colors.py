"""Label -> colour: a distinct palette in the dataset's label order, a hash for labels it does not list."""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Mapping, Sequence

from PySide6.QtGui import QColor

# Tableau 20 reordered so neighbours differ in hue (labels are listed in class-id order).
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)


def hashed_rgb(label: str) -> tuple[int, int, int]:
    """A colour for a label from its text alone: the same in every dataset and every session."""
    h = zlib.crc32(label.encode("utf-8"))
    hue = ((h & 0xFFFF) * 0.618033988749895) % 1.0
    sat = 0.55 + ((h >> 16) & 0xFF) / 255 * 0.35
    r, g, b = colorsys.hsv_to_rgb(hue, sat, 0.92)
    return round(r * 255), round(g * 255), round(b * 255)


def label_hex(label: str, labels: Sequence[str] = (), overrides: Mapping[str, str] | None = None) -> str:
    """'#rrggbb' for `label`: the dataset's own colour, else its place in the label list, else a hash.

    The dataset's label list only grows at the end, so a label keeps its colour as labels are added."""
    if overrides and label in overrides:
        return str(overrides[label]).lower()
    try:
        return PALETTE[list(labels).index(label) % len(PALETTE)]
    except ValueError:
        return "#{:02x}{:02x}{:02x}".format(*hashed_rgb(label))


class LabelColors:
    """Caches QColors per label for one dataset."""

    def __init__(self, labels: Sequence[str] = (), overrides: Mapping[str, str] | None = None):
        self.labels = list(labels)
        self.overrides = dict(overrides or {})
        self._cache: dict[str, QColor] = {}

    def __call__(self, label: str) -> QColor:
        c = self._cache.get(label)
        if c is None:
            c = self._cache[label] = QColor(label_hex(label, self.labels, self.overrides))
        return c
