"""The dataset page's filter column: subset and label lists with counts, annotation type, name search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop_app.gui.colors import LabelColors
from desktop_app.gui.itemmodels.gallery_model import GalleryFilter
from desktop_app.gui.widgets.gallery import SUBSET_COLORS

SUBSET_CHOICES: tuple[tuple[str | None, str], ...] = (
    (None, "All items"), ("train", "Train"), ("validation", "Validation"), ("test", "Test"), ("none", "No subset"))
TYPE_CHOICES: tuple[tuple[str | None, str], ...] = (
    (None, "Any annotation type"), ("box", "Boxes"), ("segment", "Polygons"), ("point", "Points"),
    ("class", "Classes"), ("binary", "Masks"))
REVIEW_CHOICES: tuple[tuple[bool | None, str], ...] = (
    (None, "Reviewed or not"), (True, "Reviewed"), (False, "Not reviewed"))
SEARCH_DELAY_MS = 250
KEY = Qt.ItemDataRole.UserRole


def count_text(title: str, n: int | None) -> str:
    return title if n is None else f"{title}  ({n:,})"


def subset_rows(counts: Mapping[str, int] | None) -> list[tuple[str | None, str]]:
    """(key, text) for the subset list: every choice with its item count ('none' = no subset)."""
    if counts is None:
        return list(SUBSET_CHOICES)
    total = sum(counts.values())
    return [(key, count_text(title, total if key is None else counts.get(key, 0))) for key, title in SUBSET_CHOICES]


def label_rows(labels: Sequence[str], items: Mapping[str, int] | None, *, total: int | None = None,
               annotations: Mapping[str, int] | None = None) -> list[tuple[str | None, str, str]]:
    """(key, text, tooltip) for the label list: the dataset's labels, then any only annotations mention, each with
    the number of ITEMS it is on (what choosing it shows: 250 images of stars, not their 750 star boxes); the
    tooltip gives both. `total`: the items of "All labels". None counts: not counted yet, names only."""
    if items is None:
        return [(None, "All labels", "")] + [(lb, lb, "") for lb in labels]
    ann = annotations or {}
    names = list(labels) + sorted(lb for lb in set(items) | set(ann) if lb not in labels)
    total = sum(items.values()) if total is None else total
    rows: list[tuple[str | None, str, str]] = [(None, count_text("All labels", total), f"{total:,} items")]
    for lb in names:
        n, a = items.get(lb, 0), ann.get(lb)
        tip = f"{lb}: on {n:,} item{'s' * (n != 1)}" + ("" if a is None else f", {a:,} annotation{'s' * (a != 1)}")
        rows.append((lb, count_text(lb, n), tip))
    return rows


def _swatch(color: QColor) -> QIcon:
    pm = QPixmap(10, 10)
    pm.fill(color)
    return QIcon(pm)


def _dot(color: QColor) -> QIcon:
    """The gallery's subset dot, as an icon."""
    pm = QPixmap(10, 10)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(1, 1, 8, 8)
    p.end()
    return QIcon(pm)


