"""The leaderboard: a project's models with chosen metric and hyper-parameter columns, sortable (missing values
last), filtered with the search grammar (keys completed, a wrong query's message under the box), the best value
per metric column highlighted, selected rows to Compare, saved views, CSV export; below it parameters against
metrics (parallel coordinates and a scatter) whose brushing filters the table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QCompleter, QFileDialog, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QLineEdit, QMenu, QPushButton, QSplitter, QTableView,
                               QTabWidget, QToolButton, QVBoxLayout, QWidget)

from desktop_app.errors import UserError, ValidationError

from .. import leaderboard_data as lb
from ..exporting import save_text
from ..itemmodels.leaderboard_model import LeaderboardModel
from ..saved_views import SavedView, SavedViews
from ..style import ERROR_STYLE, esc, muted, title_font
from ..widgets.parallel_coords import ParallelCoordinates
from ..widgets.param_scatter import ParamScatter

log = logging.getLogger("desktop_app.gui")
NO_VIEW = "(no saved view)"
MAX_CHART_MODELS = 1000  # models drawn in the charts (the table has them all)
SORT_ARROW = 16          # room for the sort indicator beside a header's title
PLACEHOLDER = "Filter: metrics.`validation/accuracy` > 0.9 and params.learning_rate < 0.01 and tags.stage = 'x'"


def error_html(error: BaseException | str) -> str:
    reason = getattr(error, "reason", None)
    query, position = getattr(error, "query", None), getattr(error, "position", None)
    if reason is None or query is None or position is None:
        return f"The filter is not understood: {esc(str(error))}"
    caret = " " * int(position) + "^"
    return (f"The filter is not understood: {esc(reason)}<pre style='margin:2px 0 0 0'>{esc(query)}\n"
            f"{caret}</pre>")


class TokenCompleter(QCompleter):
    """Completes the word under the cursor's end (the last token of the query), not the whole line."""

    SEPARATORS = " ()\t,"

    def splitPath(self, path: str) -> list[str]:  # noqa: N802 - Qt API
        return [self._tail(path)[1]]

    def pathFromIndex(self, index) -> str:  # noqa: N802 - Qt API
        head, _ = self._tail(self.widget().text() if self.widget() is not None else "")
        return head + str(index.data())

    def _tail(self, text: str) -> tuple[str, str]:
        cut = max(text.rfind(c) for c in self.SEPARATORS) + 1
        return text[:cut], text[cut:]


