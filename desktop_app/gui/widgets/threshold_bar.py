"""Confidence and IoU threshold sliders; while one is dragged, `changed` fires at most every THROTTLE_MS."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget
from superqt import QLabeledDoubleSlider
from superqt.utils import qthrottled

IOU_TITLES = {"masks": "Mask IoU ≥", "semantic": "A class on an image is a mistake below IoU"}
IOU_TIPS = {"boxes": "A prediction matches a ground truth overlapping it at least this much",
            "masks": "A predicted mask matches a ground-truth mask (or polygon) whose pixels overlap it at least this "
                     "much (intersection over union)",
            "semantic": "An image's class whose IoU there is below this is listed as a mistake (the images worst "
                        "first, and regressions against another model); the pixel figures count every pixel"}
THROTTLE_MS = 60      # a redraw costs tens of ms on big evaluations: a few per second keeps dragging smooth


def _slider(lo: float, hi: float, value: float, tip: str) -> QLabeledDoubleSlider:
    s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setSingleStep(0.01)
    s.setDecimals(2)
    s.setValue(value)
    s.setToolTip(tip)
    s.setMinimumWidth(120)
    return s


class ThresholdBar(QWidget):
    changed = Signal(float, float)          # confidence, IoU

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.confidence = _slider(0.0, 1.0, 0.0, "Predictions scoring below this are dropped")
        self.iou = _slider(0.05, 1.0, 0.5, "A prediction matches a ground truth overlapping it at least this much")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.confidence_label = QLabel("Confidence ≥")
        lay.addWidget(self.confidence_label)
        lay.addWidget(self.confidence, 1)
        lay.addSpacing(16)
        self.iou_label = QLabel("IoU ≥")
        lay.addWidget(self.iou_label)
        lay.addWidget(self.iou, 1)
        self._emit_throttled = qthrottled(self._emit, timeout=THROTTLE_MS, leading=True)
        self.confidence.valueChanged.connect(lambda _v: self._emit_throttled())
        self.iou.valueChanged.connect(lambda _v: self._emit_throttled())

    def values(self) -> tuple[float, float]:
        return round(float(self.confidence.value()), 4), round(float(self.iou.value()), 4)

    def set_values(self, confidence: float, iou: float) -> None:
        """Set both without emitting (the page sets what it already shows)."""
        for s, v in ((self.confidence, confidence), (self.iou, iou)):
            s.blockSignals(True)
            s.setValue(v)
            s.blockSignals(False)

    def set_kind(self, kind: str) -> None:
        """Instance masks match by mask IoU (their pixels), boxes by box IoU; a semantic evaluation has no
        confidence to move, and its IoU decides which of an image's classes count as mistakes."""
        self.confidence.setVisible(kind != "semantic")
        self.confidence_label.setVisible(kind != "semantic")
        self.iou_label.setText(IOU_TITLES.get(kind, "IoU ≥"))
        self.iou.setToolTip(IOU_TIPS.get(kind, IOU_TIPS["boxes"]))

    def set_iou_enabled(self, on: bool) -> None:
        """A classification evaluation has no IoU."""
        self.iou.setEnabled(on)
        self.iou.setVisible(on)
        self.iou_label.setVisible(on)

    def _emit(self) -> None:
        self.changed.emit(*self.values())
