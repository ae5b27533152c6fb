"""The dataset page: filters with counts, the virtualised thumbnail gallery, and the image viewer.

It binds widgets to the gallery model and the catalog; queries, decoding, imports and splits all run
off the GUI thread. The main window embeds it and calls `set_dataset`.

Find similar (the gallery's right-click, the viewer's Similar, Ctrl+Shift+F) searches a model's feature set on
the page's task pool (views.find_similar) and shows the nearest items as `show_only` does, which other views call
too (the embedding map's lasso): the gallery then lists exactly those items, in that order, under a banner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QInputDialog, QLabel, QMenu, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from desktop_app.catalog import Catalog, ItemRecord
from desktop_app.domain.status import ExecutionStatus, ModelStatus
from desktop_app.formats.base import SUBSETS
from desktop_app.gui.actions import Actions
from desktop_app.gui.colors import LabelColors
from desktop_app.gui.dialogs.duplicates_dialog import DuplicatesDialog
from desktop_app.gui.dialogs.export_dialog import ExportDialog
from desktop_app.gui.dialogs.import_dialog import ImportDialog
from desktop_app.gui.dialogs.split_dialog import SplitDialog
from desktop_app.gui.itemmodels.gallery_model import GalleryFilter, GalleryModel, GalleryRow
from desktop_app.gui.similar import DEFAULT_K, caption
from desktop_app.gui.views.find_similar import SimilarSearch
from desktop_app.gui.thumbnails import ImageLoader
from desktop_app.gui.widgets.annotation_items import GROUND_TRUTH
from desktop_app.gui.widgets.dataset_filters import FilterPanel
from desktop_app.gui.widgets.gallery import GalleryView
from desktop_app.gui.widgets.image_viewer import ViewerPanel
from desktop_app.gui.widgets.similar_banner import SimilarBanner
from desktop_app.gui.workers import TaskRunner

log = logging.getLogger(__name__)

SUMMARY_DELAY_MS = 600
PREDICT_POLL_MS = 500


@dataclass
class DatasetSummary:
    subset_counts: dict[str, int] = field(default_factory=dict)
    label_counts: dict[str, int] = field(default_factory=dict)   # label -> its annotations
    label_items: dict[str, int] = field(default_factory=dict)    # label -> the items it is on (what its filter shows)
    items: int = 0                                               # items in the chosen subset ("All labels")
    layers: dict[str, str] = field(default_factory=dict)     # layer key -> title


def prediction_layers(catalog: Catalog, dataset_id: str) -> dict[str, str]:
    """'model:<id>' -> title for every model with predictions stored on this dataset."""
    return {f"model:{mid or name}": f"Predictions: {name or mid} ({n:,})"
            for mid, name, n in catalog.prediction_models(dataset_id)}


def dataset_summary(catalog: Catalog, dataset_id: str, subset: str | None) -> DatasetSummary:
    """Counts for the filter column (labels counted within the chosen subset) and the layer list."""
    sub = subset if subset in SUBSETS else None
    annotations = catalog.label_counts(dataset_id, subset=sub)
    labels = list(catalog.get_dataset(dataset_id).labels)
    labels += sorted(lb for lb in annotations if lb not in labels)
    return DatasetSummary(
        subset_counts=catalog.subset_counts(dataset_id),
        label_counts=annotations,
        label_items={lb: catalog.count_items(dataset_id, subset=sub, label=lb) for lb in labels},
        items=catalog.count_items(dataset_id, subset=sub),
        layers={GROUND_TRUTH: "Ground truth", **prediction_layers(catalog, dataset_id)})


class _SummaryRelay(QObject):
    done = Signal(int, object)           # generation, DatasetSummary


class _SummaryJob(QRunnable):
    def __init__(self, fn):
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn

    def run(self) -> None:
        try:
            self.fn()
        except RuntimeError:   # the page went away
            pass


class DatasetPage(QWidget):
    dataset_changed = Signal(str)
    item_opened = Signal(int)            # id of the item the viewer now shows
    message = Signal(str)                # one line for a status bar
    error = Signal(str, object)          # title, the exception or message: the window's notification bar
    summary_loaded = Signal()
    predictions_done = Signal(str, str)  # model id, the prediction job's final status
    label_next_requested = Signal(str)   # dataset id: Label next… (the window opens its dialog)

    def __init__(self, client, parent: QWidget | None = None, *, actions: Any = None):
        super().__init__(parent)
        self.client = client
        self.catalog: Catalog = client.catalog
        self.dataset_id: str | None = None
        self.colors = LabelColors()
        self.summary = DatasetSummary()
        self._labels: list[str] = []
        self._current_row = -1
        self._pending_row = -1
        self._shown: ItemRecord | None = None
        self._shown_row: GalleryRow | None = None
        self._summary_gen = 0
        self._jobs: list[_SummaryJob] = []
        self._before_only: GalleryFilter | None = None  # what Clear goes back to
        self._only_banner: tuple = ("",)                   # the banner of the items shown (back after a failure)

        self.model = GalleryModel(self.catalog, parent=self)
        self.full_images = ImageLoader(box=None, memory_items=4, threads=1, parent=self)
        self._summary_pool = QThreadPool(self)
        self._summary_pool.setMaxThreadCount(1)
        self._summary_pool.setExpiryTimeout(-1)
        self._summary_relay = _SummaryRelay(self)
        self._summary_relay.done.connect(self._on_summary)
        self._summary_due = False
        self._summary_timer = QTimer(self)       # in case the gallery is not on screen to say it is done
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self._summary_if_due)

        self.filters = FilterPanel()
        self.gallery = GalleryView()
        self.gallery.setModel(self.model)
        self.viewer_panel = ViewerPanel()
        self.viewer = self.viewer_panel.viewer
        self.viewer_panel.hide()

        self.title = QLabel("No dataset")
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title.setFont(f)
        self.count_label = QLabel("")
        self.import_action = QAction("Import…", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.setToolTip("Import a folder of images or a COCO / YOLO / VOC / ImageFolder / Dataloop set")
        self.export_action = QAction("Export…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setToolTip("Export all items, a subset or the gallery's filter as COCO / YOLO / VOC / "
                                      "ImageFolder / Dataloop")
        self.split_action = QAction("Split…", self)
        self.split_action.setToolTip("Assign train / validation / test subsets by percentages")
        self.predict_action = QAction("Predict…", self)
        self.predict_action.setToolTip("Run a trained model on the selected items; its predictions appear as a layer")
        self.similar_action = QAction("Find similar", self)
        self.similar_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.similar_action.setToolTip("The gallery sorted by similarity to the current item, by a model's "
                                       "embeddings (Ctrl+Shift+F; also on a thumbnail's right-click)")
        self.duplicates_action = QAction("Duplicates…", self)
        self.duplicates_action.setToolTip("Near-duplicate items, and test / validation items with a near copy in "
                                          "train (leakage): move or drop them")
        self.label_next_action = QAction("Label next…", self)
        self.label_next_action.setToolTip("Rank the items by a model's uncertainty and label the least sure first, "
                                          "in the review viewer")
        # No Refresh of its own: the window's View > Refresh (F5) re-reads the page on show (refresh()).
        for a in (self.import_action, self.export_action, self.split_action, self.predict_action, self.similar_action,
                  self.duplicates_action, self.label_next_action):
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(a)
        self.import_action.triggered.connect(lambda: self.import_dialog())
        self.export_action.triggered.connect(lambda: self.export_dialog())
        self.split_action.triggered.connect(lambda: self.split_dialog())
        self.predict_action.triggered.connect(lambda: self.predict_dialog())
        self.similar_action.triggered.connect(lambda: self.find_similar())
        self.duplicates_action.triggered.connect(lambda: self.duplicates_dialog())
        self.label_next_action.triggered.connect(lambda: self.dataset_id and self.label_next_requested.emit(
            self.dataset_id))
        self._tasks = TaskRunner(self)
        self.actions = Actions.for_page(client, actions, self, self._tasks)
        self._predicting: dict[str, str] = {}    # execution id -> model id of prediction jobs in flight
        self._predict_timer = QTimer(self)
        self._predict_timer.setInterval(PREDICT_POLL_MS)
        self._predict_timer.timeout.connect(self._poll_predictions)
        self.layers_button = QToolButton()
        self.layers_button.setText("Layers")
        self.layers_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.layers_menu = QMenu(self.layers_button)
        self.layers_button.setMenu(self.layers_menu)
        self.layer_actions: dict[str, QAction] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.setSpacing(12)
        bar.addWidget(self.title)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        bar.addWidget(self.layers_button)
        for a in (self.similar_action, self.duplicates_action, self.label_next_action, self.predict_action,
                  self.split_action, self.import_action, self.export_action):
            b = QToolButton()
            b.setDefaultAction(a)
            bar.addWidget(b)
        self.banner = SimilarBanner()
        self.banner.clear_requested.connect(self.clear_only)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(8, 0, 8, 4)
        banner_row.addWidget(self.banner)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.filters)
        self.splitter.addWidget(self.gallery)
        self.splitter.addWidget(self.viewer_panel)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setCollapsible(1, False)
        self.filters.setMinimumWidth(170)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addLayout(banner_row)
        lay.addWidget(self.splitter, 1)
        self.setAcceptDrops(True)
        self._set_enabled(False)

        self.filters.changed.connect(self._on_filter)
        self.model.query_done.connect(self._on_query_done)
        self.model.ids_loaded.connect(self._relocate_current)
        self.model.page_loaded.connect(self._on_page_loaded)
        self.model.failed.connect(lambda m: self._fail("Cannot list the dataset's items", m))
        self.model.thumbnails.ready.connect(self._on_thumbnail)
        self.full_images.ready.connect(self._on_full_image)
        self.gallery.selectionModel().currentChanged.connect(self._on_current_changed)
        # Double-click or Enter: the viewer alone (not `activated`: some desktops fire it on one click).
        self.gallery.doubleClicked.connect(lambda _idx: self.focus_viewer(True))
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self.gallery, lambda: self.focus_viewer(True),
                      Qt.ShortcutContext.WidgetShortcut)
        self.gallery.painted.connect(lambda _f, _l, complete: complete and self._summary_if_due())
        self.gallery.context_requested.connect(lambda row, pos: self.gallery_menu(row).popup(pos))
        QShortcut(QKeySequence("Esc"), self.gallery, self._gallery_escape, Qt.ShortcutContext.WidgetShortcut)
        self.viewer_panel.find_similar_requested.connect(lambda: self.find_similar())
        self.similar = SimilarSearch(self)
        self.viewer_panel.next_requested.connect(self.next_item)
        self.viewer_panel.previous_requested.connect(self.previous_item)
        self.viewer_panel.close_requested.connect(self.close_viewer)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- dataset --------------------------------------------------------------------------
    def set_dataset(self, dataset_id: str) -> None:
        ds = self.catalog.get_dataset(dataset_id)
        self.dataset_id = ds.id
        self._labels = list(ds.labels)
        self.colors = LabelColors(ds.labels, ds.label_colors)
        self.gallery.gallery_delegate.set_colors(self.colors)
        self.title.setText(ds.name)
        self.focus_viewer(False)
        self.viewer_panel.hide()
        self._shown = self._shown_row = None
        self._current_row = self._pending_row = -1
        self.summary = DatasetSummary()
        self.filters.set_subset_counts(None)                             # names now, counts when loaded
        self.filters.set_label_counts(self._labels, None, self.colors)
        self.filters.set_filter(GalleryFilter(), emit=False)
        self.similar.cancel()
        self._before_only = None
        self.banner.hide()
        self.model.set_query(ds.id, GalleryFilter())
        # Counts (seconds on a big dataset) wait until the first screen of thumbnails is drawn.
        self._summary_due = True
        self._summary_timer.start()
        self._set_enabled(True)
        self.dataset_changed.emit(ds.id)

    def refresh(self) -> None:
        """Re-read the dataset (labels, counts, rows): after an import, a split, or edits elsewhere."""
        if self.dataset_id is None:
            return
        ds = self.catalog.get_dataset(self.dataset_id)
        self._labels = list(ds.labels)
        self.colors = LabelColors(ds.labels, ds.label_colors)
        self.gallery.gallery_delegate.set_colors(self.colors)
        self.model.refresh()
        self._load_summary()

    def shutdown(self) -> None:
        """Stop background work (the page is closing or the catalog is about to close). Idempotent."""
        for dlg in self.findChildren(ImportDialog):
            dlg.stop()
        for dlg in self.findChildren(ExportDialog):
            dlg.stop()
        for dlg in self.findChildren(SplitDialog):
            dlg.wait_done()
        for dlg in self.findChildren(DuplicatesDialog):
            dlg.shutdown()
        self._summary_gen += 1
        self._summary_pool.clear()
        self._summary_pool.waitForDone(10_000)
        self._predict_timer.stop()
        self._tasks.wait(10_000)
        self.model.shutdown()
        self.full_images.shutdown()

    def event(self, e) -> bool:
        # deleteLater() without shutdown() first: stop the threads before Qt deletes the children
        # (a QThread destroyed while it runs aborts the process).
        if e.type() == QEvent.Type.DeferredDelete:
            self.shutdown()
        return super().event(e)

    # -- import, export and split ---------------------------------------------------------
    def import_dialog(self, path: str | Path | None = None, *, start: bool = False) -> ImportDialog | None:
        """Open the import dialog (non-modal); with `start` it begins at once (drag and drop)."""
        if self.dataset_id is None:
            return None
        dlg = ImportDialog(self.catalog, self.dataset_id, self, path=path)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.imported.connect(lambda n: (self.message.emit(f"Imported {n:,} items"), self.refresh()))
        dlg.show()
        if start:
            dlg.start()
        return dlg

    def export_dialog(self) -> ExportDialog | None:
        """Open the export dialog (non-modal) offering the gallery's filter and selection as choices."""
        if self.dataset_id is None:
            return None
        dlg = ExportDialog(self.catalog, self.dataset_id, self, gallery_filter=self.model.filter.to_kwargs(),
                           selected=self.selected_item_ids())
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.exported.connect(lambda path, n: self.message.emit(f"Exported {n:,} items to {path}"))
        dlg.show()
        return dlg

    def split_dialog(self) -> SplitDialog | None:
        if self.dataset_id is None:
            return None
        dlg = SplitDialog(self.catalog, self.dataset_id, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.split_done.connect(lambda counts: (self.message.emit(split_message(counts)), self.refresh()))
        dlg.show()
        return dlg

    def dragEnterEvent(self, event) -> None:
        if self.dataset_id is not None and _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self.dataset_id is not None and _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = _local_paths(event.mimeData())
        if paths and self.dataset_id is not None:
            event.acceptProposedAction()
            self.import_dialog(paths[0], start=True)

    # -- predict on the selected items ----------------------------------------------------
    def selected_item_ids(self) -> list[int]:
        """Ids of the selected gallery items, in gallery order, those scrolled past unseen included (Ctrl+A)."""
        ranges = [(r.top(), r.bottom()) for r in self.gallery.selectionModel().selection()]
        return self.model.item_ids_of(ranges)

    def prediction_choices(self) -> list[tuple[str, str]]:
        """(id, name) of the trained models of this dataset's project; those trained on it come first."""
        if self.dataset_id is None:
            return []
        ds = self.catalog.get_dataset(self.dataset_id)
        models = [m for m in self.catalog.find_models(project_id=ds.project_id) if m.status in ModelStatus.WITH_WEIGHTS]
        models.sort(key=lambda m: (m.dataset_id != ds.id, m.name))
        return [(m.id, m.name) for m in models]

    def predict_dialog(self) -> str | None:
        """Ask which model to run on the selected items, then queue the job; returns the model id."""
        if self.catalog.read_only:
            self.message.emit("The catalog is open read-only: predictions cannot be stored")
            return None
        ids = self.selected_item_ids()
        if not ids:
            self.message.emit("Select items in the gallery first (Ctrl- or Shift-click for several)")
            return None
        choices = self.prediction_choices()
        if not choices:
            self.message.emit("No trained model in this project yet: train or clone one first")
            return None
        names = [name for _, name in choices]
        name, ok = QInputDialog.getItem(self, "Predict", f"Run which model on the {len(ids)} selected item(s)?",
                                        names, 0, False)
        if not ok or name not in names:
            return None
        model_id = choices[names.index(name)][0]
        self.predict(model_id, ids)
        return model_id

    def predict(self, model_id: str, item_ids: list[int]) -> None:
        """Queue a prediction job (a worker process); when it ends the gallery shows its layer."""
        def queued(ex) -> None:
            self._predicting[ex.id] = model_id
            self._predict_timer.start()
            self.message.emit(f"Predicting {len(item_ids):,} item(s)…")
        self.actions.predict(model_id, item_ids, queued, lambda e: self._fail("Could not start the prediction", e),
                             tasks=self._tasks)

    def _poll_predictions(self) -> None:
        if not self._predicting or self._tasks.busy:
            return
        cat, ids = self.catalog, list(self._predicting)

        def read() -> list:
            return [cat.get_execution(i) for i in ids]

        def done(execs: list) -> None:
            for ex in execs:
                if ex.status not in ExecutionStatus.FINAL or ex.id not in self._predicting:
                    continue
                model_id = self._predicting.pop(ex.id)
                if ex.status == ExecutionStatus.SUCCESS:
                    n = (ex.output or {}).get("items", 0)
                    self.message.emit(f"Predictions stored on {n:,} item(s)")
                    self.set_layer_visible(f"model:{model_id}", True)
                    self.refresh()
                else:   # a failed job is reported with its log by the window's jobs watcher, like any job
                    self.message.emit(f"The prediction {ex.status}: {ex.error or ''}".strip(" :"))
                self.predictions_done.emit(model_id, ex.status)
            if not self._predicting:
                self._predict_timer.stop()
        self._tasks.submit(read, done, lambda e: log.warning("reading prediction jobs failed: %s", e))

    # -- find similar, show_only ----------------------------------------------------------
    @property
    def showing_only(self) -> bool:
        """The gallery lists chosen items (find similar, show_only), not a query of the dataset."""
        return self.model.filter.only is not None

    def find_similar(self, item_id: int | None = None, *, model_id: str | None = None, k: int = DEFAULT_K) -> None:
        """The gallery sorted by similarity to `item_id` (default: the current item), the `k` nearest with their
        cosine distances, by `model_id`'s embeddings (default: the most recent feature set holding the item).
        The search runs on the page's task pool; without a feature set the banner offers to embed."""
        if self.dataset_id is None:
            return
        if item_id is None:
            item = self._shown
            if item is None and self._current_row >= 0:
                r = self.model.row(self._current_row)
                item = r.item if r is not None else None
            if item is None:
                self.message.emit("Select an item first: find similar sorts the gallery by similarity to it")
                return
            item_id = item.id
        self.similar.search(item_id, model_id=model_id, k=k)

    def show_only(self, item_ids: list[int], *, title: str, distances: list[float] | None = None) -> None:
        """The gallery lists exactly these items, in this order (those gone from the dataset left out), under a
        banner saying `title`, each captioned with its distance when `distances` (one per item) are given; paging,
        the viewer's next / previous and the counts follow. The filter column narrows them further; Clear (or
        `clear_only`) goes back to the gallery as it was."""
        if distances is not None and len(distances) != len(item_ids):
            raise ValueError(f"{len(distances)} distances for {len(item_ids)} items")
        if self.dataset_id is None:
            return
        self.similar.cancel()           # a search still running would replace these
        self.show_found(item_ids, title, distances, [], None)

    def show_found(self, item_ids, title: str, distances, models: list[tuple[str, str]], current: str | None) -> None:
        """show_only for a search's answer: the banner also offers the `models` whose vectors could order it."""
        ids = tuple(int(i) for i in item_ids)
        notes = {i: f"{float(d):.3f}" for i, d in zip(ids, distances)} if distances is not None else {}
        if not self.showing_only:
            self._before_only = self.model.filter
        old_subset = self.model.filter.subset
        self.filters.set_filter(GalleryFilter(), emit=False)     # exactly these items, to begin with
        self.model.set_query(self.dataset_id, GalleryFilter(only=ids), notes=notes)
        self.gallery.scrollToTop()
        self._only_banner = (title, models, current)
        self.banner.show_items(*self._only_banner)
        if old_subset is not None:
            self._load_summary()         # label counts follow the subset

    def restore_banner(self) -> None:
        """A search failed: the banner of the items shown comes back (none when the gallery shows its query)."""
        if self.showing_only:
            self.banner.show_items(*self._only_banner)
        else:
            self.banner.hide()

    def clear_only(self) -> None:
        """Back to the gallery as it was before show_only / find similar (its filter too)."""
        self.similar.cancel()
        self.banner.hide()
        if not self.showing_only or self.dataset_id is None:
            return
        before = (self._before_only or GalleryFilter()).without_only()
        self._before_only = None
        old_subset = self.model.filter.subset
        self.filters.set_filter(before, emit=False)
        self.model.set_query(self.dataset_id, before)
        if before.subset != old_subset:
            self._load_summary()

    def _gallery_escape(self) -> None:
        if self.showing_only or self.banner.isVisible():
            self.clear_only()

    def gallery_menu(self, row: int) -> QMenu:
        """A thumbnail's right-click menu (`row` -1: the empty space)."""
        menu = QMenu(self)
        r = self.model.row(row) if row >= 0 else None
        a = menu.addAction("Find similar")
        a.setEnabled(r is not None)
        if r is not None:
            a.setText(f"Find similar to {caption(r.item.name)}")
            item_id = r.item.id
            a.triggered.connect(lambda: self.find_similar(item_id))
        if self.showing_only:
            menu.addAction("Show the whole gallery again", self.clear_only)
        menu.addSeparator()
        menu.addAction(self.duplicates_action)
        return menu

    def embed_for_similar(self, model_id: str) -> None:
        """Embed with <model>…: after a yes the dataset is embedded (a job), then the search runs again."""
        self.similar.embed(model_id)

    def duplicates_dialog(self, tab: str = "duplicates") -> DuplicatesDialog | None:
        """Near-duplicates and the leakage report (non-modal); its groups can be shown in the gallery."""
        if self.dataset_id is None:
            return None
        for dlg in self.findChildren(DuplicatesDialog):
            if dlg.dataset_id == self.dataset_id and dlg.isVisible():
                dlg.show_tab(tab)
                dlg.raise_()
                return dlg
        dlg = DuplicatesDialog(self.client, self.dataset_id, self, actions=self.actions, tab=tab)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show_items.connect(lambda ids, title, dist: self.show_only(ids, title=title, distances=dist))
        dlg.changed.connect(lambda text: (self.message.emit(text), self.refresh()))
        dlg.show()
        return dlg

    def _fail(self, title: str, error: BaseException | str) -> None:
        """A failure goes where every error goes (the notification bar, with details), and to the status bar."""
        self.message.emit(f"{title}: {error}")
        self.error.emit(title, error)

    # -- layers ---------------------------------------------------------------------------
    def set_layer_visible(self, key: str, visible: bool) -> None:
        self.viewer.set_layer_visible(key, visible)
        hidden = self.gallery.gallery_delegate.hidden_layers
        (hidden.discard if visible else hidden.add)(key)
        if key in self.layer_actions and self.layer_actions[key].isChecked() != visible:
            self.layer_actions[key].setChecked(visible)
        self.gallery.viewport().update()

    def _rebuild_layers_menu(self, layers: dict[str, str]) -> None:
        self.layers_menu.clear()
        self.layer_actions = {}
        for key, title in layers.items():
            a = self.layers_menu.addAction(title)
            a.setCheckable(True)
            a.setChecked(self.viewer.layer_visible(key))
            a.toggled.connect(lambda on, k=key: self.set_layer_visible(k, on))
            self.layer_actions[key] = a

    # -- navigation -----------------------------------------------------------------------
    def current_row(self) -> int:
        return self._current_row

    def current_item(self) -> ItemRecord | None:
        return self._shown

    def open_row(self, row: int) -> None:
        """Make `row` current (selected, scrolled to) and show it in the viewer."""
        if not 0 <= row < self.model.rowCount():
            return
        idx = self.model.index(row)
        before = self._current_row
        self.gallery.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.gallery.scrollTo(idx)
        # Same index again: currentChanged does not fire. That includes the row already current and shown (the
        # view made the first row current when it took the focus): shown again, so the viewer opens on it.
        if self._current_row != row or before == row:
            self._show_row(row)

    def next_item(self) -> None:
        self.open_row(min(self._current_row + 1, self.model.rowCount() - 1))

    def previous_item(self) -> None:
        self.open_row(max(self._current_row - 1, 0))

    def focus_viewer(self, on: bool) -> None:
        """Viewer only (double-click / Enter on a thumbnail) or back to gallery + viewer."""
        self.filters.setVisible(not on)
        self.gallery.setVisible(not on)
        if on:
            if self._shown is None and self._current_row >= 0:
                self._show_row(self._current_row)
            self.viewer_panel.show()
            self.viewer.setFocus()
        else:
            self.gallery.setFocus()

    def close_viewer(self) -> None:
        """One click (or Esc) closes the viewer, and brings the gallery back if the viewer had the page alone."""
        if not self.gallery.isVisible():
            self.focus_viewer(False)
        self.viewer_panel.hide()

    # -- internals ------------------------------------------------------------------------
    def _set_enabled(self, on: bool) -> None:
        for a in (self.import_action, self.export_action, self.split_action, self.predict_action, self.similar_action,
                  self.duplicates_action):
            a.setEnabled(on)
        self.layers_button.setEnabled(on)
        self.filters.setEnabled(on)

    def _on_filter(self, flt: GalleryFilter) -> None:
        old_subset = self.model.filter.subset
        if self.showing_only:           # the filter column narrows the items shown
            flt = replace(flt, only=self.model.filter.only)
        self.model.set_filter(flt)
        if flt.subset != old_subset:
            self._load_summary()   # label counts follow the subset

    def _on_query_done(self, _count: int) -> None:
        self._on_count_text()
        self._current_row = -1
        self._relocate_current()

    def _relocate_current(self) -> None:
        """After a new query, keep the item the viewer shows current (and fresh) if it is still listed."""
        if self._shown is None:
            return
        row = self.model.row_of_item(self._shown.id)
        if row >= 0:
            self._current_row = row
            sm = self.gallery.selectionModel()
            sm.blockSignals(True)
            sm.setCurrentIndex(self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
            sm.blockSignals(False)
            self.gallery.viewport().update()
            r = self.model.row(row)
            if r is not None and r != self._shown_row:
                self._show(r, row)     # its annotations or subset may have changed (refresh)
        elif self.model.ids_ready:
            self.viewer_panel.set_title(self._shown.name, -1, self.model.rowCount())

    def _on_current_changed(self, cur, _prev) -> None:
        if self.gallery.focusing and self.viewer_panel.isHidden():
            # Qt made a cell current because the gallery took the focus (a dialog closed after an import or a
            # split): remember it for Enter, open nothing.
            self._current_row = cur.row()
            return
        self._show_row(cur.row())

    def _show_row(self, row: int) -> None:
        if row < 0:
            return
        self._current_row = row
        r = self.model.row(row)
        if r is None:                  # its page is loading; shown when it arrives
            self._pending_row = row
            self.viewer_panel.set_title("Loading…", row, self.model.rowCount())
            self.viewer_panel.show()
            return
        self._pending_row = -1
        self._show(r, row)

    def _show(self, r: GalleryRow, row: int) -> None:
        item = r.item
        self._shown = item
        self._shown_row = r
        self.viewer_panel.show()
        self.viewer_panel.set_title(item.name, row, self.model.rowCount())
        self.viewer.set_annotations(r.annotations, self.colors)
        size = (item.width, item.height) if item.width and item.height else None
        sha = item.sha256
        full = self.full_images.get(sha) if sha else None
        if full is not None:
            self.viewer.set_image(full, size)
        else:
            thumb = self.model.thumbnails.get(sha) if sha else None
            self.viewer.set_image(thumb if size else None, size)
            if sha:
                self.full_images.request(sha, self.catalog.store.path(sha))
        nxt = self.model.row(row + 1) if row + 1 < self.model.rowCount() else None
        if nxt is not None and nxt.item.sha256 and sha:
            # Decode the next image while the user looks at this one (the current one is queued last: first).
            self.full_images.request(nxt.item.sha256, self.catalog.store.path(nxt.item.sha256))
            self.full_images.request(sha, self.catalog.store.path(sha))
        self.item_opened.emit(item.id)

    def _on_page_loaded(self, _page: int) -> None:
        if self._pending_row >= 0 and self.model.row(self._pending_row) is not None:
            self._show_row(self._pending_row)

    def _on_thumbnail(self, key: str) -> None:
        it = self._shown
        if it is not None and it.sha256 == key and self.full_images.get(key) is None and it.width:
            self.viewer.set_image(self.model.thumbnails.get(key), (it.width, it.height))

    def _on_full_image(self, key: str) -> None:
        it = self._shown
        if it is not None and it.sha256 == key:
            size = (it.width, it.height) if it.width and it.height else None
            self.viewer.set_image(self.full_images.get(key), size)

    def _summary_if_due(self) -> None:
        if self._summary_due:
            self._load_summary()

    def _load_summary(self) -> None:
        self._summary_due = False
        self._summary_timer.stop()
        if self.dataset_id is None:
            return
        self._summary_gen += 1
        gen, cat, ds = self._summary_gen, self.catalog, self.dataset_id
        subset, relay = self.model.filter.subset, self._summary_relay

        def job() -> None:
            if gen != self._summary_gen:
                return
            try:
                relay.done.emit(gen, dataset_summary(cat, ds, subset))
            except RuntimeError:
                raise
            except Exception as e:  # noqa: BLE001 - counts are a nicety; say so and go on
                log.warning("dataset counts failed: %s", e)

        for old in self._jobs:         # a queued runnable must outlive its place in the queue
            self._summary_pool.tryTake(old)
        j = _SummaryJob(job)
        self._jobs = [j]
        self._summary_pool.start(j)

    def _on_summary(self, gen: int, summary: DatasetSummary) -> None:
        if gen != self._summary_gen:
            return
        self.summary = summary
        self.filters.set_subset_counts(summary.subset_counts)
        self.filters.set_label_counts(self._labels, summary.label_items, self.colors, total=summary.items,
                                      annotations=summary.label_counts)
        self._rebuild_layers_menu(summary.layers)
        if self.model.settled:
            self._on_count_text()
        self.summary_loaded.emit()

    def _on_count_text(self) -> None:
        total = sum(self.summary.subset_counts.values())
        count = self.model.rowCount()
        filtered = bool(self.model.filter.to_kwargs())
        self.count_label.setText(f"{count:,} of {total:,} items" if filtered and total else f"{count:,} items")


def _local_paths(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def split_message(counts: dict[str, int]) -> str:
    """The status bar's line after a split, in the dialog's order (train, validation, test), not the catalog's."""
    order = ["train", "validation", "test"]
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return "Split: " + ", ".join(f"{k} {counts[k]:,}" for k in keys)
