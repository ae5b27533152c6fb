"""The gallery's list model: a dataset query whose rows and thumbnails load lazily, off the GUI thread.

One reader thread answers, in order: the row count with the first page of records; then, once the
first screen is drawn (or a far page is asked for), the ordered ids of the whole query, so any page
is an `id IN (...)` lookup rather than an OFFSET scan. Rows not loaded yet read as empty; a page load
or a decoded thumbnail emits dataChanged for the rows it fills. Pages live in a small LRU.

A filter may name its items outright (`GalleryFilter.only`: find similar, a lasso on the embedding map): then the
rows are those items in that order (the other filters narrow them), their ids known with the count, and each may
carry a note its caption shows (a distance).

Why not canFetchMore / fetchMore: a row count that grows by pages makes the scroll bar lie and "go
to the end" of 100,000 items cost hundreds of fetches; the count is one cheap query, so the model
reports all rows at once and fetches their data lazily instead.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QRunnable, Qt, \
    QThreadPool, QTimer, Signal

from desktop_app.catalog import AnnotationRecord, Catalog, ItemRecord
from desktop_app.errors import UserError
from desktop_app.gui.thumbnails import ImageLoader, thumbs_dir
from desktop_app.gui.widgets.annotation_items import Shape, to_shape

log = logging.getLogger(__name__)

PAGE_SIZE = 128
MAX_PAGES = 64          # 8k rows of records + annotations in memory
FLING_MS = 60           # a screen that jumps more than a page within this is a fling: read pages after it
ItemRole = Qt.ItemDataRole.UserRole + 1            # ItemRecord
AnnotationsRole = Qt.ItemDataRole.UserRole + 2     # tuple[AnnotationRecord, ...]
ItemIdRole = Qt.ItemDataRole.UserRole + 3          # int
SubsetRole = Qt.ItemDataRole.UserRole + 4          # str | None
ThumbErrorRole = Qt.ItemDataRole.UserRole + 5      # str | None: why the thumbnail cannot be shown
RowRole = Qt.ItemDataRole.UserRole + 6             # GalleryRow
NoteRole = Qt.ItemDataRole.UserRole + 7            # str | None: a caption's note (the distance, as "0.042")


@dataclass(frozen=True)
class GalleryFilter:
    """What the gallery shows; `to_kwargs` is exactly what Catalog.list_items / count_items take."""
    subset: str | None = None       # train | validation | test | none (no subset) | None (all)
    label: str | None = None
    ann_type: str | None = None
    text: str = ""
    only: tuple[int, ...] | None = None   # these items, in this order (the other fields narrow them)
    reviewed: bool | None = None    # reviewed by a person (the review viewer, the label-next queue) or not

    def to_kwargs(self) -> dict[str, Any]:
        kw = self.narrowing_kwargs()
        if self.only is not None:
            kw["item_ids"] = list(self.only)
        return kw

    def without_only(self) -> GalleryFilter:
        return replace(self, only=None)

    def narrowing_kwargs(self) -> dict[str, Any]:
        """The catalog filters but `only`."""
        kw: dict[str, Any] = {}
        if self.subset:
            kw["subset"] = self.subset
        if self.label:
            kw["label"] = self.label
        if self.ann_type:
            kw["ann_type"] = self.ann_type
        if self.text.strip():
            kw["text"] = self.text.strip()
        if self.reviewed is not None:
            kw["reviewed"] = self.reviewed
        return kw


@dataclass(frozen=True)
class GalleryRow:
    item: ItemRecord
    annotations: tuple[AnnotationRecord, ...] = field(default=())
    shapes: tuple[Shape, ...] = field(default=())     # the annotations, ready to paint


def make_row(item: ItemRecord, anns: list[AnnotationRecord]) -> GalleryRow:
    shapes = tuple(s for s in map(to_shape, sorted(anns, key=_draw_order)) if s is not None)
    return GalleryRow(item, tuple(anns), shapes)


def _draw_order(a: AnnotationRecord) -> tuple:
    return ({"segment": 0, "binary": 0, "box": 1, "point": 2}.get(a.type, 3), a.is_prediction, a.id)


def page_range(first: int, last: int, count: int, page_size: int = PAGE_SIZE, margin: int = 0) -> range:
    """Pages covering rows first..last (inclusive), widened by `margin` rows each side, clipped to count."""
    if count <= 0 or last < first:
        return range(0)
    lo = max(0, first - margin)
    hi = min(count - 1, last + margin)
    return range(lo // page_size, hi // page_size + 1)


# WORKAROUND: without ANALYZE statistics SQLite answers `dataset_id = ? AND id IN (<20+ ids>)` through the
# dataset index plus a sort of the whole dataset (~50 ms at 100k items); up to 10 ids it looks up rowids.
_ID_CHUNK = 8


def query_ids(catalog: Catalog, dataset_id: str, flt: GalleryFilter) -> list[int]:
    """The ordered item ids a filter shows: by id, or `only`'s order (items gone or filtered out left out, each
    id once). The items named are checked against the narrowed query's ids, not sent as `IN (...)` (a lasso can
    name 100,000)."""
    if flt.only is None:
        return catalog.item_ids(dataset_id, **flt.to_kwargs())
    allowed = set(catalog.item_ids(dataset_id, **flt.narrowing_kwargs()))
    return [i for i in dict.fromkeys(int(i) for i in flt.only) if i in allowed]


def load_rows(catalog: Catalog, dataset_id: str, ids: list[int],
              items: list[ItemRecord] | None = None) -> list[GalleryRow | None]:
    """Records + annotations of `ids` (or of `items` already read), in order; None where an item has gone."""
    if items is None:
        items = []
        for k in range(0, len(ids), _ID_CHUNK):
            items += catalog.list_items(dataset_id, item_ids=ids[k:k + _ID_CHUNK])
    by_id = {it.id: it for it in items}
    anns: dict[int, list[AnnotationRecord]] = {}
    for a in catalog.list_annotations(item_ids=list(by_id)):
        anns.setdefault(a.item_id, []).append(a)
    return [make_row(by_id[i], anns.get(i, [])) if i in by_id else None for i in ids]


class _Relay(QObject):
    head = Signal(int, int, object)      # generation, count, first page rows
    ids = Signal(int, object)            # generation, ordered item ids
    page = Signal(int, int, object)      # generation, page number, rows
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], None]):
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn

    def run(self) -> None:
        try:
            self.fn()
        except RuntimeError as e:  # relay deleted: the model went away while we worked
            log.debug("gallery job dropped: %s", e)


class GalleryModel(QAbstractListModel):
    query_done = Signal(int)     # a new query's row count is in (rows may still be loading)
    ids_loaded = Signal()        # every row can now be fetched by position
    page_loaded = Signal(int)
    failed = Signal(str)

    def __init__(self, catalog: Catalog | None = None, *, thumbnails: ImageLoader | None = None,
                 page_size: int = PAGE_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.page_size = page_size
        self.catalog: Catalog | None = None
        self.thumbnails: ImageLoader | None = thumbnails
        self.dataset_id: str | None = None
        self.filter = GalleryFilter()
        self._gen = 0
        self._count = 0
        self._ids: list[int] | None = None
        self._positions: dict[int, int] | None = None   # item id -> row, for an `only` list (not sorted by id)
        self.notes: dict[int, str] = {}                  # item id -> its caption's note
        self._pages: OrderedDict[int, list[GalleryRow | None]] = OrderedDict()
        self._page_jobs: dict[int, _Job] = {}
        self._deferred: set[int] = set()
        self._waiting: dict[str, set[int]] = {}   # thumbnail key -> rows that asked for it
        self._batch: dict[str, None] = {}          # thumbnail keys to request after this paint
        self._settled_gen = 0
        self._closed = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)            # one reader: queries run in order, one connection
        self._pool.setExpiryTimeout(-1)            # keep that thread (and its sqlite connection)
        self._head_job: _Job | None = None
        self._ids_job: _Job | None = None
        self._priority = itertools.count(1)
        self._relay = _Relay(self)
        self._relay.head.connect(self._on_head)
        self._relay.ids.connect(self._on_ids)
        self._relay.page.connect(self._on_page)
        self._relay.failed.connect(self._on_failed)
        self._last_visible: tuple[int, float] | None = None      # first visible row, when
        self._jumped = False                                     # the last call moved by more than a page
        self._settle_range = (0, -1)
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(FLING_MS)
        self._settle_timer.timeout.connect(self._settled_visible)
        if catalog is not None:
            self.set_catalog(catalog)

    def _settled_visible(self) -> None:
        self._last_visible, self._jumped = None, False
        self.set_visible_rows(*self._settle_range)

    # -- setup ----------------------------------------------------------------------------
    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        if self.thumbnails is None:
            self.thumbnails = ImageLoader(cache_dir=thumbs_dir(catalog.home), parent=self)
        self.thumbnails.ready.connect(self._on_thumb)
        self.thumbnails.failed.connect(lambda key, _msg: self._on_thumb(key))

    def set_query(self, dataset_id: str, flt: GalleryFilter | None = None, *,
                  notes: dict[int, str] | None = None) -> None:
        """Start loading a new query; the old rows stay until the new count arrives (no flicker). `notes`: what
        the captions of an `only` query's items add (kept when the same list is narrowed; gone without one)."""
        assert self.catalog is not None, "set_catalog first"
        if self._closed:
            return
        self.dataset_id = dataset_id
        self.filter = flt or GalleryFilter()
        if self.filter.only is None:
            self.notes = {}
        elif notes is not None:
            self.notes = dict(notes)
        self._gen += 1
        self._cancel_page_jobs()
        for j in (self._head_job, self._ids_job):
            if j is not None:           # queued runnables must stay referenced until out of the queue
                self._pool.tryTake(j)
        gen, cat, kw, n = self._gen, self.catalog, self.filter.to_kwargs(), self.page_size
        relay, flt = self._relay, self.filter

        def head() -> None:
            if gen != self._gen:
                return
            try:
                if flt.only is not None:      # the ids come with the count: they are the query
                    ids = query_ids(cat, dataset_id, flt)
                    relay.head.emit(gen, len(ids), load_rows(cat, dataset_id, ids[:n]))
                    relay.ids.emit(gen, ids)
                    return
                count = cat.count_items(dataset_id, **kw)
                items = cat.list_items(dataset_id, offset=0, limit=n, **kw)
                relay.head.emit(gen, count, load_rows(cat, dataset_id, [it.id for it in items], items))
            except RuntimeError:
                raise
            except Exception as e:  # noqa: BLE001 - shown to the user, e.g. the catalog is locked
                relay.failed.emit(gen, f"{type(e).__name__}: {e}")

        self._ids_job = None
        self._head_job = _Job(head)
        self._pool.start(self._head_job)

    def _start_ids(self) -> None:
        """Fetch the ordered ids of the whole query: once the first screen is drawn, or when a page needs them."""
        if self._ids_job is not None or self._ids is not None or self.catalog is None or self.dataset_id is None \
                or self._closed:
            return
        gen, cat, ds, flt, relay = self._gen, self.catalog, self.dataset_id, self.filter, self._relay

        def ids() -> None:
            if gen != self._gen:
                return
            try:
                relay.ids.emit(gen, query_ids(cat, ds, flt))
            except RuntimeError:
                raise
            except Exception as e:  # noqa: BLE001
                relay.failed.emit(gen, f"{type(e).__name__}: {e}")

        self._ids_job = _Job(ids)
        self._pool.start(self._ids_job, 1_000_000_000)   # ahead of any page job: they wait for it

    def set_filter(self, flt: GalleryFilter) -> None:
        if self.dataset_id is not None:
            self.set_query(self.dataset_id, flt)

    def refresh(self) -> None:
        """Re-run the current query (after an import or a split)."""
        if self.dataset_id is not None:
            self.set_query(self.dataset_id, self.filter)

    def shutdown(self) -> None:
        """Stop the reader and the decoders; the model reads nothing more afterwards. Idempotent."""
        self._closed = True
        self._gen += 1
        self._pool.clear()
        self._pool.waitForDone(10_000)
        if self.thumbnails is not None:
            self.thumbnails.shutdown()

    # -- state ----------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return not self.settled

    @property
    def settled(self) -> bool:
        """The current query's row count is in (the rows in sight may still be loading)."""
        return self._settled_gen == self._gen

    @property
    def ids_ready(self) -> bool:
        return self._ids is not None

    def row(self, i: int) -> GalleryRow | None:
        if not 0 <= i < self._count:
            return None
        page = self._pages.get(i // self.page_size)
        if page is None:
            self._request_page(i // self.page_size)
            return None
        self._pages.move_to_end(i // self.page_size)
        k = i % self.page_size
        return page[k] if k < len(page) else None

    def row_of_item(self, item_id: int) -> int:
        """Position of an item in the current query, -1 if absent or not known yet."""
        if self._ids is None:
            for p, rows in self._pages.items():
                for k, r in enumerate(rows):
                    if r is not None and r.item.id == item_id:
                        return p * self.page_size + k
            return -1
        if self.filter.only is not None:
            if self._positions is None:
                self._positions = {i: k for k, i in enumerate(self._ids)}
            return self._positions.get(item_id, -1)
        j = bisect.bisect_left(self._ids, item_id)
        return j if j < len(self._ids) and self._ids[j] == item_id else -1

    def item_ids_of(self, ranges: Iterable[tuple[int, int]]) -> list[int]:
        """Item ids of the rows in these [first, last] ranges, in row order, rows whose page was never loaded
        included (a selection of the whole gallery): the query's ordered ids are read at once if they are not
        in yet."""
        rows = sorted({i for first, last in ranges for i in range(max(first, 0), min(last, self._count - 1) + 1)})
        if not rows:
            return []
        if self._ids is None and self.catalog is not None and self.dataset_id is not None:
            known = [self._peek(i) for i in rows]
            if all(r is not None for r in known):
                return [r.item.id for r in known]  # type: ignore[union-attr]
            ids = query_ids(self.catalog, self.dataset_id, self.filter)
            if len(ids) != self._count:   # the catalog changed since the count: the background job resets
                raise UserError("the dataset changed while it was shown; select the items again")
            self._ids = ids
        return [self._ids[i] for i in rows] if self._ids is not None else []

    def paint_info(self, i: int) -> tuple[GalleryRow | None, object, str | None]:
        """(row, QPixmap or None, why no thumbnail) in one call: the gallery's paint path."""
        r = self.row(i)
        if r is None:
            return None, None, None
        key = self.thumb_key(r)
        if key is None:
            return r, None, "no image file"
        pm = self._thumbnail(i, r)
        return r, pm, (self.thumbnails.error(key) if pm is None and self.thumbnails else None)

    def note(self, i: int) -> str | None:
        """The caption's note of row i (find similar: its distance), None without one."""
        if not self.notes:
            return None
        r = self._peek(i)
        return self.notes.get(r.item.id) if r is not None else None

    def thumb_key(self, row: GalleryRow) -> str | None:
        return row.item.sha256

    def row_ready(self, i: int) -> bool:
        """Row loaded and its thumbnail in memory (or known to be absent / undecodable)."""
        r = self._peek(i)
        if r is None:
            return False
        key = self.thumb_key(r)
        if key is None or self.thumbnails is None:
            return True
        return self.thumbnails.get(key) is not None or self.thumbnails.error(key) is not None

    def set_visible_rows(self, first: int, last: int) -> None:
        """Called by the view after it paints: prefetch neighbouring pages, drop work now out of sight.

        In a fling (the screen jumps by more than a page twice in a row, paints under FLING_MS apart) no
        page is read: each would be out of sight before it came, and reading them (Python, holding the GIL)
        starved the painting. The pages are asked for once the view has held still for FLING_MS. One jump
        (a click on the scroll bar, End) loads at once."""
        now = time.monotonic()
        prev = self._last_visible
        if prev is not None and first == prev[0]:          # a repaint where the view already was
            fling = self._settle_timer.isActive()
        else:
            self._last_visible = (first, now)
            jump = prev is not None and abs(first - prev[0]) > self.page_size and now - prev[1] < FLING_MS / 1000
            fling, self._jumped = jump and self._jumped, jump
        if fling:
            self._settle_range = (first, last)
            self._settle_timer.start()
            self._drop_queued_pages(set())              # nothing queued is wanted any more
            return
        self._settle_timer.stop()
        wanted = set(page_range(first, last, self._count, self.page_size, margin=self.page_size // 2))
        for p in wanted:
            if p not in self._pages:
                self._request_page(p)
        self._drop_queued_pages(wanted)
        self._deferred &= wanted
        keys: set[str] = set()
        for i in range(max(0, first), min(last + 1, self._count)):
            r = self._peek(i)
            if r is not None and (k := self.thumb_key(r)):
                keys.add(k)
        if self.thumbnails is not None:
            self.thumbnails.retain(keys)
        for key in [k for k in self._waiting if k not in keys]:
            del self._waiting[key]
        self._flush_requests()
        if self._ids is None and self.settled and all(self.row_ready(i) for i in range(first, last + 1)):
            self._start_ids()   # the screen is complete: use the idle time for the rest of the query

    # -- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() != 0:
            return None
        r = self.row(index.row())
        if r is None:
            return None
        item = r.item
        if role == Qt.ItemDataRole.DisplayRole:
            return item.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(index.row(), r)
        if role == Qt.ItemDataRole.ToolTipRole:
            size = f"{item.width}x{item.height}" if item.width else "size unknown"
            note = self.notes.get(item.id)
            return f"{item.name}\n{size}, {item.subset or 'no subset'}, {len(r.annotations)} annotations" + \
                (f"\ndistance {note}" if note else "")
        if role == NoteRole:
            return self.notes.get(item.id)
        if role == ItemRole:
            return item
        if role == AnnotationsRole:
            return r.annotations
        if role == ItemIdRole:
            return item.id
        if role == RowRole:
            return r
        if role == SubsetRole:
            return item.subset
        if role == ThumbErrorRole:
            key = self.thumb_key(r)
            if key is None:
                return "no image file"
            return self.thumbnails.error(key) if self.thumbnails else None
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({ItemRole: b"item", AnnotationsRole: b"annotations", ItemIdRole: b"itemId",
                      SubsetRole: b"subset"})
        return names

    # -- internals ------------------------------------------------------------------------
    def _peek(self, i: int) -> GalleryRow | None:
        page = self._pages.get(i // self.page_size)
        if page is None:
            return None
        k = i % self.page_size
        return page[k] if k < len(page) else None

    def _thumbnail(self, row: int, r: GalleryRow):
        key = self.thumb_key(r)
        if key is None or self.thumbnails is None or self.catalog is None:
            return None
        pm = self.thumbnails.get(key)
        if pm is None and self.thumbnails.error(key) is None:
            self._waiting.setdefault(key, set()).add(row)
            # Queued and sent after the paint that asked (set_visible_rows, or the next event loop turn):
            # decoders started mid-paint would fight the painting for the GIL.
            if not self._batch:
                QTimer.singleShot(0, self._flush_requests)
            self._batch[key] = None
        return pm

    def _flush_requests(self) -> None:
        batch, self._batch = self._batch, {}
        if self.thumbnails is None or self.catalog is None:
            return
        for key in batch:
            if key in self._waiting:
                self.thumbnails.request(key, self.catalog.store.path(key))

    def _request_page(self, p: int) -> None:
        if p in self._pages or p in self._page_jobs or self.catalog is None or not self.settled or self._closed:
            return   # (while a new query loads, the old rows on screen must not fetch pages for it)
        if self._settle_timer.isActive():
            return   # a fling: the pages in sight when it stops are asked for then
        if self._ids is None:
            self._deferred.add(p)
            if self.settled:
                self._start_ids()
            return
        ids = self._ids[p * self.page_size:(p + 1) * self.page_size]
        if not ids:
            return
        gen, cat, ds, relay = self._gen, self.catalog, self.dataset_id, self._relay

        def load() -> None:
            if gen != self._gen:
                return
            try:
                relay.page.emit(gen, p, load_rows(cat, ds, ids))
            except RuntimeError:
                raise
            except Exception as e:  # noqa: BLE001
                relay.failed.emit(gen, f"{type(e).__name__}: {e}")

        job = self._page_jobs[p] = _Job(load)
        self._pool.start(job, next(self._priority))   # the page asked for last (in sight now) first

    def _drop_queued_pages(self, wanted: set[int]) -> None:
        """Take back the page reads not started yet, but for `wanted` (a running one stays listed until it lands)."""
        for p in [p for p in self._page_jobs if p not in wanted]:
            if self._pool.tryTake(self._page_jobs[p]):
                del self._page_jobs[p]

    def _cancel_page_jobs(self) -> None:
        for p, job in list(self._page_jobs.items()):
            self._pool.tryTake(job)
        self._page_jobs.clear()
        self._deferred.clear()

    def _store_page(self, p: int, rows: list[GalleryRow | None]) -> None:
        self._pages[p] = rows
        self._pages.move_to_end(p)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)

    def _on_head(self, gen: int, count: int, rows: list[GalleryRow | None]) -> None:
        if gen != self._gen:
            return
        self.beginResetModel()
        self._count = count
        self._ids = None
        self._positions = None
        self._pages.clear()
        self._waiting.clear()
        self._store_page(0, rows)
        self._settled_gen = gen
        self.endResetModel()
        self.query_done.emit(count)

    def _on_ids(self, gen: int, ids: list[int]) -> None:
        if gen != self._gen:
            return
        if len(ids) != self._count:   # the catalog changed between the count and the id list
            self.beginResetModel()
            self._count = len(ids)
            self._pages.clear()
            self._ids = ids
            self._positions = None
            self.endResetModel()
        else:
            self._ids = ids
            self._positions = None
        deferred, self._deferred = self._deferred, set()
        for p in sorted(deferred):
            self._request_page(p)
        self.ids_loaded.emit()

    def _on_page(self, gen: int, p: int, rows: list[GalleryRow | None]) -> None:
        self._page_jobs.pop(p, None)
        if gen != self._gen:
            return
        self._store_page(p, rows)
        first = p * self.page_size
        last = min(self._count, first + len(rows)) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first), self.index(last))
        self.page_loaded.emit(p)

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._gen:
            self._settled_gen = gen   # nothing more will come for this query
            self.failed.emit(message)

    def _on_thumb(self, key: str) -> None:
        rows = self._waiting.pop(key, None)
        if not rows:
            return
        role = [Qt.ItemDataRole.DecorationRole]
        for i in sorted(rows):
            if i < self._count:
                idx = self.index(i)
                self.dataChanged.emit(idx, idx, role)
