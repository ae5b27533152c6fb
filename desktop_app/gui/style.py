"""Look and feel: the style, status badge colours, light / dark following the system palette."""

from __future__ import annotations

import sys
from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.domain.status import ExecutionStatus, ModelStatus

ERROR_STYLE = "color: #d64545;"      # a refused value or a failure, in a label
CAUTION_STYLE = "color: #b07800;"    # something to know before going on


def esc(text: str) -> str:
    """Text for a rich-text label: &, < and > shown as themselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


STATUS_COLORS: dict[str, str] = {   # StrEnum keys: a status read back as a plain str finds its colour
    ModelStatus.CREATED: "#8a8f98", ModelStatus.PRE_TRAINED: "#4e79a7", ModelStatus.PENDING: "#d9a400",
    ModelStatus.TRAINING: "#f28e2b", ModelStatus.TRAINED: "#3f9b4a", ModelStatus.DEPLOYED: "#9467bd",
    ModelStatus.FAILED: "#d64545",
    # executions (created and failed read as the model's)
    ExecutionStatus.IN_PROGRESS: "#2f80ed", ExecutionStatus.SUCCESS: "#3f9b4a", ExecutionStatus.CANCELED: "#8a8f98",
    ExecutionStatus.INTERRUPTED: "#d9a400",
}


def apply_style(app: QApplication) -> None:
    """Fusion on Linux (it follows the system colour scheme in Qt 6.5+); native styles elsewhere."""
    if sys.platform.startswith("linux"):
        app.setStyle("Fusion")


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def status_color(status: str) -> QColor:
    return QColor(STATUS_COLORS.get(status, "#8a8f98"))


@lru_cache(maxsize=64)
def status_icon(status: str, size: int = 12) -> QIcon:
    """A round badge in the status's colour (cached: the navigator draws many). Its selected-row form is the same
    dot ringed in white, given explicitly: the style's generated one tints it with the highlight colour, and a blue
    dot on a blue selection vanished."""
    icon = QIcon(_dot(status, size, ring=False))
    icon.addPixmap(_dot(status, size, ring=True), QIcon.Mode.Selected)
    return icon


def _dot(status: str, size: int, *, ring: bool) -> QPixmap:
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if ring:
        p.setPen(QPen(QColor("white"), 1.5))
    else:
        p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(status_color(status))
    p.drawEllipse(QRectF(1.5, 1.5, size - 3, size - 3))
    p.end()
    return pm


def badge_stylesheet(status: str) -> str:
    c = status_color(status).name()
    return (f"QLabel {{ background: {c}; color: white; border-radius: 8px; padding: 2px 10px; "
            f"font-weight: 600; }}")


class StatusBadge(QLabel):
    """A coloured pill with the status text."""

    def __init__(self, status: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_status(status)

    def set_status(self, status: str) -> None:
        self.setText(status)
        self.setStyleSheet(badge_stylesheet(status))
        self.setVisible(bool(status))


def title_font(base: QFont, scale: float = 1.5) -> QFont:
    f = QFont(base)
    f.setPointSizeF(max(f.pointSizeF(), 9.0) * scale)
    f.setBold(True)
    return f


def muted(widget: QWidget) -> None:
    """Secondary text in the palette's placeholder colour: it follows a light / dark switch by itself."""
    widget.setForegroundRole(QPalette.ColorRole.PlaceholderText)


def monospace() -> QFont:
    f = QFont("monospace")
    f.setStyleHint(QFont.StyleHint.Monospace)
    return f
