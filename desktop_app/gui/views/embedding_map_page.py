"""The embedding map of a dataset: a model's feature set projected to 2-D (PCA, or UMAP when installed), coloured
by label / subset / prediction / right-wrong; a lasso (or a legend click) selects items, which the dataset's
gallery then shows (the window docks this page beside the gallery: gui.embedding_dock). Feature sets are listed
and projections made on the page's task pool."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from desktop_app.catalog import ItemRecord
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.evaluation.embedding_map import (MODE_TITLES, MODES, FeatureSetChoice, MapData, build_map,
                                                  feature_sets_for)
from desktop_app.evaluation.projection import METHOD_TITLES, UMAP_HINT, ProjectionCache, umap_available

from ..style import muted, title_font
from ..thumbnails import ImageLoader, thumbs_dir
from ..widgets.embedding_map import EmbeddingMap, category_colours
from ..workers import TaskRunner

log = logging.getLogger(__name__)


class EmbeddingMapPage(QWidget):
    message = Signal(str)
    error = Signal(str, object)
    loaded = Signal()                            # a map (or the reason there is none) is on screen
    selection_changed = Signal(str, list, str)   # dataset id, item ids (empty: cleared), a title for the gallery
    gallery_requested = Signal(str, list, str)   # the same, and show the gallery now

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.dataset_id: str | None = None
        self.data: MapData | None = None
        self.choices: list[FeatureSetChoice] = []
        self.cache = ProjectionCache()
        self.tasks = TaskRunner(self)
        self._gen = 0
        self._items: dict[int, ItemRecord] = {}
        self._hover_sha: str | None = None
        self.thumbnails = ImageLoader(cache_dir=thumbs_dir(self.catalog.home), memory_items=400, threads=1,
                                      parent=self)      # the gallery's disk cache of thumbnails
        self.thumbnails.ready.connect(self._on_thumbnail)

        self.title = QLabel("Embedding map")
        self.title.setFont(title_font(self.font(), 1.15))
        self.feature_combo = QComboBox()
        self.feature_combo.setMinimumContentsLength(16)
        self.feature_combo.setToolTip("The model whose embeddings (feature set) are mapped")
        self.method_combo = QComboBox()
        for method, title in METHOD_TITLES.items():
            self.method_combo.addItem(title if method != "umap" or umap_available() else f"{title} (not installed)",
                                      method)
        if not umap_available():
            self.method_combo.setItemData(1, UMAP_HINT, Qt.ItemDataRole.ToolTipRole)
        self.colour_combo = QComboBox()
        for mode in MODES:
            self.colour_combo.addItem(MODE_TITLES[mode], mode)
        self.lasso_button = QToolButton()
        self.lasso_button.setText("Lasso")
        self.lasso_button.setCheckable(True)
        self.lasso_button.setToolTip("Drag to draw a lasso around points (Shift-drag lassoes without this on); "
                                     "a click clears the selection")
        self.gallery_button = QPushButton("Show in gallery")
        self.gallery_button.setToolTip("The dataset's gallery with only the selected items")
        self.gallery_button.setEnabled(False)
        self.counts = QLabel()
        self.counts.setObjectName("embeddingCounts")
        self.note = QLabel()
        self.note.setWordWrap(True)
        muted(self.note)
        self.map = EmbeddingMap()
        self.map.describe = self.describe

        for combo in (self.feature_combo, self.method_combo, self.colour_combo):   # narrow enough for a dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method_combo.setMinimumContentsLength(6)
        self.colour_combo.setMinimumContentsLength(10)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Feature set"))
        bar.addWidget(self.feature_combo, 1)
        bar.addWidget(QLabel("Projection"))
        bar.addWidget(self.method_combo)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Colour by"))
        tools.addWidget(self.colour_combo)
        tools.addWidget(self.lasso_button)
        tools.addStretch(1)
        tools.addWidget(self.gallery_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addWidget(self.title)
        lay.addLayout(bar)
        lay.addLayout(tools)
        lay.addWidget(self.counts)
        lay.addWidget(self.map, 1)
        lay.addWidget(self.note)

        self.feature_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.method_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.colour_combo.currentIndexChanged.connect(lambda _i: self._colour())
        self.lasso_button.toggled.connect(self._lasso_mode)
        self.gallery_button.clicked.connect(self.show_in_gallery)
        self.map.selection_changed.connect(self._on_selection)

    # -- what is shown ----------------------------------------------------------------------
    def set_dataset(self, dataset_id: str) -> None:
        """The map of this dataset: its feature sets are listed (task pool), the first one projected."""
        ds = self.catalog.get_dataset(dataset_id)
        changed = ds.id != self.dataset_id
        self.dataset_id = ds.id
        self.title.setText(f"Embedding map: {ds.name}")
        if changed:
            self._items.clear()
            self.data = None
            self.map.set_points(np.zeros(0, np.int64), np.zeros((0, 2), np.float32))
            self.counts.setText("Reading the feature sets…")
            self.note.setText("")
        self._gen += 1
        gen, catalog = self._gen, self.catalog
        self.tasks.submit(lambda: feature_sets_for(catalog, ds.id), lambda found: self._listed(gen, found),
                          lambda e: self._failed(gen, e))

    def _listed(self, gen: int, choices: list[FeatureSetChoice]) -> None:
        if gen != self._gen:
            return
        current = self.feature_combo.currentData()
        self.choices = choices
        self.feature_combo.blockSignals(True)
        self.feature_combo.clear()
        for n, c in enumerate(choices):        # the model's name (a dock is narrow); its counts in the list's tooltip
            self.feature_combo.addItem(c.name, c.id)
            self.feature_combo.setItemData(n, c.title, Qt.ItemDataRole.ToolTipRole)
        at = self.feature_combo.findData(current)
        self.feature_combo.setCurrentIndex(max(at, 0))
        self.feature_combo.blockSignals(False)
        if not choices:
            self.data = None
            self.map.set_points(np.zeros(0, np.int64), np.zeros((0, 2), np.float32))
            self.counts.setText("No feature set holds vectors of this dataset's items.")
            self.note.setText("Embed the dataset with a model first: Dataloop's model.embed_datasets([dataset.id]) "
                              "or `desktop-app embed MODEL --dataset DATASET`.")
            self.loaded.emit()
            return
        self.reload()

    def reload(self) -> None:
        """Project the chosen feature set by the chosen method (task pool; from memory when done before)."""
        fs_id, method = self.feature_combo.currentData(), self.method_combo.currentData()
        if self.dataset_id is None or fs_id is None:
            return
        if method == "umap" and not umap_available():
            self.note.setText(UMAP_HINT)
            self.message.emit(UMAP_HINT)
            self.method_combo.blockSignals(True)
            self.method_combo.setCurrentIndex(0)
            self.method_combo.blockSignals(False)
            method = "pca"
            if self.data is not None and self.data.feature_set_id == fs_id and self.data.method == "pca":
                return
        self._gen += 1
        gen, catalog, dataset_id, cache = self._gen, self.catalog, self.dataset_id, self.cache
        self.counts.setText(f"Projecting ({METHOD_TITLES[method]})…")
        self.tasks.submit(lambda: build_map(catalog, dataset_id, fs_id, method, cache),
                          lambda data: self._built(gen, data), lambda e: self._failed(gen, e))

    def _built(self, gen: int, data: MapData) -> None:
        if gen != self._gen:
            return
        self.data = data
        self.map.set_points(data.item_ids, data.xy)
        self._colour()
        self.loaded.emit()

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen != self._gen:
            return
        if isinstance(error, (ValidationError, NotFoundError)):
            self.counts.setText("No map")
            self.note.setText(str(error))
            self.loaded.emit()
            return
        self.counts.setText("No map: the projection failed (see the notification)")
        self.error.emit("Could not make the embedding map", error)
        self.loaded.emit()

    def _colour(self) -> None:
        data = self.data
        if data is None:
            return
        mode = self.colour_combo.currentData()
        cats = data.categories[mode]
        ds = self.catalog.get_dataset(data.dataset_id)
        self.map.set_categories(cats.codes, cats.names, category_colours(cats.names, mode, ds.labels,
                                                                         ds.label_colors))
        self.note.setText(cats.note)
        self._count_line()

    def _count_line(self) -> None:
        data = self.data
        if data is None:
            return
        shown = len(data)
        parts = [f"{shown:,} points"]
        if data.embedded > shown:
            parts[0] += f" (a sample of the {data.embedded:,} embedded)"
        missing = data.dataset_items - data.embedded
        parts.append(f"{data.dataset_items:,} items in the dataset" +
                     (f", {missing:,} without a vector" if missing else ""))
        n = int(self.map.selected.sum())
        if n:
            parts.append(f"{n:,} selected")
        self.counts.setText(" · ".join(parts))

    # -- selection --------------------------------------------------------------------------
    def _lasso_mode(self, on: bool) -> None:
        self.map.box.lasso_mode = on        # a drag lassoes instead of panning; the wheel still zooms

    def _on_selection(self, ids: list[int]) -> None:
        self.gallery_button.setEnabled(bool(ids))
        self._count_line()
        if self.dataset_id is not None:
            self.selection_changed.emit(self.dataset_id, ids, self._gallery_title(ids))

    def _gallery_title(self, ids: list[int]) -> str:
        name = self.data.name if self.data is not None else "the map"
        return f"{len(ids):,} items lassoed on the embedding map ({name})"

    def select_polygon(self, polygon: Any) -> list[int]:
        """Lasso the points inside `polygon` (map coordinates), as a drag would; their item ids."""
        return self.map.select_polygon(np.asarray(polygon, np.float64))

    def show_in_gallery(self) -> None:
        ids = self.map.selected_ids()
        if ids and self.dataset_id is not None:
            self.gallery_requested.emit(self.dataset_id, ids, self._gallery_title(ids))

    # -- hover ------------------------------------------------------------------------------
    def describe(self, item_id: int) -> tuple[str, QPixmap | None]:
        """The hover popup's text and thumbnail (requested from the thumbnail cache when not in memory)."""
        rec = self._items.get(item_id)
        if rec is None:
            try:
                rec = self._items[item_id] = self.catalog.get_item(item_id)
            except NotFoundError:
                return f"item {item_id} (deleted)", None
        pixmap = None
        self._hover_sha = rec.sha256
        if rec.sha256:
            pixmap = self.thumbnails.get(rec.sha256)
            if pixmap is None and self.thumbnails.error(rec.sha256) is None:
                self.thumbnails.request(rec.sha256, self.catalog.store.path(rec.sha256))
        subset = f" · {rec.subset}" if rec.subset else ""
        return f"{rec.name}{subset}", pixmap

    def _on_thumbnail(self, key: str) -> None:
        if key == self._hover_sha:
            self.map.refresh_hover()

    def shutdown(self) -> None:
        """Stop background work (the catalog is about to close)."""
        self._gen += 1
        self.thumbnails.shutdown()
        self.tasks.wait(30_000)
