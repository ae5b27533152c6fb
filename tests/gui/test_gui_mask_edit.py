"""Fixing masks and polygons in the review: a brush stroke and an eraser stroke (qtbot mouse drags) change the
stored RLE, a vertex drag / insert / delete the stored ring; each is one undo step that puts back exactly what was
stored, with the audit trail; edits the catalog should not keep are refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402

from desktop_app.domain import masks  # noqa: E402
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry  # noqa: E402
from desktop_app.gui.review_commands import current_user  # noqa: E402
from desktop_app.gui.views.review_page import ReviewPanel  # noqa: E402

W, H = 120, 90
SQUARE = [[[60.0, 20.0], [100.0, 20.0], [100.0, 60.0], [60.0, 60.0]]]


def blob() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[20:40, 10:40] = True
    return m


@pytest.fixture
def item(client, tmp_path):
    """One 120 x 90 image with a ground-truth mask (car) and a polygon (sign)."""
    path = tmp_path / "street.png"
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(path)
    bundle = DatasetBundle(labels=["car", "sign"], items=[ImageEntry(
        source=path, name="street.png", width=W, height=H,
        annotations=[Annotation("binary", "car", masks.encode(blob())), Annotation("segment", "sign", SQUARE)])])
    project = client.projects.create("Masks")
    ds = project.datasets.create("street", labels=["car", "sign"])
    client.catalog.import_bundle(ds.id, bundle)
    (it,) = client.catalog.list_items(dataset_id=ds.id)
    return it


@pytest.fixture
def panel(qtbot, client, item):
    p = ReviewPanel(client)
    qtbot.addWidget(p)
    p.resize(900, 700)
    p.show()
    p.set_items([item.id])
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


def gt(client, item, type_):
    (rec,) = client.catalog.list_annotations(item_ids=[item.id], ground_truth=True, types=[type_])
    return rec


def at(viewer, x: float, y: float) -> QPoint:
    return viewer.mapFromScene(QPointF(x, y))


def drag(qtbot, viewer, points, button=Qt.MouseButton.LeftButton):
    vp = viewer.viewport()
    qtbot.mousePress(vp, button, pos=at(viewer, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, at(viewer, *p))
    qtbot.mouseRelease(vp, button, pos=at(viewer, *points[-1]))


def test_brush_then_eraser_change_the_stored_mask_and_undo_redo_restore_it_exactly(qtbot, client, item, panel):
    car = gt(client, item, "binary")
    viewer = panel.viewers[0]
    viewer.select_annotation(car.id)
    panel.edit_button.click()
    ed = panel.editor
    assert ed.active and ed.target.id == car.id and ed.mask is not None
    assert panel.brush_button.isVisible() and panel.brush_button.isChecked()
    ed.set_radius(3)
    drag(qtbot, viewer, [(50, 70), (60, 70), (70, 70)])          # a brush stroke below the car
    painted = masks.decode(gt(client, item, "binary").coordinates)
    assert painted[70, 50:70].all() and painted[20:40, 10:40].all()
    assert (painted & ~blob()).sum() > 40 and not (blob() & ~painted).any()
    log = client.catalog.annotation_changes(item_id=item.id)
    assert log[-1].action == "update" and log[-1].who == current_user() and log[-1].annotation_id == car.id
    assert log[-1].before["coordinates"] == car.coordinates
    assert panel.undo_stack.undoText() == "paint mask car"

    qtbot.keyClick(viewer, Qt.Key.Key_E)                         # the eraser, through the viewer's keys
    assert ed.tool == "eraser" and panel.eraser_button.isChecked()
    qtbot.keyClick(viewer, Qt.Key.Key_BracketRight)
    assert ed.radius == 4 and panel.radius_spin.value() == 4
    drag(qtbot, viewer, [(25, 15), (25, 45)])                    # cut the car in two
    erased = masks.decode(gt(client, item, "binary").coordinates)
    assert not erased[20:40, 23:27].any() and erased[20:40, 10:18].all() and erased[70, 50:70].all()
    assert panel.undo_stack.count() == 2

    panel.undo_stack.undo()
    assert gt(client, item, "binary").coordinates == masks.encode(painted)
    panel.undo_stack.undo()
    assert gt(client, item, "binary").coordinates == car.coordinates      # the exact RLE first stored
    assert np.array_equal(ed.mask, blob())                                # the overlay follows the undo
    panel.undo_stack.redo()
    assert np.array_equal(masks.decode(gt(client, item, "binary").coordinates), painted)
    assert client.catalog.annotation_changes(item_id=item.id)[-1].action == "update"


def test_erasing_the_whole_mask_is_refused_and_nothing_is_saved(qtbot, client, item, panel):
    car = gt(client, item, "binary")
    viewer = panel.viewers[0]
    viewer.select_annotation(car.id)
    panel.edit_button.click()
    ed = panel.editor
    ed.set_tool("eraser")
    ed.set_radius(30)
    n = len(client.catalog.annotation_changes(item_id=item.id))
    drag(qtbot, viewer, [(15, 30), (35, 30)])
    assert gt(client, item, "binary").coordinates == car.coordinates
    assert len(client.catalog.annotation_changes(item_id=item.id)) == n and panel.undo_stack.count() == 0
    assert "empty" in panel.hint.text() and "Not saved" in panel.hint.text()
    assert np.array_equal(ed.mask, blob())                                # the overlay is put back
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_Delete)                             # as the refusal says: Del deletes it
    assert not client.catalog.list_annotations(item_ids=[item.id], types=["binary"]) and ed.target is None
    panel.undo_stack.undo()
    assert gt(client, item, "binary").coordinates == car.coordinates


def test_polygon_vertices_drag_insert_delete_with_undo_and_refusals(qtbot, client, item, panel):
    sign = gt(client, item, "segment")
    viewer = panel.viewers[0]
    panel.edit_button.click()
    ed = panel.editor
    assert ed.target is None and "click" in panel.hint.text()
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 80, 40))   # pick the polygon
    assert ed.target.id == sign.id and ed.rings == SQUARE
    assert not panel.brush_button.isEnabled()

    drag(qtbot, viewer, [(100, 60), (105, 65), (110, 70)])       # drag the bottom-right vertex
    ring = gt(client, item, "segment").coordinates[0]
    assert ring[2] == pytest.approx([110, 70], abs=0.6) and ring[0] == [60, 20]
    assert client.catalog.annotation_changes(item_id=item.id)[-1].before["coordinates"] == SQUARE

    qtbot.mouseDClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 80, 20))  # top edge
    ring = gt(client, item, "segment").coordinates[0]
    assert len(ring) == 5 and ring[1] == pytest.approx([80, 20], abs=0.6)

    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.RightButton, pos=at(viewer, *ring[1]))  # remove it again
    assert len(gt(client, item, "segment").coordinates[0]) == 4
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 60, 60))    # select, Del
    qtbot.keyClick(viewer, Qt.Key.Key_Delete)
    assert len(gt(client, item, "segment").coordinates[0]) == 3
    assert gt(client, item, "segment").id == sign.id               # Del took the vertex, not the annotation
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.RightButton, pos=at(viewer, 60, 20))
    assert len(gt(client, item, "segment").coordinates[0]) == 3 and "at least 3" in panel.hint.text()
    assert panel.undo_stack.count() == 4

    for _ in range(4):
        panel.undo_stack.undo()
    assert gt(client, item, "segment").coordinates == SQUARE and ed.rings == SQUARE
    panel.undo_stack.redo()
    assert gt(client, item, "segment").coordinates[0][2] == pytest.approx([110, 70], abs=0.6)


def test_a_vertex_dragged_across_the_ring_is_refused(qtbot, client, item, panel):
    sign = gt(client, item, "segment")
    viewer = panel.viewers[0]
    panel.edit_button.click()
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 80, 40))
    drag(qtbot, viewer, [(60, 20), (90, 40), (110, 40)])          # top-left past the right side: a bow tie
    assert gt(client, item, "segment").coordinates == sign.coordinates
    assert "cross itself" in panel.hint.text() and panel.undo_stack.count() == 0
    assert panel.editor.rings == SQUARE


def test_edit_mode_keys_and_the_box_of_a_mask_is_not_moved(qtbot, client, item, panel):
    car = gt(client, item, "binary")
    viewer = panel.viewers[0]
    viewer.select_annotation(car.id)
    panel.viewers[0].box_edited.emit(car.id, car.box, [0, 0, 30, 20])  # a drag of its box: refused, nothing saved
    assert gt(client, item, "binary").coordinates == car.coordinates and "Edit mask" in panel.hint.text()
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_M)
    assert panel.edit_button.isChecked() and panel.editor.target.id == car.id
    qtbot.keyClick(viewer, Qt.Key.Key_B)                            # brush in edit mode, not draw box
    assert panel.editor.tool == "brush" and not panel.draw_button.isChecked()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not panel.edit_button.isChecked() and not panel.editor.active and panel.editor.target is None
    assert viewer.dragMode() == viewer.DragMode.ScrollHandDrag


def test_side_by_side_edits_in_the_pane_clicked_and_the_other_follows(qtbot, client, item):
    p = ReviewPanel(client, panes=2)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    p.set_items([item.id])
    qtbot.waitExposed(p)
    try:
        car = gt(client, item, "binary")
        right = p.viewers[1]
        right.select_annotation(car.id)
        assert p.active == 1
        p.edit_button.click()
        assert p.editors[1].active and not p.editors[0].active and p.editors[1].target.id == car.id
        p.editors[1].set_radius(2)
        drag(qtbot, right, [(60, 80), (80, 80)])
        stored = masks.decode(gt(client, item, "binary").coordinates)
        assert stored[80, 62:78].all()
        assert any(r.id == car.id and r.coordinates == gt(client, item, "binary").coordinates
                   for r in p.viewers[0].records)                          # the left pane redrawn from the catalog
    finally:
        p.shutdown()


def test_the_editor_works_over_a_plain_image_viewer_and_reports_one_edit_a_stroke(qtbot, client, item):
    from PySide6.QtGui import QColor

    from desktop_app.gui.widgets.image_viewer import ImageViewer
    from desktop_app.gui.widgets.mask_editor import MaskEditor
    viewer = ImageViewer()
    qtbot.addWidget(viewer)
    viewer.resize(600, 450)
    viewer.show()
    viewer.set_image(None, (W, H))
    recs = client.catalog.list_annotations(item_ids=[item.id])
    viewer.set_annotations(recs, lambda _label: QColor("orange"))
    ed = MaskEditor(viewer)
    ed.set_active(True)
    edits = []
    ed.edited.connect(lambda rec, old, new, text: edits.append((rec.id, old, new, text)))
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 20, 30))     # picks the car
    car = gt(client, item, "binary")
    assert ed.target.id == car.id
    drawn = [it for it in viewer.annotation_items() if getattr(it, "annotation", None) is not None
             and it.annotation.id == car.id]
    assert drawn and not any(it.isVisible() for it in drawn)            # the overlay stands in for it
    ed.set_radius(2)
    drag(qtbot, viewer, [(50, 30), (60, 30)])
    (aid, old, new, text), = edits
    assert aid == car.id and old == car.coordinates and text == "paint mask car"
    assert masks.decode(new)[30, 50:60].all() and masks.area(new) > masks.area(old)
    ed.set_active(False)
    assert all(it.isVisible() for it in drawn) and ed.overlay is None
