"""A pyqtgraph ViewBox where a left-button drag draws a selection rectangle (brushing) instead of panning."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

BRUSH_FILL = QColor(47, 128, 237, 50)
BRUSH_EDGE = QColor(47, 128, 237, 200)


class BrushViewBox(pg.ViewBox):
    """Left drag: a rectangle in view coordinates (`brushed` on release); a plain click: `clicked`.
    The wheel still zooms; the right button keeps pyqtgraph's menu."""

    brushed = Signal(QRectF)
    clicked = Signal(QPointF)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setMouseEnabled(False, False)
        self.rubber = QGraphicsRectItem()
        self.rubber.setPen(QPen(BRUSH_EDGE, 0))
        self.rubber.setBrush(QBrush(BRUSH_FILL))
        self.rubber.setZValue(1e6)
        self.rubber.hide()
        self.addItem(self.rubber, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph API
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        a = self.mapSceneToView(ev.buttonDownScenePos())
        b = self.mapSceneToView(ev.scenePos())
        rect = QRectF(a, b).normalized()
        if ev.isFinish():
            self.rubber.hide()
            self.brushed.emit(rect)
        else:
            self.rubber.setRect(rect)
            self.rubber.show()

    def mouseClickEvent(self, ev):  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapSceneToView(ev.scenePos()))
            return
        super().mouseClickEvent(ev)
