"""The compare page: chosen metrics overlaid per figure on step / epoch / wall time, the final / best table
highlighting the right model, configuration differences, evaluations side by side, exports, navigation."""

from __future__ import annotations

import csv
import io

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QMenu  # noqa: E402
from review_fixtures import VARIANTS, evaluate, evaluated, oracle_model, oracle_package  # noqa: E402

from desktop_app.gui.itemmodels.compare_model import BEST_BG, IsBestRole  # noqa: E402
from desktop_app.gui.views.compare_page import ComparePage  # noqa: E402

WAIT_MS = 30_000
LABELS = ["circle", "square", "triangle", "star"]


def log_run(cat, model_id, losses, accs, start=1000.0, every=10.0):
    rows = []
    for k, (loss, acc) in enumerate(zip(losses, accs)):
        step = (k + 1) * 50
        rows += [{"figure": "loss", "legend": "validation", "x": step, "y": loss, "epoch": k + 1,
                  "wall_time": start + every * k},
                 {"figure": "accuracy", "legend": "validation", "x": step, "y": acc, "epoch": k + 1,
                  "wall_time": start + every * k},
                 {"figure": "loss", "legend": "train", "x": step, "y": loss * 1.1, "epoch": k + 1,
                  "wall_time": start + every * k}]
    cat.add_metric_samples(model_id, rows)


@pytest.fixture
def models(client):
    """Three clones with known curves: b ends with the lowest loss, a has the lowest loss ever and
    the best accuracy, c has a different learning rate."""
    base = client.models.get("pretrained-resnet")
    a = base.clone(model_name="cmp-a", configuration={"epochs": 3})
    b = base.clone(model_name="cmp-b", configuration={"epochs": 3})
    c = base.clone(model_name="cmp-c", configuration={"epochs": 3, "learning_rate": 0.0005})
    cat = client.catalog
    log_run(cat, a.id, [0.9, 0.3, 0.5], [0.6, 0.9, 0.85], start=5000.0, every=20.0)
    log_run(cat, b.id, [0.8, 0.5, 0.4], [0.5, 0.7, 0.8])
    log_run(cat, c.id, [1.2, 1.0], [0.4, 0.5])
    return a, b, c


@pytest.fixture
def page(qtbot, client):
    p = ComparePage(client)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    return p


def test_the_table_highlights_the_right_model(qtbot, client, page, models):
    a, b, c = models
    page.set_models(f"{a.id},{b.id},{c.id}")
    assert page.table.table.columns == ["cmp-a", "cmp-b", "cmp-c"]
    hi = page.table.highlighted()
    assert hi["validation/loss (final)"] == ["cmp-b"]            # 0.4 < 0.5 < 1.0
    assert hi["validation/loss (best)"] == ["cmp-a"]             # 0.3
    assert hi["validation/accuracy (final)"] == ["cmp-a"]        # 0.85
    assert hi["validation/accuracy (best)"] == ["cmp-a"]         # 0.9
    # what the user sees: that cell, and only it, is tinted and bold
    m = page.table.model
    row = [m.table.rows[r].title for r in range(m.rowCount())].index("validation/loss (final)")
    for col, name in enumerate(m.table.columns, start=1):
        idx = m.index(row, col)
        best = name == "cmp-b"
        assert m.data(idx, IsBestRole) is best
        bg = m.data(idx, Qt.ItemDataRole.BackgroundRole)
        assert (bg is not None and bg.color() == BEST_BG) is best
        assert (m.data(idx, Qt.ItemDataRole.FontRole) is not None) is best
    assert m.data(m.index(row, 3)) == "1"
    # CSV export: the same table
    path = page.table.export_csv(client.catalog.home / "table.csv")
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][:5] == ["metric", "stat", "cmp-a", "cmp-b", "cmp-c"]
    loss_final = [r for r in rows if r[:2] == ["validation/loss", "final"]][0]
    assert loss_final[-2:] == ["cmp-b", "lower"]
    # only the metrics chosen
    page.set_chosen_metrics(["train/loss"])
    assert [r.title for r in page.table.table.rows] == ["train/loss (final)", "train/loss (best)"]


