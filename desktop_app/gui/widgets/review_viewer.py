"""The review viewer: ground truth and predictions of one image, coloured TP / FP / FN, editable ground truth.

An ImageViewer (zoom, pan, layers) with four layers of its own: ground truth, TP, FP and FN (a missed
object is a ground truth). Each layer's boxes are one graphics item that paints them all at once (a
thousand QGraphicsItems cost ~10x more per frame), with label tags blitted from cached pixmaps for the
boxes large enough on screen to carry one. A click selects the box under the cursor: that one becomes a
real item, which a ground truth can be dragged (moved) or resized by a corner with. The viewer only
reports an edit (`box_edited`, and in draw mode a new box dragged out: `box_drawn`); the page turns it into an
undoable catalog command. A fifth layer, "pred", shows a model's predictions as proposals (the label-next queue:
no evaluation, so no TP / FP).

Masks and polygons (instance segmentation) are drawn as their areas, in the same kind colours: each one item
(annotation_items.MaskItem: the mask's pixels, translucent, and a one-pixel outline), its tag and its place in
hit-testing kept by its kind's BoxLayer (which draws no rectangle for it). A click selects the mask under the
cursor (its pixels, not its box): drawn thicker and fuller, not dragged (a mask is fixed with the page's brush).
Decoded masks are kept while the item is shown, so a threshold change recolours them without decoding again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem,
                               QGraphicsSceneMouseEvent, QGraphicsView, QStyleOptionGraphicsItem, QWidget)

from desktop_app.catalog import AnnotationRecord

from .annotation_items import LabelTag, MaskGeometry, MaskItem, annotation_pen, mask_pen, polygon_path, text_color_on
from .image_viewer import ImageViewer

KIND_COLORS = {"tp": "#2ca02c", "fp": "#e03131", "fn": "#f59f00", "gt": "#4dabf7", "pred": "#ae3ec9"}
KIND_TITLES = {"gt": "Ground truth", "tp": "TP", "fp": "FP", "fn": "FN", "pred": "Proposals"}
LAYERS = {k: f"review:{k}" for k in KIND_TITLES}
HANDLE_PX = 7          # how close (screen pixels) to a corner a press resizes instead of moving
MAX_TAGS = 200         # label tags per layer and frame: past that many, the largest boxes on screen get one
MIN_TAG_BOX_PX = 14    # a box narrower than this on screen carries no tag (unless it is one of few)
# A mask's fill by kind: a matched ground truth faint (its TP prediction, under it, shows through), errors strong.
AREA_ALPHA = {"gt": 30, "tp": 130, "fp": 140, "fn": 140, "pred": 120}
SELECTED_ALPHA = 170
AREA_TYPES = ("binary", "segment")


def kind_color(kind: str) -> QColor:
    return QColor(KIND_COLORS.get(kind, KIND_COLORS["gt"]))


def record_kind(rec: AnnotationRecord, tags: Mapping[int, str]) -> str:
    """The colour class of an annotation: its evaluation tag (the evaluation core's, for classification
    too), else ground truth / a prediction the evaluation does not know as FP."""
    tag = tags.get(rec.id)
    if tag in ("tp", "fp", "fn", "pred"):
        return tag
    return "gt" if not rec.is_prediction else "fp"


def area_pen(kind: str, prediction: bool, selected: bool = False) -> QPen:
    """A mask's or polygon's outline in the review: its kind's colour, one pixel (as fast to draw as a box's
    outline); the selected one thicker, dashed if a prediction (as the selected box)."""
    color = kind_color(kind)
    return annotation_pen(color, prediction, 3.0) if selected else mask_pen(color, False)


def area_fill(kind: str, selected: bool = False) -> QColor:
    c = kind_color(kind)
    c.setAlpha(SELECTED_ALPHA if selected else AREA_ALPHA.get(kind, AREA_ALPHA["gt"]))
    return c


def caption(rec: AnnotationRecord, kind: str, with_scores: bool = True) -> str:
    prefix = {"tp": "TP ", "fp": "FP ", "fn": "FN "}.get(kind, "")
    score = f" {rec.score:.2f}" if with_scores and rec.score is not None else ""
    return f"{prefix}{rec.label}{score}"


@dataclass
class DrawnBox:
    """What the viewer shows for one box annotation."""
    annotation: AnnotationRecord
    kind: str
    layer: BoxLayer

    def isVisible(self) -> bool:  # noqa: N802 - reads like the QGraphicsItem it stands for
        return self.layer.isVisible() and (self.layer.parentItem() is None or self.layer.parentItem().isVisible())


class TagCache:
    """Label tags rendered once per (text, kind) as pixmaps, so a frame blits them."""

    def __init__(self):
        self.font = QFont()
        self.font.setPixelSize(LabelTag.FONT_PX)
        fm = QFontMetricsF(self.font)
        self.height = fm.height() + 2
        self.ascent = fm.ascent()
        self.fm = fm
        self._cache: dict[tuple[str, str, float], QPixmap] = {}

    def get(self, text: str, kind: str, dpr: float) -> QPixmap:
        key = (text, kind, dpr)
        pm = self._cache.get(key)
        if pm is None:
            w = self.fm.horizontalAdvance(text) + 8
            pm = QPixmap(int(np.ceil(w * dpr)), int(np.ceil(self.height * dpr)))
            pm.setDevicePixelRatio(dpr)
            pm.fill(Qt.GlobalColor.transparent)
            p = QPainter(pm)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            color = kind_color(kind)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(QRectF(0, 0, w, self.height), 2, 2)
            p.setFont(self.font)
            p.setPen(text_color_on(color))
            p.drawText(QPointF(4, 1 + self.ascent), text)
            p.end()
            if len(self._cache) > 4000:
                self._cache.clear()
            self._cache[key] = pm
        return pm


class BoxLayer(QGraphicsItem):
    """Every box of one kind, painted in one go: outlines with drawRects, tags from the TagCache."""

    def __init__(self, kind: str, viewer: ReviewViewer):
        super().__init__()
        self.kind = kind
        self.viewer = viewer
        self.records: list[AnnotationRecord] = []
        self.rects: list[QRectF] = []
        self.boxes = np.zeros((0, 4))           # l, t, r, b
        self.captions: list[str] = []
        self.hidden: int | None = None          # the selected annotation, drawn by its own item
        self.areas: set[int] = set()            # masks / polygons: drawn by their own items, no rectangle here
        self._draw: list[QRectF] = []
        color = kind_color(kind)
        self.pen = QPen(color, 2.0 if kind in ("gt", "fn", "pred") else 1.6)
        self.pen.setCosmetic(True)
        self._bounds = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_records(self, records: list[AnnotationRecord], with_scores: bool, areas: set[int] = frozenset()) -> None:
        self.prepareGeometryChange()
        self.records = records
        self.areas = set(areas)
        self.boxes = np.array([r.box for r in records], np.float64).reshape(-1, 4)
        self.rects = [QRectF(l, t, r - l, b - t) for l, t, r, b in self.boxes.tolist()]
        self.captions = [caption(r, self.kind, with_scores) for r in records]
        if records:
            lo, hi = self.boxes[:, :2].min(axis=0), self.boxes[:, 2:].max(axis=0)
            self._bounds = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._bounds = QRectF()
        self._refresh_draw()

    def set_hidden(self, annotation_id: int | None) -> None:
        if annotation_id != self.hidden:
            self.hidden = annotation_id
            self._refresh_draw()
            self.update()

    def _refresh_draw(self) -> None:
        self._draw = [q for q, r in zip(self.rects, self.records) if r.id != self.hidden and r.id not in self.areas]

    def boundingRect(self) -> QRectF:
        # tags reach outside the boxes; at least a tag's height above, a little to the right
        return self._bounds.adjusted(-2, -40, 200, 40) if self.records else QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self.records:
            return
        if self._draw:
            # Axis-aligned outlines gain nothing from antialiasing, and it doubles their cost.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(self.pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRects(self._draw)
        self._paint_tags(painter, option)

    def _paint_tags(self, painter: QPainter, option: QStyleOptionGraphicsItem) -> None:
        t = painter.worldTransform()
        sx, sy, dx, dy = t.m11(), t.m22(), t.dx(), t.dy()
        b = self.boxes
        exposed = option.exposedRect
        on = (b[:, 2] >= exposed.left()) & (b[:, 0] <= exposed.right()) & \
             (b[:, 3] >= exposed.top()) & (b[:, 1] <= exposed.bottom())
        width_px = (b[:, 2] - b[:, 0]) * sx
        idx = np.flatnonzero(on)
        if idx.size > MAX_TAGS // 4:
            idx = idx[width_px[idx] >= MIN_TAG_BOX_PX]
        if idx.size > MAX_TAGS:      # the largest boxes on screen keep their tags
            idx = idx[np.argsort(-width_px[idx], kind="stable")[:MAX_TAGS]]
        if not idx.size:
            return
        tags = self.viewer.tag_cache
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        below = self.kind in ("tp", "fp", "pred")    # prediction tags under the box, ground truth above
        xs = b[idx, 0] * sx + dx
        ys = (b[idx, 3] * sy + dy + 1) if below else (b[idx, 1] * sy + dy - tags.height)
        painter.resetTransform()
        for k, x, y in zip(idx.tolist(), xs.tolist(), ys.tolist()):
            if self.records[k].id == self.hidden:
                continue
            painter.drawPixmap(QPointF(x, y), tags.get(self.captions[k], self.kind, dpr))
        painter.setWorldTransform(t)


class ReviewBox(QGraphicsRectItem):
    """The selected box, as an item of its own. Ground truth is editable: drag to move, a corner resizes."""

    def __init__(self, rec: AnnotationRecord, kind: str, viewer: ReviewViewer):
        l, t, r, b = rec.box
        super().__init__(QRectF(l, t, r - l, b - t))
        self.annotation = rec
        self.kind = kind
        self.viewer = viewer
        color = kind_color(kind)
        pen = annotation_pen(color, rec.is_prediction, 3.5)
        self.setPen(pen)
        fill = QColor(color)
        fill.setAlpha(40)
        self.setBrush(fill)
        self.setData(0, rec.id)
        self.setToolTip(caption(rec, kind))
        self.editable = not rec.is_prediction
        flags = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        if self.editable:
            flags |= QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            self.setCursor(Qt.CursorShape.SizeAllCursor)
        self.setFlags(flags)
        self.setZValue(100)
        self._resize_corner: int | None = None
        self._press_rect: QRectF | None = None
        self.tag = LabelTag(caption(rec, kind, viewer.show_scores), color, prediction=rec.is_prediction,
                            below=rec.is_prediction, parent=self)
        self.tag.setPos(QPointF(l, b) if rec.is_prediction else QPointF(l, t))

    def scene_box(self) -> list[float]:
        r = self.rect().translated(self.pos())
        return [r.left(), r.top(), r.right(), r.bottom()]

    def _corner_at(self, pos: QPointF) -> int | None:
        if not self.editable:
            return None
        tol = HANDLE_PX / (self.viewer.zoom or 1.0)
        r = self.rect()
        for k, c in enumerate((r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight())):
            if abs(pos.x() - c.x()) <= tol and abs(pos.y() - c.y()) <= tol:
                return k
        return None

    def shape(self) -> QPainterPath:
        # grabbable a few screen pixels outside the outline, so the corners can be taken
        tol = HANDLE_PX / (self.viewer.zoom or 1.0)
        path = QPainterPath()
        path.addRect(self.rect().adjusted(-tol, -tol, tol, tol))
        return path

    def boundingRect(self) -> QRectF:
        tol = HANDLE_PX / (self.viewer.zoom or 1.0)
        return super().boundingRect().adjusted(-tol, -tol, tol, tol)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(self.pen())
        painter.setBrush(self.brush())
        painter.drawRect(self.rect())
        if self.editable:   # corner handles
            s = 6 / (self.viewer.zoom or 1.0)
            painter.setBrush(QColor("white"))
            r = self.rect()
            for c in (r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight()):
                painter.drawRect(QRectF(c.x() - s / 2, c.y() - s / 2, s, s))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._press_rect = QRectF(self.rect().translated(self.pos()))
        self._resize_corner = self._corner_at(event.pos())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resize_corner is None:
            super().mouseMoveEvent(event)
            return
        r = QRectF(self.rect())
        p = event.pos()
        k = self._resize_corner
        if k in (0, 2):
            r.setLeft(min(p.x(), r.right() - 1))
        else:
            r.setRight(max(p.x(), r.left() + 1))
        if k in (0, 1):
            r.setTop(min(p.y(), r.bottom() - 1))
        else:
            r.setBottom(max(p.y(), r.top() + 1))
        self.prepareGeometryChange()
        self.setRect(r)
        self.tag.setPos(r.topLeft())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self._resize_corner = None
        before = self._press_rect
        self._press_rect = None
        if before is None or not self.editable:
            return
        after = self.scene_box()
        old = [before.left(), before.top(), before.right(), before.bottom()]
        if max(abs(a - b) for a, b in zip(after, old)) > 0.25:
            self.viewer.box_edited.emit(self.annotation.id, old, [round(v, 2) for v in after])


class ReviewArea:
    """What a mask or polygon drawn in the review knows: its annotation and kind; the selected one carries its tag
    and is not dragged (its box is not what it is)."""
    annotation: AnnotationRecord
    kind: str
    editable = False
    tag: LabelTag | None = None

    def _setup(self, rec: AnnotationRecord, kind: str, viewer: ReviewViewer, selected: bool) -> None:
        self.annotation, self.kind = rec, kind
        self.setData(0, rec.id)
        self.setToolTip(caption(rec, kind))
        if selected:
            self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
            self.setZValue(100)
            l, t, _r, b = self.scene_box()
            self.tag = LabelTag(caption(rec, kind, viewer.show_scores), kind_color(kind),
                                prediction=rec.is_prediction, below=rec.is_prediction, parent=self)
            self.tag.setPos(QPointF(l, b) if rec.is_prediction else QPointF(l, t))


class ReviewMask(ReviewArea, MaskItem):
    """A mask in the review, in its kind's colour."""

    def __init__(self, rec: AnnotationRecord, kind: str, viewer: ReviewViewer, geometry: MaskGeometry,
                 selected: bool = False):
        MaskItem.__init__(self, rec, kind_color(kind), rec.is_prediction, pen=area_pen(kind, rec.is_prediction,
                                                                                       selected),
                          fill_alpha=area_fill(kind, selected).alpha(), geometry=geometry)
        self._setup(rec, kind, viewer, selected)

    def scene_box(self) -> list[float]:
        return self.box


