"""An image viewer (QGraphicsView) with zoom, pan and annotation layers that can be shown or hidden.

Layers are plain parent items keyed by name: 'gt' and 'model:<id>' come from `set_annotations`; other
code (the review viewer) adds its own with `add_layer`. Hiding a layer hides its children, and a layer's
visibility outlives the item shown, so stepping through a dataset keeps the user's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (QColor, QKeyEvent, QKeySequence, QPainter, QPixmap, QShortcut, QTransform,
                           QWheelEvent)
from PySide6.QtWidgets import (QFrame, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView,
                               QHBoxLayout, QLabel, QStyleOptionGraphicsItem, QToolButton, QVBoxLayout, QWidget)

from desktop_app.catalog import AnnotationRecord

from .annotation_items import GROUND_TRUTH, LabelTag, layer_key, layer_title, make_annotation_items

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
WHEEL_STEP = 1.25


def clamp_zoom(z: float) -> float:
    return max(MIN_ZOOM, min(MAX_ZOOM, z))


def fit_zoom(image_w: float, image_h: float, view_w: float, view_h: float, margin: float = 8) -> float:
    """Scale that shows the whole image inside the view, with a margin each side."""
    if image_w <= 0 or image_h <= 0:
        return 1.0
    return clamp_zoom(min(max(1.0, view_w - 2 * margin) / image_w, max(1.0, view_h - 2 * margin) / image_h))


class LayerItem(QGraphicsItem):
    """An invisible parent: hides/shows its children together and, unlike a group, passes their events."""

    def __init__(self, key: str, title: str, z: float):
        super().__init__()
        self.key, self.title = key, title
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setZValue(z)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pass


class ImageViewer(QGraphicsView):
    zoom_changed = Signal(float)
    layers_changed = Signal()          # layers were added or removed (toggle menus rebuild)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QColor(38, 40, 44))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._pixmap_item.setZValue(0)
        self.scene().addItem(self._pixmap_item)
        self._image_size = (0, 0)
        self._layers: dict[str, LayerItem] = {}
        self._items: dict[str, list[QGraphicsItem]] = {}
        self._hidden: set[str] = set()
        self._fit_mode = True
        # Label tags keep their screen size, so whether two collide depends on the zoom: laid out again (once
        # per turn of the event loop) after items, visibility or zoom change.
        self._spread_timer = QTimer(self)
        self._spread_timer.setSingleShot(True)
        self._spread_timer.setInterval(0)
        self._spread_timer.timeout.connect(self.spread_tags)

    # -- image ----------------------------------------------------------------------------
    @property
    def image_size(self) -> tuple[int, int]:
        return self._image_size

    def set_image(self, pixmap: QPixmap | None, size: tuple[int, int] | None = None) -> None:
        """Show `pixmap` stretched over an image of `size` (a thumbnail stands in until the full image)."""
        pm = pixmap if pixmap is not None else QPixmap()
        w, h = size if size and size[0] and size[1] else (pm.width(), pm.height())
        new_size = (int(w), int(h))
        self._pixmap_item.setPixmap(pm)
        if not pm.isNull() and pm.width():
            self._pixmap_item.setScale(w / pm.width())
        if new_size != self._image_size:
            self._image_size = new_size
            self.setSceneRect(QRectF(0, 0, w, h))
            if self._fit_mode:
                self.fit()

    # -- layers ---------------------------------------------------------------------------
    def add_layer(self, key: str, title: str | None = None, z: float | None = None) -> LayerItem:
        layer = self._layers.get(key)
        if layer is None:
            # Predictions under the ground truth, so its label tags stay readable over dashed boxes.
            z = z if z is not None else (50 if key == GROUND_TRUTH else 10 + len(self._layers))
            layer = LayerItem(key, title or key, z)
            layer.setVisible(key not in self._hidden)
            self.scene().addItem(layer)
            self._layers[key] = layer
            self._items[key] = []
            self.layers_changed.emit()
        return layer

    def add_item(self, key: str, item: QGraphicsItem) -> None:
        item.setParentItem(self.add_layer(key))
        self._items[key].append(item)
        self._spread_timer.start()

    def clear_layer(self, key: str) -> None:
        for item in self._items.get(key, []):
            self.scene().removeItem(item)
        if key in self._items:
            self._items[key] = []

    def remove_layer(self, key: str) -> None:
        self.clear_layer(key)
        layer = self._layers.pop(key, None)
        self._items.pop(key, None)
        if layer is not None:
            self.scene().removeItem(layer)
            self.layers_changed.emit()

    def layers(self) -> dict[str, str]:
        """key -> title of every layer, ground truth first, the others in the order they were added."""
        return {k: v.title for k, v in sorted(self._layers.items(),
                                                key=lambda kv: (kv[0] != GROUND_TRUTH, kv[1].zValue()))}

    def set_layer_visible(self, key: str, visible: bool) -> None:
        (self._hidden.discard if visible else self._hidden.add)(key)
        if key in self._layers:
            self._layers[key].setVisible(visible)
        self._spread_timer.start()

    def layer_visible(self, key: str) -> bool:
        return key not in self._hidden

    def annotation_items(self, key: str | None = None) -> list[QGraphicsItem]:
        if key is not None:
            return list(self._items.get(key, []))
        return [it for items in self._items.values() for it in items]

    def visible_annotation_items(self) -> list[QGraphicsItem]:
        return [it for k, items in self._items.items() if k not in self._hidden for it in items]

    def tag_rects(self) -> list[tuple[LabelTag, QRectF]]:
        """Every shown label tag with its rectangle on screen (viewport pixels)."""
        out = []
        for it in self.visible_annotation_items():
            for tag in [it, *it.childItems()]:
                if isinstance(tag, LabelTag) and tag.isVisible():
                    # deviceTransform: right for tags that ignore the zoom under parents that do too (class chips)
                    out.append((tag, tag.deviceTransform(self.viewportTransform()).mapRect(tag.boundingRect())))
        return out

    def spread_tags(self) -> None:
        """Move label tags down until none covers another (a box's tag over a class chip in the corner, the tags
        of a box and its outline): the higher or more left one keeps its place."""
        for tag, _rect in self.tag_rects():
            tag.setTransform(QTransform())          # where each would be on its own
        placed: list[QRectF] = []
        for tag, rect in sorted(self.tag_rects(), key=lambda tr: (tr[1].top(), tr[1].left())):
            dy = 0.0
            for _ in range(len(placed) + 1):
                hit = next((o for o in placed if rect.translated(0, dy).intersects(o)), None)
                if hit is None:
                    break
                dy = hit.bottom() + 1 - rect.top()
            if dy:
                tag.setTransform(QTransform.fromTranslate(0, dy))
            placed.append(rect.translated(0, dy))

    def set_annotations(self, records: Iterable[AnnotationRecord], color_of: Callable[[str], QColor]) -> None:
        """Replace the ground-truth and prediction layers with these annotations (one item each)."""
        records = list(records)
        for key in [k for k in self._layers if k == GROUND_TRUTH or k.startswith("model:")]:
            self.remove_layer(key)
        titles = {}
        for rec in records:
            titles.setdefault(layer_key(rec), layer_title(rec))
        for key, title in sorted(titles.items(), key=lambda kv: (kv[0] != GROUND_TRUTH, kv[1])):
            self.add_layer(key, title)
        for key, item in make_annotation_items(records, color_of):
            self.add_item(key, item)

    # -- zoom and pan ---------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit_mode = True
        w, h = self._image_size
        self._set_zoom(fit_zoom(w, h, self.viewport().width(), self.viewport().height()))
        self.centerOn(QPointF(w / 2, h / 2))

    def zoom_to(self, factor: float) -> None:
        self._fit_mode = False
        self._set_zoom(clamp_zoom(factor))

    def zoom_by(self, factor: float) -> None:
        self.zoom_to(self.zoom * factor)

    def _set_zoom(self, z: float) -> None:
        if abs(z - self.zoom) > 1e-9:
            self.resetTransform()
            self.scale(z, z)
            self.zoom_changed.emit(z)
            self._spread_timer.start()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(WHEEL_STEP ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(WHEEL_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / WHEEL_STEP)
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.zoom_to(1.0)
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()


class ViewerPanel(QWidget):
    """The viewer with its bar: previous / next through the list it is fed, position, find similar, zoom, fit,
    close."""

    next_requested = Signal()
    previous_requested = Signal()
    close_requested = Signal()
    find_similar_requested = Signal()    # the item shown: the gallery sorted by similarity to it

    NEXT_KEYS = ("Right", "Down", "PgDown", "N", "Space")
    PREVIOUS_KEYS = ("Left", "Up", "PgUp", "P", "Backspace")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = ImageViewer(self)
        self.prev_button = _tool_button("◀", "Previous item (Left, P)")
        self.next_button = _tool_button("▶", "Next item (Right, N, Space)")
        self.similar_button = _tool_button("Similar", "Find similar items: the gallery sorted by similarity to "
                                                      "this one (Ctrl+Shift+F)")
        self.fit_button = _tool_button("Fit", "Fit the image (0, double-click)")
        self.one_button = _tool_button("1:1", "Actual pixels (1)")
        self.close_button = _tool_button("✕", "Close the viewer (Esc)")
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.position = QLabel()
        self.separator = QLabel("·")     # "1 / 28 · 8/1666.png", not "1 / 288/1666.png"
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(48)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(8)
        for w in (self.prev_button, self.next_button):
            bar.addWidget(w)
        bar.addWidget(self.position)
        bar.addWidget(self.separator)
        bar.addWidget(self.title, 1)
        for w in (self.similar_button, self.zoom_label, self.fit_button, self.one_button, self.close_button):
            bar.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.viewer, 1)
        self.prev_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.fit_button.clicked.connect(self.viewer.fit)
        self.one_button.clicked.connect(lambda: self.viewer.zoom_to(1.0))
        self.close_button.clicked.connect(self.close_requested)
        self.similar_button.clicked.connect(self.find_similar_requested)
        self.viewer.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, sig in ((self.NEXT_KEYS, self.next_requested), (self.PREVIOUS_KEYS, self.previous_requested),
                          (("Esc",), self.close_requested)):
            for k in keys:
                QShortcut(QKeySequence(k), self, sig.emit, ctx)

    def set_title(self, name: str, row: int, count: int) -> None:
        self.title.setText(name)
        self.title.setToolTip(name)
        self.position.setText(f"{row + 1:,} / {count:,}" if row >= 0 else f"– / {count:,}")
        self.prev_button.setEnabled(row > 0)
        self.next_button.setEnabled(0 <= row < count - 1)


def _tool_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b
