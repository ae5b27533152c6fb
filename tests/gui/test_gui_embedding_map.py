"""The embedding map: the widget draws, lassoes and hovers; docked in the window over a stored feature set it shows
a point per embedded item, and its lasso filters the dataset's gallery."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from desktop_app.catalog.feature_sets import queries
from desktop_app.evaluation.embedding_map import ground_truth_labels
from desktop_app.gui.widgets.embedding_map import EmbeddingMap, category_colours


def _clusters(n: int = 900, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % k
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])[:k]
    return (centres[codes] + rng.normal(scale=1.0, size=(n, 2))).astype(np.float32), codes


@pytest.fixture
def map_widget(qtbot):
    w = EmbeddingMap()
    qtbot.addWidget(w)
    w.resize(700, 500)
    w.show()
    xy, codes = _clusters()
    w.set_points(np.arange(100, 100 + len(xy)), xy)
    names = ["a", "b", "c"]
    w.set_categories(codes, names, category_colours(names, "label", names))
    return w, xy, codes


def test_the_map_draws_each_point_in_its_category_colour(map_widget, qtbot):
    w, xy, codes = map_widget
    qtbot.waitExposed(w)
    image = w.canvas.grab().toImage()
    box = w.box
    for k in range(3):                 # each cluster's centre is painted in its colour
        centre = np.median(xy[codes == k], axis=0)
        at = w.canvas.mapFromScene(box.mapViewToScene(QPointF(float(centre[0]), float(centre[1]))))
        dpr = image.devicePixelRatio()
        around = [image.pixel(int(at.x() * dpr) + dx, int(at.y() * dpr) + dy) for dx in range(-6, 7)
                  for dy in range(-6, 7)]
        painted = [c for c in around if QColor(c) != QColor("white")]
        assert len(painted) > len(around) / 2                       # a dense cluster: mostly covered
        assert QColor(max(set(painted), key=painted.count)) == w.colours[k]
    assert [w.legend.item(k).text() for k in range(3)] == ["a (300)", "b (300)", "c (300)"]


def test_lasso_selects_the_points_inside_and_fades_the_rest(map_widget, qtbot):
    w, xy, codes = map_widget
    square = np.array([[5.0, -5.0], [15.0, -5.0], [15.0, 5.0], [5.0, 5.0]])
    inside = (xy[:, 0] > 5) & (xy[:, 0] < 15) & (xy[:, 1] > -5) & (xy[:, 1] < 5)
    with qtbot.waitSignal(w.selection_changed) as sig:
        w.box.lassoed.emit(square)                       # what a drag's release emits
    assert sig.args[0] == (np.flatnonzero(inside) + 100).tolist() and inside.sum() > 250
    assert w.box.outline.isVisible()                     # the lasso stays drawn
    assert len(w.cloud.palette) == 1 + 2 * 3             # faded and selected colours
    with qtbot.waitSignal(w.selection_changed) as sig:
        w.box.clicked.emit(QPointF(0, 0))                # a click clears
    assert sig.args[0] == [] and not w.box.outline.isVisible()
    with qtbot.waitSignal(w.selection_changed) as sig:   # a legend entry selects its category
        w.legend.itemClicked.emit(w.legend.item(2))
    assert sig.args[0] == (np.flatnonzero(codes == 2) + 100).tolist()


class _Drag:
    """What pyqtgraph hands mouseDragEvent: a left drag from the first scene point through the others."""

    def __init__(self, box, path, k, shift):
        self.scene = [box.mapViewToScene(QPointF(*p)) for p in path]
        self.k, self.shift = k, shift

    def button(self):
        return Qt.MouseButton.LeftButton

    def modifiers(self):
        return Qt.KeyboardModifier.ShiftModifier if self.shift else Qt.KeyboardModifier.NoModifier

    def isStart(self):  # noqa: N802 - pyqtgraph API
        return self.k == 1

    def isFinish(self):  # noqa: N802 - pyqtgraph API
        return self.k == len(self.scene) - 1

    def buttonDownScenePos(self):  # noqa: N802 - pyqtgraph API
        return self.scene[0]

    def scenePos(self):  # noqa: N802 - pyqtgraph API
        return self.scene[self.k]

    def accept(self):
        pass


@pytest.mark.parametrize("tool", [False, True])
def test_a_shift_drag_or_the_lasso_tool_draws_the_lasso(map_widget, qtbot, tool):
    w, xy, codes = map_widget
    w.box.lasso_mode = tool
    path = [(5.0, -5.0), (15.0, -5.0), (15.0, 5.0), (5.0, 5.0)]
    inside = (xy[:, 0] > 5) & (xy[:, 0] < 15) & (xy[:, 1] > -5) & (xy[:, 1] < 5)
    with qtbot.waitSignal(w.selection_changed) as sig:
        for k in range(1, len(path)):
            w.box.mouseDragEvent(_Drag(w.box, path, k, shift=not tool))
            if k < len(path) - 1:
                assert w.box.outline.isVisible()             # the path follows the pointer
    assert sig.args[0] == (np.flatnonzero(inside) + 100).tolist() and w.box.outline.isVisible()
    w.box.lasso_mode = False
    assert not w.box._lassoing(_Drag(w.box, path, 1, shift=False))   # a plain drag pans (pyqtgraph's own)


def test_hover_shows_the_nearest_points_card(map_widget, qtbot):
    w, xy, _ = map_widget
    w.describe = lambda item_id: (f"image-{item_id}.png", None)
    k = int(np.argmax(xy[:, 0]))                         # the rightmost point: no neighbour on top of it
    near = QPointF(float(xy[k, 0]) + 0.05, float(xy[k, 1]))
    assert w.index_at(near) == k
    with qtbot.waitSignal(w.hovered) as sig:
        w.hover(w.index_at(near))
    assert sig.args == [100 + k] and w.card.isVisible()
    assert w.card.text.text() == f"image-{100 + k}.png\nb"
    assert w.index_at(QPointF(50.0, 50.0)) == -1
    w.hover(-1)
    assert not w.card.isVisible()


@pytest.fixture
def embedded(client):
    """The sample shapes dataset embedded by a (weightless) model: a vector per item, one cluster per label."""
    cat = client.catalog
    shapes = client.datasets.get("shapes")
    model = client.packages.get(package_name="resnet").models.create(
        model_name="mapper", project_id=client.sample_project.id, labels=shapes.labels)
    ids = cat.item_ids(shapes.id)
    labels = ground_truth_labels(cat, shapes.id)
    order = sorted(set(labels.values()))
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=20.0, size=(len(order), 24))
    vectors = np.stack([centres[order.index(labels[i])] for i in ids]) + rng.normal(size=(len(ids), 24))
    q = queries(cat)
    q.add(model.id, ids, vectors.astype(np.float32), weights_sha=q.weights_sha(model.id))
    return shapes, model, ids, labels


def test_the_docked_map_shows_every_embedded_item_and_its_lasso_filters_the_gallery(window, qtbot, embedded):
    shapes, model, ids, labels = embedded
    window.navigate("dataset", shapes.id)
    page = window.open_embedding_map()
    assert window.map_dock.isVisible() and page is window.map_dock.page
    qtbot.waitUntil(lambda: len(page.map.item_ids) == len(ids), timeout=20_000)
    assert page.feature_combo.currentText() == "mapper" and f"{len(ids):,} points" in page.counts.text()
    assert page.feature_combo.itemData(0, Qt.ItemDataRole.ToolTipRole).startswith(f"mapper ({len(ids):,} items")
    assert sorted(page.map.item_ids.tolist()) == sorted(ids)
    legend = [page.map.legend.item(k).text() for k in range(page.map.legend.count())]
    assert legend == [f"{lb} ({sum(v == lb for v in labels.values())})" for lb in shapes.labels if lb in
                      labels.values()]
    page.colour_combo.setCurrentIndex(page.colour_combo.findData("subset"))
    assert page.map.names[0] in ("train", "validation", "test", "(no subset)")

    # a lasso around one label's cluster picks exactly its items
    target = shapes.labels[0]
    mask = np.array([labels[int(i)] == target for i in page.map.item_ids])
    lo, hi = page.map.xy[mask].min(axis=0) - 0.01, page.map.xy[mask].max(axis=0) + 0.01
    assert not ((page.map.xy[~mask] >= lo) & (page.map.xy[~mask] <= hi)).all(axis=1).any()
    chosen = page.select_polygon([(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])])
    assert sorted(chosen) == sorted(int(i) for i in page.map.item_ids[mask])
    assert page.gallery_button.isEnabled() and f"{len(chosen):,} selected" in page.counts.text()
    dataset_page = window.pages.pages["dataset"]
    if not hasattr(dataset_page, "show_only"):
        pytest.skip("DatasetPage.show_only (issue 14, H2) is not in this tree yet")
    qtbot.waitUntil(lambda: dataset_page.showing_only and dataset_page.model.rowCount() == len(chosen),
                    timeout=10_000)
    # "Show in gallery" from another page goes back to the dataset with those items
    window.navigate("model", model.id)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is not dataset_page)
    page.gallery_button.click()
    assert window.pages.currentWidget() is dataset_page and dataset_page.dataset_id == shapes.id
    qtbot.waitUntil(lambda: dataset_page.showing_only and dataset_page.model.rowCount() == len(chosen),
                    timeout=10_000)
    # a click on the map clears the selection, and the gallery lists every item again
    page.map.box.clicked.emit(QPointF(0, 0))
    qtbot.waitUntil(lambda: not dataset_page.showing_only and dataset_page.model.rowCount() == len(ids),
                    timeout=10_000)


def test_the_map_says_how_to_embed_when_no_set_holds_the_dataset(window, qtbot, client):
    shapes = client.datasets.get("shapes")
    window.navigate("dataset", shapes.id)
    page = window.open_embedding_map()
    with qtbot.waitSignal(page.loaded, timeout=20_000):
        pass
    assert "No feature set" in page.counts.text() and "embed" in page.note.text()
    assert len(page.map.item_ids) == 0
