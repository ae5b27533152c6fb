"""The error gallery: filters (TP / FP / FN, class, confidence and IoU ranges, order, crops or images) with
counts, over a virtualised grid of crops or whole images with the annotations drawn in their TP/FP/FN colours.
In a mask evaluation a crop is cut around the mask (its box, with context) and the masks and polygons are drawn
as their areas (translucent, outlined), as the review viewer draws them.

A thin binder: it reports the filter (`filter_changed`) and shows the rows the page selected with
`show_rows`; selection and counting live in `evaluation.review`. A right-click (or Ctrl+Shift+F) on an image
asks for the items like it (`find_similar`: the window opens its dataset's gallery sorted by similarity).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QPainter, QPainterPath, QPalette, QPen, QShortcut
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QMenu, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QToolButton, QVBoxLayout, QWidget)
from superqt import QLabeledDoubleRangeSlider
from superqt.utils import qthrottled

from desktop_app.evaluation.review import FN, FP, GT_MATCHED, TP, InstanceFilter, InstanceTable

from ..itemmodels.instances_model import InstancesModel
from ..style import muted
from .annotation_items import MaskThumb, text_color_on
from .gallery import GalleryView, fit_in
from .review_viewer import AREA_ALPHA, KIND_COLORS, SELECTED_ALPHA

THUMB = 132
PAD = 5
CAPTION_H = 20
KIND_OF_CODE = {TP: "tp", FP: "fp", FN: "fn", GT_MATCHED: "gt"}


def crop_region(box, width: float, height: float, context: float = 0.35, minimum: float = 24.0) -> QRectF:
    """The square around a box (x, y, w, h) that a crop shows, with context, kept inside the image."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h, 1.0) * (1 + 2 * context)
    side = max(side, minimum)
    side = min(side, max(width, height))
    cx, cy = x + w / 2, y + h / 2
    left = min(max(0.0, cx - side / 2), max(0.0, width - side))
    top = min(max(0.0, cy - side / 2), max(0.0, height - side))
    return QRectF(left, top, min(side, width), min(side, height))


