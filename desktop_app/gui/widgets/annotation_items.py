"""QGraphicsItems for annotations (box, polygon, point, class tag) with their label, one item per annotation.

Ground truth is drawn solid; predictions dashed with their score. Lines and label tags keep their size
on screen at any zoom (cosmetic pens, ItemIgnoresTransformations), so a zoomed-in box stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem,
                               QStyleOptionGraphicsItem, QWidget)

from desktop_app.catalog import AnnotationRecord
from desktop_app.domain import masks

GROUND_TRUTH = "gt"
DRAWN_TYPES = ("box", "segment", "point", "class", "binary")


def layer_key(rec: AnnotationRecord) -> str:
    """'gt' for ground truth, 'model:<id>' for a model's predictions: the unit a layer toggle shows/hides."""
    if not rec.is_prediction:
        return GROUND_TRUTH
    return f"model:{rec.model_id or rec.model_name}"


def layer_title(rec: AnnotationRecord) -> str:
    return "Ground truth" if not rec.is_prediction else f"Predictions: {rec.model_name or rec.model_id}"


def caption(rec: AnnotationRecord) -> str:
    return rec.label if rec.score is None else f"{rec.label} {rec.score:.2f}"


def rings(rec: AnnotationRecord) -> list[list[tuple[float, float]]]:
    """Polygon rings of a segment as (x, y) tuples; malformed points are skipped, not fatal."""
    out = []
    for ring in rec.coordinates or ():
        pts = [(float(p[0]), float(p[1])) for p in ring if isinstance(p, (list, tuple)) and len(p) >= 2]
        if len(pts) >= 3:
            out.append(pts)
    return out


class Shape(NamedTuple):
    """An annotation ready to paint: geometry as Qt value types, built off the GUI thread."""
    layer: str
    type: str                  # box | segment | point | class
    label: str
    prediction: bool
    caption: str
    geometry: object           # QRectF (box), list[QPolygonF] (segment), QPointF (point), None (class)


def to_shape(rec: AnnotationRecord) -> Shape | None:
    """Paint-ready form of an annotation (thread-safe: QRectF/QPolygonF/QPointF are plain values)."""
    geo: object = None
    t = rec.type
    if t in ("box", "binary") and rec.box is not None:
        l, tp, r, b = rec.box
        geo, t = QRectF(l, tp, r - l, b - tp), "box"
    elif t == "segment":
        geo = [QPolygonF([QPointF(x, y) for x, y in ring]) for ring in rings(rec)]
        if not geo:
            return None
    elif t == "point":
        if not rec.coordinates:
            return None
        geo = QPointF(float(rec.coordinates[0]), float(rec.coordinates[1]))
    elif t != "class":
        return None
    return Shape(layer_key(rec), t, rec.label, rec.is_prediction, caption(rec), geo)


def annotation_pen(color: QColor, prediction: bool, width: float = 2.0) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    if prediction:
        pen.setStyle(Qt.PenStyle.CustomDashLine)
        pen.setDashPattern([4, 3])
    return pen


def fill_color(color: QColor, prediction: bool) -> QColor:
    c = QColor(color)
    c.setAlpha(28 if prediction else 60)
    return c


def text_color_on(bg: QColor) -> QColor:
    lum = 0.299 * bg.red() + 0.587 * bg.green() + 0.114 * bg.blue()
    return QColor(Qt.GlobalColor.black) if lum > 150 else QColor(Qt.GlobalColor.white)


