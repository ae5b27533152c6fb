"""Coloured step chips in a table cell: a delegate that paints [(label, status), ...] from ChipsRole."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop_app.domain.status import PipelineRunStatus, StepStatus

from ..style import STATUS_COLORS

ChipsRole = Qt.ItemDataRole.UserRole + 20

SKIPPED = "skipped"   # a chip's state only: no step status says it
CHIP_COLORS = {**STATUS_COLORS, StepStatus.PENDING: "#c9ced6", StepStatus.RUNNING: "#2f80ed",
               PipelineRunStatus.PROMOTED: "#3f9b4a", PipelineRunStatus.DISCARDED: "#7b8794", SKIPPED: "#c9ced6"}
# Light chips carry dark text; the rest white.
DARK_TEXT = {StepStatus.PENDING, SKIPPED}
PAD_X, GAP, MARGIN_Y = 7, 4, 4


def chip_color(status: str) -> QColor:
    return QColor(CHIP_COLORS.get(status, "#8a8f98"))


class StepChipsDelegate(QStyledItemDelegate):
    """Paints one rounded chip per (label, status) pair; the tooltip (set on the item) says the statuses."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        chips = index.data(ChipsRole)
        if not chips:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = opt.font
        font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
        painter.setFont(font)
        fm = QFontMetrics(font)
        r = option.rect
        h = min(fm.height() + 4, r.height() - 2 * MARGIN_Y + 4)
        x = r.left() + 4
        y = r.top() + (r.height() - h) / 2
        for label, status in chips:
            w = fm.horizontalAdvance(label) + 2 * PAD_X
            rect = QRectF(x, y, w, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(chip_color(status))
            painter.drawRoundedRect(rect, h / 2, h / 2)
            painter.setPen(QColor("#1f2328") if status in DARK_TEXT else QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
            x += w + GAP
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt API
        chips = index.data(ChipsRole)
        if not chips:
            return super().sizeHint(option, index)
        font = option.font
        font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
        fm = QFontMetrics(font)
        width = sum(fm.horizontalAdvance(label) + 2 * PAD_X + GAP for label, _ in chips) + 8
        return QSize(width, fm.height() + 4 + 2 * MARGIN_Y)