class InstanceDelegate(QStyledItemDelegate):
    """Paints a crop (or the whole image), every annotation of the item in its kind's colour, a caption."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.small = QFont()
        self.small.setPixelSize(11)
        self.fm = QFontMetrics(self.small)
        self.colors = {k: QColor(v) for k, v in KIND_COLORS.items()}
        self._chip_w: dict[str, float] = {}
        self.pens = {}
        self.fills = {}
        for k, c in self.colors.items():
            for focus in (False, True):
                fill = QColor(c)
                fill.setAlpha(SELECTED_ALPHA if focus else AREA_ALPHA.get(k, AREA_ALPHA["gt"]))
                self.fills[(k, focus)] = fill
            for focus in (False, True):
                pen = QPen(c, 2.6 if focus else 1.4)
                pen.setCosmetic(True)
                if k in ("tp", "fp") and not focus:
                    pen.setStyle(Qt.PenStyle.DashLine)
                self.pens[(k, focus)] = pen

    def sizeHint(self, option, index) -> QSize:
        return QSize(THUMB + 2 * PAD + 6, THUMB + 2 * PAD + CAPTION_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        model: InstancesModel = index.model()
        i = index.row()
        if model.table is None:
            return
        painter.save()
        rect = option.rect
        pal = option.palette
        cell = rect.adjusted(2, 2, -2, -2)
        if option.state & (QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver):
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlpha(90 if option.state & QStyle.StateFlag.State_Selected else 35)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hl)
            painter.drawRoundedRect(cell, 4, 4)
        area = QRect(rect.x() + (rect.width() - THUMB) // 2, rect.y() + PAD, THUMB, THUMB)
        item_id = model.item_id_at(i)
        item = model.item(item_id)
        pm = model.thumbnail(i, item)
        t: InstanceTable = model.table
        focus = model.table_row(i)
        if pm is not None and not pm.isNull() and item is not None and item.width and item.height:
            areas = model.areas_of(item_id)
            region = self.region(t, focus, item, areas)
            target = fit_in(int(region.width() * 100), int(region.height() * 100), area)
            sx, sy = pm.width() / item.width, pm.height() / item.height
            src = QRectF(region.x() * sx, region.y() * sy, region.width() * sx, region.height() * sy)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(target, pm, src)
            self._paint_boxes(painter, t, model.rows_of_item(item_id), focus, region, target, areas)
        else:   # no image (yet): an opaque fill, several times cheaper than a translucent one
            painter.fillRect(area, pal.color(QPalette.ColorRole.AlternateBase))
        self._paint_caption(painter, option, model, i, area, item)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cell, 4, 4)
        painter.restore()

    @staticmethod
    def region(t: InstanceTable, focus: int, item, areas: dict | None = None) -> QRectF:
        """The part of the image a cell shows: around the focused row's mask (its pixels' box) or box, with
        context (crop_region); the whole image in image mode or without geometry."""
        area = (areas or {}).get(int(t.annotation_id[focus])) if focus >= 0 else None
        if isinstance(area, MaskThumb):
            r = area.rect
            return crop_region((r.x(), r.y(), r.width(), r.height()), item.width, item.height)
        if isinstance(area, QPainterPath):
            r = area.boundingRect()
            return crop_region((r.x(), r.y(), r.width(), r.height()), item.width, item.height)
        if focus >= 0 and t.boxes[focus][2] > 0:
            return crop_region(t.boxes[focus], item.width, item.height)
        return QRectF(0, 0, item.width, item.height)

    def _paint_boxes(self, painter: QPainter, t: InstanceTable, rows, focus: int, region: QRectF,
                     target: QRectF, areas: dict | None = None) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setClipRect(target)
        painter.translate(target.x(), target.y())
        painter.scale(target.width() / region.width(), target.height() / region.height())
        painter.translate(-region.x(), -region.y())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # the focused row last, on top
        for r in sorted(rows.tolist(), key=lambda r: r == focus):
            kind = KIND_OF_CODE.get(int(t.kind[r]))
            if kind is None:
                continue
            area = areas.get(int(t.annotation_id[r])) if areas else None
            if isinstance(area, MaskThumb):
                area.paint(painter, self.fills[(kind, r == focus)], self.pens[(kind, r == focus)])
                continue
            if isinstance(area, QPainterPath):
                painter.setPen(self.pens[(kind, r == focus)])
                painter.setBrush(self.fills[(kind, r == focus)])
                painter.drawPath(area)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                continue
            x, y, w, h = t.boxes[r]
            if w <= 0 and h <= 0:
                continue
            painter.setPen(self.pens[(kind, r == focus)])
            painter.drawRect(QRectF(x, y, w, h))
        painter.restore()

    def _chip(self, kind: str) -> tuple[str, float]:
        text = kind.upper()
        w = self._chip_w.get(text)
        if w is None:
            w = self._chip_w[text] = self.fm.horizontalAdvance(text) + 8
        return text, w

    def _paint_caption(self, painter: QPainter, option, model: InstancesModel, i: int, area: QRect, item) -> None:
        y = area.bottom() + 4
        x = area.x() - 2
        w = area.width() + 4
        painter.setFont(self.small)
        t = model.table
        if model.mode == "crops":
            r = model.table_row(i)      # straight from the columns: no row dict per paint
            kind = KIND_OF_CODE.get(int(t.kind[r]), "gt")
            chip, cw = self._chip(kind)
            color = self.colors[kind]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            chip_rect = QRectF(x, y, cw, CAPTION_H - 5)
            painter.drawRoundedRect(chip_rect, 3, 3)
            painter.setPen(text_color_on(color))
            painter.drawText(chip_rect, Qt.AlignmentFlag.AlignCenter, chip)
            c, true, score = int(t.label_idx[r]), t.true_of(r), float(t.score[r])
            text = t.labels[c] if c >= 0 else "?"
            if score == score:            # not NaN
                text += f" {score:.2f}"
            if true >= 0 and true != c and kind != "fn":
                text += f" (is {t.labels[true]})"
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            painter.drawText(QRect(int(x + cw + 4), y, int(w - cw - 4), CAPTION_H - 5),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.fm.elidedText(text, Qt.TextElideMode.ElideRight, int(w - cw - 4)))
        else:
            rows = model.rows_of_item(model.item_id_at(i))
            kinds = t.kind[rows]
            parts = [f"{int((kinds == c).sum())} {n}" for c, n in ((FP, "FP"), (FN, "FN")) if (kinds == c).any()]
            name = item.name.rsplit("/", 1)[-1] if item else ""
            text = f"{name} · {' · '.join(parts)}" if parts else name
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            painter.drawText(QRect(x, y, w, CAPTION_H - 5), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.fm.elidedText(text, Qt.TextElideMode.ElideMiddle, w))


class InstanceGalleryView(GalleryView):
    """The dataset gallery's arithmetic grid with the instance delegate."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.instance_delegate = InstanceDelegate(self)
        self.setItemDelegate(self.instance_delegate)
        s = self.instance_delegate.sizeHint(None, QModelIndex())
        self._cell = (s.width(), s.height())

    def update_cell_size(self) -> None:
        delegate = getattr(self, "instance_delegate", None)
        if delegate is None:
            super().update_cell_size()
            return
        s = delegate.sizeHint(None, QModelIndex())
        self._cell = (s.width(), s.height())


