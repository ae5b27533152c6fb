"""A project's page: its datasets, packages and models at a glance; double-click opens one."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from ..style import muted, status_color, status_icon, title_font


class ProjectPage(QWidget):
    navigate = Signal(str, str)
    new_dataset_requested = Signal(str)      # project id

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.project_id: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        self.title = QLabel()
        self.title.setFont(title_font(self.font()))
        lay.addWidget(self.title)
        self.description = QLabel()
        self.description.setWordWrap(True)
        muted(self.description)
        lay.addWidget(self.description)
        row = QHBoxLayout()
        self.datasets = self._table(["Dataset", "Items", "Labels"])
        self.packages = self._table(["Package", "Kind", "Output"])
        self.new_dataset_button = QPushButton("New dataset…")
        self.new_dataset_button.setToolTip("Create a dataset in this project, empty or from a folder of images "
                                           "or a COCO / YOLO / VOC / ImageFolder / Dataloop set")
        self.new_dataset_button.clicked.connect(self._new_dataset)
        datasets_box = _boxed("Datasets", self.datasets)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_dataset_button)
        buttons.addStretch(1)
        datasets_box.layout().addLayout(buttons)
        row.addWidget(datasets_box)
        row.addWidget(_boxed("Packages", self.packages))
        lay.addLayout(row, 1)
        self.models = self._table(["Model", "Status", "Package", "Parent", "Created"])
        lay.addWidget(_boxed("Models", self.models), 2)

    def _table(self, headers: list[str]) -> QTreeWidget:
        t = QTreeWidget()
        t.setHeaderLabels(headers)
        t.setRootIsDecorated(False)
        t.setColumnWidth(0, 200)
        t.itemDoubleClicked.connect(self._open)
        return t

    def set_project(self, project_id: str) -> None:
        cat = self.client.catalog
        self.project_id = project_id
        p = cat.get_project(project_id)
        self.title.setText(p.name)
        self.description.setText(p.description or "")
        self.datasets.clear()
        for d in cat.list_datasets(project_id):
            self._row(self.datasets, "dataset", d.id, [d.name, str(cat.count_items(d.id)), ", ".join(d.labels)])
        pkgs = cat.list_packages(project_id)
        names = {k.id: k.name for k in pkgs}
        self.packages.clear()
        for k in pkgs:
            self._row(self.packages, "package", k.id, [k.name, k.kind, k.output_type])
        models = cat.find_models(project_id=project_id)
        model_names = {m.id: m.name for m in models}
        self.models.clear()
        for m in models:
            item = self._row(self.models, "model", m.id, [m.name, m.status, names.get(m.package_id, ""),
                                                          model_names.get(m.parent_id or "", ""),
                                                          m.created_at[:19].replace("T", " ")])
            item.setIcon(1, status_icon(m.status))
            item.setForeground(1, status_color(m.status))

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """Live status badges from the jobs watcher (no catalog read)."""
        for k in range(self.models.topLevelItemCount()):
            item = self.models.topLevelItem(k)
            status = statuses.get(item.data(0, Qt.ItemDataRole.UserRole)[1])
            if status and item.text(1) != status:
                item.setText(1, status)
                item.setIcon(1, status_icon(status))
                item.setForeground(1, status_color(status))

    @staticmethod
    def _row(table: QTreeWidget, kind: str, ident: str, texts: list[str]) -> QTreeWidgetItem:
        item = QTreeWidgetItem(texts)
        item.setData(0, Qt.ItemDataRole.UserRole, (kind, ident))
        table.addTopLevelItem(item)
        return item

    def _new_dataset(self) -> None:
        if self.project_id:
            self.new_dataset_requested.emit(self.project_id)

    def _open(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        kind, ident = item.data(0, Qt.ItemDataRole.UserRole)
        self.navigate.emit(kind, ident)


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(widget)
    return box