class ReviewPolygon(ReviewArea, QGraphicsPathItem):
    """A polygon annotation in the review, in its kind's colour."""

    def __init__(self, rec: AnnotationRecord, kind: str, viewer: ReviewViewer, path: QPainterPath,
                 selected: bool = False):
        QGraphicsPathItem.__init__(self, path)
        self.setPen(area_pen(kind, rec.is_prediction, selected))
        self.setBrush(area_fill(kind, selected))
        self._setup(rec, kind, viewer, selected)

    def scene_box(self) -> list[float]:
        r = self.path().boundingRect()
        return [r.left(), r.top(), r.right(), r.bottom()]

    def hit(self, x: float, y: float) -> bool:
        return self.path().contains(QPointF(x, y))


class ReviewViewer(ImageViewer):
    box_edited = Signal(int, list, list)            # annotation id, old [l, t, r, b], new
    box_drawn = Signal(list)                        # draw mode: a new box [l, t, r, b] dragged out
    annotation_selected = Signal(object)            # AnnotationRecord or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.show_scores = True
        self.tags: dict[int, str] = {}
        self.records: list[AnnotationRecord] = []
        self.focus_id: int | None = None
        self.tag_cache = TagCache()
        self.selected_box: ReviewBox | ReviewArea | None = None
        self.area_items: dict[int, ReviewMask | ReviewPolygon] = {}   # annotation id -> its mask / polygon
        self._geometry: dict[tuple, MaskGeometry] = {}                  # decoded masks of the item shown
        self.selected_chip: QGraphicsItem | None = None      # a class annotation (classification) selected
        self.box_layers: dict[str, BoxLayer] = {}
        self.layer_items = {}
        self.draw_mode = False
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_from: QPointF | None = None
        for kind, z in (("fp", 12), ("tp", 11), ("pred", 13), ("fn", 40), ("gt", 50)):   # predictions under the gt
            self.layer_items[kind] = self.add_layer(LAYERS[kind], KIND_TITLES[kind], z=z)
            layer = BoxLayer(kind, self)
            self.box_layers[kind] = layer
            layer.setParentItem(self.layer_items[kind])
        self._chips: list[QGraphicsItem] = []
        # The scaled image is cached in device pixels: re-rendered on zoom, blitted on every other frame.
        for it in self.scene().items():
            if isinstance(it, QGraphicsPixmapItem):
                it.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # -- content ----------------------------------------------------------------------------
    def show_annotations(self, records: Iterable[AnnotationRecord], tags: Mapping[int, str],
                         focus_id: int | None = None) -> None:
        """Replace the drawn annotations with `records`, coloured by their tags; select `focus_id`."""
        self._drop_selected()
        for chip in self._chips:
            self.scene().removeItem(chip)
        self._chips = []
        for item in self.area_items.values():
            self.scene().removeItem(item)
        self.area_items = {}
        geometry, self._geometry = self._geometry, {}
        self.records = list(records)
        self.tags = dict(tags)
        self.focus_id = focus_id
        by_kind: dict[str, list[AnnotationRecord]] = {k: [] for k in self.box_layers}
        slot = 0
        for rec in sorted(self.records, key=lambda r: (r.is_prediction, r.id)):
            if self.tags.get(rec.id) == "below":    # under the confidence threshold: the figures leave it out
                continue
            kind = record_kind(rec, self.tags)
            if rec.type in AREA_TYPES:
                area = self._area_item(rec, kind, geometry)
                if area is not None:
                    area.setParentItem(self.layer_items[kind])
                    self.area_items[rec.id] = area
                    by_kind[kind].append(rec)
                elif rec.type == "binary" and rec.box is not None:
                    by_kind[kind].append(rec)           # a damaged mask: its box, as before
            elif rec.type == "box" and rec.box is not None:
                by_kind[kind].append(rec)
            elif rec.type == "class":
                chip = QGraphicsRectItem(QRectF())
                chip.setPen(Qt.PenStyle.NoPen)
                chip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
                chip.annotation = rec
                chip.kind = kind
                chip.setData(0, rec.id)
                tag = LabelTag(("Prediction: " if rec.is_prediction else "Ground truth: ") + caption(rec, kind),
                               kind_color(kind), parent=chip)
                tag.setPos(QPointF(4, 22 + 20 * slot))
                slot += 1
                chip.setParentItem(self.layer_items[kind])
                self._chips.append(chip)
        for kind, layer in self.box_layers.items():
            layer.set_records(by_kind[kind], self.show_scores, {r.id for r in by_kind[kind] if r.id in self.area_items})
            layer.set_hidden(None)
        if focus_id is None and self._chips and not any(by_kind.values()):
            # A classification item: its class is the one thing to fix, so its ground truth starts selected
            # (Relabel / Delete work at once; click a prediction's chip to Accept it).
            gt = [c for c in self._chips if not c.annotation.is_prediction]
            focus_id = (gt or self._chips)[0].data(0)
        if focus_id is not None:
            self.select_annotation(focus_id)
        else:
            self.annotation_selected.emit(None)

    def _area_item(self, rec: AnnotationRecord, kind: str, cache: dict[tuple, MaskGeometry],
                   selected: bool = False) -> ReviewMask | ReviewPolygon | None:
        """The item drawing a mask or polygon in its kind's colours; None when it cannot be drawn as one (a
        damaged or empty mask, a polygon without rings, no box to tag it at)."""
        if rec.box is None:
            return None
        if rec.type == "segment":
            path = polygon_path(rec)
            return ReviewPolygon(rec, kind, self, path, selected) if path is not None else None
        if not isinstance(rec.coordinates, dict):
            return None
        counts = rec.coordinates.get("counts")
        key = (rec.id, str(rec.coordinates.get("size")), counts if isinstance(counts, str) else repr(counts))
        g = cache.get(key)
        if g is None:
            try:
                g = MaskGeometry(rec.coordinates)
            except (ValueError, TypeError, KeyError):
                return None
        self._geometry[key] = g
        return ReviewMask(rec, kind, self, g, selected)

    def masks(self, kind: str | None = None) -> list[tuple[AnnotationRecord, str, ReviewMask | ReviewPolygon]]:
        """The masks and polygons drawn as areas: annotation, kind, item (the selected one's own item)."""
        out = []
        for aid, item in self.area_items.items():
            if kind is None or item.kind == kind:
                sel = self.selected_box
                shown = sel if sel is not None and isinstance(sel, ReviewArea) and sel.annotation.id == aid else item
                out.append((item.annotation, item.kind, shown))
        return out

    def boxes(self, kind: str | None = None) -> list[DrawnBox]:
        kinds = [kind] if kind else list(self.box_layers)
        return [DrawnBox(r, k, self.box_layers[k]) for k in kinds for r in self.box_layers[k].records]

    def class_chips(self) -> list[tuple[AnnotationRecord, str, str]]:
        """The class labels drawn (classification): annotation, kind (its colour) and the text shown."""
        return [(c.annotation, c.kind, c.childItems()[0].text) for c in self._chips]

    def box_at(self, pos: QPointF) -> tuple[AnnotationRecord, str] | None:
        """The box under a scene position in a visible layer; the smallest wins (it is the one aimed at)."""
        best = None
        for kind, layer in self.box_layers.items():
            if not self.layer_visible(LAYERS[kind]) or not layer.records:
                continue
            b = layer.boxes
            hit = np.flatnonzero((b[:, 0] <= pos.x()) & (pos.x() <= b[:, 2]) & (b[:, 1] <= pos.y()) &
                                 (pos.y() <= b[:, 3]))
            for k in hit.tolist():
                drawn = self.area_items.get(layer.records[k].id)
                if drawn is not None and not drawn.hit(pos.x(), pos.y()):
                    continue                          # inside a mask's box but not on its pixels
                area = (b[k, 2] - b[k, 0]) * (b[k, 3] - b[k, 1])
                if best is None or area < best[0]:
                    best = (area, layer.records[k], kind)
        return (best[1], best[2]) if best else None

    # -- selection --------------------------------------------------------------------------
    def select_annotation(self, annotation_id: int | None) -> None:
        self._drop_selected()
        found = None
        if annotation_id is not None:
            for kind, layer in self.box_layers.items():
                for rec in layer.records:
                    if rec.id == annotation_id:
                        found = (rec, kind)
        if found is None:
            chip = next((c for c in self._chips if c.data(0) == annotation_id), None)
            if chip is not None:
                self.selected_chip = chip
                chip.childItems()[0].set_selected(True)
            self.annotation_selected.emit(getattr(chip, "annotation", None))
            return
        rec, kind = found
        if rec.id in self.area_items:
            box = self._area_item(rec, kind, self._geometry, selected=True)
            self.area_items[rec.id].setVisible(False)
        else:
            box = ReviewBox(rec, kind, self)
        box.setParentItem(self.layer_items[kind])
        box.setSelected(True)
        self.selected_box = box
        self.box_layers[kind].set_hidden(rec.id)
        self.annotation_selected.emit(rec)

    def _drop_selected(self) -> None:
        if self.selected_chip is not None:
            chip, self.selected_chip = self.selected_chip, None
            if chip.scene() is not None:
                chip.childItems()[0].set_selected(False)
        if self.selected_box is not None:
            box, self.selected_box = self.selected_box, None
            self.box_layers[box.kind].set_hidden(None)
            area = self.area_items.get(box.annotation.id)
            if area is not None:
                area.setVisible(True)
            self.scene().removeItem(box)

    def selected_annotation(self) -> AnnotationRecord | None:
        if self.selected_chip is not None:
            return self.selected_chip.annotation
        return self.selected_box.annotation if self.selected_box is not None else None

    def chip_at(self, viewport_pos: QPoint) -> QGraphicsItem | None:
        """The class chip under a point of the viewport (chips keep their size on screen, so hit-test there)."""
        for it in self.items(viewport_pos):
            parent = it.parentItem()
            if isinstance(it, LabelTag) and parent in self._chips and parent.isVisible():
                return parent
        return None

    def item_for(self, annotation_id: int) -> QGraphicsItem | None:
        if self.selected_box is not None and self.selected_box.annotation.id == annotation_id:
            return self.selected_box
        return None

    # -- drawing ----------------------------------------------------------------------------
    def set_draw_mode(self, on: bool) -> None:
        """Draw mode: a left-drag draws a new box (box_drawn) instead of panning or selecting."""
        self.draw_mode = bool(on)
        self.setDragMode(QGraphicsView.DragMode.NoDrag if on else QGraphicsView.DragMode.ScrollHandDrag)
        if on:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().unsetCursor()

    def _clamp(self, p: QPointF) -> QPointF:
        w, h = self.image_size
        return QPointF(min(max(p.x(), 0.0), float(w)), min(max(p.y(), 0.0), float(h)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._rubber is not None and self._rubber_from is not None:
            p = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber.setRect(QRectF(self._rubber_from, p).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._rubber is not None and event.button() == Qt.MouseButton.LeftButton:
            r = self._rubber.rect()
            self.scene().removeItem(self._rubber)
            self._rubber, self._rubber_from = None, None
            event.accept()
            if r.width() * (self.zoom or 1.0) >= 3 and r.height() * (self.zoom or 1.0) >= 3:  # not a stray click
                self.box_drawn.emit([round(v, 2) for v in (r.left(), r.top(), r.right(), r.bottom())])
            return
        super().mouseReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.draw_mode:
            self._rubber_from = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber = QGraphicsRectItem(QRectF(self._rubber_from, self._rubber_from))
            pen = QPen(kind_color("gt"), 2.0, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setZValue(200)
            self.scene().addItem(self._rubber)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            chip = self.chip_at(event.position().toPoint())
            if chip is not None:
                self.select_annotation(chip.data(0))
                event.accept()
                return
            pos = self.mapToScene(event.position().toPoint())
            on_selected = self.selected_box is not None and self.selected_box.isVisible() and \
                self.selected_box.contains(self.selected_box.mapFromScene(pos))
            if not on_selected:
                hit = self.box_at(pos)
                if hit is not None:
                    self.select_annotation(hit[0].id)   # then the press goes to that new item: drag at once
                elif self.selected_box is not None or self.selected_chip is not None:
                    self._drop_selected()
                    self.annotation_selected.emit(None)
        super().mousePressEvent(event)

    def set_show_scores(self, on: bool) -> None:
        self.show_scores = on
        keep = self.selected_annotation()
        self.show_annotations(self.records, self.tags, keep.id if keep else None)