def _kind_button(kind: str) -> QToolButton:
    b = QToolButton()
    b.setCheckable(True)
    b.setAutoRaise(False)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    c = KIND_COLORS[kind]
    b.setStyleSheet(f"QToolButton {{ border: 1px solid {c}; border-radius: 4px; padding: 2px 8px; }}"
                    f"QToolButton:checked {{ background: {c}; color: {'black' if kind == 'fn' else 'white'}; }}")
    return b


def _range(lo: float, hi: float, tip: str) -> QLabeledDoubleRangeSlider:
    s = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setSingleStep(0.01)
    s.setDecimals(2)
    s.setValue((lo, hi))
    s.setToolTip(tip)
    s.setMinimumWidth(110)
    return s


class ErrorGallery(QWidget):
    filter_changed = Signal()
    activated = Signal(int)               # gallery row opened (double-click, Enter)
    restriction_cleared = Signal()
    find_similar = Signal(int)            # item id: its dataset's gallery sorted by similarity to it

    def __init__(self, catalog=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = InstancesModel(catalog, parent=self)
        self.kind_buttons = {k: _kind_button(k) for k in ("tp", "fp", "fn")}
        self.kind_buttons["fp"].setChecked(True)
        self.kind_buttons["fn"].setChecked(True)
        self.label = QComboBox()
        self.label.addItem("All classes", None)
        self.label.setMinimumContentsLength(8)
        self.score = _range(0.0, 1.0, "Confidence range (predictions only; a missed object has no score)")
        self.iou = _range(0.0, 1.0, "IoU: a TP's matched IoU; for an FP or FN the best overlap with the other side")
        self.sort = QComboBox()
        self.sort.addItem("Most wrong first", "most_wrong")
        self.sort.addItem("Confidence", "score")
        self.sort.setToolTip("Most wrong: confident false positives and large missed objects first")
        self.mode = QComboBox()
        self.mode.addItem("Crops", "crops")
        self.mode.addItem("Images", "images")
        self.restriction = QLabel()
        self.restriction.setStyleSheet("QLabel { border: 1px solid palette(highlight); border-radius: 4px; "
                                       "padding: 1px 6px; }")
        self.clear_restriction = QToolButton()
        self.clear_restriction.setText("✕")
        self.clear_restriction.setToolTip("Show every instance again")
        self.clear_restriction.setAutoRaise(True)
        self.clear_restriction.clicked.connect(self._clear_restriction)
        self.counts = QLabel()
        muted(self.counts)
        self.gallery = InstanceGalleryView()
        self.gallery.setModel(self.model)
        self.gallery.setSelectionMode(GalleryView.SelectionMode.SingleSelection)
        self.gallery.doubleClicked.connect(lambda idx: self.activated.emit(idx.row()))
        self.gallery.activated.connect(lambda idx: self.activated.emit(idx.row()))
        self.gallery.context_requested.connect(lambda row, pos: self.context_menu(row).popup(pos))
        QShortcut(QKeySequence("Ctrl+Shift+F"), self.gallery, lambda: self.find_similar_at(
            self.gallery.currentIndex().row()), Qt.ShortcutContext.WidgetShortcut)

        top = QHBoxLayout()
        for b in self.kind_buttons.values():
            top.addWidget(b)
        top.addSpacing(8)
        top.addWidget(self.label)
        top.addWidget(self.sort)
        top.addWidget(self.mode)
        top.addStretch(1)
        ranges = QHBoxLayout()
        ranges.addWidget(QLabel("Confidence"))
        ranges.addWidget(self.score, 1)
        self.iou_spacer = QWidget()
        self.iou_spacer.setFixedWidth(12)
        self.iou_label = QLabel("IoU")
        ranges.addWidget(self.iou_spacer)
        ranges.addWidget(self.iou_label)
        ranges.addWidget(self.iou, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addLayout(ranges)
        status = QHBoxLayout()
        status.addWidget(self.counts, 1)
        status.addWidget(self.restriction)
        status.addWidget(self.clear_restriction)
        lay.addLayout(status)
        lay.addWidget(self.gallery, 1)
        self.set_restriction(None)

        self._emit_throttled = qthrottled(self.filter_changed.emit, timeout=60, leading=True)
        for b in self.kind_buttons.values():
            b.toggled.connect(lambda _on: self.filter_changed.emit())
        for combo in (self.label, self.sort, self.mode):
            combo.currentIndexChanged.connect(lambda _i: self.filter_changed.emit())
        self.score.valueChanged.connect(lambda _v: self._emit_throttled())
        self.iou.valueChanged.connect(lambda _v: self._emit_throttled())

    # -- binding ----------------------------------------------------------------------------
    def set_labels(self, labels: list[str]) -> None:
        current = self.label.currentData()
        self.label.blockSignals(True)
        self.label.clear()
        self.label.addItem("All classes", None)
        for lb in labels:
            self.label.addItem(lb, lb)
        k = self.label.findData(current)
        self.label.setCurrentIndex(max(0, k))
        self.label.blockSignals(False)

    def set_iou_enabled(self, on: bool) -> None:
        """A classification evaluation has no IoU: its range is hidden (greyed out, it only puzzled), as the
        threshold bar's is."""
        self.iou.setEnabled(on)
        for w in (self.iou, self.iou_label, self.iou_spacer):
            w.setVisible(on)

    def filter(self) -> InstanceFilter:
        lo, hi = self.score.value()
        ilo, ihi = self.iou.value()
        kinds = tuple(k for k, b in self.kind_buttons.items() if b.isChecked())
        return InstanceFilter(kinds=kinds, label=self.label.currentData(), min_score=round(lo, 4),
                              max_score=round(hi, 4), min_iou=round(ilo, 4), max_iou=round(ihi, 4),
                              sort=self.sort.currentData())

    @property
    def view_mode(self) -> str:
        return self.mode.currentData()

    def set_filter(self, flt: InstanceFilter, mode: str | None = None) -> None:
        """Show `flt` in the controls without emitting (one filter_changed is the caller's to send)."""
        widgets = [*self.kind_buttons.values(), self.label, self.sort, self.mode, self.score, self.iou]
        for w in widgets:
            w.blockSignals(True)
        try:
            for k, b in self.kind_buttons.items():
                b.setChecked(k in flt.kinds)
            self.label.setCurrentIndex(max(0, self.label.findData(flt.label)))
            self.sort.setCurrentIndex(max(0, self.sort.findData(flt.sort)))
            if mode is not None:
                self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))
            self.score.setValue((flt.min_score, flt.max_score))
            self.iou.setValue((flt.min_iou, flt.max_iou))
        finally:
            for w in widgets:
                w.blockSignals(False)

    def set_restriction(self, text: str | None) -> None:
        self.restriction.setText(text or "")
        self.restriction.setVisible(bool(text))
        self.clear_restriction.setVisible(bool(text))

    def _clear_restriction(self) -> None:
        self.set_restriction(None)
        self.restriction_cleared.emit()

    def show_rows(self, table: InstanceTable | None, idx, counts: dict[str, int]) -> None:
        """The rows to show (already filtered and ordered) and the per-kind counts under the other filters."""
        self.model.set_rows(table, idx, self.view_mode)
        for k, b in self.kind_buttons.items():
            b.setText(f"{k.upper()} {counts.get(k, 0):,}")
        n = len(idx)
        n_items = table.count_items(idx) if table is not None else 0
        self.counts.setText(f"{n:,} instance(s) on {n_items:,} image(s)" if n else "Nothing matches these filters")
        self.gallery.scrollToTop()

    def item_at(self, row: int) -> int | None:
        """The item id of a gallery row (None: no row there)."""
        if row < 0 or self.model.table is None or row >= self.model.rowCount():
            return None
        return int(self.model.item_id_at(row))

    def find_similar_at(self, row: int) -> None:
        item_id = self.item_at(row)
        if item_id is not None:
            self.find_similar.emit(item_id)

    def context_menu(self, row: int) -> QMenu:
        """A right-click's menu: find the images like this one (in its dataset's gallery)."""
        menu = QMenu(self)
        a = menu.addAction("Find similar images")
        a.setToolTip("Open the dataset's gallery sorted by similarity to this image (Ctrl+Shift+F)")
        a.setEnabled(self.item_at(row) is not None)
        a.triggered.connect(lambda: self.find_similar_at(row))
        return menu

    def shown_counts(self) -> dict[str, int]:
        """The counts on the kind buttons (what the user reads)."""
        return {k: int(b.text().split()[-1].replace(",", "")) for k, b in self.kind_buttons.items()}

    def shutdown(self) -> None:
        self.model.shutdown()
