"""Configurations side by side, one column per model; "differences only" hides the settings they share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, \
    QWidget

from desktop_app.evaluation.compare import config_diff

from ..itemmodels.compare_model import ConfigDiffModel
from ..style import muted


class ConfigDiffView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.configs: dict[str, dict[str, Any]] = {}
        self.model = ConfigDiffModel(self)
        self.only_diff = QCheckBox("Differences only")
        self.only_diff.setChecked(True)
        self.only_diff.toggled.connect(lambda _on: self._refresh())
        self.summary = QLabel()
        muted(self.summary)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        bar = QHBoxLayout()
        bar.addWidget(self.only_diff)
        bar.addWidget(self.summary, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)

    def set_configs(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        self.configs = {k: dict(v) for k, v in configs.items()}
        self._refresh()

    def _refresh(self) -> None:
        rows = config_diff(self.configs, differences_only=self.only_diff.isChecked())
        self.model.set_rows(list(self.configs), rows)
        n_diff = sum(r.differs for r in config_diff(self.configs, differences_only=True))
        self.summary.setText(f"{n_diff} setting(s) differ" if n_diff else "The configurations are identical")
