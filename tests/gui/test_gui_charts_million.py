"""A chart of a million points draws a few thousand (min / max per pixel column, the visible range only) and still
exports every point; smoothing and the log axis work on arrays and agree with sdk.views."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.widgets.charts import ChartsPanel, ema_array  # noqa: E402
from desktop_app.sdk.views import ema  # noqa: E402

N = 1_000_000
Point = namedtuple("Point", "id figure legend x y")   # what SeriesSet.add reads of a MetricSample


@pytest.fixture
def panel(qtbot):
    p = ChartsPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    p.set_model("m")
    return p


def test_a_million_points_are_drawn_downsampled_and_exported_whole(panel, qtbot, tmp_path):
    ys = np.sin(np.arange(N) / 5000.0) + 0.01 * np.cos(np.arange(N))
    panel.add_samples("m", [Point(i + 1, "loss", "train", float(i), float(y)) for i, y in enumerate(ys)])
    panel.redraw()
    raw, smooth = panel.curves[("loss", "train")]
    assert panel.figures_shown() == {"loss": {"train": N}}            # every point is in the series ...
    for item in (raw, smooth):
        qtbot.waitUntil(lambda item=item: 0 < len(item.getData()[0]) <= 5000, timeout=10_000)   # ... few drawn
    x, y = raw.getData()
    assert y.max() == pytest.approx(ys.max(), abs=1e-3)              # 'peak' keeps the extremes of each column

    view = panel.plots["loss"].getViewBox()
    view.setXRange(400_000, 410_000, padding=0)
    qtbot.waitUntil(lambda: raw.getData()[0].min() >= 390_000 and raw.getData()[0].max() <= 420_000,
                    timeout=10_000)                                    # only the visible range is drawn
    assert len(raw.getData()[0]) <= 5000

    out = panel.export_csv(tmp_path / "metrics.csv")
    with open(out) as f:
        lines = sum(1 for _ in f)
    assert lines == N + 1                                              # a header, then every point


def test_array_smoothing_matches_the_python_one():
    values = [1.0, 0.5, math.nan, 0.25, math.inf, 0.2, 0.1]
    for w in (0.0, 0.3, 0.9):
        got = ema_array(np.asarray(values), w)
        want = ema(values, w)
        assert np.allclose(got, want, equal_nan=True) and np.array_equal(np.isinf(got), np.isinf(want))
    long = np.random.default_rng(0).normal(5.0, 3.0, 20_000)   # many blocks of every size of weight
    long[::997] = math.nan
    for w in (0.01, 0.5, 0.9, 0.99):
        assert np.allclose(ema_array(long, w), ema(long.tolist(), w), rtol=1e-9, atol=1e-9, equal_nan=True)


def test_log_axes_and_unsorted_steps_on_arrays(panel, qtbot):
    pts = [Point(1, "lr", "value", 3.0, 0.1), Point(2, "lr", "value", 0.0, 0.2), Point(3, "lr", "value", 1.0, -1.0)]
    panel.add_samples("m", pts)
    panel.log_x.setChecked(True)
    panel.log_y.setChecked(True)
    panel.smoothing.setValue(0)
    panel.redraw()
    raw, smooth = panel.curves[("lr", "value")]
    xs, ys = smooth.getOriginalDataset()
    assert np.isnan(xs[0]) and list(xs[1:]) == [1.0, 3.0]             # sorted by step; step 0 a gap on log x
    assert list(ys[[0, 2]]) == [0.2, 0.1] and np.isnan(ys[1])          # -1 a gap on log y
