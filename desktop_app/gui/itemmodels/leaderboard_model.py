"""The leaderboard's Qt table model over plain rows (leaderboard_data.Row): one row per model, a column per chosen
metric / parameter / field; it sorts itself (numbers as numbers, models missing the value last either way), keeps
the rows a chart brushed, and marks the best value of each metric column."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QFont

from .. import leaderboard_data as lb
from .compare_model import BEST_BG

IdRole = Qt.ItemDataRole.UserRole
IsBestRole = Qt.ItemDataRole.UserRole + 1
ValueRole = Qt.ItemDataRole.UserRole + 2


class LeaderboardModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.all_rows: list[lb.Row] = []
        self.rows: list[lb.Row] = []          # shown: brushed ones only while a chart brushes, in sort order
        self.columns: list[str] = ["name"]
        self.brushed: set[str] | None = None
        self.sort_column: str | None = None
        self.descending = False
        self.best: dict[str, set[str]] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # -- filling --------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[lb.Row], columns: Sequence[str]) -> None:
        self.beginResetModel()
        self.all_rows = list(rows)
        self.columns = ["name", *[c for c in columns if c != "name"]]
        if self.sort_column not in self.columns:
            self.sort_column = None
        self.brushed = None
        self._arrange()
        self.endResetModel()

    def set_brushed(self, ids: set[str] | None) -> None:
        """Show only these models (None: all of them again)."""
        self.beginResetModel()
        self.brushed = None if ids is None else set(ids)
        self._arrange()
        self.endResetModel()

    def _arrange(self) -> None:
        rows = [r for r in self.all_rows if self.brushed is None or r.model_id in self.brushed]
        if self.sort_column is not None:
            rows = lb.sorted_rows(rows, self.sort_column, self.descending)
        self.rows = rows
        self.best = {c: lb.best_ids(self.all_rows, c) for c in self.columns}

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # noqa: D401 - Qt API
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self.sort_column = self.columns[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self._arrange()
        self.layoutChanged.emit()

    # -- reading --------------------------------------------------------------------------
    def row_ids(self) -> list[str]:
        return [r.model_id for r in self.rows]

    def column_values(self, column: str) -> list[Any]:
        return [r.get(column) for r in self.rows]

    def is_best(self, row: int, col: int) -> bool:
        return self.rows[row].model_id in self.best.get(self.columns[col], ())

    # -- Qt -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return lb.title(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            up = lb.higher_better(column)
            how = "" if up is None else (" (higher is better)" if up else " (lower is better)")
            return f"{column}{how}"
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        value = row.get(column)
        if role == Qt.ItemDataRole.DisplayRole:
            return lb.text(value)
        if role == ValueRole:
            return value
        if role == IdRole:
            return row.model_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.name}: {column} = {value!r}" if not lb.missing(value) else f"{row.name} has no {column}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if lb.number(value) is not None:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        best = self.is_best(index.row(), index.column())
        if role == IsBestRole:
            return best
        if role == Qt.ItemDataRole.BackgroundRole and best:
            return QBrush(BEST_BG)
        if role == Qt.ItemDataRole.FontRole and best:
            return self._bold
        return None
