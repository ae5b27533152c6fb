"""The leaderboard page over models with known metrics made directly in the catalog (no training): its columns,
sorting with missing values last, filtering with the search grammar (a wrong query's message under the box),
the best value per metric column highlighted, saved views kept in the settings, the selection to Compare,
brushing in the chart filtering the table, CSV export, and the ways there (navigator, View menu)."""

from __future__ import annotations

import csv
import io

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel, Qt  # noqa: E402

from desktop_app.errors import ValidationError  # noqa: E402
from desktop_app.gui.itemmodels.leaderboard_model import IsBestRole  # noqa: E402
from desktop_app.gui.style import esc  # noqa: E402
from desktop_app.gui.views.leaderboard_page import LeaderboardPage  # noqa: E402

ACC, LOSS = "metrics.`validation/accuracy`", "metrics.`validation/loss`"
# name -> (learning_rate, batch_size, accuracy per epoch, loss per epoch); "none" logged nothing
MODELS = {"m-fast": (0.1, 16, [0.4, 0.55], [0.9, 0.8]),
          "m-good": (0.003, 32, [0.6, 0.91], [0.5, 0.25]),
          "m-ok": (0.01, 64, [0.5, 0.72], [0.7, 0.4]),
          "m-slow": (0.0003, 16, [0.3, 0.61], [1.0, 0.6]),
          "m-none": (0.001, 32, [], [])}


@pytest.fixture
def board(client):
    """A project of five models of the resnet package with known params, metrics and tags."""
    cat = client.catalog
    project = cat.create_project("leaderboard-test")
    package = cat.get_package("resnet")
    ids = {}
    for name, (lr, bs, accs, losses) in MODELS.items():
        m = cat.create_model(name, project_id=project.id, package_id=package.id, tags=["candidate"] if lr < 0.01
                             else [], configuration={"learning_rate": lr, "batch_size": bs, "epochs": 2})
        rows = []
        for e, (acc, loss) in enumerate(zip(accs, losses)):
            rows += [{"figure": "accuracy", "legend": "validation", "x": e + 1, "y": acc, "epoch": e + 1},
                     {"figure": "loss", "legend": "validation", "x": e + 1, "y": loss, "epoch": e + 1}]
        if rows:
            cat.add_metric_samples(m.id, rows)
        ids[name] = m.id
    return project, ids


@pytest.fixture
def page(qtbot, client, board, gui_settings):
    p = LeaderboardPage(client)
    p.use_settings(gui_settings)
    qtbot.addWidget(p)
    p.resize(1300, 850)
    p.show()
    p.set_project(board[0].id)
    return p


def names(page) -> list[str]:
    return [r.name for r in page.model.rows]


def test_default_columns_and_values(page):
    cols = page.model.columns
    assert cols[:3] == ["name", "status", "package"]
    assert ACC in cols and LOSS in cols
    for c in ("params.learning_rate", "params.batch_size", "params.epochs", "alias", "tags", "data.version"):
        assert c in cols
    titles = [page.model.headerData(k, Qt.Orientation.Horizontal) for k in range(len(cols))]
    assert "validation/accuracy" in titles and "learning_rate" in titles and "data version" in titles
    assert sorted(names(page)) == sorted(MODELS)
    row = page.model.rows[names(page).index("m-good")]
    assert row.get(ACC) == pytest.approx(0.91) and row.get("params.learning_rate") == 0.003
    assert page.count.text() == "5 models"


def test_the_column_chooser_adds_and_removes_columns(page):
    page._fill_columns_menu()
    groups = {m.title(): m for m in (a.menu() for a in page.columns_menu.actions() if a.menu())}
    assert set(groups) >= {"Fields", "Metrics (latest)", "Metrics (best)", "Parameters", "Tags"}
    best = {a.toolTip(): a for a in groups["Metrics (best)"].actions()}
    assert set(best) == {"max(metrics.`validation/accuracy`)", "min(metrics.`validation/loss`)"}
    best["min(metrics.`validation/loss`)"].setChecked(True)
    assert page.model.columns[-1] == "min(metrics.`validation/loss`)"
    row = page.model.rows[names(page).index("m-good")]
    assert row.get("min(metrics.`validation/loss`)") == pytest.approx(0.25)
    page._fill_columns_menu()
    groups = {m.title(): m for m in (a.menu() for a in page.columns_menu.actions() if a.menu())}
    status = next(a for a in groups["Fields"].actions() if a.toolTip() == "status")
    assert status.isChecked()
    status.setChecked(False)
    assert "status" not in page.model.columns


def test_sort_numbers_with_missing_values_last(page):
    acc = page.model.columns.index(ACC)
    page.table.sortByColumn(acc, Qt.SortOrder.DescendingOrder)
    assert names(page) == ["m-good", "m-ok", "m-slow", "m-fast", "m-none"]
    page.table.sortByColumn(acc, Qt.SortOrder.AscendingOrder)
    assert names(page) == ["m-fast", "m-slow", "m-ok", "m-good", "m-none"]      # still last
    lr = page.model.columns.index("params.learning_rate")
    page.table.sortByColumn(lr, Qt.SortOrder.AscendingOrder)                      # 0.0003 < 0.001 < 0.003 ...
    assert names(page) == ["m-slow", "m-none", "m-good", "m-ok", "m-fast"]


