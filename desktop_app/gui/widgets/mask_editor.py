"""Fixing a mask or a polygon in place on any ImageViewer: a brush and an eraser on a binary mask, vertex editing on
a polygon. The editor only reports a finished edit (`edited`: the annotation, its old and new coordinates, a text
for the undo menu); the page turns it into one undoable catalog command (review_commands.EditShape).

Mask: B brush, E eraser, [ and ] make the disc smaller / larger; a stroke shows live (one image over the scene
whose pixels change where the disc passed) and is one edit when the button is released. Polygon: drag a vertex,
double-click an edge to add one there, right-click a vertex (or select it and press Delete) to remove it. Edits the
catalog should not store are refused with the reason (`refused`): a mask erased to nothing, a ring under 3 points,
one that crosses itself. The geometry lives in domain.mask_edit, tested without a screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from desktop_app.catalog import AnnotationRecord
from desktop_app.domain import mask_edit, masks
from desktop_app.errors import ValidationError

from .annotation_items import outline_rings

EDIT_COLOR = QColor("#22d3ee")      # the shape under edit: cyan, unlike any kind colour of the review
HANDLE_PX = 8                       # a vertex handle's side on screen; a press this close takes the vertex
EDITABLE_TYPES = ("binary", "segment")


def editable(rec: AnnotationRecord | None) -> bool:
    """Whether the editor can fix `rec`: a ground-truth mask or polygon."""
    return rec is not None and not rec.is_prediction and rec.type in EDITABLE_TYPES and bool(rec.coordinates)


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class MaskOverlay(QGraphicsItem):
    """The mask under edit as one ARGB image over the whole image, painted from a numpy buffer it shares (a stroke
    rewrites the pixels of the box it touched, nothing more), and its outline once a stroke ends."""

    def __init__(self, mask: np.ndarray, color: QColor = EDIT_COLOR, alpha: int = 130):
        super().__init__()
        self.mask = mask
        h, w = mask.shape
        a = alpha / 255
        self.argb = np.uint32((alpha << 24) | (round(color.red() * a) << 16) | (round(color.green() * a) << 8)
                              | round(color.blue() * a))
        self.buf = np.zeros((h, w), np.uint32)
        self.image = QImage(self.buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        self.outline = QPainterPath()
        self.pen = _pen(QColor(color).darker(160), 1.5)
        self.setZValue(300)
        self.refresh()
        self.refresh_outline()

    def refresh(self, box: tuple[int, int, int, int] | None = None) -> None:
        h, w = self.mask.shape
        l, t, r, b = box or (0, 0, w, h)
        self.buf[t:b, l:r] = np.where(self.mask[t:b, l:r], self.argb, np.uint32(0))
        self.update(QRectF(l, t, r - l, b - t))

    def refresh_outline(self) -> None:
        path = QPainterPath()
        box = masks.bbox(self.mask)
        if box is not None:
            l, t, r, b = (int(v) for v in box)
            for ring in outline_rings(self.mask[t:b, l:r]):
                path.addPolygon(QPolygonF([QPointF(l + x, t + y) for x, y in ring.tolist()]))
                path.closeSubpath()
        self.outline = path
        self.update()

    def boundingRect(self) -> QRectF:
        h, w = self.mask.shape
        return QRectF(-2, -2, w + 4, h + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        h, w = self.mask.shape
        painter.drawImage(QRectF(0, 0, w, h), self.image)
        painter.setPen(self.pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.outline)


class PolygonOverlay(QGraphicsItem):
    """The polygon under edit: its rings filled, and a square handle on every vertex (the selected one filled)."""

    def __init__(self, rings: list, zoom: Any, color: QColor = EDIT_COLOR):
        super().__init__()
        self.rings = rings
        self.zoom = zoom            # callable: the view's scale, so handles keep their size on screen
        self.selected: tuple[int, int] | None = None
        self.color = QColor(color)
        self.setZValue(300)

    def set_rings(self, rings: list) -> None:
        self.prepareGeometryChange()
        self.rings = rings
        self.update()

    def _bounds(self) -> QRectF:
        pts = np.asarray([p for r in self.rings for p in r], np.float64).reshape(-1, 2)
        if not len(pts):
            return QRectF()
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])

    def boundingRect(self) -> QRectF:
        s = HANDLE_PX / max(self.zoom(), 1e-3)
        return self._bounds().adjusted(-s, -s, s, s)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        fill = QColor(self.color)
        fill.setAlpha(70)
        path = QPainterPath()
        for ring in self.rings:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in ring]))
            path.closeSubpath()
        painter.setPen(_pen(self.color, 2.0))
        painter.setBrush(fill)
        painter.drawPath(path)
        s = HANDLE_PX / max(self.zoom(), 1e-3)
        painter.setPen(_pen(QColor("black"), 1.0))
        for k, ring in enumerate(self.rings):
            for j, (x, y) in enumerate(ring):
                painter.setBrush(self.color if (k, j) == self.selected else QColor("white"))
                painter.drawRect(QRectF(x - s / 2, y - s / 2, s, s))


class BrushCursor(QGraphicsEllipseItem):
    """The brush's disc where the mouse is: white over a black dash, seen on any image."""

    def __init__(self):
        super().__init__()
        self.setPen(_pen(QColor("white"), 2.0))
        self.inner = QGraphicsEllipseItem(self)
        self.inner.setPen(_pen(QColor("black"), 1.0, Qt.PenStyle.DashLine))
        self.setZValue(400)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_radius(self, r: float, eraser: bool) -> None:
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        self.setRect(rect)
        self.inner.setRect(rect)
        self.setBrush(QBrush(QColor(255, 80, 80, 40) if eraser else QColor(34, 211, 238, 40)))


