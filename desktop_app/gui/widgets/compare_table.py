"""A comparison table (final / best values, or evaluation figures) with the best per row marked; CSV export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableView, QVBoxLayout, QWidget)

from desktop_app.evaluation.compare import ComparisonTable

from ..exporting import save_text
from ..itemmodels.compare_model import ComparisonTableModel
from ..style import muted


class CompareTableView(QWidget):
    def __init__(self, hint: str = "", csv_name: str = "comparison.csv", parent: QWidget | None = None):
        super().__init__(parent)
        self.csv_name = csv_name
        self.model = ComparisonTableModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setAlternatingRowColors(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.hint = QLabel(hint or "The best value of each row is highlighted (direction from the metric's name: "
                                   "loss, error, time, FP, FN lower; the rest higher).")
        self.hint.setWordWrap(True)
        muted(self.hint)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self._ask_csv)
        bar = QHBoxLayout()
        bar.addWidget(self.hint, 1)
        bar.addWidget(self.csv_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)

    @property
    def table(self) -> ComparisonTable:
        return self.model.table

    def set_table(self, table: ComparisonTable) -> None:
        self.model.set_table(table)
        self.csv_button.setEnabled(bool(table.rows))

    def highlighted(self) -> dict[str, list[str]]:
        """row title -> the model columns marked best (what the user sees highlighted)."""
        out = {}
        for r in range(self.model.rowCount()):
            row = self.table.rows[r]
            out[row.title] = [self.table.columns[c - 1] for c in range(1, self.model.columnCount())
                              if self.model.is_best(r, c)]
        return out

    def export_csv(self, path: Path | str) -> Path:
        return save_text(path, self.table.to_csv())

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the table as CSV", self.csv_name, "CSV files (*.csv)")
        if path:
            self.export_csv(path)