def test_filter_by_query_and_a_wrong_query_says_why(page, client):
    assert page.apply_search("metrics.`validation/accuracy` > 0.7 and params.learning_rate < 0.01")
    assert names(page) == ["m-good"]
    assert not page.error_label.isVisible()
    assert page.apply_search("metrics.`validation/accuracy` > 0.6")
    assert sorted(names(page)) == ["m-good", "m-ok", "m-slow"]
    assert "matching the filter" in page.count.text()
    bad = "metrics.`validation/accuracy` >> 0.7"
    assert not page.apply_search(bad)
    assert page.error_label.isVisible()
    with pytest.raises(ValidationError) as e:
        client.catalog.model_search.search(bad, project_id=page.project_id)
    shown = page.error_label.text()
    assert esc(e.value.reason) in shown and "column" in e.value.reason   # the grammar's own reason, naming the column
    assert f"{esc(bad)}\n{' ' * e.value.position}^" in shown           # and the query with a caret under the place
    assert sorted(names(page)) == ["m-good", "m-ok", "m-slow"]          # the table keeps the last good filter
    assert page.apply_search("")
    assert len(names(page)) == 5 and not page.error_label.isVisible()


def test_completion_of_keys(page):
    words = page.completions.stringList()
    assert ACC in words and "max(metrics.`validation/accuracy`)" in words and "params.learning_rate" in words
    assert page.completer.splitPath("params.learning_rate < 0.01 and metr") == ["metr"]
    page.search.setText("params.learning_rate < 0.01 and metr")
    idx = page.completions.index(words.index(ACC))
    assert page.completer.pathFromIndex(idx) == f"params.learning_rate < 0.01 and {ACC}"


def test_best_value_per_metric_column_highlighted(page, board):
    _project, ids = board
    m = page.model
    acc, loss = m.columns.index(ACC), m.columns.index(LOSS)
    best = {(m.rows[r].name, c) for r in range(m.rowCount()) for c in (acc, loss)
            if m.data(m.index(r, c), IsBestRole)}
    assert best == {("m-good", acc), ("m-good", loss)}              # max accuracy, min loss
    r = names(page).index("m-good")
    assert m.data(m.index(r, acc), Qt.ItemDataRole.BackgroundRole) is not None
    assert m.data(m.index(r, m.columns.index("params.learning_rate")), IsBestRole) is False   # params: no best


def test_saved_view_round_trip(qtbot, page, client, gui_settings, board):
    page.apply_search("params.learning_rate < 0.01")
    page.set_columns(["status", ACC, "params.learning_rate"])
    page.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert page.save_view("best-small-lr")
    again = LeaderboardPage(client)
    again.use_settings(gui_settings)                         # another page (another start) reads the settings
    qtbot.addWidget(again)
    again.set_project(board[0].id)
    assert again.view_combo.findText("best-small-lr") > 0
    assert again.load_view("best-small-lr")
    assert again.search.text() == "params.learning_rate < 0.01" and again.query == "params.learning_rate < 0.01"
    assert again.model.columns == ["name", "status", ACC, "params.learning_rate"]
    assert again.model.sort_column == ACC and again.model.descending
    assert names(again) == ["m-good", "m-slow", "m-none"]
    assert again.delete_view("best-small-lr") and again.view_combo.findText("best-small-lr") < 0


def test_selected_rows_open_compare(qtbot, page, board):
    _project, ids = board
    got = []
    page.navigate.connect(lambda kind, ident: got.append((kind, ident)))
    assert not page.compare_button.isEnabled()
    page.select_ids([ids["m-good"], ids["m-ok"]])
    assert page.compare_button.isEnabled() and page.compare_button.text() == "Compare 2"
    page.compare_button.click()
    kind, ident = got[-1]
    assert kind == "compare" and set(ident.split(",")) == {ids["m-good"], ids["m-ok"]}


def test_brushing_the_chart_filters_the_table(page):
    assert {ACC, LOSS, "params.learning_rate"} <= set(page.parallel.columns)
    page.parallel.set_brush(ACC, 0.7, 1.0)
    assert sorted(names(page)) == ["m-good", "m-ok"]
    assert page.brush_note.isVisible() and "2 brushed" in page.count.text()
    page.clear_brushing()
    assert len(names(page)) == 5 and not page.brush_note.isVisible()
    page.scatter.set_data(page.rows, ["params.learning_rate", ACC, LOSS])
    page.scatter.brush_values(0.001, 0.1, 0.5, 1.0)
    assert sorted(names(page)) == ["m-fast", "m-good", "m-ok"]


def test_csv_export(page, tmp_path):
    page.table.sortByColumn(page.model.columns.index(ACC), Qt.SortOrder.DescendingOrder)
    path = page.export_csv(tmp_path / "lb.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["name"] for r in rows] == ["m-good", "m-ok", "m-slow", "m-fast", "m-none"]
    assert float(rows[0][ACC]) == pytest.approx(0.91) and rows[-1][ACC] == ""


def test_reached_from_the_navigator_and_the_view_menu(qtbot, window, board):
    project, ids = board
    window.refresh_tree()
    assert window.navigator.item_for("leaderboard", project.id) is not None
    assert window.navigate("leaderboard", project.id)
    page = window.pages.currentWidget()
    assert isinstance(page, LeaderboardPage) and page.project_id == project.id
    page.select_ids([ids["m-good"], ids["m-ok"]])
    assert page.compare_selected()
    assert type(window.pages.currentWidget()).__name__ == "ComparePage"
    window.navigate("project", project.id)
    window.leaderboard_action.trigger()
    assert window.pages.currentWidget() is page
    sel = page.table.selectionModel()
    sel.select(page.model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
               | QItemSelectionModel.SelectionFlag.Rows)
    page.table.doubleClicked.emit(page.model.index(0, 0))
    assert window.pages.current_kind() == "model"
