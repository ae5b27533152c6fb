"""The thumbnail gallery: a grid view whose layout is arithmetic (no per-item layout pass), and its delegate.

QListView's icon/wrapping modes lay out every row on each reset or resize (over a second for 100k rows);
here the position of row i is (i % cols, i // cols), so only the rows in sight are ever touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QRegion
from PySide6.QtWidgets import (QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QWidget)

from desktop_app.catalog import ItemRecord
from desktop_app.gui.colors import LabelColors
from desktop_app.gui.gc_policy import note_activity
from desktop_app.gui.itemmodels.gallery_model import GalleryRow, NoteRole, RowRole, ThumbErrorRole
from desktop_app.gui.thumbnails import THUMB_SIZE

from .annotation_items import MASK_ALPHA, annotation_pen, fill_color, text_color_on

PAD = 6
TEXT_H = 18
SUBSET_COLORS = {"train": "#4e79a7", "validation": "#f28e2b", "test": "#59a14f"}
_CAPTION_FLAGS = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


# ---------------------------------------------------------------- layout math (no Qt)

@dataclass(frozen=True)
class GridLayout:
    count: int
    width: int
    cell_w: int
    cell_h: int

    @property
    def cols(self) -> int:
        return max(1, self.width // self.cell_w)

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.cols) if self.count > 0 else 0

    @property
    def x0(self) -> int:
        """Left margin that centres the columns in the width."""
        return max(0, (self.width - self.cols * self.cell_w) // 2)

    @property
    def height(self) -> int:
        return self.rows * self.cell_h

    def cell(self, i: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) of item i in content coordinates."""
        r, c = divmod(i, self.cols)
        return self.x0 + c * self.cell_w, r * self.cell_h, self.cell_w, self.cell_h

    def index_at(self, x: int, y: int) -> int:
        if y < 0 or x < self.x0:
            return -1
        c = (x - self.x0) // self.cell_w
        if c >= self.cols:
            return -1
        i = (y // self.cell_h) * self.cols + c
        return i if i < self.count else -1

    def visible(self, y0: int, y1: int) -> tuple[int, int]:
        """First and last item (inclusive) whose row intersects content rows y0..y1; (0, -1) if none."""
        if self.count <= 0 or y1 < y0:
            return 0, -1
        r0 = max(0, y0 // self.cell_h)
        r1 = max(0, y1 // self.cell_h)
        first = r0 * self.cols
        last = min(self.count - 1, (r1 + 1) * self.cols - 1)
        return (first, last) if first <= last else (0, -1)

    def in_rect(self, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
        """Item ranges (first, last) per grid row touched by a content rectangle (rubber-band selection)."""
        if self.count <= 0:
            return []
        c0 = max(0, (min(x0, x1) - self.x0) // self.cell_w)
        c1 = min(self.cols - 1, (max(x0, x1) - self.x0) // self.cell_w)
        r0 = max(0, min(y0, y1) // self.cell_h)
        r1 = min(self.rows - 1, max(y0, y1) // self.cell_h)
        out = []
        for r in range(r0, r1 + 1):
            a, b = r * self.cols + c0, min(self.count - 1, r * self.cols + c1)
            if a <= b:
                out.append((a, b))
        return out

    def scroll_for(self, i: int, top: int, view_h: int, hint: str = "visible") -> int:
        """Scroll value that brings item i into view: 'visible' (least motion), 'top', 'bottom', 'center'."""
        _, y, _, h = self.cell(i)
        if hint == "top":
            v = y
        elif hint == "bottom":
            v = y + h - view_h
        elif hint == "center":
            v = y + h // 2 - view_h // 2
        elif y < top:
            v = y
        elif y + h > top + view_h:
            v = y + h - view_h
        else:
            v = top
        return max(0, min(v, max(0, self.height - view_h)))


def move_index(i: int, action: str, cols: int, page_rows: int, count: int) -> int:
    """Keyboard navigation: the item reached from i by action, clipped to the list."""
    if count <= 0:
        return -1
    if i < 0:
        return 0
    step = {"left": -1, "right": 1, "up": -cols, "down": cols,
            "page_up": -cols * max(1, page_rows), "page_down": cols * max(1, page_rows)}
    if action == "home":
        return 0
    if action == "end":
        return count - 1
    return max(0, min(count - 1, i + step.get(action, 0)))


def thumb_rect(cell: QRect, box: int) -> QRect:
    """The square thumbnail area of a cell (centred, above the name)."""
    return QRect(cell.x() + (cell.width() - box) // 2, cell.y() + PAD, box, box)


def fit_in(w: int, h: int, area: QRect) -> QRectF:
    """Rectangle of a w x h image drawn centred inside `area`, aspect kept."""
    if w <= 0 or h <= 0:
        return QRectF(area)
    s = min(area.width() / w, area.height() / h)
    dw, dh = w * s, h * s
    return QRectF(area.x() + (area.width() - dw) / 2, area.y() + (area.height() - dh) / 2, dw, dh)


# ---------------------------------------------------------------- delegate

def caption_of(name: str) -> str:
    """A thumbnail's caption: the file name with its folder ("8/1666.png": an image folder's class), deeper
    folders left out; elided in the middle when painted, so both ends stay readable."""
    return "/".join(name.strip("/").split("/")[-2:])


class GalleryDelegate(QStyledItemDelegate):
    """Paints a thumbnail, the annotations of the visible layers over it, and the item name (after a note, such as
    find similar's distance, when the row has one)."""

    def __init__(self, parent: QWidget | None = None, thumb_size: int = THUMB_SIZE):
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.colors = LabelColors()
        self.hidden_layers: set[str] = set()
        self.small = QFont()
        self.small.setPixelSize(11)
        self._fm = QFontMetrics(self.small)
        self._pens: dict[tuple[str, bool], QPen] = {}
        self._subset_colors = {k: QColor(v) for k, v in SUBSET_COLORS.items()}
        self._other_subset = QColor("#888888")
        self._text_color = QColor(Qt.GlobalColor.black)
        self.note_font = QFont(self.small)
        self.note_font.setBold(True)
        self._note_fm = QFontMetrics(self.note_font)

    def set_colors(self, colors: LabelColors) -> None:
        self.colors = colors
        self._pens.clear()

    def cell_size(self) -> QSize:
        return QSize(self.thumb_size + 2 * PAD + 8, self.thumb_size + 2 * PAD + TEXT_H)

    def sizeHint(self, option, index) -> QSize:
        return self.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        """The generic path (any view): read the roles, then paint as the gallery does."""
        self.paint_row(painter, option, index.data(RowRole), index.data(Qt.ItemDataRole.DecorationRole),
                       index.data(ThumbErrorRole), note=index.data(NoteRole))

    def paint_row(self, painter: QPainter, option: QStyleOptionViewItem, row: GalleryRow | None,
                  pm, error: str | None, note: str | None = None) -> None:
        painter.save()
        rect = option.rect
        cell = rect.adjusted(2, 2, -2, -2)
        pal = option.palette
        self._text_color = pal.color(QPalette.ColorRole.Text)
        painter.setFont(self.small)
        state = option.state
        if state & QStyle.StateFlag.State_Selected or state & QStyle.StateFlag.State_MouseOver:
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlpha(90 if state & QStyle.StateFlag.State_Selected else 35)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hl)
            painter.drawRoundedRect(cell, 4, 4)
        area = thumb_rect(rect, self.thumb_size)
        if pm is not None and not pm.isNull():
            target = fit_in(pm.width(), pm.height(), area)
            if target.width() == pm.width() and target.height() == pm.height():
                painter.drawPixmap(target.topLeft(), pm)
            else:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawPixmap(target, pm, QRectF(pm.rect()))
            if row is not None and row.shapes:
                self._paint_shapes(painter, row, target)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(128, 128, 128, 40))
            painter.drawRect(area)
            if error:
                painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 "no image" if error == "no image file" else "cannot show")
        if row is not None:
            self._paint_caption(painter, option, row.item, area, note)
        if state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cell, 4, 4)
        painter.restore()

    def _paint_caption(self, painter: QPainter, option, item: ItemRecord, area: QRect,
                       note: str | None = None) -> None:
        text_rect = QRect(area.x() - 4, area.bottom() + 3, area.width() + 8, TEXT_H - 4)
        if note:
            # The note first, in bold (the distance a similar list is sorted by); the name gets what is left.
            painter.setFont(self.note_font)
            painter.setPen(option.palette.color(QPalette.ColorRole.Highlight))
            w = self._note_fm.horizontalAdvance(note) + 2
            painter.drawText(QRect(text_rect.x(), text_rect.y(), w, text_rect.height()), _CAPTION_FLAGS, note)
            painter.setFont(self.small)
            text_rect.adjust(w + 4, 0, 0, 0)
        if item.subset:
            # A coloured dot says the subset without spending caption width on it.
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._subset_colors.get(item.subset, self._other_subset))
            painter.drawEllipse(QRectF(text_rect.x(), text_rect.center().y() - 3, 7, 7))
            text_rect.adjust(10, 0, 0, 0)
        painter.setPen(self._text_color)
        name = caption_of(item.name)
        if note and self._fm.horizontalAdvance(name) > text_rect.width():
            name = name.rsplit("/", 1)[-1]     # beside a note the file name alone, rather than both cut short
        painter.drawText(text_rect, _CAPTION_FLAGS, self._fm.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                                          text_rect.width()))

    def _pen(self, label: str, prediction: bool) -> QPen:
        pen = self._pens.get((label, prediction))
        if pen is None:
            pen = self._pens[(label, prediction)] = annotation_pen(self.colors(label), prediction, 1.5)
        return pen

    def _paint_shapes(self, painter: QPainter, row: GalleryRow, target: QRectF) -> None:
        item = row.item
        if not item.width or not item.height:
            return
        sx, sy = target.width() / item.width, target.height() / item.height
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setClipRect(target)
        painter.translate(target.x(), target.y())
        painter.scale(sx, sy)          # shapes are in image pixels; pens are cosmetic
        chips = []
        for sh in row.shapes:
            if sh.layer in self.hidden_layers:
                continue
            color = self.colors(sh.label)
            if sh.type == "box":
                painter.setPen(self._pen(sh.label, sh.prediction))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(sh.geometry)
            elif sh.type == "segment":
                painter.setPen(self._pen(sh.label, sh.prediction))
                painter.setBrush(fill_color(color, sh.prediction))
                for poly in sh.geometry:
                    painter.drawPolygon(poly)
            elif sh.type == "mask":        # its pixels, translucent, and its outline (a MaskThumb: a few KB)
                fill = QColor(color)
                fill.setAlpha(MASK_ALPHA[0 if sh.prediction else 1])
                sh.geometry.paint(painter, fill, self._pen(sh.label, sh.prediction))
            elif sh.type == "point":
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                painter.drawEllipse(sh.geometry, 2.5 / sx, 2.5 / sy)
            elif sh.type == "class":
                chips.append((sh.caption, color))
        painter.restore()
        for slot, (text, color) in enumerate(chips[:3]):
            self._paint_chip(painter, text, color, target, slot)

    def _paint_chip(self, painter: QPainter, text: str, color: QColor, target: QRectF, slot: int) -> None:
        fm = self._fm
        w = min(fm.horizontalAdvance(text) + 8, int(target.width()) - 4)
        r = QRectF(target.x() + 2, target.bottom() - 2 - (slot + 1) * (fm.height() + 2), w, fm.height() + 1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(r, 2, 2)
        painter.setPen(text_color_on(color))
        painter.drawText(r.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(text, Qt.TextElideMode.ElideRight, int(r.width()) - 6))


# ---------------------------------------------------------------- view

_ACTIONS = {
    QAbstractItemView.CursorAction.MoveLeft: "left", QAbstractItemView.CursorAction.MovePrevious: "left",
    QAbstractItemView.CursorAction.MoveRight: "right", QAbstractItemView.CursorAction.MoveNext: "right",
    QAbstractItemView.CursorAction.MoveUp: "up", QAbstractItemView.CursorAction.MoveDown: "down",
    QAbstractItemView.CursorAction.MovePageUp: "page_up", QAbstractItemView.CursorAction.MovePageDown: "page_down",
    QAbstractItemView.CursorAction.MoveHome: "home", QAbstractItemView.CursorAction.MoveEnd: "end",
}
_HINTS = {
    QAbstractItemView.ScrollHint.PositionAtTop: "top", QAbstractItemView.ScrollHint.PositionAtBottom: "bottom",
    QAbstractItemView.ScrollHint.PositionAtCenter: "center",
}


class GalleryView(QAbstractItemView):
    """A virtualised grid of equal cells. After each paint it tells the model which rows are in sight."""

    painted = Signal(int, int, bool)     # first, last visible row, every one of them fully drawn
    context_requested = Signal(int, QPoint)   # row under a right-click (-1: none), where (global): its menu

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.verticalScrollBar().valueChanged.connect(note_activity)   # no full GC pass mid-scroll
        self.gallery_delegate = GalleryDelegate(self)
        self.setItemDelegate(self.gallery_delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMouseTracking(True)
        self.update_cell_size()
        self._hover = -1
        self._visible = (0, -1)
        # True while Qt makes the first cell current only because the view took the focus (focusInEvent):
        # a page opens nothing the user did not ask for then.
        self.focusing = False

    def update_cell_size(self) -> None:
        s = self.gallery_delegate.cell_size()
        self._cell = (s.width(), s.height())

    def grid(self) -> GridLayout:
        m = self.model()
        n = m.rowCount(self.rootIndex()) if m is not None else 0
        return GridLayout(n, self.viewport().width(), *self._cell)

    @property
    def visible_rows(self) -> tuple[int, int]:
        return self._visible

    # -- QAbstractItemView geometry API ---------------------------------------------------
    def visualRect(self, index: QModelIndex) -> QRect:
        if not index.isValid():
            return QRect()
        x, y, w, h = self.grid().cell(index.row())
        return QRect(x, y - self.verticalOffset(), w, h)

    def indexAt(self, point) -> QModelIndex:
        i = self.grid().index_at(point.x(), point.y() + self.verticalOffset())
        return self.model().index(i, 0, self.rootIndex()) if i >= 0 else QModelIndex()

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if not index.isValid():
            return
        sb = self.verticalScrollBar()
        sb.setValue(self.grid().scroll_for(index.row(), sb.value(), self.viewport().height(),
                                           _HINTS.get(hint, "visible")))

    def moveCursor(self, action, modifiers) -> QModelIndex:
        g = self.grid()
        page_rows = max(1, self.viewport().height() // g.cell_h)
        i = move_index(self.currentIndex().row(), _ACTIONS.get(action, ""), g.cols, page_rows, g.count)
        return self.model().index(i, 0, self.rootIndex()) if i >= 0 else QModelIndex()

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:
        return False

    def setSelection(self, rect: QRect, command) -> None:
        off = self.verticalOffset()
        sel = QItemSelection()
        m, root = self.model(), self.rootIndex()
        for a, b in self.grid().in_rect(rect.left(), rect.top() + off, rect.right(), rect.bottom() + off):
            sel.select(m.index(a, 0, root), m.index(b, 0, root))
        self.selectionModel().select(sel, command)

    def visualRegionForSelection(self, selection) -> QRegion:
        first, last = self._visible
        region = QRegion()
        for rng in selection:
            a, b = max(rng.top(), first), min(rng.bottom(), last)
            for i in range(a, b + 1):
                region += self.visualRect(self.model().index(i, 0, self.rootIndex()))
        return region

    def updateGeometries(self) -> None:
        g = self.grid()
        vh = self.viewport().height()
        sb = self.verticalScrollBar()
        sb.setRange(0, max(0, g.height - vh))
        sb.setPageStep(max(1, vh))
        sb.setSingleStep(max(1, g.cell_h // 3))
        super().updateGeometries()

    # -- model changes ----------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._hover = -1
        self.updateGeometries()
        self.viewport().update()

    def rowsInserted(self, parent, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        self.scheduleDelayedItemsLayout()

    def rowsAboutToBeRemoved(self, parent, start: int, end: int) -> None:
        super().rowsAboutToBeRemoved(parent, start, end)
        self.scheduleDelayedItemsLayout()

    # -- painting and mouse -----------------------------------------------------------------
    def paintEvent(self, event) -> None:
        m = self.model()
        if m is None:
            return
        g = self.grid()
        off = self.verticalOffset()
        region = event.region()
        exposed = region.boundingRect()
        first, last = g.visible(exposed.top() + off, exposed.bottom() + off)
        painter = QPainter(self.viewport())
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        sel = self.selectionModel()
        current = self.currentIndex().row()
        focus = self.hasFocus()
        base_state = option.state
        root = self.rootIndex()
        fast = hasattr(m, "paint_info") and isinstance(self.itemDelegate(), GalleryDelegate)
        notes = bool(getattr(m, "notes", None))
        delegate = self.itemDelegate()
        for i in range(first, last + 1):
            x, y, w, h = g.cell(i)
            rect = QRect(x, y - off, w, h)
            if not region.intersects(rect):
                continue
            idx = m.index(i, 0, root)
            option.rect = rect
            state = base_state
            if sel is not None and sel.isSelected(idx):
                state |= QStyle.StateFlag.State_Selected
            if i == current and focus:
                state |= QStyle.StateFlag.State_HasFocus
            if i == self._hover:
                state |= QStyle.StateFlag.State_MouseOver
            option.state = state
            if fast:
                delegate.paint_row(painter, option, *m.paint_info(i), note=m.note(i) if notes else None)
            else:
                delegate.paint(painter, option, idx)
        painter.end()
        vf, vl = g.visible(off, off + self.viewport().height() - 1)
        self._visible = (vf, vl)
        if hasattr(m, "set_visible_rows"):
            m.set_visible_rows(vf, vl)
        complete = getattr(m, "settled", True) and all(m.row_ready(i) for i in range(vf, vl + 1)) \
            if hasattr(m, "row_ready") else True
        self.painted.emit(vf, vl, complete)

    def mouseMoveEvent(self, event) -> None:
        i = self.grid().index_at(int(event.position().x()), int(event.position().y()) + self.verticalOffset())
        if i != self._hover:
            old, self._hover = self._hover, i
            for j in (old, i):
                if j >= 0:
                    self.viewport().update(self.visualRect(self.model().index(j, 0, self.rootIndex())))
        super().mouseMoveEvent(event)

    def contextMenuEvent(self, event) -> None:
        """The page builds the menu (it knows what the row's item can do): a right-click says where."""
        self.context_requested.emit(self.indexAt(event.pos()).row(), event.globalPos())
        event.accept()

    def focusInEvent(self, event) -> None:
        self.focusing = True
        try:
            super().focusInEvent(event)
        finally:
            self.focusing = False

    def leaveEvent(self, event) -> None:
        if self._hover >= 0:
            old, self._hover = self._hover, -1
            self.viewport().update(self.visualRect(self.model().index(old, 0, self.rootIndex())))
        super().leaveEvent(event)