class MaskEditor(QObject):
    """Brush / eraser and vertex editing over `viewer` (an ImageViewer or a ReviewViewer), on while `active`."""

    edited = Signal(object, object, object, str)    # AnnotationRecord, old coordinates, new coordinates, undo text
    refused = Signal(str)                           # why an edit was not made
    target_changed = Signal(object)                 # AnnotationRecord under edit, or None
    tool_changed = Signal(str, int)                 # "brush" / "eraser", radius in image pixels
    finished = Signal()                             # Esc: the page leaves edit mode

    def __init__(self, viewer: QGraphicsView, parent: QObject | None = None):
        super().__init__(parent or viewer)
        self.viewer = viewer
        self.active = False
        self.target: AnnotationRecord | None = None
        self.stored: Any = None            # the target's coordinates as stored (the old value of the next edit)
        self.tool = "brush"
        self.radius = 8
        self.mask: np.ndarray | None = None
        self.rings: list | None = None
        self.overlay: QGraphicsItem | None = None
        self.cursor = BrushCursor()
        self.cursor.setVisible(False)
        viewer.scene().addItem(self.cursor)
        self._stroke_from: tuple[float, float] | None = None
        self._before: np.ndarray | None = None
        self._drag: tuple[int, int] | None = None
        self._drag_rings: list | None = None
        self._hidden: list[QGraphicsItem] = []
        self._drag_mode = viewer.dragMode()
        self._viewport = viewer.viewport()    # kept: compared in eventFilter, also while the viewer is torn down
        self._viewport.installEventFilter(self)
        viewer.installEventFilter(self)

    # -- state ------------------------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        if on:
            self._drag_mode = self.viewer.dragMode()
            self.viewer.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewer.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.set_target(None)
            self.viewer.setDragMode(self._drag_mode)
            self.viewer.viewport().unsetCursor()
            self.cursor.setVisible(False)

    def set_tool(self, tool: str) -> None:
        if tool not in ("brush", "eraser"):
            raise ValidationError(f"unknown mask tool {tool!r}; brush or eraser")
        self.tool = tool
        self._update_cursor()
        self.tool_changed.emit(self.tool, self.radius)

    def set_radius(self, r: float) -> None:
        self.radius = mask_edit.clamp_radius(r)
        self._update_cursor()
        self.tool_changed.emit(self.tool, self.radius)

    def _update_cursor(self) -> None:
        self.cursor.set_radius(self.radius, self.tool == "eraser")

    def set_target(self, rec: AnnotationRecord | None) -> bool:
        """Edit `rec` (a ground-truth mask or polygon of the image shown), or nothing; False, with `refused`, when
        it cannot be edited."""
        self._clear_overlay()
        self.target, self.stored, self.mask, self.rings = None, None, None, None
        if rec is not None and not editable(rec):
            self.refused.emit(f"{rec.label} is a {'prediction' if rec.is_prediction else rec.type}; only a "
                              f"ground-truth mask or polygon can be edited")
            rec = None
        if rec is not None:
            w, h = self.viewer.image_size
            try:
                if rec.type == "binary":
                    why = masks.rle_problem(rec.coordinates, w, h)
                    if why is not None:
                        raise ValidationError(why)
                    self.mask = np.array(masks.decode(rec.coordinates), dtype=bool)
                    self.overlay = MaskOverlay(self.mask)
                else:
                    self.rings = mask_edit.as_rings(rec.coordinates)
                    self.overlay = PolygonOverlay(self.rings, lambda: self.viewer.transform().m11())
            except (ValidationError, ValueError, TypeError, KeyError) as e:
                self.refused.emit(f"{rec.label} (annotation {rec.id}) cannot be edited: {e}")
                rec = None
        if rec is not None:
            self.target, self.stored = rec, rec.coordinates
            self.viewer.scene().addItem(self.overlay)
            self._hide_drawn(rec.id)
        self.target_changed.emit(self.target)
        return rec is not None

    def follow(self, rec: AnnotationRecord | None) -> bool:
        """The target as stored again (after an edit, an undo, a redraw): kept as it is when the catalog holds
        what the editor shows (its own edit: no decoding a big mask again), else opened afresh."""
        if rec is not None and self.target is not None and rec.id == self.target.id and rec.coordinates == self.stored:
            self.target = rec
            self._hidden = [it for it in self._hidden if it.scene() is not None]
            self._hide_drawn(rec.id)            # the viewer drew the shape again: hide the new drawing
            return True
        return self.set_target(rec)

    def _hide_drawn(self, annotation_id: int) -> None:
        """The viewer's own drawing of the target goes while the overlay stands in for it."""
        items = list(self.viewer.annotation_items())
        items += list(getattr(self.viewer, "area_items", {}).values())    # the review's masks and polygons
        box = getattr(self.viewer, "selected_box", None)
        if box is not None:
            items.append(box)
        for it in items:
            rec = getattr(it, "annotation", None)
            if rec is not None and rec.id == annotation_id and it.isVisible():
                it.setVisible(False)
                self._hidden.append(it)

    def _clear_overlay(self) -> None:
        if self.overlay is not None and self.overlay.scene() is not None:
            self.overlay.scene().removeItem(self.overlay)
        self.overlay = None
        for it in self._hidden:
            if it.scene() is not None:
                it.setVisible(True)
        self._hidden = []
        self._stroke_from = self._before = self._drag = self._drag_rings = None

    def candidates(self) -> list[AnnotationRecord]:
        """The editable annotations of the image shown."""
        recs = getattr(self.viewer, "records", None)
        if recs is None:
            recs = [getattr(it, "annotation", None) for it in self.viewer.annotation_items()]
        return [r for r in recs if editable(r)]

    def annotation_at(self, x: float, y: float) -> AnnotationRecord | None:
        """The editable annotation under (x, y): on one of a mask's pixels, or inside a polygon; the smallest."""
        best = None
        for rec in self.candidates():
            box = rec.box
            if box is None or not (box[0] <= x <= box[2] and box[1] <= y <= box[3]):
                continue
            try:
                if rec.type == "binary":
                    hit = bool(masks.decode_box(rec.coordinates, [int(x), int(y), int(x) + 1, int(y) + 1]).any())
                else:
                    hit = mask_edit.point_in_rings(mask_edit.as_rings(rec.coordinates), (x, y))
            except (ValidationError, ValueError, TypeError, KeyError):
                continue
            area = (box[2] - box[0]) * (box[3] - box[1])
            if hit and (best is None or area < best[0]):
                best = (area, rec)
        return best[1] if best else None

    # -- edits ------------------------------------------------------------------------------
    def stroke_to(self, x: float, y: float) -> None:
        if self.mask is None or self._stroke_from is None:
            return
        box = mask_edit.paint_stroke(self.mask, self._stroke_from, (x, y), self.radius, self.tool == "brush")
        self._stroke_from = (x, y)
        if box is not None:
            self.overlay.refresh(box)

    def begin_stroke(self, x: float, y: float) -> None:
        if self.mask is None:
            return
        self._before = self.mask.copy()
        self._stroke_from = (x, y)
        self.stroke_to(x, y)

    def end_stroke(self) -> None:
        if self._before is None or self.mask is None:
            return
        before, self._before, self._stroke_from = self._before, None, None
        if np.array_equal(before, self.mask):
            return
        why = mask_edit.stroke_problem(before, self.mask)
        if why is not None:
            self.mask[...] = before
            self.overlay.refresh()
            self.refused.emit(f"Not saved: {why}.")
            return
        self.overlay.refresh_outline()
        new = masks.encode(self.mask)
        self._commit(new, f"{'paint' if self.tool == 'brush' else 'erase'} mask {self.target.label}")

    def _commit(self, new: Any, text: str) -> None:
        old, self.stored = self.stored, new
        self.edited.emit(self.target, old, new, text)

    def _polygon_edit(self, rings: list, text: str) -> None:
        self.rings = rings
        self.overlay.set_rings(rings)
        self._commit([[list(p) for p in r] for r in rings], text)

    def _refuse_polygon(self, e: ValidationError) -> None:
        self.overlay.set_rings(self.rings)
        self.refused.emit(f"Not saved: {e}.")

    def move_vertex(self, ring: int, vertex: int, x: float, y: float) -> bool:
        w, h = self.viewer.image_size
        try:
            rings = mask_edit.move_vertex(self.rings, ring, vertex, (x, y), w, h)
        except ValidationError as e:
            self._refuse_polygon(e)
            return False
        self._polygon_edit(rings, f"move a vertex of {self.target.label}")
        return True

    def insert_vertex_at(self, x: float, y: float) -> bool:
        """Add a vertex on the edge near (x, y) (within a handle's reach on screen)."""
        if self.rings is None:
            return False
        hit = mask_edit.nearest_edge(self.rings, (x, y), self._reach())
        if hit is None:
            return False
        ring, edge, at = hit
        w, h = self.viewer.image_size
        try:
            rings = mask_edit.insert_vertex(self.rings, ring, edge, at, w, h)
        except ValidationError as e:
            self._refuse_polygon(e)
            return False
        self.overlay.selected = (ring, edge + 1)
        self._polygon_edit(rings, f"add a vertex to {self.target.label}")
        return True

    def delete_vertex(self, ring: int, vertex: int) -> bool:
        w, h = self.viewer.image_size
        try:
            rings = mask_edit.delete_vertex(self.rings, ring, vertex, w, h)
        except ValidationError as e:
            self._refuse_polygon(e)
            return False
        self.overlay.selected = None
        self._polygon_edit(rings, f"remove a vertex of {self.target.label}")
        return True

    def delete_selected_vertex(self) -> bool:
        if self.rings is None or self.overlay is None or self.overlay.selected is None:
            return False
        return self.delete_vertex(*self.overlay.selected)

    def _reach(self) -> float:
        return HANDLE_PX / max(self.viewer.transform().m11(), 1e-3)

    # -- events -----------------------------------------------------------------------------
    KEYS = (Qt.Key.Key_B, Qt.Key.Key_E, Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight, Qt.Key.Key_Delete,
            Qt.Key.Key_Backspace, Qt.Key.Key_Escape)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 - Qt's name
        if not self.active:
            return False
        t = ev.type()
        if obj is self.viewer:
            # Del is a vertex's only on a polygon; on a mask it stays the page's (delete the annotation)
            if t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and ev.key() in self.KEYS \
                    and not ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier \
                    and (self.rings is not None or ev.key() not in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)):
                if t == QEvent.Type.KeyPress:
                    self.key(ev.key())
                ev.accept()
                return True
            return False
        if obj is not self._viewport:
            return False
        if t == QEvent.Type.Leave:
            self.cursor.setVisible(False)
            return False
        if t not in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                     QEvent.Type.MouseButtonDblClick):
            return False
        p = self.viewer.mapToScene(ev.position().toPoint())
        x, y = p.x(), p.y()
        if t == QEvent.Type.MouseMove:
            return self._move(x, y)
        if t == QEvent.Type.MouseButtonPress:
            return self._press(ev.button(), x, y)
        if t == QEvent.Type.MouseButtonRelease:
            return self._release(ev.button(), x, y)
        if self.rings is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.insert_vertex_at(x, y)
        return True        # a double-click does not fit the view while editing

    def key(self, key: int) -> None:
        if key == Qt.Key.Key_B:
            self.set_tool("brush")
        elif key == Qt.Key.Key_E:
            self.set_tool("eraser")
        elif key == Qt.Key.Key_BracketLeft:
            self.set_radius(self.radius / 1.25 if self.radius > 4 else self.radius - 1)
        elif key == Qt.Key.Key_BracketRight:
            self.set_radius(self.radius * 1.25 if self.radius >= 4 else self.radius + 1)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected_vertex()
        elif key == Qt.Key.Key_Escape:
            self.finished.emit()

    def _move(self, x: float, y: float) -> bool:
        self.cursor.setVisible(self.mask is not None)
        self.cursor.setPos(x, y)
        if self._stroke_from is not None:
            self.stroke_to(x, y)
            return True
        if self._drag is not None:
            w, h = self.viewer.image_size
            k, j = self._drag
            self._drag_rings[k][j] = [min(max(x, 0.0), float(w)), min(max(y, 0.0), float(h))]
            self.overlay.set_rings(self._drag_rings)
            return True
        return False

    def _press(self, button: Qt.MouseButton, x: float, y: float) -> bool:
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        if self.target is None or (self.rings is not None and button == Qt.MouseButton.LeftButton
                                   and self._vertex_at(x, y) is None
                                   and mask_edit.nearest_edge(self.rings, (x, y), self._reach()) is None):
            other = self.annotation_at(x, y)     # a click off the polygon's handles picks another shape
            if other is not None and (self.target is None or other.id != self.target.id):
                select = getattr(self.viewer, "select_annotation", None)
                if select is not None:       # the review's selection follows (Delete, Relabel act on it)
                    select(other.id)
                self.set_target(other)
            return True
        if self.mask is not None:
            if button == Qt.MouseButton.LeftButton:
                self.begin_stroke(x, y)
            return True
        hit = self._vertex_at(x, y)
        self.overlay.selected = hit
        self.overlay.update()
        if hit is not None and button == Qt.MouseButton.RightButton:
            self.delete_vertex(*hit)
        elif hit is not None:
            self._drag = hit
            self._drag_rings = [[list(p) for p in r] for r in self.rings]
        return True

    def _release(self, button: Qt.MouseButton, x: float, y: float) -> bool:
        if self._stroke_from is not None and button == Qt.MouseButton.LeftButton:
            self.stroke_to(x, y)
            self.end_stroke()
            return True
        if self._drag is not None and button == Qt.MouseButton.LeftButton:
            (k, j), start = self._drag, self.rings[self._drag[0]][self._drag[1]]
            self._drag = self._drag_rings = None
            if abs(start[0] - x) * self.viewer.transform().m11() >= 1 or \
                    abs(start[1] - y) * self.viewer.transform().m11() >= 1:
                self.move_vertex(k, j, x, y)
            else:
                self.overlay.set_rings(self.rings)
            return True
        return self.target is not None and button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)

    def _vertex_at(self, x: float, y: float) -> tuple[int, int] | None:
        return mask_edit.nearest_vertex(self.rings, (x, y), self._reach()) if self.rings is not None else None
