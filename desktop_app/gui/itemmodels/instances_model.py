"""The error gallery's list model: rows of a review's instance table (crops) or the images they are on.

It adapts `evaluation.review.InstanceTable` + an index array (the filtered, ordered rows) and owns no
data: a new filter is a reset with a new array, O(1) here. Item records and thumbnails load for the rows
in sight only (a page of records at a time; thumbnails decoded off the GUI thread). For a mask evaluation (an
instance segmentation model's) the masks and polygons of the items in sight are read too, small enough to draw
in a crop (annotation_items.MaskThumb), and kept for the last few hundred items.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QPointF, Qt
from PySide6.QtGui import QPainterPath, QPolygonF

from desktop_app.catalog import Catalog, ItemRecord
from desktop_app.errors import NotFoundError
from desktop_app.evaluation.review import InstanceTable
from desktop_app.gui.thumbnails import ImageLoader, thumbs_dir
from desktop_app.gui.widgets.annotation_items import MaskThumb, rings

CROP_THUMB = 256                 # crops come from a larger thumbnail than the dataset gallery's
MAX_ITEMS = 4000
MAX_AREA_ITEMS = 400             # items whose masks / polygons are kept, ready to draw
AREA_TYPES = ("binary", "segment")
InstanceRole = Qt.ItemDataRole.UserRole + 1        # dict (review row) in crop mode
ItemIdRole = Qt.ItemDataRole.UserRole + 2
TableRowRole = Qt.ItemDataRole.UserRole + 3        # row index in the instance table (crop mode), else -1


class InstancesModel(QAbstractListModel):
    def __init__(self, catalog: Catalog | None = None, *, thumbnails: ImageLoader | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.catalog = catalog
        self.table: InstanceTable | None = None
        self.idx = np.zeros(0, np.int64)
        self.item_ids = np.zeros(0, np.int64)     # image mode: one row per item
        self.mode = "crops"
        self._items: OrderedDict[int, ItemRecord | None] = OrderedDict()
        self._areas: OrderedDict[int, dict[int, MaskThumb | QPainterPath]] = OrderedDict()
        self._masks_of: tuple[int, bool] | None = None     # (id of the table's annotation ids, a mask evaluation)
        self._waiting: dict[str, set[int]] = {}
        self.thumbnails = thumbnails
        if catalog is not None and thumbnails is None:
            self.thumbnails = ImageLoader(box=CROP_THUMB, cache_dir=thumbs_dir(catalog.home, CROP_THUMB), parent=self)
        if self.thumbnails is not None:
            self.thumbnails.ready.connect(self._on_thumb)
            self.thumbnails.failed.connect(lambda key, _m: self._on_thumb(key))

    # -- binding ----------------------------------------------------------------------------
    def set_rows(self, table: InstanceTable | None, idx: np.ndarray, mode: str = "crops") -> None:
        """Show table rows `idx` in this order: one cell per row ('crops') or per image ('images')."""
        self.beginResetModel()
        self.table = table
        self.mode = mode
        self.idx = np.asarray(idx, np.int64)
        self.item_ids = table.items_of(self.idx) if (table is not None and mode == "images" and self.idx.size) \
            else np.zeros(0, np.int64)
        self._waiting.clear()
        self.endResetModel()

    def forget_items(self, item_ids=None) -> None:
        """Drop cached item records (after a fix changed them); all when None."""
        if item_ids is None:
            self._items.clear()
            self._areas.clear()
        else:
            for i in item_ids:
                self._items.pop(int(i), None)
                self._areas.pop(int(i), None)

    def shutdown(self) -> None:
        if self.thumbnails is not None:
            self.thumbnails.shutdown()

    # -- rows -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return int(self.item_ids.shape[0] if self.mode == "images" else self.idx.shape[0])

    def table_row(self, i: int) -> int:
        return int(self.idx[i]) if self.mode == "crops" and 0 <= i < self.idx.shape[0] else -1

    def item_id_at(self, i: int) -> int:
        if self.mode == "images":
            return int(self.item_ids[i])
        return self.table.item_id(int(self.idx[i]))

    def instance(self, i: int) -> dict | None:
        r = self.table_row(i)
        return self.table.row(r) if r >= 0 else None

    def rows_of_item(self, item_id: int) -> np.ndarray:
        return self.table.rows_of_item(item_id) if self.table is not None else np.zeros(0, np.int64)

    def annotation_ids(self) -> list[int]:
        """Annotation ids of the rows in order (crop mode): what the gallery lists."""
        if self.table is None:
            return []
        return self.table.annotation_id[self.idx].tolist()

    def ordered_item_ids(self) -> list[int]:
        """Items of the rows, each once, in row order (the viewer's next / previous list)."""
        if self.table is None or not self.idx.size:
            return []
        return self.table.items_of(self.idx).tolist()

    def row_of_item(self, item_id: int) -> int:
        if self.mode == "images":
            hit = np.flatnonzero(self.item_ids == item_id)
        else:
            hit = np.flatnonzero(self.table.item_ids[self.table.item_pos[self.idx]] == item_id) \
                if self.table is not None else np.zeros(0)
        return int(hit[0]) if hit.size else -1

    # -- items and thumbnails ---------------------------------------------------------------
    def item(self, item_id: int) -> ItemRecord | None:
        rec = self._items.get(item_id, False)
        if rec is False:
            try:
                rec = self.catalog.get_item(item_id) if self.catalog is not None else None
            except Exception:  # noqa: BLE001 - deleted meanwhile: draw the cell empty
                rec = None
            self._items[item_id] = rec
            while len(self._items) > MAX_ITEMS:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(item_id)
        return rec

    @property
    def draws_masks(self) -> bool:
        """Whether the rows are masks or polygons (a mask evaluation): judged once per evaluation, from the type of
        one prediction and one ground truth (an evaluation scores one kind of geometry)."""
        t = self.table
        if t is None or self.catalog is None or not len(t):
            return False
        key = id(t.annotation_id)             # static columns: the same array across threshold updates
        if self._masks_of is None or self._masks_of[0] != key:
            found = False
            for side in (True, False):
                rows = np.flatnonzero((t.is_prediction == side) & (t.annotation_id >= 0))
                if rows.size:
                    try:
                        rec = self.catalog.get_annotation(int(t.annotation_id[rows[0]]))
                    except NotFoundError:         # deleted meanwhile (a review fix): judge by the other side
                        continue
                    found = rec.type in AREA_TYPES
                    break
            self._masks_of = (key, found)
        return self._masks_of[1]

    def areas_of(self, item_id: int) -> dict[int, MaskThumb | QPainterPath]:
        """annotation id -> its mask (a MaskThumb) or polygon (a path) on one item, when the rows are masks;
        damaged masks are left out (their box is drawn)."""
        if not self.draws_masks:
            return {}
        out = self._areas.get(item_id)
        if out is not None:
            self._areas.move_to_end(item_id)
            return out
        out = {}
        wanted = set(self.table.annotation_id[self.rows_of_item(item_id)].tolist())   # not other models' masks
        for rec in self.catalog.list_annotations(item_ids=[int(item_id)], types=list(AREA_TYPES)):
            if rec.id not in wanted:
                continue
            if rec.type == "binary":
                try:
                    out[rec.id] = MaskThumb(rec.coordinates)
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
            else:
                rs = rings(rec)
                if rs:
                    path = QPainterPath()
                    path.setFillRule(Qt.FillRule.OddEvenFill)
                    for ring in rs:
                        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in ring]))
                        path.closeSubpath()
                    out[rec.id] = path
        self._areas[item_id] = out
        while len(self._areas) > MAX_AREA_ITEMS:
            self._areas.popitem(last=False)
        return out

    def thumbnail(self, row: int, item: ItemRecord | None):
        if item is None or not item.sha256 or self.thumbnails is None or self.catalog is None:
            return None
        pm = self.thumbnails.get(item.sha256)
        if pm is None and self.thumbnails.error(item.sha256) is None:
            self._waiting.setdefault(item.sha256, set()).add(row)
            self.thumbnails.request(item.sha256, self.catalog.store.path(item.sha256))
        return pm

    def row_ready(self, i: int) -> bool:
        if not 0 <= i < self.rowCount():
            return True
        it = self._items.get(self.item_id_at(i))
        if not it or not it.sha256 or self.thumbnails is None:
            return it is not None
        return self.thumbnails.get(it.sha256) is not None or self.thumbnails.error(it.sha256) is not None

    def set_visible_rows(self, first: int, last: int) -> None:
        if self.thumbnails is None:
            return
        keys = set()
        for i in range(max(0, first), min(last + 1, self.rowCount())):
            it = self._items.get(self.item_id_at(i))
            if it and it.sha256:
                keys.add(it.sha256)
        self.thumbnails.retain(keys)

    def _on_thumb(self, key: str) -> None:
        for i in sorted(self._waiting.pop(key, ())):
            if i < self.rowCount():
                idx = self.index(i)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    # -- Qt API -----------------------------------------------------------------------------
    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.table is None:
            return None
        i = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            if self.mode == "images":
                it = self.item(self.item_id_at(i))
                return it.name if it else str(self.item_id_at(i))
            r = self.instance(i)
            return f"{r['kind'].upper()} {r['label']}" + (f" {r['score']:.2f}" if r["score"] is not None else "")
        if role == InstanceRole:
            return self.instance(i)
        if role == ItemIdRole:
            return self.item_id_at(i)
        if role == TableRowRole:
            return self.table_row(i)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(i, self.item(self.item_id_at(i)))
        if role == Qt.ItemDataRole.ToolTipRole:
            it = self.item(self.item_id_at(i))
            name = it.name if it else ""
            if self.mode == "images":
                return name
            r = self.instance(i)
            score = f", confidence {r['score']:.3f}" if r["score"] is not None else ""
            true = f", true class {r['true_label']}" if r.get("true_label") and r["true_label"] != r["label"] else ""
            return f"{name}\n{r['kind'].upper()} {r['label']}{score}, IoU {r['iou']:.2f}{true}"
        return None
