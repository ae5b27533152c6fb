"""Dataset page and image viewer: one graphics item per annotation, layers, next / previous, zoom."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem  # noqa: E402

from desktop_app.formats.base import Annotation  # noqa: E402
from desktop_app.gui.colors import PALETTE, LabelColors, label_hex  # noqa: E402
from desktop_app.gui.itemmodels.gallery_model import GalleryFilter  # noqa: E402
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from desktop_app.gui.widgets.annotation_items import GROUND_TRUTH, LabelTag  # noqa: E402
from desktop_app.gui.widgets.image_viewer import ImageViewer, fit_zoom  # noqa: E402

WAIT_MS = 20_000


@pytest.fixture
def detection(client):
    return client.catalog.get_dataset("shapes-detection")


@pytest.fixture
def page(qtbot, client, detection):
    p = DatasetPage(client)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    with qtbot.waitSignal(p.model.query_done, timeout=WAIT_MS):
        p.set_dataset(detection.id)
    yield p
    p.shutdown()


def open_row(qtbot, page, row):
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.open_row(row)
    return page.current_item()


def add_predictions(client, dataset_id, item_id):
    model = client.catalog.find_models(dataset_id=dataset_id)[0]
    gt = client.catalog.list_annotations(item_ids=[item_id], ground_truth=True, types=["box"])
    preds = [Annotation(type="box", label=a.label, coordinates=[a.left + 1, a.top + 1, a.right + 1, a.bottom + 1],
                        score=0.87) for a in gt]
    client.catalog.replace_predictions(model.id, model.name, {item_id: preds}, dataset_id)
    return model, len(preds)


# ---------------------------------------------------------------- pure logic

def test_label_colours_are_stable_and_distinct():
    labels = ["circle", "square", "triangle", "star"]
    hexes = [label_hex(lb, labels) for lb in labels]
    assert hexes == list(PALETTE[:4]) and len(set(hexes)) == 4
    assert label_hex("zebra", labels) == label_hex("zebra", [])          # unknown labels: by their text
    assert label_hex("circle", labels, {"circle": "#010203"}) == "#010203"
    assert LabelColors(labels)("square").name() == PALETTE[1]


def test_fit_zoom_shows_the_whole_image():
    assert fit_zoom(100, 50, 416, 416) == pytest.approx(4.0)
    assert fit_zoom(1000, 2000, 516, 516) == pytest.approx(0.25)
    assert fit_zoom(0, 0, 100, 100) == 1.0


# ---------------------------------------------------------------- viewer

def test_viewer_draws_one_item_per_annotation(qtbot, client, page):
    item = open_row(qtbot, page, 0)
    anns = client.catalog.list_annotations(item_ids=[item.id])
    items = page.viewer.annotation_items()
    assert len(items) == len(anns) > 0
    assert sorted(it.annotation.id for it in items) == sorted(a.id for a in anns)
    n_box = sum(a.type == "box" for a in anns)
    assert sum(isinstance(it, QGraphicsRectItem) for it in items) == n_box
    assert sum(isinstance(it, QGraphicsPathItem) for it in items) == len(anns) - n_box
    assert page.viewer.image_size == (item.width, item.height)
    assert list(page.viewer.layers()) == [GROUND_TRUTH]


def test_predictions_are_dashed_with_scores_and_layers_toggle(qtbot, client, page, detection):
    first_id = client.catalog.item_ids(detection.id)[0]
    model, n_pred = add_predictions(client, detection.id, first_id)
    with qtbot.waitSignals([page.summary_loaded, page.model.query_done], timeout=WAIT_MS):
        page.refresh()
    key = f"model:{model.id}"
    assert key in page.layer_actions and GROUND_TRUTH in page.layer_actions
    item = open_row(qtbot, page, 0)
    assert item.id == first_id
    preds = page.viewer.annotation_items(key)
    gt = page.viewer.annotation_items(GROUND_TRUTH)
    assert len(preds) == n_pred and len(gt) == len(client.catalog.list_annotations(item_ids=[item.id],
                                                                                  ground_truth=True))
    assert all(p.pen().style() == Qt.PenStyle.CustomDashLine for p in preds)
    assert all(g.pen().style() == Qt.PenStyle.SolidLine for g in gt)
    tags = [c for p in preds for c in p.childItems() if isinstance(c, LabelTag)]
    assert tags and all(t.text.endswith(" 0.87") for t in tags)

    page.layer_actions[key].setChecked(False)          # the Layers menu hides the model's predictions
    assert not any(p.isVisible() for p in preds) and all(g.isVisible() for g in gt)
    assert key in page.gallery.gallery_delegate.hidden_layers
    assert len(page.viewer.visible_annotation_items()) == len(gt)
    open_row(qtbot, page, 1)
    open_row(qtbot, page, 0)                          # the choice outlives the item shown
    assert not any(p.isVisible() for p in page.viewer.annotation_items(key))
    page.set_layer_visible(GROUND_TRUTH, False)
    assert page.viewer.visible_annotation_items() == []
    assert not page.layer_actions[GROUND_TRUTH].isChecked()


def test_next_and_previous_walk_the_filtered_list(qtbot, client, page, detection):
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.filters.set_filter(GalleryFilter(label="circle", subset="train"))
    expected = client.catalog.item_ids(detection.id, label="circle", subset="train")
    assert page.model.rowCount() == len(expected) > 130
    assert open_row(qtbot, page, 0).id == expected[0]
    for k in (1, 2, 3):
        with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
            page.next_item()
        assert page.current_item().id == expected[k]
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.previous_item()
    assert page.current_item().id == expected[2]
    # across a page boundary (128 rows a page): the next row's page loads on demand
    assert open_row(qtbot, page, 127).id == expected[127]
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.next_item()
    assert page.current_item().id == expected[128]
    assert page.viewer_panel.position.text() == f"129 / {len(expected):,}"


def test_viewer_keys_move_through_the_list(qtbot, client, page, detection):
    expected = client.catalog.item_ids(detection.id)
    open_row(qtbot, page, 5)
    page.activateWindow()
    page.viewer.setFocus()
    qtbot.waitUntil(lambda: page.viewer.hasFocus(), timeout=WAIT_MS)
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        qtbot.keyClick(page.viewer, Qt.Key.Key_Right)
    assert page.current_item().id == expected[6]
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        qtbot.keyClick(page.viewer, Qt.Key.Key_P)
    assert page.current_item().id == expected[5]


def test_zoom_and_fit(qtbot, client, page):
    open_row(qtbot, page, 0)
    v: ImageViewer = page.viewer
    v.fit()
    fitted = v.zoom
    v.zoom_by(2.0)
    assert v.zoom == pytest.approx(fitted * 2)
    qtbot.keyClick(v, Qt.Key.Key_0)
    assert v.zoom == pytest.approx(fitted)
    qtbot.keyClick(v, Qt.Key.Key_1)
    assert v.zoom == pytest.approx(1.0)


def test_filter_panel_counts_match_the_catalog(qtbot, client, page, detection):
    if not page.summary.subset_counts:
        qtbot.waitSignal(page.summary_loaded, timeout=WAIT_MS).wait()
    texts = [page.filters.subsets.item(i).text() for i in range(page.filters.subsets.count())]
    counts = client.catalog.subset_counts(detection.id)
    assert f"Train  ({counts['train']:,})" in texts
    labels = [page.filters.labels.item(i).text() for i in range(page.filters.labels.count())]
    lc = client.catalog.count_items(detection.id, label="circle")         # items, not annotations
    assert f"circle  ({lc:,})" in labels
    with qtbot.waitSignals([page.summary_loaded, page.model.query_done], timeout=WAIT_MS):
        page.filters.subsets.setCurrentRow(3)                      # Test: label counts follow the subset
    lc_test = client.catalog.count_items(detection.id, subset="test", label="circle")
    labels = [page.filters.labels.item(i).text() for i in range(page.filters.labels.count())]
    assert f"circle  ({lc_test:,})" in labels
    assert page.model.filter.subset == "test"
    assert page.count_label.text() == f"{counts['test']:,} of {sum(counts.values()):,} items"


def test_opening_the_row_already_current_shows_it_again(qtbot, client, page):
    # The gallery may make the first row current by itself (it took the focus): opening that row must still
    # open the viewer on it (a test waiting for item_opened timed out when the focus came first).
    first = open_row(qtbot, page, 0)
    page.viewer_panel.hide()
    assert open_row(qtbot, page, 0).id == first.id
    assert page.viewer_panel.isVisible()


def test_masks_are_drawn_as_their_pixels_and_outline(qtbot, client, tmp_path):
    import numpy as np
    from PySide6.QtGui import QImage, QPainter

    from desktop_app.domain.masks import encode
    from desktop_app.gui.widgets.annotation_items import MaskItem
    project = client.projects.create("masks")
    ds = project.datasets.create("blobs", labels=["blob", "hole"])
    from PIL import Image
    path = tmp_path / "b.png"
    Image.new("RGB", (40, 30), (255, 255, 255)).save(path)
    item_id = client.catalog.add_item(ds.id, path).id
    m = np.zeros((30, 40), bool)
    m[5:15, 10:30] = True                          # a 10 x 20 block
    bad = {"size": [30, 40], "counts": [5, 10]}    # runs cover 15 of 1,200 pixels: damaged
    client.catalog.add_annotations(item_id, [Annotation(type="binary", label="blob", coordinates=encode(m))])
    client.catalog.add_annotations(item_id, [Annotation(type="binary", label="hole", coordinates=bad)])
    p = DatasetPage(client)
    qtbot.addWidget(p)
    p.resize(900, 700)
    p.show()
    with qtbot.waitSignal(p.model.query_done, timeout=WAIT_MS):
        p.set_dataset(ds.id)
    open_row(qtbot, p, 0)
    items = p.viewer.annotation_items()
    [mask] = [it for it in items if isinstance(it, MaskItem)]
    assert mask.annotation.label == "blob" and mask.boundingRect().contains(QRectF(10, 5, 20, 10))
    assert len(items) == 1                          # the damaged one has no box to fall back to: not drawn
    # its pixels, painted: coloured inside the block, untouched outside
    img = QImage(40, 30, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    mask.paint(painter, None)
    painter.end()
    assert img.pixelColor(20, 10).alpha() > 0 and img.pixelColor(2, 25).alpha() == 0
    p.shutdown()
