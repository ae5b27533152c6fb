"""The embedding map: up to 100,000 points drawn from numpy arrays, coloured by category, with a lasso that
selects, a hover popup (thumbnail, name, category) and a legend with counts.

Why not a pyqtgraph ScatterPlotItem: at 100,000 points its pixmap fragments cost 20-30 ms a frame here, and a
Qt wide-pen drawPoints 60+ ms. `PointCloud` rasterizes instead: each frame maps the points to device pixels,
writes each point's colour key into an 8-bit pixel buffer (one numpy scatter), grows every mark to a small disc
with a running maximum over shifted slices (the higher key wins where marks overlap: selected points are keyed
above the rest) and draws the buffer as one indexed image, its colour table the palette: a few ms at 100,000
points, whatever the zoom.
The plot's ViewBox pans and zooms as usual; Shift-drag, or a drag while the Lasso tool is on, draws a lasso.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QFrame, QGraphicsPathItem, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QSplitter, QVBoxLayout, QWidget)

from desktop_app.evaluation.projection import nearest_point, points_in_polygon

RADIUS = 2                      # a point is a disc of this radius in pixels (5 px across)
HOVER_RADIUS = 8                # the pointer within this many pixels of a point hovers it
FADED_ALPHA = 0.35              # unselected points while a selection exists: blended towards the background
LASSO_EDGE = QColor(20, 20, 20, 230)
LASSO_FILL = QColor(47, 128, 237, 45)


def argb(colours: Sequence[QColor]) -> np.ndarray:
    """uint32 premultiplied ARGB of each colour (the pixel format the map's image is drawn in)."""
    out = np.empty(len(colours), np.uint32)
    for k, c in enumerate(colours):
        a = c.alpha()
        r, g, b = (round(v * a / 255) for v in (c.red(), c.green(), c.blue()))
        out[k] = (a << 24) | (r << 16) | (g << 8) | b
    return out


def _grow(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """The running maximum of `a` over +-r pixels along `axis`."""
    out = a.copy()
    for s in range(1, r + 1):
        if axis == 1:
            np.maximum(out[:, s:], a[:, :-s], out=out[:, s:])
            np.maximum(out[:, :-s], a[:, s:], out=out[:, :-s])
        else:
            np.maximum(out[s:], a[:-s], out=out[s:])
            np.maximum(out[:-s], a[s:], out=out[:-s])
    return out


def discs(ranks: np.ndarray, radius: int) -> np.ndarray:
    """Every non-zero pixel of `ranks` grown to a disc of `radius` (radius 2: 5 x 5 less its corners); where discs
    overlap the higher rank wins."""
    if radius <= 0:
        return ranks
    if radius == 1:
        return _grow(_grow(ranks, 1, 1), 1, 0)
    wide = _grow(ranks, radius, 1)
    narrow = _grow(ranks, radius - 1, 1)
    return np.maximum(_grow(wide, radius - 1, 0), _grow(narrow, radius, 0))


class PointCloud(pg.GraphicsObject):
    """Points [n, 2] in view coordinates drawn by rasterizing (above). Each point has a key, 1..len(palette)-1,
    into `palette` (premultiplied ARGB; entry 0 is "no point"): where marks overlap, the higher key is on top.
    Up to 255 keys the frame is an 8-bit indexed image (Qt maps it to colours); more, a numpy look-up."""

    def __init__(self):
        super().__init__()
        self.xy = np.zeros((0, 2), np.float32)
        self.keys = np.zeros(0, np.uint8)
        self.palette = np.zeros(1, np.uint32)
        self.radius = RADIUS
        self._table: list[int] = [0]
        self._bounds = QRectF()
        self._buffer: np.ndarray | None = None   # kept while Qt draws the image made over it

    def set_points(self, xy: np.ndarray, keys: np.ndarray, palette: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.xy = np.ascontiguousarray(xy, np.float32).reshape(-1, 2)
        if len(self.xy):
            lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
            self._bounds = QRectF(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]) or 1e-6,
                                  float(hi[1] - lo[1]) or 1e-6)
        else:
            self._bounds = QRectF()
        self.set_keys(keys, palette)

    def set_keys(self, keys: np.ndarray, palette: np.ndarray) -> None:
        self.palette = np.concatenate([np.zeros(1, np.uint32), np.asarray(palette, np.uint32)])
        self.keys = np.asarray(keys, np.uint8 if len(self.palette) <= 256 else np.uint32)
        self._table = [int(c) for c in self.palette]
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(self._bounds)

    def paint(self, painter, *_args) -> None:
        if len(self.xy) == 0:
            return
        tr = painter.transform()
        view = self.viewRect()
        if view is None or tr.m12() or tr.m21():       # the map's view never rotates; draw nothing if it did
            return
        dev = tr.mapRect(view).toAlignedRect()
        w, h = dev.width(), dev.height()
        if w <= 0 or h <= 0 or w * h > 40_000_000:
            return
        px = self.xy[:, 0] * np.float32(tr.m11()) + np.float32(tr.dx() - dev.x())
        py = self.xy[:, 1] * np.float32(tr.m22()) + np.float32(tr.dy() - dev.y())
        on = np.flatnonzero((px >= 0) & (px < w) & (py >= 0) & (py < h))
        marks = np.zeros((h, w), self.keys.dtype)
        marks.reshape(-1)[py[on].astype(np.int64) * w + px[on].astype(np.int64)] = self.keys[on]
        marks = discs(marks, self.radius)
        if marks.dtype == np.uint8:
            stride = (w + 3) & ~3                      # QImage rows are 32-bit aligned
            if stride != w:
                padded = np.zeros((h, stride), np.uint8)
                padded[:, :w] = marks
                marks = padded
            self._buffer = np.ascontiguousarray(marks)
            image = QImage(self._buffer.data, w, h, stride, QImage.Format.Format_Indexed8)
            image.setColorTable(self._table + [0] * (256 - len(self._table)))
            # Converted first: drawing an indexed image takes Qt's slow path (3.7 ms here, 0.25 ms this way).
            image = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        else:
            self._buffer = self.palette[marks]
            image = QImage(self._buffer.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        painter.save()
        painter.resetTransform()
        painter.drawImage(dev.x(), dev.y(), image)
        painter.restore()


class LassoViewBox(pg.ViewBox):
    """A ViewBox that pans and zooms as usual; Shift-drag (or any left drag while `lasso_mode` is on) draws a free
    path, emitted as an [m, 2] array of view coordinates on release. A plain left click emits `clicked`."""

    lassoed = Signal(object)
    clicked = Signal(QPointF)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lasso_mode = False
        self.path: list[tuple[float, float]] = []
        self._last = QPointF()
        self.outline = QGraphicsPathItem()
        pen = QPen(LASSO_EDGE, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setBrush(QBrush(LASSO_FILL))
        self.outline.setZValue(1e6)
        self.outline.hide()
        self.addItem(self.outline, ignoreBounds=True)

    def _lassoing(self, ev) -> bool:
        return ev.button() == Qt.MouseButton.LeftButton and (
            self.lasso_mode or bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph API
        if not self._lassoing(ev) and not (self.path and ev.button() == Qt.MouseButton.LeftButton):
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if ev.isStart():
            a = self.mapSceneToView(ev.buttonDownScenePos())
            self.path = [(a.x(), a.y())]
            self._last = ev.buttonDownScenePos()
        here = ev.scenePos()
        if ev.isFinish() or (here - self._last).manhattanLength() >= 3:   # a vertex every 3 px keeps the test fast
            p = self.mapSceneToView(here)
            self.path.append((p.x(), p.y()))
            self._last = here
        if ev.isFinish():
            polygon = np.asarray(self.path, np.float64)
            self.path = []
            self.outline.hide()
            self.lassoed.emit(polygon)
        else:
            self.show_path(self.path)

    def show_path(self, points: Sequence[tuple[float, float]], *, closed: bool = False) -> None:
        """Draw a lasso outline (also used to leave the last lasso on screen, closed)."""
        qp = QPainterPath()
        if points:
            qp.moveTo(*points[0])
            for x, y in points[1:]:
                qp.lineTo(x, y)
            if closed:
                qp.closeSubpath()
        self.outline.setPath(qp)
        self.outline.setVisible(bool(points))

    def mouseClickEvent(self, ev):  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapSceneToView(ev.scenePos()))
            return
        super().mouseClickEvent(ev)


class HoverCard(QFrame):
    """The hover popup: a thumbnail over the item's name and its category, drawn inside the map."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("embeddingHover")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setFixedSize(128, 128)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setMaximumWidth(220)
        self.text.setWordWrap(True)
        lay.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.text)
        self.hide()

    def show_item(self, text: str, pixmap: QPixmap | None, at: QPoint) -> None:
        self.text.setText(text)
        self.set_pixmap(pixmap)
        self.adjustSize()
        parent = self.parentWidget()
        x, y = at.x() + 18, at.y() + 18
        if x + self.width() > parent.width():
            x = at.x() - 18 - self.width()
        if y + self.height() > parent.height():
            y = at.y() - 18 - self.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        if pixmap is None or pixmap.isNull():
            self.image.setPixmap(QPixmap())
            self.image.setText("…")
        else:
            self.image.setText("")
            self.image.setPixmap(pixmap.scaled(self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))


class EmbeddingMap(QWidget):
    """The map over item ids: `set_points`, `set_categories`; emits the lassoed / chosen item ids and the hovered
    one. `describe(item_id) -> (text, pixmap or None)` fills the hover popup (the page gives it)."""

    selection_changed = Signal(list)      # item ids selected (empty: cleared)
    hovered = Signal(int)                 # item id under the pointer, -1 when none

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.item_ids = np.zeros(0, np.int64)
        self.xy = np.zeros((0, 2), np.float32)
        self.codes = np.zeros(0, np.int32)
        self.names: list[str] = []
        self.colours: list[QColor] = []
        self.selected = np.zeros(0, bool)
        self.hover_index = -1
        self.describe: Callable[[int], tuple[str, QPixmap | None]] | None = None
        self.box = LassoViewBox()
        self.box.setAspectLocked(False)
        self.canvas = pg.PlotWidget(viewBox=self.box)
        self.canvas.setBackground("w")
        self.plot = self.canvas.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for axis in ("left", "bottom"):      # a projection's axes have no units; their ticks cost a pan 2-5 ms
            self.plot.hideAxis(axis)
        self.box.setBorder(pg.mkPen(200, 200, 200))
        self.cloud = PointCloud()
        self.plot.addItem(self.cloud)
        self.box.lassoed.connect(self._on_lasso)
        self.box.clicked.connect(lambda _p: self.clear_selection())
        self.canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.card = HoverCard(self.canvas)
        self.legend = QListWidget()
        self.legend.setObjectName("embeddingLegend")
        self.legend.setMinimumWidth(110)
        self.legend.setToolTip("Click a category to select its points")
        self.legend.itemClicked.connect(self._legend_clicked)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.canvas)
        self.split.addWidget(self.legend)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 0)
        self.split.setSizes([800, 140])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.split)

    # -- data -------------------------------------------------------------------------------
    def set_points(self, item_ids: np.ndarray, xy: np.ndarray) -> None:
        """New points (their categories follow with set_categories); the view fits them, the selection clears."""
        self.item_ids = np.asarray(item_ids, np.int64)
        self.xy = np.ascontiguousarray(xy, np.float32).reshape(-1, 2)
        self.codes = np.zeros(len(self.item_ids), np.int32)
        self.selected = np.zeros(len(self.item_ids), bool)
        self.hover_index = -1
        self.card.hide()
        self.box.show_path([])
        self.cloud.set_points(self.xy, np.ones(len(self.xy), np.uint8), np.zeros(1, np.uint32))
        self.fit()

    def set_categories(self, codes: np.ndarray, names: Sequence[str], colours: Sequence[QColor]) -> None:
        self.codes = np.asarray(codes, np.int32)
        self.names = list(names)
        self.colours = list(colours)
        counts = np.bincount(self.codes, minlength=len(self.names))
        self.legend.clear()
        for k, (name, colour) in enumerate(zip(self.names, self.colours)):
            swatch = QPixmap(12, 12)
            swatch.fill(colour)
            item = QListWidgetItem(swatch, f"{name} ({int(counts[k]):,})")
            item.setData(Qt.ItemDataRole.UserRole, k)
            self.legend.addItem(item)
        # as wide as its longest entry (up to 260 px): "(not evaluated) (852)" is not cut
        wide = self.legend.sizeHintForColumn(0) + 2 * self.legend.frameWidth() + \
            self.legend.verticalScrollBar().sizeHint().width() + 4
        wide = max(110, min(260, wide))
        self.legend.setMinimumWidth(wide)
        total = sum(self.split.sizes())
        if total > wide:
            self.split.setSizes([total - wide, wide])
        self._recolour()

    def fit(self) -> None:
        if len(self.xy):
            lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
            pad = np.maximum((hi - lo) * 0.04, 1e-3)
            self.box.setRange(xRange=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                              yRange=(float(lo[1] - pad[1]), float(hi[1] + pad[1])), padding=0)

    def _recolour(self) -> None:
        """Keys 1..K: the categories; K+1..2K: the same, selected. With a selection the others are faded, so the
        selected points stand out (and their higher keys draw them on top)."""
        k = len(self.colours)
        codes = np.clip(self.codes, 0, max(k - 1, 0)).astype(np.int64)
        if self.selected.any():
            palette = np.concatenate([argb([_fade(c) for c in self.colours]), argb(self.colours)])
            keys = codes + 1 + np.where(self.selected, k, 0)
        else:
            palette = argb(self.colours) if k else np.zeros(1, np.uint32)
            keys = codes + 1
        self.cloud.set_keys(keys, palette)

    # -- selection --------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return self.item_ids[self.selected].tolist()

    def select_mask(self, mask: np.ndarray) -> None:
        self.selected = np.asarray(mask, bool).reshape(len(self.item_ids))
        self._recolour()
        self.selection_changed.emit(self.selected_ids())

    def select_polygon(self, polygon: np.ndarray) -> list[int]:
        """Select the points inside `polygon` (view coordinates); returns their item ids."""
        self.select_mask(points_in_polygon(self.xy, polygon))
        return self.selected_ids()

    def clear_selection(self) -> None:
        self.box.show_path([])
        if self.selected.any():
            self.select_mask(np.zeros(len(self.item_ids), bool))

    def _on_lasso(self, polygon: np.ndarray) -> None:
        if len(polygon) < 3:
            self.clear_selection()
            return
        self.box.show_path([tuple(p) for p in polygon.tolist()], closed=True)
        self.select_polygon(polygon)

    def _legend_clicked(self, item: QListWidgetItem) -> None:
        k = item.data(Qt.ItemDataRole.UserRole)
        self.box.show_path([])
        self.select_mask(self.codes == k)

    # -- hover ------------------------------------------------------------------------------
    def index_at(self, view_pos: QPointF) -> int:
        """The point nearest `view_pos` within HOVER_RADIUS pixels on screen, -1 when none."""
        px, py = self.box.viewPixelSize()
        scale = (1.0 / px if px else 1.0, 1.0 / py if py else 1.0)
        return nearest_point(self.xy, view_pos.x(), view_pos.y(), scale=scale, radius=HOVER_RADIUS)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.box.sceneBoundingRect().contains(scene_pos):
            self.hover(-1)
            return
        self.hover(self.index_at(self.box.mapSceneToView(scene_pos)),
                   self.canvas.mapFromScene(scene_pos))

    def hover(self, index: int, at: QPoint | None = None) -> None:
        """Show the popup for point `index` near `at` (widget coordinates of the plot), or hide it (-1)."""
        if index < 0 or index >= len(self.item_ids):
            if self.hover_index != -1:
                self.hover_index = -1
                self.card.hide()
                self.hovered.emit(-1)
            return
        if at is None:
            at = self.canvas.mapFromScene(self.box.mapViewToScene(QPointF(*self.xy[index].tolist())))
        changed = index != self.hover_index
        self.hover_index = index
        item_id = int(self.item_ids[index])
        category = self.names[self.codes[index]] if len(self.names) else ""
        text, pixmap = self.describe(item_id) if self.describe else (f"item {item_id}", None)
        self.card.show_item(f"{text}\n{category}" if category else text, pixmap, at)
        if changed:
            self.hovered.emit(item_id)

    def refresh_hover(self) -> None:
        """The hovered item's thumbnail arrived: show it."""
        if self.hover_index >= 0 and self.describe is not None:
            _text, pixmap = self.describe(int(self.item_ids[self.hover_index]))
            self.card.set_pixmap(pixmap)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.hover(-1)
        super().leaveEvent(event)


def _fade(c: QColor) -> QColor:
    """`c` blended towards white (the map's background), opaque."""
    f = FADED_ALPHA
    return QColor(round(c.red() * f + 255 * (1 - f)), round(c.green() * f + 255 * (1 - f)),
                  round(c.blue() * f + 255 * (1 - f)))


def category_colours(names: Sequence[str], mode: str, labels: Sequence[str] = (),
                     overrides: dict | None = None) -> list[QColor]:
    """A colour per category: labels (and predictions) in the dataset's label colours, right green and wrong red,
    subsets in three fixed hues, a missing category ("(no ...)") grey."""
    from desktop_app.evaluation.embedding_map import RIGHT, WRONG

    from ..colors import PALETTE, label_hex
    fixed = {RIGHT: "#2ca02c", WRONG: "#d62728", "train": "#4e79a7", "validation": "#f28e2b", "test": "#e15759"}
    out = []
    for k, name in enumerate(names):
        if name.startswith("("):
            out.append(QColor("#9a9a9a"))
        elif mode in ("label", "prediction"):
            out.append(QColor(label_hex(name, labels, overrides)))
        else:
            out.append(QColor(fixed.get(name, PALETTE[k % len(PALETTE)])))
    return out