def test_two_models_of_one_name_in_two_projects_keep_their_own_columns(qtbot, client, page, models):
    """Names are unique per project only: the columns, lines and configuration say which project."""
    a, b, _ = models
    other = client.projects.create(project_name="Lab B")
    twin = client.models.get("pretrained-resnet").clone(model_name="cmp-a", project_id=other.id,
                                                        configuration={"epochs": 3, "learning_rate": 0.02})
    log_run(client.catalog, twin.id, [0.2, 0.1], [0.95, 0.97])
    page.set_models([a.id, twin.id, b.id])
    assert page.table.table.columns == ["cmp-a (Sample project)", "cmp-a (Lab B)", "cmp-b"]
    assert page.table.highlighted()["validation/loss (final)"] == ["cmp-a (Lab B)"]
    assert page.drawn_lines("validation/loss") == {"cmp-a (Sample project)": 3, "cmp-a (Lab B)": 2, "cmp-b": 3}
    assert page.config.model.columns == ["cmp-a (Sample project)", "cmp-a (Lab B)", "cmp-b"]
    lr = next(r for r in page.config.model.rows if r.key == "learning_rate")
    assert lr.values[1] == 0.02 and lr.values[0] != 0.02


def test_curves_overlay_per_metric_on_three_x_axes(qtbot, client, page, models):
    a, b, c = models
    page.set_models([a.id, b.id, c.id])
    assert set(page.plots) == set(page.chosen_metrics()) == {"validation/loss", "validation/accuracy", "train/loss"}
    assert page.drawn_lines("validation/loss") == {"cmp-a": 3, "cmp-b": 3, "cmp-c": 2}
    plot = page.plots["validation/loss"]

    def xs_of(name):
        return [list(it.xData) for it in plot.getPlotItem().listDataItems() if it.name() == name][0]
    assert xs_of("cmp-a") == [50, 100, 150]
    page.x_axis.setCurrentIndex(page.x_axis.findData("epoch"))
    assert xs_of("cmp-a") == [1, 2, 3]
    page.x_axis.setCurrentIndex(page.x_axis.findData("wall_time"))
    assert xs_of("cmp-a") == [0, 20, 40] and xs_of("cmp-b") == [0, 10, 20]
    # smoothing adds a faint raw line under each smoothed one
    page.smoothing.setValue(60)
    smoothed = [it for it in plot.getPlotItem().listDataItems() if it.name() == "cmp-a"][0]
    assert list(smoothed.yData) != [0.9, 0.3, 0.5] and len(plot.getPlotItem().listDataItems()) == 6
    # colours: one per model, the same in every chart and in the legend
    pens = {it.name(): it.opts["pen"].color().name() for it in plot.getPlotItem().listDataItems() if it.name()}
    assert pens == {page.names[m]: page.colors[m].name() for m in page.model_ids}
    page.set_chosen_metrics(["validation/accuracy"])
    assert set(page.plots) == {"validation/accuracy"}
    png = page.export_png(client.catalog.home / "curves.png")
    assert png.stat().st_size > 1000


def test_configuration_differences(qtbot, client, page, models):
    a, b, c = models
    page.set_models([a.id, b.id, c.id])
    cfg = page.config
    keys = [r.key for r in cfg.model.rows]
    assert keys == ["learning_rate"]
    assert cfg.model.columns == ["cmp-a", "cmp-b", "cmp-c"]
    cfg.only_diff.setChecked(False)
    assert len(cfg.model.rows) > 3 and "epochs" in [r.key for r in cfg.model.rows]
    assert "1 setting(s) differ" in cfg.summary.text()


def test_evaluations_side_by_side(qtbot, client, page):
    ev_a = evaluated(client, "oracle-a")
    ev_b = evaluate(client, oracle_model(client, "oracle-b"))
    page.set_models([ev_a.model_id, ev_b.model_id])
    assert page.group_box.count() == 1 and page.review_button.isEnabled()
    t = page.eval_table.table
    sa, sb = ev_a.summary, ev_b.summary
    hi = page.eval_table.highlighted()
    assert hi["mAP"] == (["oracle-a"] if sa["mAP"] > sb["mAP"] else ["oracle-b"])
    assert hi["fp"] == (["oracle-a"] if sa["fp"] < sb["fp"] else ["oracle-b"])
    assert [r.name for r in t.rows][:4] == ["mAP", "mAP50", "mAP75", "AR100"]
    assert page.bars.values["oracle-a"][0] == pytest.approx(ev_a.per_class[list(ev_a.per_class)[0]]["AP"])
    assert set(page.pr.curve_names()) == {"oracle-a", "oracle-b"}
    assert [p.matrix.title for p in page.matrix_panels] == ["oracle-a", "oracle-b"]
    assert page.matrix_panels[1].matrix.matrix.tolist() == ev_b.results["confusion"]["matrix"]
    page.hide_diagonal.setChecked(True)
    assert all(p.matrix.hide_diagonal for p in page.matrix_panels)
    page.class_metric.setCurrentIndex(page.class_metric.findData("f1"))
    assert page.bars.plot.getAxis("left").labelText == "f1"
    page.tabs.setCurrentWidget(page.eval_tab)
    png = page.export_png(client.catalog.home / "eval.png", page.eval_content)
    assert png.stat().st_size > 1000