class FilterPanel(QWidget):
    changed = Signal(object)             # GalleryFilter

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name…")
        self.search.setClearButtonEnabled(True)
        self.subsets = QListWidget()
        self.labels = QListWidget()
        self.type_box = QComboBox()
        for key, title in TYPE_CHOICES:
            self.type_box.addItem(title, key)
        self.review_box = QComboBox()
        for key, title in REVIEW_CHOICES:
            self.review_box.addItem(title, key)
        self.review_box.setToolTip("Items a person reviewed (fixed in the review viewer, or labelled in the Label "
                                   "next queue), or not yet")
        for w in (self.subsets, self.labels):
            w.setUniformItemSizes(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.search)
        lay.addWidget(_heading("Subsets"))
        lay.addWidget(self.subsets)
        lay.addWidget(_heading("Labels"))
        lay.addWidget(self.labels, 1)
        lay.addWidget(_heading("Annotation type"))
        lay.addWidget(self.type_box)
        lay.addWidget(_heading("Review"))
        lay.addWidget(self.review_box)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._emit)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._emit)
        self.subsets.currentRowChanged.connect(lambda _r: self._emit())
        self.labels.currentRowChanged.connect(lambda _r: self._emit())
        self.type_box.currentIndexChanged.connect(lambda _i: self._emit())
        self.review_box.currentIndexChanged.connect(lambda _i: self._emit())
        self._last = GalleryFilter()
        self.set_subset_counts(None)
        self.set_label_counts([], None)

    # -- widget -> filter ---------------------------------------------------------------
    def filter(self) -> GalleryFilter:
        s, lb = self.subsets.currentItem(), self.labels.currentItem()
        return GalleryFilter(subset=s.data(KEY) if s else None, label=lb.data(KEY) if lb else None,
                             ann_type=self.type_box.currentData(), text=self.search.text().strip(),
                             reviewed=self.review_box.currentData())

    def _emit(self) -> None:
        self._timer.stop()
        f = self.filter()
        if f != self._last:
            self._last = f
            self.changed.emit(f)

    # -- filter / counts -> widget ------------------------------------------------------
    def set_filter(self, f: GalleryFilter, *, emit: bool = True) -> None:
        for w in (self.subsets, self.labels, self.type_box, self.review_box, self.search):
            w.blockSignals(True)
        try:
            _select(self.subsets, f.subset)
            _select(self.labels, f.label)
            self.type_box.setCurrentIndex(max(0, self.type_box.findData(f.ann_type)))
            self.review_box.setCurrentIndex(max(0, self.review_box.findData(f.reviewed)))
            self.search.setText(f.text)
        finally:
            for w in (self.subsets, self.labels, self.type_box, self.review_box, self.search):
                w.blockSignals(False)
        if emit:
            self._emit()
        else:
            self._last = self.filter()

    def set_subset_counts(self, counts: Mapping[str, int] | None) -> None:
        self._fill(self.subsets, subset_rows(counts), None)
        # The gallery marks each item's subset with a coloured dot by its name: this list is their legend.
        for k in range(self.subsets.count()):
            it = self.subsets.item(k)
            key = it.data(KEY)   # rows without a dot get a blank one, so the titles stay in one column
            it.setIcon(_dot(QColor(SUBSET_COLORS[key]) if key in SUBSET_COLORS else QColor(Qt.GlobalColor.transparent)))
        w = self.subsets   # show all five rows, no scrolling, no wasted space
        w.setFixedHeight(w.sizeHintForRow(0) * w.count() + 2 * w.frameWidth() + 2)

    def set_label_counts(self, labels: Sequence[str], items: Mapping[str, int] | None,
                         colors: LabelColors | None = None, *, total: int | None = None,
                         annotations: Mapping[str, int] | None = None) -> None:
        """Labels with the number of items each is on (`annotations`: their annotation counts, for the tooltip)."""
        self._fill(self.labels, label_rows(labels, items, total=total, annotations=annotations), colors)

    def _fill(self, w: QListWidget, rows: list[tuple], colors: LabelColors | None) -> None:
        cur = w.currentItem().data(KEY) if w.currentItem() else None
        w.blockSignals(True)
        try:
            w.clear()
            for key, text, *tip in rows:
                it = QListWidgetItem(text)
                it.setData(KEY, key)
                if tip and tip[0]:
                    it.setToolTip(tip[0])
                if colors is not None and key is not None:
                    it.setIcon(_swatch(colors(key)))
                w.addItem(it)
            _select(w, cur)
        finally:
            w.blockSignals(False)


def _select(w: QListWidget, key: str | None) -> None:
    for i in range(w.count()):
        if w.item(i).data(KEY) == key:
            w.setCurrentRow(i)
            return
    if key is not None:        # asked for before the list knows it (counts still loading): keep it
        it = QListWidgetItem(key)
        it.setData(KEY, key)
        w.addItem(it)
        w.setCurrentRow(w.count() - 1)
        return
    w.setCurrentRow(0)


def _heading(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setBold(True)
    lab.setFont(f)
    return lab