class LabelTag(QGraphicsItem):
    """A filled label chip at constant screen size; its bottom-left (or top-left, `below`) is the anchor."""

    FONT_PX = 11

    def __init__(self, text: str, color: QColor, *, prediction: bool = False, offset: QPointF = QPointF(0, 0),
                 below: bool = False, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.text = text
        self.color = QColor(color)
        self.prediction = prediction
        self.font = QFont()
        self.font.setPixelSize(self.FONT_PX)
        fm = QFontMetricsF(self.font)
        w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
        self._rect = QRectF(offset.x(), offset.y() + (1 if below else -h), w, h)
        self._ascent = fm.ascent()
        self.selected = False       # drawn with an outline: the chip a review fix acts on

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        bg = QColor(self.color)
        bg.setAlpha(200 if self.prediction else 235)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(self._rect, 2, 2)
        if self.selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            ring = self._rect.adjusted(-2, -2, 2, 2)       # white under black: seen on any image
            painter.setPen(QPen(QColor(Qt.GlobalColor.white), 3))
            painter.drawRoundedRect(ring, 3, 3)
            painter.setPen(QPen(QColor(Qt.GlobalColor.black), 1.5))
            painter.drawRoundedRect(ring, 3, 3)
        painter.setFont(self.font)
        painter.setPen(text_color_on(self.color))
        painter.drawText(QPointF(self._rect.left() + 4, self._rect.top() + 1 + self._ascent), self.text)


def _finish(item: QGraphicsItem, rec: AnnotationRecord, tag_anchor: QPointF | None, color: QColor,
            prediction: bool, below: bool = False) -> QGraphicsItem:
    item.annotation = rec   # the viewer keeps a Python reference to every item, so this stays set
    item.setData(0, rec.id)
    item.setToolTip(f"{caption(rec)} ({rec.type}{', prediction' if prediction else ''})")
    if tag_anchor is not None:
        tag = LabelTag(caption(rec), color, prediction=prediction, below=below, parent=item)
        tag.setPos(tag_anchor)
    return item


MASK_ALPHA = (70, 110)       # a mask's fill: prediction, ground truth (its pixels are all there is to see of it)


class MaskItem(QGraphicsItem):
    """A mask (binary annotation): its pixels filled in the class colour, translucent, and its outline traced
    along the pixel edges. Decoded once from its RLE, cropped to its box: one image and one path to draw a frame."""

    def __init__(self, rec: AnnotationRecord, color: QColor, prediction: bool):
        super().__init__()
        full = masks.decode(rec.coordinates)             # ValueError for a damaged RLE: the caller draws its box
        box = masks.bbox(full)
        if box is None:
            raise ValueError("empty mask")
        l, t, r, b = (int(v) for v in box)
        crop = full[t:b, l:r]
        rgba = np.zeros((*crop.shape, 4), np.uint8)
        rgba[crop] = (color.red(), color.green(), color.blue(), MASK_ALPHA[0 if prediction else 1])
        h, w = crop.shape
        self._image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self._origin = QPointF(l, t)
        self._path = QPainterPath()
        for ring in masks.mask_to_polygons(crop, tolerance=0.5):
            self._path.addPolygon(QPolygonF([QPointF(l + x, t + y) for x, y in ring]))
            self._path.closeSubpath()
        self._pen = annotation_pen(color, prediction, 1.5)
        self._rect = QRectF(l, t, w, h)
        self.top_left = QPointF(l, t)
        self.bottom_left = QPointF(l, b)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        return self._path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.drawImage(self._origin, self._image)
        painter.setPen(self._pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)


def make_annotation_item(rec: AnnotationRecord, color: QColor, *, class_slot: int = 0,
                         tag: bool = True) -> QGraphicsItem | None:
    """One top-level item for one annotation (its label tag is a child); None for types not drawn.

    Ground-truth tags sit above a box's top-left corner, prediction tags below its bottom-left, so
    a prediction that matches its ground truth does not hide it."""
    pred = rec.is_prediction
    pen = annotation_pen(color, pred)
    if rec.type == "binary" and isinstance(rec.coordinates, dict):
        try:
            mask = MaskItem(rec, color, pred)
        except (ValueError, TypeError, KeyError):
            mask = None                                      # damaged or empty: its box, as before, if it has one
        if mask is not None:
            anchor = (mask.bottom_left if pred else mask.top_left) if tag else None
            return _finish(mask, rec, anchor, color, pred, below=pred)
    if rec.type in ("box", "binary") and rec.box is not None:
        l, t, r, b = rec.box
        item = QGraphicsRectItem(QRectF(l, t, r - l, b - t))
        item.setPen(pen)
        item.setBrush(Qt.BrushStyle.NoBrush if rec.type == "box" else QBrush(fill_color(color, pred)))
        anchor = (QPointF(l, b) if pred else QPointF(l, t)) if tag else None
        return _finish(item, rec, anchor, color, pred, below=pred)
    if rec.type == "segment":
        rs = rings(rec)
        if not rs:
            return None
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.OddEvenFill)
        for ring in rs:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in ring]))
            path.closeSubpath()
        item = QGraphicsPathItem(path)
        item.setPen(pen)
        item.setBrush(QBrush(fill_color(color, pred)))
        top = min((p for ring in rs for p in ring), key=lambda p: (p[1], p[0]))
        return _finish(item, rec, QPointF(*top) if tag else None, color, pred)
    if rec.type == "point":
        x, y = (float(v) for v in rec.coordinates[:2])
        item = QGraphicsEllipseItem(QRectF(-4, -4, 8, 8))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        item.setPos(x, y)
        item.setPen(annotation_pen(QColor(Qt.GlobalColor.white), pred, 1.5))
        item.setBrush(QBrush(color))
        return _finish(item, rec, QPointF(6, -4), color, pred)
    if rec.type == "class":
        # No geometry: a chip in the image's top-left corner, one line per class annotation.
        item = QGraphicsRectItem(QRectF())
        item.setPen(Qt.PenStyle.NoPen)
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        return _finish(item, rec, QPointF(4, 22 + 20 * class_slot), color, pred)
    return None


def boxed_polygons(records: Iterable[AnnotationRecord], tol: float = 2.0) -> set[int]:
    """Ids of polygons whose bounds match a box of the same label and layer: the box's tag names both."""
    boxes: dict[tuple[str, str], list[list[float]]] = {}
    records = list(records)
    for r in records:
        if r.type == "box" and r.box is not None:
            boxes.setdefault((layer_key(r), r.label), []).append(r.box)
    out = set()
    for r in records:
        if r.type == "segment" and r.box is not None:
            for b in boxes.get((layer_key(r), r.label), ()):
                if all(abs(u - v) <= tol for u, v in zip(r.box, b)):
                    out.add(r.id)
                    break
    return out


def make_annotation_items(records: Iterable[AnnotationRecord],
                          color_of: Callable[[str], QColor]) -> list[tuple[str, QGraphicsItem]]:
    """(layer key, item) for every drawable annotation, in drawing order (areas first, then boxes)."""
    order = {"segment": 0, "binary": 1, "box": 2, "point": 3, "class": 4}
    records = list(records)
    untagged = boxed_polygons(records)
    out: list[tuple[str, QGraphicsItem]] = []
    slot = 0   # class chips of every layer stack in one column, so ground truth and predictions never overlap
    for rec in sorted(records, key=lambda r: (order.get(r.type, 9), r.is_prediction, r.id)):
        item = make_annotation_item(rec, color_of(rec.label), class_slot=slot, tag=rec.id not in untagged)
        if item is None:
            continue
        slot += rec.type == "class"
        out.append((layer_key(rec), item))
    return out