def test_three_models_offer_each_pair_for_the_side_by_side_review(qtbot, client, page):
    ev_a = evaluated(client, "oracle-a")
    ev_b = evaluate(client, oracle_model(client, "oracle-b"))
    c = oracle_package(client).models.create(model_name="oracle-c", dataset_id=ev_a.dataset_id,
                                             project_id=client.sample_project.id, labels=LABELS,
                                             configuration={**VARIANTS["oracle-b"], "seed": 3})
    ev_c = evaluate(client, c)
    page.set_models([ev_a.model_id, ev_b.model_id, c.id])
    assert "3 models" in page.group_box.currentText() and page.review_button.isEnabled()
    menu = page.review_button.menu()
    assert menu is not None
    texts = [a.text() for a in menu.actions()]
    assert texts == ["oracle-b against oracle-a", "oracle-c against oracle-a", "oracle-a against oracle-b",
                     "oracle-c against oracle-b", "oracle-a against oracle-c", "oracle-b against oracle-c"]
    with qtbot.waitSignal(page.navigate) as sig:
        menu.actions()[3].trigger()
    assert sig.args == ["review", f"{ev_b.id},{ev_c.id}"]     # baseline b, candidate c: c's regressions
    page.set_models([ev_a.model_id, c.id])                    # two: the button opens them, no menu
    assert page.review_button.menu() is None
    with qtbot.waitSignal(page.navigate) as sig:
        page.review_button.click()
    assert sig.args == ["review", f"{ev_a.id},{ev_c.id}"]


def test_navigator_multi_select_opens_the_compare_page(qtbot, window, client, models):
    a, b, c = models
    window.refresh_tree()
    nav = window.navigator
    nav.select("model", a.id)
    nav.item_for("model", b.id).setSelected(True)
    assert set(nav.selected_models()) == {a.id, b.id}
    nav._context_menu(QPoint(5, 5))
    menu = nav.findChildren(QMenu)[-1]
    assert any(a.text() == "Compare 2 selected models" for a in menu.actions())
    with qtbot.waitSignal(nav.compare_requested, timeout=WAIT_MS) as sig:
        next(a for a in menu.actions() if a.text() == "Compare 2 selected models").trigger()
    menu.close()
    assert set(sig.args[0]) == {a.id, b.id}
    page = window.pages.currentWidget()
    assert isinstance(page, ComparePage) and set(page.model_ids) == {a.id, b.id}
    # the Model menu's action does the same
    window.navigate("model", c.id)
    nav.item_for("model", a.id).setSelected(True)
    window.compare_action.trigger()
    assert set(window.pages.currentWidget().model_ids) == {a.id, c.id}
    # the model page's lineage links to its family
    window.navigate("model", a.id)
    html = window.pages.model_page.lineage.text()
    assert "compare:" in html
    href = html.split("href='compare:")[1].split("'")[0]
    window.pages.model_page._link(f"compare:{href}")
    assert window.pages.currentWidget() is window.pages.pages["compare"]
    assert a.id in window.pages.pages["compare"].model_ids


def test_class_bars_list_each_model_once_in_the_legend(qtbot):
    from desktop_app.gui.widgets.pr_chart import ClassBars
    bars = ClassBars()
    qtbot.addWidget(bars)
    for _ in range(2):                   # a redraw must not add the models again
        bars.set_values(["a", "b"], {"m1": [0.5, 0.7], "m2": [0.6, float("nan")]}, "f1")
    assert [label.text for _, label in bars.legend.items] == ["m1", "m2"]
    assert len(bars.bars) == 2
