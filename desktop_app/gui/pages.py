"""The central stack of pages, each built on first use (so start-up imports nothing it does not show)."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from .style import muted, title_font
from .views.welcome_page import WelcomePage

log = logging.getLogger("desktop_app.gui")


class DatasetPlaceholder(QWidget):
    """Shown when the dataset page (gallery, viewer, import, split) fails to load (the error is in the log)."""

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        self.title = QLabel()
        self.title.setFont(title_font(self.font()))
        lay.addWidget(self.title)
        self.info = QLabel()
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        note = QLabel("The dataset gallery could not be loaded; the app log has the error.")
        muted(note)
        lay.addWidget(note)
        lay.addStretch(1)

    def set_dataset(self, dataset_id: str) -> None:
        ds = self.client.datasets.get(dataset_id=dataset_id)
        subsets = ", ".join(f"{k} {v}" for k, v in ds.subset_counts().items())
        self.title.setText(ds.name)
        self.info.setText(f"{ds.items_count} items ({subsets}); labels: {', '.join(ds.labels)}")


# Pages reached from other pages (not from the navigator): kind -> (module, class).
REVIEW_PAGES = {"compare": (".views.compare_page", "ComparePage"),
                "evaluation": (".views.evaluation_page", "EvaluationPage"),
                "review": (".views.review_page", "ReviewPage"),
                "label_queue": (".views.label_queue_page", "LabelQueuePage"),   # filled by set_queue (Label next)
                "sweep": (".views.sweep_page", "SweepPage")}


# A project's pages beside its datasets and models (a navigator node each, the id is the project's).
PROJECT_PAGES = {"pipelines": (".views.pipelines_page", "PipelinesPage"),
                 "services": (".views.services_page", "ServicesPage"),
                 "leaderboard": (".views.leaderboard_page", "LeaderboardPage")}

# Pages that change the catalog or the outside world: they get the window's actions (the one seam).
ACTING_PAGES = {"evaluation", "pipelines", "services", "sweep"}


class Pages(QStackedWidget):
    """project / dataset / package / model pages over one client; `show_entity` picks and fills one."""

    navigate = Signal(str, str)
    clone_requested = Signal(str)
    evaluate_requested = Signal(str)      # model id
    add_package_requested = Signal()
    new_dataset_requested = Signal(str)   # project id: the project page's New dataset…
    label_next_requested = Signal(str)    # dataset id: a dataset page's Label next… (the window's dialog)
    message = Signal(str)                 # one line for the status bar
    error = Signal(str, object)           # title, exception or message: for the ErrorHub
    catalog_changed = Signal()            # an entity was deleted here: the navigator rebuilds

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.welcome = WelcomePage()
        self.welcome.navigate.connect(self.navigate)
        self.welcome.clone_requested.connect(self.clone_requested)
        self.welcome.add_package_requested.connect(self.add_package_requested)
        self.addWidget(self.welcome)
        self.pages: dict[str, QWidget] = {}
        self.client: Any = None
        self.actions: Any = None
        self.poller: Any = None
        self.settings: Any = None         # the window's SettingsStore: pages with use_settings() keep state there

    def bind(self, client: Any, actions: Any, poller: Any) -> None:
        self.clear_pages()
        self.client, self.actions, self.poller = client, actions, poller

    def clear_pages(self) -> None:
        for page in self.pages.values():
            shutdown = getattr(page, "shutdown", None)
            if callable(shutdown):
                shutdown()  # pages with threads of their own stop them before the catalog closes
            self.removeWidget(page)
            page.deleteLater()
        self.pages.clear()
        self.setCurrentWidget(self.welcome)

    def page(self, kind: str) -> QWidget:
        page = self.pages.get(kind)
        if page is None:
            page = self.pages[kind] = self._build(kind)
            self.addWidget(page)
        return page

    def _build(self, kind: str) -> QWidget:
        if kind == "model":
            from .views.model_page import ModelPage
            page = ModelPage(self.client, self.actions, self.poller)
            page.clone_requested.connect(self.clone_requested)
            page.evaluate_requested.connect(self.evaluate_requested)
            page.navigate.connect(self.navigate)
            return page
        if kind == "project":
            from .views.project_page import ProjectPage
            page = ProjectPage(self.client)
            page.navigate.connect(self.navigate)
            page.new_dataset_requested.connect(self.new_dataset_requested)
            return page
        if kind == "package":
            from .views.package_page import PackagePage
            page = PackagePage(self.client, actions=self.actions)
            page.navigate.connect(self.navigate)
            page.add_package_requested.connect(self.add_package_requested)
            page.error.connect(self.error)
            page.deleted.connect(self._package_deleted)
            return page
        if kind == "dataset":
            try:
                from .views.dataset_page import DatasetPage
                page = DatasetPage(self.client, parent=self, actions=self.actions)
                page.message.connect(self.message)
                page.error.connect(self.error)
                if hasattr(page, "label_next_requested"):   # its toolbar / context menu's Label next…
                    page.label_next_requested.connect(self.label_next_requested)
                return page
            except Exception:  # noqa: BLE001 - a broken page must not take the window down
                log.exception("the dataset page failed to load; showing the placeholder")
            return DatasetPlaceholder(self.client)
        where = REVIEW_PAGES.get(kind) or PROJECT_PAGES.get(kind)  # imported on first use
        if where is not None:
            import importlib
            module, cls = where
            page_class = getattr(importlib.import_module(module, __package__), cls)
            page = page_class(self.client, actions=self.actions) if kind in ACTING_PAGES else page_class(self.client)
            page.navigate.connect(self.navigate)
            page.message.connect(self.message)
            if hasattr(getattr(page, "gallery", None), "find_similar"):   # the evaluation's error gallery
                page.gallery.find_similar.connect(self.find_similar)
            if hasattr(page, "error"):      # its failures land with every other error (the ErrorHub)
                page.error.connect(self.error)
            if hasattr(page, "use_settings"):
                page.use_settings(self.settings)
            return page
        raise ValueError(f"no page for {kind!r}")

    def show_entity(self, kind: str, ident: str) -> QWidget:
        page = self.page(kind)
        if kind == "model":
            page.set_model(ident)
        elif kind == "project":
            page.set_project(ident)
        elif kind == "package":
            page.set_package(ident)
        elif kind == "dataset":
            page.set_dataset(ident)
        elif kind == "compare":
            page.set_models(ident)            # model ids, comma-separated
        elif kind == "evaluation":
            page.set_evaluation(ident)        # evaluation id (optionally '@row,col': a confusion cell)
        elif kind == "review":
            page.set_evaluations(ident)       # two evaluation ids, comma-separated
        elif kind == "sweep":
            page.set_sweep(ident)             # sweep id
        elif kind in PROJECT_PAGES:
            page.set_project(ident)           # project id
        self.setCurrentWidget(page)
        return page

    def find_similar(self, item_id: int) -> None:
        """The item's dataset in its page (selected in the navigator), its gallery sorted by similarity to it."""
        from desktop_app.errors import NotFoundError
        try:
            dataset_id = self.client.catalog.get_item(int(item_id)).dataset_id
        except NotFoundError as e:      # deleted meanwhile: said where errors go
            self.error.emit("Could not find similar items", e)
            return
        self.navigate.emit("dataset", dataset_id)
        page = self.pages.get("dataset")
        if page is None or self.currentWidget() is not page or getattr(page, "dataset_id", None) != dataset_id:
            page = self.show_entity("dataset", dataset_id)   # no window to navigate (a test), or it refused
        if hasattr(page, "find_similar"):
            page.find_similar(int(item_id))

    def show_in_gallery(self, dataset_id: str, item_ids: list, title: str = "", switch: bool = True) -> None:
        """The dataset's gallery with only these items (none: all again), for the embedding map (gui.embedding_dock):
        switched to (the navigator follows) when `switch`, else only when its page shows that dataset already (the
        map's lasso beside the gallery, live)."""
        page = self.pages.get("dataset")
        if switch:
            self.navigate.emit("dataset", dataset_id)
            page = self.pages.get("dataset")
            if page is None or self.currentWidget() is not page or getattr(page, "dataset_id", None) != dataset_id:
                page = self.show_entity("dataset", dataset_id)   # no window to navigate (a test), or it refused
        elif page is None or getattr(page, "dataset_id", None) != dataset_id:
            return
        # DatasetPage.show_only / clear_only (issue 14, H2): absent from an older page, the switch is all there is.
        if item_ids and hasattr(page, "show_only"):
            page.show_only([int(i) for i in item_ids], title=title or f"{len(item_ids):,} items from the map")
        elif not item_ids and hasattr(page, "clear_only"):
            page.clear_only()

    def show_welcome(self) -> None:
        self.setCurrentWidget(self.welcome)

    def _package_deleted(self, text: str) -> None:
        self.show_welcome()
        self.message.emit(text)
        self.catalog_changed.emit()

    @property
    def model_page(self):
        return self.pages.get("model")

    def current_kind(self) -> str | None:
        w = self.currentWidget()
        for kind, page in self.pages.items():
            if page is w:
                return kind
        return "welcome" if w is self.welcome else None

