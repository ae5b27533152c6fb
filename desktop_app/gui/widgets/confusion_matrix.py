"""A confusion matrix drawn as a heat map: rows true class, columns predicted, a click picks a cell.

The diagonal can be hidden (it usually dwarfs the mistakes); the colour scale then covers the rest. It counts
instances (detection, classification) or pixels (semantic segmentation: millions a cell, shown as row shares,
the counts in the tooltip).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from ..style import is_dark, muted

CELL_MAX, CELL_MIN = 64, 18
SLANTED_MAX = 150    # a column label longer than this (px) is elided


def heat(value: float, dark: bool) -> QColor:
    """0..1 -> a blue ramp that stays readable on either background."""
    v = max(0.0, min(1.0, value))
    if dark:
        return QColor.fromRgbF(0.12 + 0.05 * v, 0.16 + 0.30 * v, 0.22 + 0.62 * v)
    return QColor.fromRgbF(0.97 - 0.78 * v, 0.98 - 0.55 * v, 1.0 - 0.30 * v)


def compact(v: float) -> str:
    """A count that fits a cell: 950, 12k, 3.4M, 1.2G."""
    v = float(v)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            x = v / scale
            return f"{x:.1f}{suffix}" if x < 10 else f"{x:.0f}{suffix}"
    return f"{int(v)}"


def share_text(v: float) -> str:
    """A row share: '37%', and '<1%' for a few stray pixels (not '0%', which reads as none)."""
    return "<1%" if 0 < v < 0.005 else f"{v:.0%}"


class ConfusionMatrixView(QWidget):
    cell_clicked = Signal(int, int)          # row (true), column (predicted)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.labels: list[str] = []
        self.matrix = np.zeros((0, 0), np.int64)
        self.hide_diagonal = False
        self.normalize = False
        self.selected: tuple[int, int] | None = None
        self.title = ""
        self.row_title, self.col_title = "true", "predicted"
        self.unit = ""                       # "pixels": counts in the tooltip say what they count
        self.clickable = True                # a pixel matrix lists no instances: no click, no hand cursor
        self.font_small = QFont(self.font())
        self.font_small.setPixelSize(11)
        self._margin_cache: tuple | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- data -------------------------------------------------------------------------------
    def set_matrix(self, labels: Sequence[str], matrix) -> None:
        self.labels = [str(x) for x in labels]
        self.matrix = np.asarray(matrix, np.int64).reshape(len(self.labels), len(self.labels)) if len(labels) \
            else np.zeros((0, 0), np.int64)
        if self.selected and not (self.selected[0] < len(self.labels) and self.selected[1] < len(self.labels)):
            self.selected = None
        self.updateGeometry()          # the minimum size follows the number of classes
        self.update()

    def set_hide_diagonal(self, on: bool) -> None:
        self.hide_diagonal = on
        self.update()

    def set_normalize(self, on: bool) -> None:
        self.normalize = on
        self.update()

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def shown_values(self) -> np.ndarray:
        """What the cells show: counts, or shares of each true class (row), diagonal masked when hidden."""
        m = self.matrix.astype(np.float64)
        if self.normalize and m.size:
            rows = m.sum(axis=1, keepdims=True)
            m = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        if self.hide_diagonal and m.size:
            m = m.copy()
            np.fill_diagonal(m, np.nan)
        return m

    # -- geometry ---------------------------------------------------------------------------
    def _margins(self) -> tuple[float, float]:
        """Room for the row labels (left) and the slanted column labels (top); measured once per label set."""
        return self._geometry()[:2]

    def _geometry(self) -> tuple[float, float, float]:
        """(left, top, right): the right margin is where the last column's slanted label runs past the grid
        (it was cut off: "(no prediction)", the last column, lost its end)."""
        key = (tuple(self.labels), self.title)
        if self._margin_cache is None or self._margin_cache[0] != key:
            fm = QFontMetricsF(self.font_small)
            widest = max((fm.horizontalAdvance(lb) for lb in self.labels), default=20)
            slanted = min(widest, SLANTED_MAX) * 0.71       # a 45-degree label's width and height
            left, top = min(widest + 26, 160), slanted + fm.height() + 12
            if self.title:
                top += fm.height() + 4
            self._margin_cache = (key, (left, top, max(0.0, slanted - CELL_MIN / 2) + 4))
        return self._margin_cache[1]

    def _cell(self) -> float:
        n = max(1, len(self.labels))
        left, top, right = self._geometry()
        size = min((self.width() - left - right - 8) / n, (self.height() - top - 24) / n)
        return max(CELL_MIN, min(CELL_MAX, size))

    def minimum_for(self) -> QSize:
        """The least room that shows every cell (at CELL_MIN) with its labels."""
        left, top, right = self._geometry()
        n = max(1, len(self.labels))
        return QSize(int(left + right + n * CELL_MIN + 8), int(top + n * CELL_MIN + 24))

    def cell_rect(self, i: int, j: int) -> QRectF:
        left, top = self._margins()
        c = self._cell()
        return QRectF(left + j * c, top + i * c, c, c)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        left, top = self._margins()
        c = self._cell()
        n = len(self.labels)
        j = int((pos.x() - left) // c)
        i = int((pos.y() - top) // c)
        if 0 <= i < n and 0 <= j < n and pos.x() >= left and pos.y() >= top:
            return i, j
        return None

    def sizeHint(self) -> QSize:
        left, top, right = self._geometry()
        n = max(1, len(self.labels))
        return QSize(int(left + right + n * 44 + 10), int(top + n * 44 + 24))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        m = self.minimum_for()
        return QSize(max(180, m.width()), max(160, m.height()))

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setFont(self.font_small)
        pal = self.palette()
        dark = is_dark(self)
        text = pal.color(QPalette.ColorRole.Text)
        n = len(self.labels)
        left, top = self._margins()
        c = self._cell()
        fm = QFontMetricsF(self.font_small)
        if self.title:
            f = QFont(self.font_small)
            f.setBold(True)
            p.setFont(f)
            p.setPen(text)
            p.drawText(QRectF(0, 2, self.width(), fm.height() + 2), Qt.AlignmentFlag.AlignHCenter, self.title)
            p.setFont(self.font_small)
        if n == 0:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No confusion matrix")
            return
        def cell_rect(i: int, j: int) -> QRectF:
            return QRectF(left + j * c, top + i * c, c, c)

        vals = self.shown_values()
        finite = vals[np.isfinite(vals)]
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        for i in range(n):
            for j in range(n):
                r = cell_rect(i, j)
                v = vals[i, j]
                if np.isnan(v):
                    p.fillRect(r, pal.color(QPalette.ColorRole.AlternateBase))
                    continue
                share = v / vmax
                bg = heat(share, dark)
                p.fillRect(r, bg)
                if c >= 22:
                    if v == 0:
                        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                    elif dark:
                        p.setPen(QColor("#f0f0f0"))
                    else:
                        p.setPen(QColor("white") if share > 0.55 else QColor("#1d1d1d"))
                    p.drawText(r, Qt.AlignmentFlag.AlignCenter, share_text(v) if self.normalize else compact(v))
        grid = QPen(pal.color(QPalette.ColorRole.Mid))
        grid.setWidthF(0.5)
        p.setPen(grid)
        for k in range(n + 1):
            p.drawLine(QPointF(left, top + k * c), QPointF(left + n * c, top + k * c))
            p.drawLine(QPointF(left + k * c, top), QPointF(left + k * c, top + n * c))
        if self.selected is not None:
            pen = QPen(pal.color(QPalette.ColorRole.Highlight), 2.5)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(cell_rect(*self.selected).adjusted(1, 1, -1, -1))
        p.setPen(text)
        for i, lb in enumerate(self.labels):      # row labels (true class)
            r = QRectF(0, top + i * c, left - 6, c)
            p.drawText(r, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(lb, Qt.TextElideMode.ElideRight, left - 24))
        for j, lb in enumerate(self.labels):      # column labels (predicted), slanted
            p.save()
            p.translate(left + j * c + c / 2 + 3, top - 4)
            p.rotate(-45)
            p.drawText(QPointF(0, 0), fm.elidedText(lb, Qt.TextElideMode.ElideRight, SLANTED_MAX))
            p.restore()
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        p.save()
        p.translate(10, top + n * c / 2)
        p.rotate(-90)
        p.drawText(QRectF(-60, -8, 120, 16), Qt.AlignmentFlag.AlignCenter, self.row_title)
        p.restore()
        p.drawText(QRectF(left, top + n * c + 2, n * c, 16), Qt.AlignmentFlag.AlignCenter, self.col_title)

    # -- mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            if not self.clickable:
                return
            if self.hide_diagonal and cell[0] == cell[1]:
                return
            self.selected = cell
            self.update()
            self.cell_clicked.emit(*cell)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if cell is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(), self.cell_tip(*cell), self)
        n = int(self.matrix[cell])
        self.setCursor(Qt.CursorShape.PointingHandCursor if n and self.clickable else Qt.CursorShape.ArrowCursor)

    def cell_tip(self, i: int, j: int) -> str:
        """'true road, predicted sky: 1,234,567 pixels (12.3% of road)'."""
        n = int(self.matrix[i, j])
        total = int(self.matrix[i].sum())
        share = f" ({n / total:.1%} of {self.labels[i]})" if total else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"true {self.labels[i]}, predicted {self.labels[j]}: {n:,}{unit}{share}"


class ConfusionPanel(QWidget):
    """The matrix with its toggles: hide the diagonal, show shares of each true class."""

    cell_clicked = Signal(int, int)

    def __init__(self, title: str = "", parent: QWidget | None = None, *, compact: bool = False):
        super().__init__(parent)
        self.matrix = ConfusionMatrixView()
        self.matrix.title = title
        self.matrix.cell_clicked.connect(self.cell_clicked)
        self.hide_diagonal = QCheckBox("Hide the diagonal")
        self.hide_diagonal.toggled.connect(self.matrix.set_hide_diagonal)
        self.normalize = QCheckBox("Row shares")
        self.normalize.setToolTip("Each cell as a share of its true class (row)")
        self.normalize.toggled.connect(self.matrix.set_normalize)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if not compact:
            bar = QHBoxLayout()
            bar.addWidget(self.hide_diagonal)
            bar.addWidget(self.normalize)
            bar.addStretch(1)
            lay.addLayout(bar)
            self.hint = QLabel("Click a cell to list its instances.")
            self.hint.setWordWrap(True)
            muted(self.hint)
            lay.addWidget(self.hint)
        lay.addWidget(self.matrix, 1)

    def set_matrix(self, labels: Sequence[str], matrix) -> None:
        self.matrix.set_matrix(labels, matrix)

    def set_unit(self, unit: str) -> None:
        """'pixels': a semantic evaluation's matrix: shown as shares of each true class (the counts run to
        millions), counts in the tooltip, no cell to click; '' (instances) goes back to counts."""
        pixels = unit == "pixels"
        self.matrix.unit = unit
        self.matrix.clickable = not pixels
        self.normalize.setChecked(pixels)
        self.normalize.setToolTip("Each cell as a share of its true class's pixels (row)" if pixels
                                  else "Each cell as a share of its true class (row)")
        if hasattr(self, "hint"):
            self.hint.setText("Each row: where that class's pixels went (shares of the row); hover a cell for "
                              "its pixel count." if pixels else "Click a cell to list its instances.")
        self.matrix.update()
