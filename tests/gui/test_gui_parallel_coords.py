"""Parameters against metrics: a polyline per model over normalised axes (real min / max written on them, text
values as evenly spaced categories, wide positive ranges on a log scale), brushing by a range on an axis or a
rectangle in the scatter (and clearing), PNG / CSV exports written."""

from __future__ import annotations

import csv
import io

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402

from desktop_app.gui import leaderboard_data as lb  # noqa: E402
from desktop_app.gui.widgets.parallel_coords import ParallelCoordinates  # noqa: E402
from desktop_app.gui.widgets.param_scatter import ParamScatter  # noqa: E402

ACC, LOSS, LR, OPT = "metrics.`validation/accuracy`", "metrics.`validation/loss`", "params.learning_rate", \
    "params.optimizer"
COLUMNS = [LR, OPT, LOSS, ACC]


def make_rows(n: int = 10) -> list[lb.Row]:
    rows = [lb.Row(f"m{i}", f"model-{i}", {LR: 10 ** -(i % 4 + 1), OPT: ["adam", "sgd"][i % 2],
                                          ACC: 0.5 + 0.04 * i, LOSS: 1.0 - 0.05 * i}) for i in range(n)]
    rows[-1].values[LOSS] = None          # a model without one value: its line breaks there
    return rows


@pytest.fixture
def chart(qtbot):
    w = ParallelCoordinates()
    qtbot.addWidget(w)
    w.resize(1000, 480)
    w.show()
    w.set_data(make_rows(), COLUMNS)
    return w


def test_one_polyline_per_model_over_normalised_axes(chart):
    assert len(chart.lines) == 10
    assert [a.column for a in chart.axes] == COLUMNS
    acc = chart.axes[3]
    assert (acc.low, acc.high) == (0.5, pytest.approx(0.86)) and not acc.categorical
    assert acc.positions["m0"] == 0.0 and acc.positions["m9"] == pytest.approx(1.0)
    assert [t for _p, t in acc.tick_labels()] == ["0.5", "0.86"]       # the real min and max on the axis
    lr = chart.axes[0]
    assert lr.log and lr.positions["m0"] == pytest.approx(1.0) and lr.positions["m3"] == pytest.approx(0.0)
    opt = chart.axes[1]
    assert opt.categorical and opt.tick_labels() == [(0.0, "adam"), (1.0, "sgd")]   # evenly spaced categories
    ys = chart.lines["m9"].yData
    assert ys[2] != ys[2]                 # NaN: no loss, the line breaks at that axis
    assert chart.color_by.currentData() == LOSS     # coloured by the first metric by default
    assert chart.colorbar is not None and chart.legend is None
    chart.color_by.setCurrentIndex(1)     # by a text column: a legend, no colour bar
    assert chart.legend is not None and chart.colorbar is None


def test_brushing_a_range_on_an_axis_filters_and_clears(qtbot, chart):
    got = []
    chart.brushed.connect(got.append)
    assert chart.set_brush(ACC, 0.6, 0.8) == {"m3", "m4", "m5", "m6", "m7"}
    assert chart.set_brush(OPT, "adam") == {"m4", "m6"}          # both brushes hold
    assert got[-1] == {"m4", "m6"}
    assert chart.clear_button.isEnabled()
    chart.clear_brush()
    assert got[-1] is None and chart.selected_ids() is None and not chart.clear_button.isEnabled()


def test_dragging_on_an_axis_brushes_it_and_a_click_clears(qtbot, chart):
    got = []
    chart.brushed.connect(got.append)
    chart.box.brushed.emit(QRectF(QPointF(2.95, 0.0), QPointF(3.05, 0.3)))   # a drag along the accuracy axis
    assert got[-1] == {m for m, p in chart.axes[3].positions.items() if p is not None and p <= 0.3}
    chart.box.brushed.emit(QRectF(QPointF(1.5, 0.0), QPointF(1.55, 0.3)))    # between two axes: nothing
    assert len(got) == 1
    chart.box.clicked.emit(QPointF(3.0, 0.5))
    assert got[-1] is None


def test_exports_write_files(tmp_path, chart):
    png = chart.export_png(tmp_path / "pc.png")
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    path = chart.export_csv(tmp_path / "pc.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 10 and rows[0]["name"] == "model-0" and float(rows[0][ACC]) == 0.5
    assert rows[9][LOSS] == ""            # missing stays empty


def test_scatter_colours_by_a_third_and_brushes_a_rectangle(qtbot, tmp_path):
    w = ParamScatter()
    qtbot.addWidget(w)
    w.resize(900, 480)
    w.show()
    w.set_data(make_rows(), COLUMNS)
    assert (w.x_combo.currentData(), w.y_combo.currentData(), w.color_combo.currentData()) == (LR, LOSS, ACC)
    assert len(w.points) == 9             # the model without a loss is not plotted
    got = []
    w.brushed.connect(got.append)
    assert w.brush_values(0.001, 0.1, 0.6, 0.9) == {"m2", "m4", "m5", "m6", "m8"}
    w.box.clicked.emit(QPointF(0.5, 0.5))
    assert got[-1] is None
    w.x_combo.setCurrentIndex(1)          # a text parameter: evenly spaced ticks
    ticks = w.plot.getAxis("bottom")._tickLevels[0]
    assert [t for _p, t in ticks] == ["adam", "sgd"]
    assert w.export_png(tmp_path / "s.png").stat().st_size > 1000
    text = w.export_csv(tmp_path / "s.csv").read_text()
    assert text.splitlines()[0] == f"name,model_id,{OPT},{LOSS},{ACC}"
