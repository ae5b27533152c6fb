"""Table models over comparison results: metrics (the best per row marked) and configuration differences."""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from desktop_app.evaluation.compare import ComparisonTable, DiffRow

BEST_BG = QColor(63, 155, 74, 70)        # the status colour of "trained", faint: readable on light and dark
DIFF_BG = QColor(242, 142, 43, 55)
IsBestRole = Qt.ItemDataRole.UserRole + 1
ValueRole = Qt.ItemDataRole.UserRole + 2


def format_value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)


class ComparisonTableModel(QAbstractTableModel):
    """Rows: metrics (with their stat); columns: the metric, then one per model."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = ComparisonTable([], [])
        self._bold = QFont()
        self._bold.setBold(True)

    def set_table(self, table: ComparisonTable) -> None:
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.table.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.table.columns) + 1

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return "Metric" if section == 0 else self.table.columns[section - 1]

    def is_best(self, row: int, col: int) -> bool:
        return col >= 1 and (col - 1) in self.table.rows[row].best

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.table.rows[index.row()]
        col = index.column()
        if col == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return r.title
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{r.title}: {'higher' if r.higher_better else 'lower'} is better"
            return None
        v = r.values[col - 1]
        best = self.is_best(index.row(), col)
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(v)
        if role == ValueRole:
            return v
        if role == IsBestRole:
            return best
        if role == Qt.ItemDataRole.BackgroundRole and best and len(self.table.columns) > 1:
            return QBrush(BEST_BG)
        if role == Qt.ItemDataRole.FontRole and best and len(self.table.columns) > 1:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and v is not None:
            return repr(v) + ("  (best)" if best else "")
        return None


class ConfigDiffModel(QAbstractTableModel):
    """Rows: configuration keys; columns: the key, then one per model; differing rows tinted."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: list[str] = []
        self.rows: list[DiffRow] = []

    def set_rows(self, columns: list[str], rows: list[DiffRow]) -> None:
        self.beginResetModel()
        self.columns, self.rows = list(columns), list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns) + 1

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return "Setting" if section == 0 else self.columns[section - 1]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return r.key if index.column() == 0 else format_value(r.values[index.column() - 1])
        if role == Qt.ItemDataRole.BackgroundRole and r.differs:
            return QBrush(DIFF_BG)
        if role == ValueRole and index.column() > 0:
            return r.values[index.column() - 1]
        return None
