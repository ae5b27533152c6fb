"""The embedding map docked beside the pages (View / Dataset > Embedding map): it follows the dataset on screen, and
its lasso filters that dataset's gallery live, as FiftyOne's embeddings panel filters the grid beside it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

from .style import muted


class EmbeddingMapDock(QDockWidget):
    """Holds an EmbeddingMapPage (built on first show, so start-up imports nothing of it); `pages` is the window's
    Pages (its show_in_gallery filters the gallery)."""

    message = Signal(str)
    error = Signal(str, object)

    def __init__(self, pages: Any, parent: QMainWindow | None = None):
        super().__init__("Embedding map", parent)
        self.setObjectName("embeddingMapDock")      # saveState / restoreState key
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea |
                             Qt.DockWidgetArea.BottomDockWidgetArea)
        self.pages = pages
        self.client: Any = None
        self.page: Any = None
        self.dataset_id: str | None = None
        self._filtering = False           # the gallery shows the map's selection (so clearing it clears that)
        self.placeholder = QLabel("Open a dataset to see its embedding map.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        muted(self.placeholder)
        self.setWidget(self.placeholder)
        self.visibilityChanged.connect(lambda shown: shown and self._show_current())

    def bind(self, client: Any) -> None:
        self.unbind()
        self.client = client

    def unbind(self) -> None:
        """Let go of the catalog (the window is closing it): the page stops its work and goes."""
        if self.page is not None:
            self.page.shutdown()
            self.setWidget(self.placeholder)
            self.page.deleteLater()
            self.page = None
        self.client = None
        self.dataset_id = None
        self._filtering = False

    def open(self, dataset_id: str | None = None) -> Any:
        """Show the map of `dataset_id` (default: the dataset on screen); returns the page (None without one)."""
        if dataset_id is not None:
            self.dataset_id = dataset_id
        self.show()
        self.raise_()
        return self._show_current()

    def follow(self, kind: str, ident: str) -> None:
        """The window showed an entity: a dataset's map follows it while the dock is open."""
        if kind == "dataset":
            self.dataset_id = ident
            if self.isVisible():
                self._show_current()

    def _show_current(self) -> Any:
        if self.client is None or self.dataset_id is None:
            return None
        page = self._page()
        if page.dataset_id != self.dataset_id:
            self._filtering = False
            page.set_dataset(self.dataset_id)
            self.setWindowTitle(page.title.text())   # "Embedding map: <dataset>" on the dock's own title bar
        return page

    def _page(self) -> Any:
        if self.page is None:
            from .views.embedding_map_page import EmbeddingMapPage
            self.page = EmbeddingMapPage(self.client)
            self.page.message.connect(self.message)
            self.page.error.connect(self.error)
            self.page.selection_changed.connect(self._lassoed)
            self.page.gallery_requested.connect(self._to_gallery)
            self.page.title.hide()
            self.setWidget(self.page)
        return self.page

    def _lassoed(self, dataset_id: str, item_ids: list, title: str) -> None:
        if item_ids or self._filtering:      # a click that clears the map clears only the map's own filter
            self.pages.show_in_gallery(dataset_id, item_ids, title, switch=False)
            self._filtering = bool(item_ids)

    def _to_gallery(self, dataset_id: str, item_ids: list, title: str) -> None:
        self.pages.show_in_gallery(dataset_id, item_ids, title, switch=True)
        self._filtering = bool(item_ids)