class LeaderboardPage(QWidget):
    message = Signal(str)
    navigate = Signal(str, str)
    error = Signal(str, object)           # title, exception: the window's ErrorHub
    refreshed = Signal()

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.project_id: str | None = None
        self.keys: dict[str, list[str]] = {"metrics": [], "params": [], "tags": []}
        self.columns: list[str] = []
        self.query = ""
        self.views = SavedViews(None)
        self.rows: list[lb.Row] = []

        self.title = QLabel("Leaderboard")
        self.title.setFont(title_font(self.font(), 1.3))
        self.count = QLabel()
        muted(self.count)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.count, 1, Qt.AlignmentFlag.AlignBottom)

        self.search = QLineEdit()
        self.search.setPlaceholderText(PLACEHOLDER)
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.apply_search)
        self.completions = QStringListModel(self)
        self.completer = TokenCompleter(self.completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.search.setCompleter(self.completer)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.apply_search)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.RichText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        srow = QHBoxLayout()
        srow.addWidget(self.search, 1)
        srow.addWidget(self.search_button)

        self.view_combo = QComboBox()
        self.view_combo.setMinimumContentsLength(16)
        self.view_combo.activated.connect(lambda _i: self._view_chosen())
        self.save_view_button = QPushButton("Save view…")
        self.save_view_button.clicked.connect(lambda: self.save_view())
        self.delete_view_button = QPushButton("Delete view")
        self.delete_view_button.clicked.connect(lambda: self.delete_view())
        self.columns_button = QToolButton()
        self.columns_button.setText("Columns")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self)
        self.columns_menu.aboutToShow.connect(self._fill_columns_menu)
        self.columns_button.setMenu(self.columns_menu)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Open the selected models (two or more) side by side")
        self.compare_button.clicked.connect(self.compare_selected)
        self.compare_button.setEnabled(False)
        self.sweeps_button = QToolButton()
        self.sweeps_button.setText("Sweeps")
        self.sweeps_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sweeps_menu = QMenu(self)
        self.sweeps_menu.aboutToShow.connect(self._fill_sweeps_menu)
        self.sweeps_button.setMenu(self.sweeps_menu)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self._ask_csv)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("View"))
        tools.addWidget(self.view_combo)
        tools.addWidget(self.save_view_button)
        tools.addWidget(self.delete_view_button)
        tools.addSpacing(12)
        tools.addWidget(self.columns_button)
        tools.addStretch(1)
        for w in (self.sweeps_button, self.compare_button, self.csv_button):
            tools.addWidget(w)

        self.model = LeaderboardModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(False)
        self.table.horizontalHeader().sortIndicatorChanged.connect(
            lambda _c, _o: self.table.horizontalHeader().setSortIndicatorShown(True))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._open_row)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.model.modelReset.connect(self._selection_changed)
        self.brush_note = QLabel()
        self.brush_note.setTextFormat(Qt.TextFormat.RichText)
        self.brush_note.linkActivated.connect(lambda _h: self.clear_brushing())
        self.brush_note.hide()

        self.parallel = ParallelCoordinates()
        self.scatter = ParamScatter()
        for chart in (self.parallel, self.scatter):
            chart.brushed.connect(self._brushed)
            chart.model_clicked.connect(lambda mid: self.navigate.emit("model", mid))
        self.charts = QTabWidget()
        self.charts.addTab(self.parallel, "Parallel coordinates")
        self.charts.addTab(self.scatter, "Scatter")
        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(self.brush_note)
        ul.addWidget(self.table, 1)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.charts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([420, 320])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addLayout(head)
        lay.addLayout(srow)
        lay.addWidget(self.error_label)
        lay.addLayout(tools)
        lay.addWidget(split, 1)
        self._fill_views_combo()

    # -- binding --------------------------------------------------------------------------
    def use_settings(self, settings: Any) -> None:
        """The window's settings: saved views are kept there (a page alone keeps them in memory)."""
        self.views = SavedViews(settings)
        self._fill_views_combo()

    @property
    def search_api(self) -> Any:
        return self.catalog.model_search

    def set_project(self, project_id: str) -> None:
        changed = project_id != self.project_id
        self.project_id = project_id
        self.title.setText(f"Leaderboard · {self.catalog.get_project(project_id).name}")
        self.keys = self.search_api.keys(project_id=project_id)
        self.completions.setStringList(lb.completions(self.keys))
        if changed or not self.columns:
            self.columns = lb.default_columns(self.keys)
        self.refresh()

    def refresh(self) -> bool:
        """Read the models matching the query and their column values again; False (the message shown under the
        search box) when the query is wrong."""
        if self.project_id is None:
            return False
        try:
            records = self.search_api.search(self.query or None, project_id=self.project_id)
        except (ValidationError, UserError) as e:
            self.show_error(e)
            return False
        self.show_error(None)
        ids = [r.id for r in records]
        values = self.search_api.values(ids, [c for c in self.columns if c != "name"]) if ids else {}
        self.rows = [lb.Row(r.id, r.name, dict(values.get(r.id, {}))) for r in records]
        self.model.set_rows(self.rows, self.columns)
        self._fit_columns()
        self._update_charts()
        self._update_count()
        self.refreshed.emit()
        return True

    def _fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            self.table.resizeColumnToContents(col)
            wide = max(header.sectionSize(col), header.sectionSizeFromContents(col).width() + SORT_ARROW)
            header.resizeSection(col, min(max(wide, 60), 260))

    def _update_charts(self) -> None:
        # parameters on the left, the metrics they lead to on the right
        plotted = [c for c in self.columns if c.startswith("params.")] + [c for c in self.columns if lb.is_metric(c)]
        rows = self.rows[:MAX_CHART_MODELS]      # a line each: thousands would make the chart crawl
        self.parallel.set_data(rows, plotted)
        self.scatter.set_data(rows, plotted)
        if len(self.rows) > MAX_CHART_MODELS:
            self.message.emit(f"The charts show the first {MAX_CHART_MODELS} of {len(self.rows)} models: narrow "
                              f"the filter to see the rest")

    def _update_count(self) -> None:
        n, shown = len(self.rows), self.model.rowCount()
        what = f"{n} model{'s' if n != 1 else ''}" + (" matching the filter" if self.query else "")
        self.count.setText(what if shown == n else f"{what}; {shown} brushed in the chart")

    # -- search ---------------------------------------------------------------------------
    def apply_search(self, text: str | None = None) -> bool:
        if text is not None:
            self.search.setText(text)
        self.query = self.search.text().strip()
        return self.refresh()

    def show_error(self, error: BaseException | str | None) -> None:
        """Under the search box: the grammar's reason (it names the column) and the query with a caret under the
        place; the table keeps the rows of the last query that worked."""
        self.error_label.setText(error_html(error) if error else "")
        self.error_label.setVisible(bool(error))

    def error_text(self) -> str:
        return self.error_label.text()

    # -- columns --------------------------------------------------------------------------
    def available_columns(self) -> dict[str, list[str]]:
        """Group -> columns the chooser offers (the keys the project's models have)."""
        return {"Fields": [c for c in lb.BASIC_COLUMNS if c != "name"],
                "Metrics (latest)": [lb.metric_column(k) for k in self.keys.get("metrics", [])],
                "Metrics (best)": [lb.metric_column(k, "max" if lb.higher_better(lb.metric_column(k)) else "min")
                                   for k in self.keys.get("metrics", [])],
                "Parameters": [lb.param_column(k) for k in self.keys.get("params", [])],
                "Tags": [lb.tag_column(k) for k in self.keys.get("tags", [])]}

    def set_columns(self, columns: Sequence[str]) -> None:
        self.columns = [c for c in columns if c != "name"]
        self.refresh()

    def toggle_column(self, column: str, on: bool) -> None:
        cols = [c for c in self.columns if c != column]
        if on:
            cols.append(column)
        self.set_columns(cols)

    def _fill_columns_menu(self) -> None:
        self.columns_menu.clear()
        for group, cols in self.available_columns().items():
            if not cols:
                continue
            sub = self.columns_menu.addMenu(group)
            for c in cols:
                a = QAction(lb.title(c), sub)
                a.setCheckable(True)
                a.setChecked(c in self.columns)
                a.setToolTip(c)
                a.toggled.connect(lambda on, c=c: self.toggle_column(c, on))
                sub.addAction(a)
        self.columns_menu.addSeparator()
        self.columns_menu.addAction("Default columns", lambda: self.set_columns(lb.default_columns(self.keys)))

    # -- saved views ----------------------------------------------------------------------
    def current_view(self) -> SavedView:
        m = self.model
        return SavedView(query=self.query, order_by=m.sort_column, descending=m.descending,
                         columns=list(self.columns))

    def save_view(self, name: str | None = None) -> bool:
        if name is None:
            name, ok = QInputDialog.getText(self, "Save view", "Name of this view (query, order and columns):")
            if not ok:
                return False
        name = (name or "").strip()
        if not name:
            return False
        self.views.save(name, self.current_view())
        self._fill_views_combo(name)
        self.message.emit(f"Saved the leaderboard view {name!r}")
        return True

    def load_view(self, name: str) -> bool:
        view = self.views.get(name)
        if view is None:
            return False
        self.columns = [c for c in view.columns if c != "name"] or lb.default_columns(self.keys)
        self.search.setText(view.query)
        self.query = view.query.strip()
        ok = self.refresh()
        if view.order_by in self.model.columns:
            order = Qt.SortOrder.DescendingOrder if view.descending else Qt.SortOrder.AscendingOrder
            self.table.sortByColumn(self.model.columns.index(view.order_by), order)
        self._fill_views_combo(name)
        return ok

    def delete_view(self, name: str | None = None) -> bool:
        name = name or (self.view_combo.currentText() if self.view_combo.currentIndex() > 0 else None)
        if not name or not self.views.delete(name):
            return False
        self._fill_views_combo()
        return True

    def _fill_views_combo(self, current: str | None = None) -> None:
        self.view_combo.blockSignals(True)
        self.view_combo.clear()
        self.view_combo.addItem(NO_VIEW)
        names = self.views.names()
        self.view_combo.addItems(names)
        if current in names:
            self.view_combo.setCurrentIndex(names.index(current) + 1)
        self.view_combo.blockSignals(False)
        self.delete_view_button.setEnabled(bool(names))

    def _view_chosen(self) -> None:
        if self.view_combo.currentIndex() > 0:
            self.load_view(self.view_combo.currentText())

    # -- selection, compare, brushing -----------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.rows[r].model_id for r in rows]

    def select_ids(self, ids: Sequence[str]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel
        sel = QItemSelection()
        for r, row in enumerate(self.model.rows):
            if row.model_id in ids:
                sel.select(self.model.index(r, 0), self.model.index(r, self.model.columnCount() - 1))
        self.table.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _selection_changed(self) -> None:
        n = len(self.selected_ids())
        self.compare_button.setEnabled(n >= 2)
        self.compare_button.setText(f"Compare {n}" if n >= 2 else "Compare")

    def compare_selected(self) -> bool:
        ids = self.selected_ids()
        if len(ids) < 2:
            self.message.emit("Select two or more rows (Ctrl- or Shift-click) to compare them")
            return False
        self.navigate.emit("compare", ",".join(ids))
        return True

    def _open_row(self, index) -> None:
        if index.isValid():
            self.navigate.emit("model", self.model.rows[index.row()].model_id)

    def _brushed(self, ids: set[str] | None) -> None:
        self.model.set_brushed(ids)
        if ids is None:
            self.brush_note.hide()
        else:
            self.brush_note.setText(f"Showing the {len(ids)} model{'s' if len(ids) != 1 else ''} brushed in the "
                                    f"chart · <a href='clear'>show all</a>")
            self.brush_note.show()
        self._update_count()

    def clear_brushing(self) -> None:
        self.parallel.clear_brush()
        self.scatter.clear_brush()
        self._brushed(None)

    # -- sweeps ---------------------------------------------------------------------------
    def sweeps(self) -> list:
        from desktop_app.catalog.sweeps import queries
        return queries(self.catalog).find(project_id=self.project_id) if self.project_id else []

    def _fill_sweeps_menu(self) -> None:
        self.sweeps_menu.clear()
        found = self.sweeps()
        for s in reversed(found):           # newest first
            self.sweeps_menu.addAction(f"{s.name} ({s.method}, {s.status})",
                                       lambda sid=s.id: self.navigate.emit("sweep", sid))
        if not found:
            self.sweeps_menu.addAction("No sweeps in this project yet (desktop-app sweep MODEL --grid …)"
                                       ).setEnabled(False)

    # -- coming back to the page --------------------------------------------------------
    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)
        self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if getattr(self, "_stale", False) and self.project_id is not None:
            self._stale = False
            self.keys = self.search_api.keys(project_id=self.project_id)   # models trained meanwhile show
            self.completions.setStringList(lb.completions(self.keys))
            self.refresh()

    # -- export ---------------------------------------------------------------------------
    def to_csv(self) -> str:
        return lb.to_csv(self.model.rows, self.columns)

    def export_csv(self, path: Path | str) -> Path:
        return save_text(path, self.to_csv())

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the leaderboard as CSV", "leaderboard.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)
            self.message.emit(f"Exported {self.model.rowCount()} models to {path}")
