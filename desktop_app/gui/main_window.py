"""The main window: navigator | pages over a jobs panel, menus, status bar, notifications; wires the workers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from desktop_app.domain.status import ExecutionStatus
from desktop_app.errors import NotFoundError

from .app_services import AppServices
from .logging_setup import JobLog
from .notifications import ErrorHub, NotificationBar
from .pages import REVIEW_PAGES, Pages
from .settings_store import SettingsStore
from .views.navigator import Navigator
from .widgets.jobs_panel import JobsPanel
from .workers import CatalogLoader, EntitiesWatcher, JobsWatcher, MetricsPoller, TaskRunner

log = logging.getLogger("desktop_app.gui")


def _keys(*keys: QKeySequence.StandardKey | str) -> list[QKeySequence]:
    """The platform's bindings of each standard key, then each explicit one, without repeats: some platform
    themes (plain X11) bind HelpContents / Refresh to nothing, so F1 / F5 are given as well."""
    out: list[QKeySequence] = []
    for key in keys:
        for seq in (QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey)
                    else [QKeySequence(key)]):
            if not seq.isEmpty() and seq not in out:
                out.append(seq)
    return out


def app_log_note(path: Path | None, home: Path | None, read_only: bool) -> str:
    """Where the logs are, for Help ▸ Open the app log: one folder, <catalog>/logs, once a catalog is open."""
    where = ("Every log is under the catalog's logs/ folder: app.log (this window), scheduler.log, executions/ "
             "(each job), pipelines/ (each run), services/ (each service).")
    if home is None:
        return (f"No catalog is open, so this is the start-up log in the settings folder ({path}). Once a catalog "
                f"opens, the window logs into <catalog>/logs/app.log. {where}")
    if path is not None and Path(path).parent != Path(home) / "logs":
        return (f"The catalog {home} is open read-only (another window may be writing it), so this window logs "
                f"into the settings folder ({path}); the catalog's own app.log is in {Path(home) / 'logs'}. {where}"
                if read_only else f"This window logs into {path}: the catalog folder cannot be written. {where}")
    return f"{where} This one: {path}."


class MainWindow(QMainWindow):
    catalog_ready = Signal()

    def __init__(self, settings: SettingsStore | None = None, *, jobs_interval: float = 0.5,
                 metrics_interval: float = 0.5, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or SettingsStore()
        self.jobs_interval = jobs_interval
        self.metrics_interval = metrics_interval
        self.client: Any = None
        self.actions: Any = None
        self.watcher: JobsWatcher | None = None
        self.poller: MetricsPoller | None = None
        self.entities: EntitiesWatcher | None = None
        self.loader: CatalogLoader | None = None
        self.dialogs: list[QWidget] = []
        self.job_log = JobLog()                 # app.log's lines for jobs submitted, started and ended
        self._shut = False
        self._splitters_restored = False
        self.hub = ErrorHub(self)
        self.tasks = TaskRunner(self)
        self.setWindowTitle("Model Desk")
        self.resize(1400, 880)
        self._build()
        self.services = AppServices(self)   # instance lock, read-only badge, pipelines, settings/housekeeping
        self._build_menus()
        self._restore_state()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.navigator = Navigator()
        self.navigator.selected.connect(self._on_selected)
        self.navigator.compare_requested.connect(self.compare_models)
        self.navigator.new_dataset_requested.connect(self.open_new_dataset_dialog)
        self.pages = Pages()
        self.pages.settings = self.settings   # the leaderboard's saved views
        self.pages.navigate.connect(self.navigate)
        self.pages.clone_requested.connect(self.open_clone_dialog)
        self.pages.evaluate_requested.connect(self.open_evaluate_dialog)
        self.pages.add_package_requested.connect(self.open_package_dialog)
        self.pages.new_dataset_requested.connect(self.open_new_dataset_dialog)   # File > New dataset…'s dialog
        self.pages.label_next_requested.connect(lambda ds: self.open_label_next_dialog(dataset_id=ds))
        self.pages.message.connect(self._page_message)   # shown in the status bar and written to app.log
        self.pages.error.connect(self._page_error)   # a page's failures land with every other error
        self.pages.catalog_changed.connect(self.refresh_tree)
        self.pages.welcome.new_dataset_requested.connect(lambda: self.open_new_dataset_dialog())
        self.jobs = JobsPanel()
        self.notification = NotificationBar(self.hub)
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.notification)
        cl.addWidget(self.pages, 1)
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.setObjectName("rightSplitter")
        self.right.addWidget(center)
        self.right.addWidget(self.jobs)
        self.right.setStretchFactor(0, 4)
        self.right.setStretchFactor(1, 1)
        self.right.setSizes([640, 200])
        self.main = QSplitter(Qt.Orientation.Horizontal)
        self.main.setObjectName("mainSplitter")
        self.main.addWidget(self.navigator)
        self.main.addWidget(self.right)
        self.main.setStretchFactor(1, 1)
        self.main.setSizes([300, 1100])
        self.setCentralWidget(self.main)
        self.catalog_label = QLabel()
        self.jobs_label = QLabel()
        self.statusBar().addPermanentWidget(self.jobs_label)
        self.statusBar().addPermanentWidget(self.catalog_label)
        self.hub.reported.connect(lambda n: self.statusBar().showMessage(f"{n.title}: {n.message[:120]}", 8000))
        from .embedding_dock import EmbeddingMapDock     # the embedding map beside the gallery (issue 14)
        self.map_dock = EmbeddingMapDock(self.pages, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.map_dock)
        self.map_dock.hide()
        self.map_dock.message.connect(self._page_message)
        self.map_dock.error.connect(self._page_error)

    def _page_message(self, text: str) -> None:
        """A page's one-line news (imported, exported, split, a service started): the status bar and app.log."""
        self.statusBar().showMessage(text, 8000)
        key, item = self.navigator.current_key(), self.navigator.currentItem()
        log.info("%s%s", text, f" [{key[0]} {item.text(0)}]" if key and item is not None else "")

    def _page_error(self, title: str, error: object) -> None:
        if isinstance(error, BaseException):
            self.hub.exception(title, error)
        else:
            self.hub.error(title, str(error))

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None, enabled=True) -> QAction:
            a = QAction(text, self)
            if isinstance(shortcut, list):
                a.setShortcuts(shortcut)
            elif shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            a.setEnabled(enabled)
            menu.addAction(a)
            return a

        mb = self.menuBar()
        file = mb.addMenu("&File")
        action(file, "&Open catalog…", self._ask_catalog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        self.new_dataset_action = action(file, "&New dataset…", lambda: self.open_new_dataset_dialog(),
                                         _keys(QKeySequence.StandardKey.New), enabled=False)
        self.import_new_action = action(file, "&Import as a new dataset…", self._import_as_new_dataset,
                                        "Ctrl+Shift+I", enabled=False)
        self.add_package_action = action(file, "&Add package from a folder…", self.open_package_dialog,
                                         "Ctrl+Shift+A", enabled=False)
        self.import_bundle_action = action(file, "Import model &bundle…", self._import_bundle, enabled=False)
        file.addSeparator()
        quit_action = action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        model = mb.addMenu("&Model")
        self.clone_action = action(model, "&Clone…", lambda: self._with_model(self.open_clone_dialog), "Ctrl+D",
                                   enabled=False)
        self.train_action = action(model, "&Train", lambda: self._with_model(lambda m: self.actions.train(m)),
                                   "Ctrl+T", enabled=False)
        self.cluster_train_action = action(
            model, "Train on the &cluster", lambda: self._with_model(lambda m: self.actions.train(m, cluster=True)),
            enabled=False)
        self.cluster_train_action.setToolTip("Train with Ray Train on the cluster set in Settings (cluster_address)")
        self.resume_action = action(model, "&Resume training", lambda: self._with_model(self.resume_model),
                                    enabled=False)
        # No shortcut: Ctrl+E is the dataset page's export.
        self.evaluate_action = action(model, "&Evaluate…", lambda: self._with_model(self.open_evaluate_dialog),
                                      enabled=False)
        self.compare_action = action(model, "Co&mpare selected models", self._compare_selected, "Ctrl+Shift+M",
                                     enabled=False)
        self.export_bundle_action = action(model, "E&xport bundle…", lambda: self._with_model(self._export_bundle),
                                           enabled=False)
        self.label_next_model_action = action(
            model, "&Label next…", lambda: self._with_model(lambda m: self.open_label_next_dialog(model_id=m)),
            enabled=False)
        self.label_next_model_action.setToolTip("Rank a dataset's items by this model's uncertainty and label them")
        dataset_menu = mb.addMenu("&Dataset")
        self.label_next_action = action(dataset_menu, "&Label next…", lambda: self.open_label_next_dialog(),
                                        enabled=False)
        self.label_next_action.setToolTip("Rank this dataset's items by a model's uncertainty and label them in order")
        # Near-duplicates and leakage (issue 14): on the Dataset menu, made here when no one made it yet.
        data_menu = next((a.menu() for a in mb.actions() if a.menu() is not None and a.text() == "&Dataset"),
                         None) or mb.addMenu("&Dataset")
        self.duplicates_action = action(data_menu, "Find &near-duplicates…", lambda: self._on_dataset_page(
            lambda p: p.duplicates_dialog()), enabled=False)
        self.leakage_action = action(data_menu, "Lea&kage report…", lambda: self._on_dataset_page(
            lambda p: p.duplicates_dialog("leakage")), enabled=False)
        self.leakage_action.setToolTip("Test / validation items with a near copy in train: move or drop them")
        map_menu = next((a.menu() for a in mb.actions() if a.menu() is not None and a.text() == "&Dataset"),
                        None) or mb.addMenu("&Dataset")
        self.map_action = action(map_menu, "Embedding &map", lambda: self.open_embedding_map(), "Ctrl+Shift+E")
        self.map_action.setToolTip("A model's embeddings of this dataset in 2-D; a lasso filters the gallery")
        view = mb.addMenu("&View")
        self.jobs_action = action(view, "&Jobs panel", self._toggle_jobs, "Ctrl+J")
        self.jobs_action.setCheckable(True)
        self.jobs_action.setChecked(True)
        self.refresh_action = action(view, "&Refresh", self.refresh_view,
                                     _keys(QKeySequence.StandardKey.Refresh, "F5"))
        self.map_view_action = self.map_dock.toggleViewAction()   # shows / hides the embedding map's dock
        self.map_view_action.setText("&Embedding map")
        view.addAction(self.map_view_action)
        view.addSeparator()
        self.leaderboard_action = action(view, "&Leaderboard", lambda: self.open_project_page("leaderboard"),
                                         "Ctrl+L")
        action(view, "&Pipelines", lambda: self.open_project_page("pipelines"))
        action(view, "&Services", lambda: self.open_project_page("services"))
        helpm = mb.addMenu("&Help")
        self.help_action = action(helpm, "&What to do first", self.pages.show_welcome,
                                  _keys(QKeySequence.StandardKey.HelpContents, "F1"))
        action(helpm, "Open the app &log", self._open_app_log)
        action(helpm, "&About Model Desk", self._about)
        self.services.add_actions(file, helpm, before=quit_action)

    # -- catalog --------------------------------------------------------------------------
    def open_catalog(self, home: Path | str | None) -> None:
        """Load a catalog folder in the background; the window stays usable meanwhile."""
        self._unbind()
        claim = self.services.claim(home)  # the instance lock, or ask: read-only / another / quit
        if claim is None:
            return
        if claim.read_only:
            self.services.open_read_only(claim.home)
            return
        home = claim.home
        self.pages.welcome.set_targets({}, "Opening the catalog… (a new catalog first generates the sample "
                                           "project: about half a minute)")
        self.pages.show_welcome()
        self.statusBar().showMessage("Opening the catalog…")
        self.loader = CatalogLoader(home, self)
        self.loader.loaded.connect(self.set_client)
        self.loader.failed.connect(lambda msg, tb: self.hub.error("Could not open the catalog", msg, tb))
        self.loader.failed.connect(self.services.release)
        self.loader.damaged.connect(self.services.show_damaged_catalog)
        self.loader.start()

    def set_client(self, client: Any, first_start: bool = False) -> None:
        from .actions import Actions
        self._unbind()
        self.client = client
        home = client.catalog.home
        self.services.start_logging(client)  # <catalog>/logs/app.log (the config folder's when read-only)
        log.info("catalog %s opened in the window%s", home, " read-only" if client.catalog.read_only else "")
        self.settings.add_recent_catalog(home)
        self.catalog_label.setText(str(home))
        self.job_log = JobLog()
        self.actions = Actions(client, self.hub, self.tasks, self)
        self.actions.catalog_changed.connect(self.refresh_tree)
        self.actions.job_submitted.connect(self._job_submitted)
        self.watcher = JobsWatcher(client.catalog, interval=self.jobs_interval, parent=self)
        self.watcher.snapshot.connect(self._apply_jobs)
        self.watcher.job_finished.connect(self._job_finished)
        self.watcher.error.connect(lambda msg, tb: self.hub.error("Watching jobs failed", msg, tb))
        self.poller = MetricsPoller(client.catalog, interval=self.metrics_interval, parent=self)
        self.poller.error.connect(lambda msg, tb: self.hub.error("Reading metrics failed", msg, tb))
        # Before the tree is built: a dataset a script makes meanwhile shows on the first poll.
        self.entities = EntitiesWatcher(client.catalog, interval=self.jobs_interval, parent=self)
        self.entities.changed.connect(self._entities_changed)
        self.entities.error.connect(lambda msg, tb: self.hub.error("Watching the catalog failed", msg, tb))
        self.pages.bind(client, self.actions, self.poller)
        self.map_dock.bind(client)
        self.jobs.cancel_requested.connect(self.actions.cancel)
        self.jobs.resume_requested.connect(self.actions.resume)
        self.jobs.log_requested.connect(self.open_log)
        for a in (self.add_package_action, self.clone_action, self.train_action, self.resume_action,
                  self.evaluate_action, self.export_bundle_action, self.cluster_train_action):
            a.setEnabled(a is self.add_package_action)
        self.compare_action.setEnabled(True)
        for a in (self.new_dataset_action, self.import_new_action, self.import_bundle_action):
            a.setEnabled(not client.catalog.read_only)
        self.pages.welcome.set_can_create(not client.catalog.read_only)
        self.refresh_tree()
        self._welcome_targets(first_start)
        self.watcher.start()
        self.poller.start()
        self.entities.start()
        self.statusBar().showMessage("Ready", 3000)
        self.services.catalog_opened(client)
        if first_start:
            self._select_silently("project", self.navigator.topLevelItem(0).data(0, Qt.ItemDataRole.UserRole + 1)
                                  if self.navigator.topLevelItemCount() else "")
            self.pages.show_welcome()
        else:
            last = self.settings.last_selection(home)
            if not (last and self.navigate(*last)) and self.navigator.topLevelItemCount():
                top = self.navigator.topLevelItem(0)
                self.navigate("project", top.data(0, Qt.ItemDataRole.UserRole + 1))
        self.catalog_ready.emit()

    def _welcome_targets(self, first_start: bool) -> None:
        cat = self.client.catalog
        targets = {}
        for d in cat.list_datasets():
            if d.name == "shapes":
                targets["dataset"] = d.id
        for m in cat.find_models(name="pretrained-resnet"):
            targets["model"] = m.id
        status = ("Your catalog is ready with the sample project. Start here:" if first_start
                  else f"Catalog {cat.home}")
        self.pages.welcome.set_targets(targets, status)

    def _unbind(self) -> None:
        self.services.catalog_closing()
        for t in (self.watcher, self.poller, self.entities):
            if t is not None:
                t.stop()
        self.watcher = self.poller = self.entities = None
        for a in (self.new_dataset_action, self.import_new_action, self.import_bundle_action):
            a.setEnabled(False)
        self.pages.welcome.set_can_create(False)
        if self.loader is not None:
            self.loader.wait()
            self.loader = None
        if self.actions is not None:
            for sig in (self.jobs.cancel_requested, self.jobs.resume_requested, self.jobs.log_requested):
                sig.disconnect()
        self.map_dock.unbind()
        self.pages.clear_pages()
        if self.client is not None and self.client is not getattr(self, "_external_client", None):
            self.client.catalog.close()
        self.client = None
        self.actions = None

    # -- navigation -----------------------------------------------------------------------
    def refresh_tree(self) -> None:
        if self.client is None:
            return
        from desktop_app.sdk.views import catalog_tree
        tree = catalog_tree(self.client.catalog)
        self.navigator.set_tree(tree)
        self._known_models = {m.id for p in tree for r in p.models for m in r.walk()}

    def refresh_view(self) -> None:
        """View ▸ Refresh (F5): the navigator and the page on show read the catalog again."""
        self.refresh_tree()
        refresh = getattr(self.pages.currentWidget(), "refresh", None)
        if callable(refresh):
            try:
                refresh()
            except Exception as e:  # noqa: BLE001 - a page that cannot re-read says so; the window stays
                self.hub.exception("Could not refresh the page", e)

    def _entities_changed(self) -> None:
        """Something was added, deleted or renamed (a script, the CLI, another page): the navigator follows,
        keeping its selection and expansion, and so does the project page if it is on show."""
        self.refresh_tree()
        project = self.pages.pages.get("project")
        if project is not None and self.pages.currentWidget() is project and project.project_id:
            try:
                project.set_project(project.project_id)
            except Exception as e:  # noqa: BLE001 - the project was deleted meanwhile: the tree shows it gone
                log.info("the project page could not re-read its project: %s", e)

    def navigate(self, kind: str, ident: str) -> bool:
        """Select an entity in the navigator (which shows its page)."""
        if kind == "group":
            kind, ident = "project", ident.split("/")[0]
        if kind in REVIEW_PAGES:             # compare / evaluation / review: not in the navigator
            self._show(kind, ident)
            return True
        if self.navigator.current_key() == (kind, ident):
            self._show(kind, ident)
            return True
        if not self.navigator.select(kind, ident):
            self.refresh_tree()
            if not self.navigator.select(kind, ident):
                return False
        return True

    def _on_selected(self, kind: str, ident: str) -> None:
        if kind == "group":
            kind, ident = "project", ident.split("/")[0]
        self._show(kind, ident)

    def _show(self, kind: str, ident: str) -> None:
        if self.client is None:
            return
        try:
            self.pages.show_entity(kind, ident)
        except Exception as e:  # noqa: BLE001
            self.hub.exception(f"Could not open the {kind}", e)
            return
        self._log_services(self.pages.currentWidget())
        self.map_dock.follow(kind, ident)
        if kind not in REVIEW_PAGES:   # a compare / evaluation page is not where the next start begins
            self.settings.set_last_selection(self.client.catalog.home, kind, ident)
        is_model = kind == "model"
        if not is_model and self.poller is not None:
            self.poller.set_model(None)  # no charts on screen: stop reading metrics
        self.clone_action.setEnabled(is_model)
        self.train_action.setEnabled(is_model)
        self.resume_action.setEnabled(is_model)
        self.cluster_train_action.setEnabled(is_model)
        self.evaluate_action.setEnabled(is_model)
        self.export_bundle_action.setEnabled(is_model)
        self.label_next_model_action.setEnabled(is_model)
        self.label_next_action.setEnabled(kind == "dataset")
        self.duplicates_action.setEnabled(kind == "dataset")
        self.leakage_action.setEnabled(kind == "dataset")
        self.label_next_model_action.setEnabled(is_model)
        self.label_next_action.setEnabled(kind == "dataset")

    def compare_models(self, model_ids: list[str]) -> None:
        if self.client is not None and len(model_ids) >= 2:
            self.navigate("compare", ",".join(model_ids))

    def _compare_selected(self) -> None:
        ids = self.navigator.selected_models()
        if len(ids) < 2:
            self.statusBar().showMessage("Select two or more models in the navigator (Ctrl-click) to compare them",
                                         8000)
            return
        self.compare_models(ids)

    def current_project_id(self) -> str | None:
        """The project of the navigator's current row (the first project when nothing is chosen)."""
        item = self.navigator.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None and self.navigator.topLevelItemCount():
            item = self.navigator.topLevelItem(0)
        return item.data(0, Qt.ItemDataRole.UserRole + 1) if item is not None else None

    def open_project_page(self, kind: str) -> bool:
        """The pipelines / services page of the current project (the first one when nothing is chosen)."""
        project_id = self.current_project_id()
        return project_id is not None and self.navigate(kind, project_id)

    def _select_silently(self, kind: str, ident: str) -> None:
        self.navigator.blockSignals(True)
        self.navigator.select(kind, ident)
        self.navigator.blockSignals(False)

    def resume_model(self, model_id: str) -> Any:
        """Model ▸ Resume training: the model's last training, stopped part-way, goes on from its checkpoint."""
        from desktop_app.sdk.views import model_details
        d = model_details(self.client.catalog, model_id)
        ex = d.resumable_execution
        if ex is None or d.active_execution is not None:
            self.statusBar().showMessage(f"Nothing to resume: {d.model.name}'s last training "
                                         f"{'is still on' if d.active_execution else 'did not stop part-way'}", 8000)
            return None
        done = self.actions.resume(ex.id)
        page = self.pages.model_page
        if done is not None and page is not None and page.model_id == model_id:
            page.refresh()
        return done

    def _export_bundle(self, model_id: str) -> None:
        """Model > Export bundle…: the model in one .mdbundle file (gui.bundle_actions)."""
        from .bundle_actions import FILTER, bundle_filename, export_bundle
        name = self.client.catalog.get_model(model_id).name
        path, _ = QFileDialog.getSaveFileName(self, "Export model bundle", bundle_filename(name), FILTER)
        if path:
            export_bundle(self.actions, model_id, path, self._page_message)

    def _import_bundle(self) -> None:
        """File > Import model bundle…: a model from another catalog, into the current project."""
        from .bundle_actions import FILTER, import_bundle
        path, _ = QFileDialog.getOpenFileName(self, "Import model bundle", "", FILTER)
        if path:
            import_bundle(self.actions, path, self.current_project_id(), self._page_message)

    def open_embedding_map(self, dataset_id: str | None = None):
        """Dataset > Embedding map: the dataset's map (default: the dataset on screen) in the dock beside its
        gallery; returns the map's page."""
        if self.client is None:
            return None
        key = self.navigator.current_key()
        if dataset_id is None and key and key[0] == "dataset":
            dataset_id = key[1]
        if dataset_id is not None and key != ("dataset", dataset_id):
            self.navigate("dataset", dataset_id)
        page = self.map_dock.open(dataset_id)
        if page is None:
            self.statusBar().showMessage("Choose a dataset: the embedding map shows a dataset's items", 8000)
        return page

    def _on_dataset_page(self, fn) -> None:
        page = self.pages.pages.get("dataset")
        if page is not None and self.pages.currentWidget() is page and hasattr(page, "duplicates_dialog"):
            fn(page)

    def _with_model(self, fn) -> None:
        key = self.navigator.current_key()
        if key and key[0] == "model":
            fn(key[1])

    # -- jobs -----------------------------------------------------------------------------
    def _apply_jobs(self, rows: list, statuses: dict) -> None:
        self.jobs.set_rows(rows)
        self.job_log.apply(rows, self.jobs.title)
        if set(statuses) != getattr(self, "_known_models", set()):
            self.refresh_tree()   # a model was created or deleted elsewhere (a script, the CLI)
        self.navigator.set_statuses(statuses)
        page = self.pages.model_page
        if page is not None and self.pages.currentWidget() is page:
            page.apply_jobs(rows, statuses)
        project = self.pages.pages.get("project")
        if project is not None and self.pages.currentWidget() is project:
            project.set_statuses(statuses)
        from .widgets.jobs_panel import job_counts
        self.jobs_label.setText(job_counts(rows, none="No jobs running"))   # "1 running, 1 queued"

    def _job_submitted(self, execution_id: str) -> None:
        from desktop_app.sdk.views import job_rows
        try:
            cat = self.client.catalog
            ex = cat.get_execution(execution_id)
            names = {ex.model_id: cat.get_model(ex.model_id).name} if ex.model_id else {}
            row = job_rows(cat, [ex], names)[0]
            self.job_log.submitted(row, row.name)
        except NotFoundError as e:     # deleted at once (another window): nothing to log
            log.info("job %s submitted, then gone: %s", execution_id, e)
        if self.watcher is not None:
            self.watcher.poke()
        QTimer.singleShot(300, self.jobs, lambda: self.jobs.select(execution_id))   # dropped if the panel is gone

    def _job_finished(self, row: Any, log_tail: str) -> None:
        if row.status == ExecutionStatus.FAILED:
            self.hub.error(f"{row.kind.capitalize()} of {row.model_name or 'a model'} failed",
                           row.error or "the job failed", log_tail)
        else:
            self.statusBar().showMessage(f"{self.jobs.title(row)}: {row.status}", 8000)

    def open_log(self, row: Any) -> None:
        from .widgets.log_view import LogDialog
        path = Path(row.log_path)
        if not path.is_absolute() and self.client is not None:
            path = self.client.catalog.home / path
        dlg = LogDialog(f"Log: {self.jobs.title(row)} ({row.id})", path, self)
        self._keep(dlg)
        dlg.show()

    # -- dialogs --------------------------------------------------------------------------
    def open_clone_dialog(self, model_id: str):
        from .dialogs.clone_dialog import CloneDialog
        if self.client is None or not model_id:
            return None
        dlg = CloneDialog(self.client, self.actions, model_id, self)
        dlg.accepted.connect(lambda: self._cloned(dlg))
        self._keep(dlg)
        dlg.open()
        return dlg

    def _cloned(self, dlg) -> None:
        model = dlg.created
        if model is None:
            return
        self.refresh_tree()
        self.navigate("model", model.id)
        if dlg.train_after:
            page = self.pages.model_page
            if page is not None:
                page.train()
            else:
                self.actions.train(model.id)

    def open_evaluate_dialog(self, model_id: str):
        """The dialog queues the job itself; a model that cannot be evaluated gets the reason, OK disabled."""
        from .dialogs.evaluate_dialog import EvaluateDialog
        if self.client is None or not model_id:
            return None
        dlg = EvaluateDialog(self.client, self.actions, model_id, self)
        dlg.accepted.connect(lambda: self._evaluation_queued(model_id))
        self._keep(dlg)
        dlg.open()
        return dlg

    def open_label_next_dialog(self, dataset_id: str | None = None, model_id: str | None = None):
        """Label next… (Dataset / Model menu): rank by a model's uncertainty, then the queue opens in the viewer."""
        from .dialogs.label_next_dialog import LabelNextDialog
        if self.client is None:
            return None
        key = self.navigator.current_key()
        if dataset_id is None and model_id is None and key and key[0] == "dataset":
            dataset_id = key[1]
        dlg = LabelNextDialog(self.client, self.actions, dataset_id=dataset_id, model_id=model_id, parent=self)
        dlg.queue_ready.connect(self.open_label_queue)
        self._keep(dlg)
        dlg.open()
        return dlg

    def open_label_queue(self, spec: Any):
        """The label-next queue (a LabelQueueSpec) in the review viewer, a page of its own."""
        page = self.pages.show_entity("label_queue", spec.dataset_id)
        page.set_queue(spec)
        return page

    def _evaluation_queued(self, model_id: str) -> None:
        page = self.pages.model_page
        if page is not None and page.model_id == model_id and self.pages.currentWidget() is page:
            page.show_evaluations()  # the list says it is queued, then shows the result

    def open_new_dataset_dialog(self, project_id: str | None = None, path: str | None = None):
        """New dataset (File ▸ New dataset…, a project's right-click, its page, the welcome page): the project
        preselected is the one given, else the navigator's current one; the new dataset opens once made."""
        from .dialogs.new_dataset_dialog import NewDatasetDialog
        if self.client is None or self.client.catalog.read_only:
            return None
        dlg = NewDatasetDialog(self.client.catalog, self.actions, self,
                               project_id=project_id or self.current_project_id(), path=path)
        dlg.created.connect(self._dataset_created)
        self._keep(dlg)
        dlg.open()
        return dlg

    def _import_as_new_dataset(self) -> None:
        dlg = self.open_new_dataset_dialog()
        if dlg is not None:
            dlg.path_edit.setFocus()

    def _dataset_created(self, dataset_id: str) -> None:
        self.refresh_tree()
        self.navigate("dataset", dataset_id)
        self.statusBar().showMessage(f"Dataset {self.client.catalog.get_dataset(dataset_id).name!r} created", 8000)

    def open_package_dialog(self, folder: str | None = None):
        from .dialogs.package_dialog import PackageDialog
        if self.client is None:
            return None
        dlg = PackageDialog(self.actions, self, folder=folder or None)
        dlg.pushed.connect(lambda pid: self.navigate("package", pid))
        self._keep(dlg)
        dlg.open()
        return dlg

    def _keep(self, dlg: QWidget) -> None:
        self.dialogs = [d for d in self.dialogs if d.isVisible()] + [dlg]

    def _ask_catalog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a catalog folder (a new empty folder makes a new one)")
        if path:
            self.open_catalog(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_catalogs():
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_catalog(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _toggle_jobs(self, on: bool) -> None:
        self.jobs.setVisible(on)

    def _open_app_log(self):
        """Help ▸ Open the app log: the file this window logs into now, with a line saying where the logs are."""
        from .logging_setup import current_log_file
        from .widgets.log_view import LogDialog
        catalog = self.client.catalog if self.client is not None else None
        path = current_log_file() or (catalog.logs_dir / "app.log" if catalog is not None else None)
        dlg = LogDialog("Model Desk log", path, self)
        note = QLabel(app_log_note(path, catalog.home if catalog is not None else None,
                                   bool(catalog is not None and catalog.read_only)))
        note.setObjectName("appLogNote")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dlg.layout().insertWidget(0, note)
        self._keep(dlg)
        dlg.show()
        return dlg

    def _log_services(self, page: Any) -> None:
        """A services page's starts and stops go to app.log (connected once per page)."""
        if not hasattr(page, "service_started") or getattr(page, "_app_log_connected", False):
            return
        page._app_log_connected = True
        page.service_started.connect(lambda sid: self._log_service(sid, "started"))
        page.service_stopped.connect(lambda sid: self._log_service(sid, "stopped"))

    def _log_service(self, service_id: str, event: str) -> None:
        if self.client is None:
            return
        cat = self.client.catalog
        try:
            rec = cat.get_service(service_id)
            model = cat.get_model(rec.model_id).name
        except NotFoundError as e:
            log.info("service %s %s (%s)", service_id, event, e)
            return
        log.info("service %s %s: %s of model %s at %s (now %s)", service_id, event, rec.name, model, rec.url,
                 rec.status)

    def _about(self) -> None:
        self.services.open_about()

    # -- state ----------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = self.settings
        if (g := s.load_bytes("window/geometry")) is not None:
            self.restoreGeometry(g)
        if (st := s.load_bytes("window/state")) is not None:
            self.restoreState(st)
        jobs_visible = s.qsettings.value("window/jobs_visible", True)
        self.jobs_action.setChecked(jobs_visible not in (False, "false"))
        self.jobs.setVisible(self.jobs_action.isChecked())

    def save_state(self) -> None:
        s = self.settings
        s.save_bytes("window/geometry", self.saveGeometry())
        s.save_bytes("window/state", self.saveState())
        for sp in (self.main, self.right):
            s.save_bytes(f"splitters/{sp.objectName()}", sp.saveState())
        s.qsettings.setValue("window/jobs_visible", self.jobs_action.isChecked())
        s.sync()

    def shutdown(self) -> None:
        """Stop the pollers and close the catalog; jobs keep running in their worker processes."""
        if self._shut:
            return
        self._shut = True
        self.save_state()
        self._unbind()
        self.services.release()
        self.tasks.wait(10_000)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._splitters_restored:
            # Splitter sizes only mean something once the window has its real size.
            self._splitters_restored = True
            self.layout().activate()
            for sp in (self.main, self.right):
                if (b := self.settings.load_bytes(f"splitters/{sp.objectName()}")) is not None:
                    sp.restoreState(b)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def use_client(self, client: Any, first_start: bool = False) -> None:
        """Bind to a client the caller owns (tests, scripts): it is not closed with the window."""
        self._external_client = client
        self.set_client(client, first_start)
