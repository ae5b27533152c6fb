"""Charts show where a run is: a one-point series is drawn (a dot), and the last raw value stays visible
whatever the smoothing (issue 18: accuracy ended at 0.91 smoothed when the last value was 0.956, and a
series of one epoch drew nothing on an x axis of 78.00-78.25)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.catalog.records import MetricSample  # noqa: E402
from desktop_app.gui.widgets.charts import ChartsPanel  # noqa: E402


def _sample(i, figure, legend, x, y):
    return MetricSample(id=i, model_id="m", figure=figure, legend=legend, x=x, y=y)


@pytest.fixture
def panel(qtbot):
    p = ChartsPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    p.set_model("m")
    return p


def test_a_one_point_series_is_drawn_centred_in_its_frame(panel):
    panel.add_samples("m", [_sample(1, "accuracy", "validation", 78, 0.91)])
    panel.redraw()
    end = panel.ends[("accuracy", "validation")]
    assert list(end.xData) == [78] and list(end.yData) == [0.91]
    assert end.opts["symbol"] == "o" and end.isVisible()
    (x0, x1), (y0, y1) = panel.plots["accuracy"].getViewBox().viewRange()
    assert x0 < 78 < x1 and x0 <= 77.5 and x1 >= 78.5          # not pinned to the frame's left edge
    assert y0 < 0.91 < y1


def test_smoothing_never_hides_the_last_raw_value(panel):
    ys = [0.5, 0.7, 0.8, 0.88, 0.956]
    panel.add_samples("m", [_sample(i, "accuracy", "validation", i, y) for i, y in enumerate(ys)])
    panel.smoothing.setValue(50)
    panel.redraw()
    raw, smooth = panel.curves[("accuracy", "validation")]
    assert smooth.yData[-1] < 0.93                              # the smoothed line lags behind ...
    end = panel.ends[("accuracy", "validation")]
    assert list(end.xData) == [4] and end.yData[-1] == pytest.approx(0.956)   # ... the dot shows the end
    assert "0.956" in end.toolTip()
    panel.smoothing.setValue(0)
    panel.redraw()
    assert end.yData[-1] == pytest.approx(0.956)
