"""Glitches the newcomer's journey (docs/screenshots/journey-*.png) showed, each fixed: the clone dialog of a
trained model, the review viewer's counter, the model page's label colours, the error gallery's IoU range for a
classification, the subset dots' legend, the split message's order, the charts' "value" legend."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


from desktop_app.gui import pretrained  # noqa: E402
from desktop_app.gui.colors import label_hex  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty torch hub cache: no pretrained file on 'this computer'."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    pretrained.forget()
    yield
    pretrained.forget()


def test_cloning_a_trained_model_says_it_starts_from_its_weights(window, qtbot, client, model_named, no_weights):
    """It said "No pretrained weights … training starts from random initialisation" (journey-16)."""
    trained = client.models.get(model_name="pretrained-resnet").clone(model_name="mine", description="")
    client.catalog.set_model_status(trained.id, "trained")
    dlg = window.open_clone_dialog(trained.id)
    assert dlg.weights_note.isVisible() and dlg.weights_note.text() == \
        "Training starts from the trained weights of mine."
    dlg.config_form.set_value("arch", "resnet50")           # another network: its own weights are of no use
    qtbot.waitUntil(lambda: "random initialisation" in dlg.weights_note.text(), timeout=WAIT_MS)
    dlg.config_form.set_value("arch", "resnet18")
    assert dlg.weights_note.text() == "Training starts from the trained weights of mine."
    dlg.reject()
    # a built-in still says its weights are absent
    dlg = window.open_clone_dialog(model_named("pretrained-resnet"))
    qtbot.waitUntil(lambda: "random initialisation" in dlg.weights_note.text(), timeout=WAIT_MS)
    dlg.reject()


def test_a_clone_of_a_builtin_left_without_description_has_none(window, qtbot, client, model_named):
    """The dialog leaves a built-in's description out of the field, and the clone got it anyway ("ResNet-18")."""
    dlg = window.open_clone_dialog(model_named("pretrained-resnet"))
    assert dlg.description.text() == ""
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg.clone_button.click()
    assert client.catalog.get_model(dlg.created.id).description == ""
    assert window.pages.model_page.fields["Description"].text() == "—"


def test_the_review_counter_and_the_name_are_apart(qtbot, client):
    """ "1 / 1" beside "4/d0134.png" read "1 / 14/d0134.png" (journey-14)."""
    from desktop_app.gui.views.review_page import ReviewPanel
    panel = ReviewPanel(client)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    ds = client.catalog.get_dataset("shapes")
    panel.set_items(client.catalog.item_ids(ds.id)[:3], 0)
    qtbot.waitExposed(panel)
    between = [w.text() for w in panel.findChildren(type(panel.position)) if w.isVisible()
               and panel.position.geometry().right() < w.geometry().left() < panel.title.geometry().left()]
    assert panel.position.text() == "1 / 3" and between == ["·"]
    panel.set_items([], 0)
    assert not panel.separator.isVisible()
    panel.shutdown()


def _chip_colors(html: str) -> list[str]:
    return re.findall(r"background:(#[0-9a-f]{6})", html)


def test_model_page_label_chips_take_the_dataset_colours(window, client):
    """A palette of nine of its own: label 9 had label 0's colour, and none matched the gallery's (journey-11)."""
    labels = [str(d) for d in range(10)]
    ds = client.sample_project.datasets.create("ten", labels=labels)
    client.catalog.update_dataset(ds.id, label_colors={"3": "#123456"})
    m = client.models.get(model_name="pretrained-resnet").clone(model_name="ten-labels", dataset_id=ds.id)
    window.navigate("model", m.id)
    colors = _chip_colors(window.pages.model_page.labels.text())
    assert len(set(colors)) == 10
    assert colors == [label_hex(lb, labels, {"3": "#123456"}) for lb in labels]


def test_the_error_gallery_hides_the_iou_range_for_a_classification(qtbot):
    """Greyed out, "IoU 0.00 … 1.00" only puzzled on a classification's gallery (journey-12)."""
    from desktop_app.gui.widgets.error_gallery import ErrorGallery
    g = ErrorGallery()
    qtbot.addWidget(g)
    g.show()
    g.set_iou_enabled(False)
    assert not g.iou.isVisible() and not g.iou_label.isVisible()
    g.set_iou_enabled(True)
    assert g.iou.isVisible() and g.iou_label.isVisible() and g.iou_label.text() == "IoU"


def test_the_subset_list_is_the_legend_of_the_gallery_dots(qtbot):
    """The gallery marks each item's subset with a coloured dot that nothing explained (journey-05)."""
    from desktop_app.gui.widgets.dataset_filters import FilterPanel
    from desktop_app.gui.widgets.gallery import SUBSET_COLORS
    panel = FilterPanel()
    qtbot.addWidget(panel)
    panel.set_subset_counts({"train": 7, "validation": 2, "test": 1, "none": 0})
    icons = {panel.subsets.item(k).text().split("  ")[0]: panel.subsets.item(k).icon()
             for k in range(panel.subsets.count())}
    for key, title in (("train", "Train"), ("validation", "Validation"), ("test", "Test")):
        img = icons[title].pixmap(10, 10).toImage()
        assert img.pixelColor(5, 5).name() == SUBSET_COLORS[key]
    for title in ("All items", "No subset"):    # no dot, but the room of one: the titles stay in one column
        assert icons[title].pixmap(10, 10).toImage().pixelColor(5, 5).alpha() == 0


