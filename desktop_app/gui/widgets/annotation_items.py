"""QGraphicsItems for annotations (box, polygon, point, class tag) with their label, one item per annotation.

Ground truth is drawn solid; predictions dashed with their score. Lines and label tags keep their size
on screen at any zoom (cosmetic pens, ItemIgnoresTransformations), so a zoomed-in box stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QPixmap,
                           QPolygonF)
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


def polygon_path(rec: AnnotationRecord, rs: list | None = None) -> QPainterPath | None:
    """A polygon annotation's rings (`rs`, if its caller read them already) as one path (even-odd: a ring inside
    another is a hole); None if it has none."""
    rs = rings(rec) if rs is None else rs
    if not rs:
        return None
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for ring in rs:
        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in ring]))
        path.closeSubpath()
    return path


class Shape(NamedTuple):
    """An annotation ready to paint: geometry as Qt value types, built off the GUI thread."""
    layer: str
    type: str                  # box | segment | mask | point | class
    label: str
    prediction: bool
    caption: str
    geometry: object           # QRectF (box), list[QPolygonF] (segment), MaskThumb (mask), QPointF (point), None


THUMB_MASK_CELLS = 64          # a gallery thumbnail's mask: at most this many cells a side


class MaskThumb:
    """A mask small enough for a thumbnail or a crop: its pixels sampled on at most `cells` cells a side over its
    box, an outline traced on them, fill images per colour. Drawn over its box in image coordinates (`paint`), it
    costs the same whatever the image's size. Thread-safe to build (numpy, QPainterPath, QImage); ValueError for
    a damaged or empty RLE."""

    def __init__(self, rle: dict, cells: int = 128):
        box, crop = masks.decode_crop(rle)
        if box is None:
            raise ValueError("empty mask")
        self.rect = QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1])
        h, w = crop.shape
        self.step = max(1, -(-max(h, w) // cells))
        o = self.step // 2
        self.cells = np.ascontiguousarray(crop[o::self.step, o::self.step]) if self.step > 1 else crop
        self.outline = _ring_path(outline_rings(self.cells), self.step, self.rect.topLeft(), (w, h))
        self._images: dict[int, QImage] = {}

    def image(self, argb: int) -> QImage:
        img = self._images.get(argb)
        if img is None:
            ch, cw = self.cells.shape
            px = np.where(self.cells, np.uint32(argb), np.uint32(0)).astype(np.uint32)
            img = self._images[argb] = QImage(px.data, cw, ch, 4 * cw,
                                              QImage.Format.Format_ARGB32_Premultiplied).copy()
        return img

    def hit(self, x: float, y: float) -> bool:
        c = int(np.floor((x - self.rect.left()) / self.step))
        r = int(np.floor((y - self.rect.top()) / self.step))
        return 0 <= r < self.cells.shape[0] and 0 <= c < self.cells.shape[1] and bool(self.cells[r, c])

    def paint(self, painter: QPainter, fill: QColor, pen: QPen | None) -> None:
        """Fill and outline over the mask's box, in the painter's image coordinates."""
        painter.drawImage(self.rect, self.image(premultiplied(fill, fill.alpha())))
        if pen is not None:
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self.outline)


def to_shape(rec: AnnotationRecord) -> Shape | None:
    """Paint-ready form of an annotation (thread-safe: QRectF/QPolygonF/QPointF are plain values, a MaskThumb is
    numpy and a path)."""
    geo: object = None
    t = rec.type
    if t == "binary" and isinstance(rec.coordinates, dict):
        try:
            return Shape(layer_key(rec), "mask", rec.label, rec.is_prediction, caption(rec),
                         MaskThumb(rec.coordinates, THUMB_MASK_CELLS))
        except (ValueError, TypeError, KeyError):
            pass                                     # damaged or empty: its box, if it has one
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


_TAG_PIXMAPS: dict[tuple, QPixmap] = {}
_TAG_MARGIN = 4            # the selection ring reaches this far outside a tag


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
        # Drawn once into a pixmap per look and screen scale, then blitted: text is the costly part of a frame
        # with a few hundred tags (200 masks' tags: ~8 ms drawn, ~1 ms blitted).
        device = painter.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        key = (self.text, self.color.rgba(), self.prediction, self.selected, self._rect.width(), dpr)
        pm = _TAG_PIXMAPS.get(key)
        if pm is None:
            m = _TAG_MARGIN
            pm = QPixmap(int(np.ceil((self._rect.width() + 2 * m) * dpr)),
                         int(np.ceil((self._rect.height() + 2 * m) * dpr)))
            pm.setDevicePixelRatio(dpr)
            pm.fill(Qt.GlobalColor.transparent)
            p = QPainter(pm)
            p.setRenderHints(painter.renderHints())
            p.translate(m - self._rect.left(), m - self._rect.top())
            self._draw(p)
            p.end()
            if len(_TAG_PIXMAPS) > 4000:
                _TAG_PIXMAPS.clear()
            _TAG_PIXMAPS[key] = pm
        painter.drawPixmap(QPointF(self._rect.left() - _TAG_MARGIN, self._rect.top() - _TAG_MARGIN), pm)

    def _draw(self, painter: QPainter) -> None:
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


def mask_pen(color: QColor, prediction: bool) -> QPen:
    """A mask's outline: one screen pixel wide (cosmetic), dashed for a prediction. Qt strokes a cosmetic pen up to
    1 pixel wide with its fast line stroker; a wider one is outlined as a polygon first, ten times slower."""
    return annotation_pen(color, prediction, 1.0)


def outline_rings(mask: np.ndarray) -> list[np.ndarray]:
    """The outer outlines of a mask's parts as (n, 2) arrays of [x, y], cheap to build and to draw: traced along
    the pixel edges (domain.masks, exact), then each staircase corner moved to the middle of its step (a one-pixel
    stair becomes a diagonal) and the points in line with their neighbours dropped."""
    out = []
    for ring in masks.mask_to_polygons(mask):
        c = np.asarray(ring, np.float64)
        if c.shape[0] >= 8:
            c = (c + np.roll(c, -1, axis=0)) / 2
            a, b = c - np.roll(c, 1, axis=0), np.roll(c, -1, axis=0) - c
            keep = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) > 1e-9
            if keep.sum() >= 3:
                c = c[keep]
        out.append(c)
    return out


OUTLINE_CELLS = 128          # a mask's first outline is traced on at most this many cells a side
MAX_MIP = 8                  # the fill drawn from an image down to 1/8 of the mask's size when zoomed out
# An exact outline a frame needs and lacks is traced after the frame, one mask per turn of the event loop (a few
# ms each), the item drawn again then: a zoom onto many large masks paints at once with their coarse outlines.
_to_trace: dict[int, tuple[MaskGeometry, QGraphicsItem]] = {}


def _trace_next() -> None:
    if not _to_trace:
        return
    g, item = _to_trace.pop(next(iter(_to_trace)))
    g.outline(1)
    try:
        item.update()
    except RuntimeError:            # the item was deleted meanwhile (another image shown)
        pass
    if _to_trace:
        QTimer.singleShot(0, _trace_next)


def _trace_later(g: MaskGeometry, item: QGraphicsItem) -> None:
    if id(g) not in _to_trace:
        _to_trace[id(g)] = (g, item)
        if len(_to_trace) == 1:
            QTimer.singleShot(0, _trace_next)


def trace_pending() -> int:
    """Exact outlines waiting to be traced (tests and the bench wait for none)."""
    return len(_to_trace)


def _ring_path(rings: list[np.ndarray], step: int, origin: QPointF, size: tuple[int, int]) -> QPainterPath:
    path = QPainterPath()
    w, h = size
    for ring in rings:
        pts = ring * step
        if step > 1:
            pts = np.minimum(pts, (w, h))
        path.addPolygon(QPolygonF([QPointF(origin.x() + x, origin.y() + y) for x, y in pts.tolist()]))
        path.closeSubpath()
    return path


def premultiplied(color: QColor, alpha: int) -> int:
    """`color` at `alpha` as a premultiplied ARGB32 pixel."""
    a = alpha / 255
    return (alpha << 24) | (round(color.red() * a) << 16) | (round(color.green() * a) << 8) | round(color.blue() * a)


class MaskGeometry:
    """A mask decoded once, what every drawing of it shares: its pixels in its box (domain.masks.decode_crop: only
    the box is decoded), its outlines (OUTLINE_CELLS: a large mask's first traced coarse) and its fill images per
    colour and zoom level. ValueError for a damaged or empty RLE."""

    def __init__(self, rle: dict):
        box, self.crop = masks.decode_crop(rle)
        if box is None:
            raise ValueError("empty mask")
        l, t, r, b = (int(v) for v in box)
        h, w = self.crop.shape
        self.origin = QPointF(l, t)
        self.rect = QRectF(l, t, w, h)
        self.step = max(1, -(-max(h, w) // OUTLINE_CELLS))
        self._paths: dict[int, QPainterPath] = {}
        self._images: dict[tuple[int, int], QImage] = {}

    def outline(self, step: int = 1) -> QPainterPath:
        """The outline traced on every `step`-th pixel (1: exact), in scene coordinates; built once."""
        path = self._paths.get(step)
        if path is None:
            o = step // 2
            grid = self.crop if step == 1 else self.crop[o::step, o::step]
            h, w = self.crop.shape
            path = self._paths[step] = _ring_path(outline_rings(grid), step, self.origin, (w, h))
        return path

    def outline_for(self, scale: float) -> tuple[QPainterPath, bool]:
        """The outline to draw at a zoom of `scale` screen pixels per image pixel: the coarse one while it is off
        by at most 1.5 screen pixels, else the exact one if traced. Second: whether the exact one is wanted and
        not traced yet."""
        if self.step == 1 or self.step * scale <= 1.5 or 1 in self._paths:
            return self.outline(1 if self.step * scale > 1.5 else self.step), False
        return self.outline(self.step), True

    def image(self, argb: int, level: int = 1) -> QImage:
        """The fill: pixel `argb` (premultiplied) where the mask is set; `level` > 1 a copy 1/level the size."""
        img = self._images.get((argb, level))
        if img is None:
            if level == 1:
                h, w = self.crop.shape
                px = np.where(self.crop, np.uint32(argb), np.uint32(0)).astype(np.uint32)
                img = QImage(px.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()
            else:
                full = self.image(argb)
                img = full.scaled(-(-full.width() // level), -(-full.height() // level),
                                  Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            self._images[(argb, level)] = img
        return img

    def level_for(self, scale: float) -> int:
        """The fill image's level at a zoom of `scale`: about one image pixel per screen pixel, down to 1/MAX_MIP."""
        k = 1
        h, w = self.crop.shape
        while k < MAX_MIP and scale * k * 2 <= 1.0 and min(h, w) >= 8 * k:
            k *= 2
        return k

    def hit(self, x: float, y: float) -> bool:
        """Whether scene point (x, y) falls on one of the mask's pixels."""
        c, r = int(np.floor(x - self.rect.left())), int(np.floor(y - self.rect.top()))
        return 0 <= r < self.crop.shape[0] and 0 <= c < self.crop.shape[1] and bool(self.crop[r, c])


class MaskItem(QGraphicsItem):
    """A mask (binary annotation): its pixels filled in a colour, translucent, and its outline. Only its box is
    decoded from the RLE (a 200-mask 4000 x 3000 image decodes its masks' boxes, not 200 x 12 M pixels); the fill
    is one cached image of the box (zoomed out, a smaller copy of it: a tenth of the pixels to blend) drawn
    nearest-pixel (crisp zoomed in, a third of smoothing's cost), the outline one path, so a frame draws an image
    and a path. `fill_alpha` and `pen` override the annotation look (the review colours by kind); `geometry`, a
    MaskGeometry already decoded (the review draws an item again at each threshold change)."""

    def __init__(self, rec: AnnotationRecord, color: QColor, prediction: bool, *, pen: QPen | None = None,
                 fill_alpha: int | None = None, geometry: MaskGeometry | None = None):
        super().__init__()
        self.geometry = geometry if geometry is not None else MaskGeometry(rec.coordinates)
        g = self.geometry
        self.crop = g.crop
        self.color = QColor(color)
        self.fill_alpha = MASK_ALPHA[0 if prediction else 1] if fill_alpha is None else int(fill_alpha)
        self._argb = premultiplied(self.color, self.fill_alpha)
        self._image = g.image(self._argb)
        self._rect = QRectF(g.rect)
        self._pen = pen if pen is not None else mask_pen(color, prediction)
        self.top_left = self._rect.topLeft()
        self.bottom_left = self._rect.bottomLeft()
        g.outline(g.step)

    @property
    def box(self) -> list[float]:
        """[left, top, right, bottom] of the mask's pixels."""
        r = self._rect
        return [r.left(), r.top(), r.right(), r.bottom()]

    def pen(self) -> QPen:
        return QPen(self._pen)

    def set_pen(self, pen: QPen) -> None:
        self._pen = QPen(pen)
        self.update()

    def fill(self) -> QColor:
        """The colour of the mask's pixels (alpha included)."""
        c = QColor(self.color)
        c.setAlpha(self.fill_alpha)
        return c

    def brush(self) -> QBrush:
        return QBrush(self.fill())

    def image(self) -> QImage:
        return self._image

    def outline(self, step: int = 1) -> QPainterPath:
        return self.geometry.outline(step)

    def hit(self, x: float, y: float) -> bool:
        return self.geometry.hit(x, y)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        return self.geometry.outline(self.geometry.step)

    def contains(self, point: QPointF) -> bool:
        return self.geometry.hit(point.x(), point.y())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        g = self.geometry
        scale = abs(painter.worldTransform().determinant()) ** 0.5 or 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        level = g.level_for(scale)
        if level == 1:
            painter.drawImage(g.origin, self._image)
        else:
            painter.drawImage(self._rect, g.image(self._argb, level))
        painter.setPen(self._pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path, later = g.outline_for(scale)
        painter.drawPath(path)
        if later:
            _trace_later(g, self)


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
        path = polygon_path(rec, rs)
        if path is None:
            return None
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
