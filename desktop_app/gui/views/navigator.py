"""The navigator: projects -> datasets, packages, models (a lineage tree with status badges), pipelines, services."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from desktop_app.domain.status import ModelStatus

from ..style import status_color, status_icon

# A model's status is its own word (model.status in the SDK); while a job holds it, the tooltip names the job's
# word in the jobs panel, so "pending" beside "queued" reads as one state.
MODEL_STATUS_TIPS = {ModelStatus.PENDING: "pending: its training job is queued (the Jobs panel says queued)",
                     ModelStatus.TRAINING: "training: its training job is running (the Jobs panel says in-progress)"}

KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class Navigator(QTreeWidget):
    selected = Signal(str, str)            # kind (project | dataset | package | model | group |
                                           # leaderboard | pipelines | services), id
    compare_requested = Signal(list)       # model ids (Ctrl/Shift-click several, then the context menu)
    new_dataset_requested = Signal(str)    # project id (a project's or its datasets' context menu)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("navigator")
        self.setColumnCount(2)
        self.setHeaderLabels(["Catalog", "Status"])
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setUniformRowHeights(True)
        self.setMinimumWidth(240)
        self._structure: tuple | None = None
        self._items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self._applying = False
        self.currentItemChanged.connect(self._on_current)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    # -- binding --------------------------------------------------------------------------
    def set_tree(self, projects: list, statuses: dict[str, str] | None = None) -> None:
        structure = tuple(p.structure() for p in projects)
        if structure != self._structure:
            self._rebuild(projects)
            self._structure = structure
        statuses = statuses or {m.id: m.status for p in projects for root in p.models for m in root.walk()}
        self.set_statuses(statuses)

    def set_statuses(self, statuses: dict[str, str]) -> None:
        for model_id, status in statuses.items():
            item = self._items.get(("model", model_id))
            if item is not None and item.text(1) != status:
                item.setText(1, status)
                item.setToolTip(1, MODEL_STATUS_TIPS.get(status, ""))
                item.setIcon(0, status_icon(status))
                item.setForeground(1, status_color(status))

    def _rebuild(self, projects: list) -> None:
        """The tree again, as it was shown: the current row, the selected rows, what was expanded (new
        projects and groups open, as on the first build) and the scroll position."""
        expanded = {key for key, item in self._items.items() if item.isExpanded()}
        known = set(self._items)
        first_build = not self._items
        current = self.current_key()
        chosen = {key for key, item in self._items.items() if item.isSelected()}
        scroll = self.verticalScrollBar().value()
        self._applying = True
        try:
            self.clear()
            self._items = {}
            bold = QFont(self.font())
            bold.setBold(True)
            for p in projects:
                top = self._add(None, "project", p.id, p.name)
                top.setFont(0, bold)
                groups = (("datasets", "Datasets", p.datasets), ("packages", "Packages", p.packages))
                for gid, title, entries in groups:
                    g = self._add(top, "group", f"{p.id}/{gid}", f"{title} ({len(entries)})")
                    for entry in entries:
                        leaf = self._add(g, gid[:-1], entry[0], entry[1])
                        if gid == "packages":
                            leaf.setText(1, entry[2])
                count = sum(1 for root in p.models for _ in root.walk())
                g = self._add(top, "group", f"{p.id}/models", f"Models ({count})")
                for root in p.models:
                    self._add_model(g, root)
                if p.sweeps:                            # only once the project has one
                    g = self._add(top, "group", f"{p.id}/sweeps", f"Sweeps ({len(p.sweeps)})")
                    for sweep_id, name in p.sweeps:
                        self._add(g, "sweep", sweep_id, name)
                for kind, title in (("leaderboard", "Leaderboard"), ("pipelines", "Pipelines"),
                                    ("services", "Services")):
                    self._add(top, kind, p.id, title)   # pages of the project (id: the project's)
            for key, item in self._items.items():
                if first_build or key not in known:
                    item.setExpanded(key[0] in ("project", "group") or bool(item.childCount()))
                else:
                    item.setExpanded(key in expanded)
            if current is not None and current in self._items:
                self.setCurrentItem(self._items[current])
            for key in chosen:
                if key in self._items:
                    self._items[key].setSelected(True)
            self.verticalScrollBar().setValue(scroll)
        finally:
            self._applying = False

    def _add_model(self, parent: QTreeWidgetItem, node) -> None:
        item = self._add(parent, "model", node.id, node.name)
        item.setToolTip(0, f"{node.name} ({node.id})")
        for child in node.children:
            self._add_model(item, child)

    def _add(self, parent: QTreeWidgetItem | None, kind: str, ident: str, text: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text, ""])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, ID_ROLE, ident)
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        self._items[(kind, ident)] = item
        return item

    # -- selection ------------------------------------------------------------------------
    def current_key(self) -> tuple[str, str] | None:
        item = self.currentItem()
        if item is None:
            return None
        return item.data(0, KIND_ROLE), item.data(0, ID_ROLE)

    def select(self, kind: str, ident: str) -> bool:
        item = self._items.get((kind, ident))
        if item is None:
            return False
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        self.setCurrentItem(item)
        self.scrollToItem(item)
        return True

    def item_for(self, kind: str, ident: str) -> QTreeWidgetItem | None:
        return self._items.get((kind, ident))

    def _on_current(self, current: QTreeWidgetItem | None, _previous) -> None:
        if self._applying or current is None:
            return
        self.selected.emit(current.data(0, KIND_ROLE), current.data(0, ID_ROLE))

    # -- several models -------------------------------------------------------------------
    def selected_models(self) -> list[str]:
        """Ids of the selected models, in tree order."""
        chosen = {id(it) for it in self.selectedItems()}
        return [key[1] for key, item in self._items.items() if key[0] == "model" and id(item) in chosen]

    def context_menu_for(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The right-click menu over `item`: New dataset on a project and its datasets, Compare on several
        selected models; None when there is nothing to offer."""
        menu = QMenu(self)
        project = self._project_of(item)
        if project is not None and item.data(0, KIND_ROLE) in ("project", "group", "dataset") and \
                (item.data(0, KIND_ROLE) != "group" or item.data(0, ID_ROLE).endswith("/datasets")):
            pid = project.data(0, ID_ROLE)
            menu.addAction(f"New dataset in {project.text(0)}…", lambda: self.new_dataset_requested.emit(pid))
        models = self.selected_models()
        if len(models) >= 2:
            menu.addAction(f"Compare {len(models)} selected models", lambda: self.compare_requested.emit(models))
        if menu.isEmpty():
            menu.deleteLater()
            return None
        return menu

    def _context_menu(self, pos) -> None:
        menu = self.context_menu_for(self.itemAt(pos))
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(pos))

    @staticmethod
    def _project_of(item: QTreeWidgetItem | None) -> QTreeWidgetItem | None:
        while item is not None and item.parent() is not None:
            item = item.parent()
        return item