def test_the_split_message_follows_the_dialogs_order():
    from desktop_app.gui.views.dataset_page import split_message
    assert split_message({"test": 45, "train": 210, "validation": 45}) == "Split: train 210, validation 45, test 45"


def test_a_metric_without_a_split_draws_no_legend_box(qtbot):
    """"lr" drew a box saying "value" over the start of its line (journey-09); named lines keep theirs."""
    from desktop_app.catalog.records import MetricSample
    from desktop_app.gui.widgets.charts import ChartsPanel
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.set_model("m")
    panel.add_samples("m", [MetricSample(id=1, model_id="m", figure="lr", legend="value", x=0, y=1),
                            MetricSample(id=2, model_id="m", figure="loss", legend="train", x=0, y=1)])
    panel.redraw()
    qtbot.waitUntil(lambda: panel.figures_shown() == {"lr": {"value": 1}, "loss": {"train": 1}}, timeout=10_000)
    assert not panel.plots["lr"].getPlotItem().legend.isVisible()
    assert panel.plots["loss"].getPlotItem().legend.isVisible()




def test_compare_charts_name_the_models_under_the_data_not_over_it(qtbot, client):
    """A legend box in the top right corner covered a rising accuracy (journey-17)."""
    from desktop_app.gui.views.compare_page import ComparePage
    from desktop_app.sdk import PlotSample
    base = client.models.get(model_name="pretrained-resnet")
    models = [base.clone(model_name=f"cmp-{k}") for k in range(2)]
    for k, m in enumerate(models):
        m.metrics.create([PlotSample("accuracy", "validation", x, 0.2 * x + 0.05 * k) for x in range(5)])
    page = ComparePage(client)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.set_models([m.id for m in models])
    page.set_chosen_metrics(["validation/accuracy"])
    plot = page.plots["validation/accuracy"]
    item = plot.getPlotItem()
    assert item.legend is None                                       # no box inside the data area
    assert [label.text for _sample, label in plot.chart_legend.items] == ["cmp-0", "cmp-1"]
    data = item.getViewBox().sceneBoundingRect
    qtbot.waitUntil(lambda: data().height() > 100, timeout=10_000)          # laid out
    assert plot.chart_legend.sceneBoundingRect().top() >= data().bottom()


def _tick_values(plot, lo: float, hi: float) -> list[float]:
    return [v for _spacing, values in plot.getAxis("bottom").tickValues(lo, hi, 400) for v in values]


def test_a_chart_of_one_step_names_whole_steps_only(qtbot, client):
    """After one epoch the step axis read 25.6, 25.8 … 26.6 (journey-08); the compare page's did too (journey-17)."""
    from desktop_app.catalog.records import MetricSample
    from desktop_app.gui.views.compare_page import ComparePage
    from desktop_app.gui.widgets.charts import ChartsPanel
    from desktop_app.sdk import PlotSample
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.set_model("m")
    panel.add_samples("m", [MetricSample(id=1, model_id="m", figure="lr", legend="value", x=26, y=0.0028)])
    panel.redraw()
    qtbot.waitUntil(lambda: panel.figures_shown() == {"lr": {"value": 1}}, timeout=10_000)
    lo, hi = panel._frames["lr"][1][:2]
    ticks = _tick_values(panel.plots["lr"], lo, hi)
    assert 26 in ticks and all(v == int(v) for v in ticks)
    # many steps: pyqtgraph's own spacing again
    panel.add_samples("m", [MetricSample(id=k, model_id="m", figure="lr", legend="value", x=26 * k, y=0.001)
                            for k in range(2, 40)])
    panel.redraw()
    qtbot.waitUntil(lambda: panel.figures_shown() == {"lr": {"value": 39}}, timeout=10_000)
    assert panel.plots["lr"].getAxis("bottom")._tickSpacing is None

    m = client.models.get(model_name="pretrained-resnet").clone(model_name="one-eval")
    m.metrics.create([PlotSample("accuracy", "eval", 78, 0.87)])
    page = ComparePage(client)
    qtbot.addWidget(page)
    page.show()
    page.set_models([m.id, client.models.get(model_name="pretrained-resnet").id])
    page.set_chosen_metrics(["eval/accuracy"])
    ticks = _tick_values(page.plots["eval/accuracy"], 77.5, 78.5)
    assert 78 in ticks and all(v == int(v) for v in ticks)


def test_the_evaluation_foot_line_says_what_its_instances_are():
    """"90 instances" under "subset test, 45 items" read as a wrong count (journey-12)."""
    from desktop_app.gui.views.evaluation_page import status_text
    assert status_text(90, 45).startswith("90 instances (ground truth and predictions) on 45 images.")
