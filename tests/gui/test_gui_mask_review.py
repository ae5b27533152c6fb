"""Masks in review (issue 15): MaskItem draws only its box's pixels; the review viewer colours masks and polygons
TP / FP / FN / ground truth as it does boxes, selects a mask by its pixels; the error gallery crops around a mask
and draws it; the dataset gallery's thumbnails draw masks.

The evaluation is a real COCO segm one (evaluation.run.score_model) of predictions stored for a small catalog of
generated masks, so the kinds come from the evaluation core."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from desktop_app.catalog import AnnotationRecord, Catalog
from desktop_app.domain import masks as dm
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry

W, H = 160, 120
LABELS = ["disc", "block"]


def _disc(cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= r * r


def _block(t: int, l: int, b: int, r: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[t:b, l:r] = True
    return m


class Scene:
    """What the fixture made: the catalog, the evaluation, and per item its masks by role."""

    def __init__(self, cat, evaluation_id, item_ids, masks_of):
        self.cat, self.evaluation_id, self.item_ids, self.masks_of = cat, evaluation_id, item_ids, masks_of


@pytest.fixture
def segm(tmp_path):
    """Three images. On each: a disc found (TP, its prediction shifted a pixel), a block missed (FN), a polygon
    ground truth found, and a spurious prediction in the bottom-right corner (FP)."""
    from desktop_app.evaluation.run import score_model
    cat = Catalog(tmp_path / "cat")
    project = cat.create_project("p")
    ds = cat.create_dataset(project.id, "blobs", labels=LABELS)
    entries, roles = [], []
    for n in range(3):
        disc = _disc(35 + 3 * n, 40 + 4 * n, 18)
        block = _block(10, 95, 45, 140)
        poly = [[[20.0, 70.0], [70.0, 70.0], [70.0, 110.0], [20.0, 110.0]]]     # a polygon ground truth
        path = tmp_path / f"im{n}.png"
        Image.fromarray(np.full((H, W, 3), 235, np.uint8)).save(path)       # plain grey: what is drawn shows
        entries.append(ImageEntry(source=path, name=path.name, width=W, height=H, annotations=[
            Annotation(type="binary", label="disc", coordinates=dm.encode(disc)),
            Annotation(type="binary", label="block", coordinates=dm.encode(block)),
            Annotation(type="segment", label="block", coordinates=poly)]))
        roles.append({"tp": np.roll(disc, 1, axis=1), "fn": block, "fp": _disc(100, 135, 12),
                      "poly": dm.polygon_to_mask(poly, H, W)})
    ids = cat.import_bundle(ds.id, DatasetBundle(labels=LABELS, items=entries))
    package = cat.create_package("seg", project_id=project.id, output_type="binary")
    model = cat.create_model("seg-v1", project_id=project.id, package_id=package.id, labels=LABELS,
                             output_type="binary")
    preds = {i: [Annotation(type="binary", label="disc", coordinates=dm.encode(r["tp"]), score=0.9),
                 Annotation(type="segment", label="block", coordinates=[[[21.0, 71.0], [70.0, 71.0], [70.0, 110.0],
                                                                          [21.0, 110.0]]], score=0.8),
                 Annotation(type="binary", label="block", coordinates=dm.encode(r["fp"]), score=0.7)]
             for i, r in zip(ids, roles)}
    # the polygon prediction is scored as its mask: results of a segm evaluation are masks
    for i, r in zip(ids, roles):
        preds[i][1] = Annotation(type="binary", label="block",
                                 coordinates=dm.encode(dm.polygon_to_mask(preds[i][1].coordinates, H, W)), score=0.8)
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    out = score_model(cat, model.id, ds.id, name="blobs")
    assert out["summary"]["iou_type"] == "segm"
    yield Scene(cat, out["evaluation_id"], ids, roles)
    cat.close()


def _session(scene: Scene):
    from desktop_app.evaluation.review import ReviewSession
    from desktop_app.evaluation.store import EvaluationView
    return ReviewSession(EvaluationView(scene.cat, scene.cat.get_evaluation(scene.evaluation_id)))


def _render(scene_or_item, w: int = W, h: int = H, source: QRectF | None = None) -> QImage:
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(0)
    p = QPainter(img)
    if hasattr(scene_or_item, "render"):
        scene_or_item.render(p, QRectF(0, 0, w, h), source or QRectF(0, 0, w, h))
    else:
        scene_or_item.paint(p, None)
    p.end()
    return img


def _painted(img: QImage) -> np.ndarray:
    """Alpha of every pixel of an ARGB32 image, (h, w)."""
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : 4 * img.width()].reshape(img.height(), img.width(), 4)[..., 3]


# -- MaskItem ---------------------------------------------------------------------------------------------------

def test_mask_item_decodes_and_draws_only_within_its_box(qapp):
    from desktop_app.gui.widgets.annotation_items import MaskItem
    h, w = 3000, 4000                       # a large image: only the mask's box is decoded
    m = np.zeros((h, w), bool)
    m[1000:1040, 2000:2050] = True
    m[1010:1020, 2010:2030] = False         # a hole
    rec = AnnotationRecord(id=1, item_id=1, dataset_id="d", type="binary", label="x", coordinates=dm.encode(m),
                           left=2000, top=1000, right=2050, bottom=1040)
    item = MaskItem(rec, QColor("#e03131"), prediction=False)
    assert item.crop.shape == (40, 50) and item.image().size().toTuple() == (50, 40)
    assert item.box == [2000.0, 1000.0, 2050.0, 1040.0]
    assert item.hit(2005.5, 1005.5) and not item.hit(2015.5, 1015.5) and not item.hit(1999.5, 1005.5)
    # rendered around its box (a 100 px margin): pixels only inside the box (the outline one pixel around it)
    img = QImage(250, 240, QImage.Format.Format_ARGB32)
    img.fill(0)
    p = QPainter(img)
    p.translate(-1900, -900)
    item.paint(p, None)
    p.end()
    alpha = _painted(img)
    ys, xs = np.nonzero(alpha)
    assert xs.min() >= 99 and xs.max() <= 150 and ys.min() >= 99 and ys.max() <= 140
    c = img.pixelColor(105 + 3, 105 + 3)
    assert c.alpha() > 0 and c.red() > c.green() and c.red() > c.blue()   # the fill, in the colour
    assert alpha[115, 115] == 0 or img.pixelColor(115, 115).alpha() < c.alpha()   # the hole: not filled


def test_a_zoom_in_on_a_large_mask_traces_its_exact_outline_after_the_frame(qapp, qtbot):
    from desktop_app.gui.widgets.annotation_items import MaskItem, trace_pending
    yy, xx = np.mgrid[0:600, 0:600]
    m = (yy - 300) ** 2 + (xx - 300) ** 2 <= 280 ** 2
    rec = AnnotationRecord(id=1, item_id=1, dataset_id="d", type="binary", label="x", coordinates=dm.encode(m),
                           left=20, top=20, right=580, bottom=580)
    item = MaskItem(rec, QColor("#2ca02c"), prediction=True)    # a 600 x 600 disc: its first outline is coarse
    g = item.geometry
    assert g.step > 1 and 1 not in g._paths
    img = QImage(200, 200, QImage.Format.Format_ARGB32)
    for scale, exact_wanted in ((0.25, False), (2.0, True)):
        img.fill(0)
        p = QPainter(img)
        p.scale(scale, scale)
        item.paint(p, None)
        p.end()
        assert (trace_pending() > 0) == exact_wanted
    qtbot.waitUntil(lambda: trace_pending() == 0, timeout=5000)
    exact = g.outline(1)
    assert 1 in g._paths
    # the exact outline runs along the disc's pixel edges (within a pixel of the circle), the coarse one not
    def off(path):
        pts = np.array([[path.elementAt(k).x, path.elementAt(k).y] for k in range(path.elementCount())])
        return np.abs(np.hypot(pts[:, 0] - 300, pts[:, 1] - 300) - 280).max()
    assert off(exact) < 1.001 < off(g.outline(g.step))


# -- the review viewer ------------------------------------------------------------------------------------------

def test_review_colours_masks_and_polygons_by_kind_and_selects_them_by_their_pixels(qtbot, segm):
    from desktop_app.gui.widgets.review_viewer import (AREA_ALPHA, KIND_COLORS, LAYERS, ReviewMask, ReviewPolygon,
                                                       ReviewViewer)
    session = _session(segm)
    item_id = segm.item_ids[0]
    records = segm.cat.list_annotations(item_ids=[item_id])
    tags = session.item_tags(item_id)
    v = ReviewViewer()
    qtbot.addWidget(v)
    v.resize(640, 480)
    v.show()
    v.set_image(None, (W, H))
    v.show_annotations(records, tags)
    drawn = v.masks()
    kinds = sorted(k for _, k, _ in drawn)
    # predictions: the disc and the polygon found (TP), the corner blob (FP); ground truth: the disc and the
    # polygon matched (gt), the block missed (FN)
    assert kinds == ["fn", "fp", "gt", "gt", "tp", "tp"], kinds
    for rec, kind, item in drawn:
        color = QColor(KIND_COLORS[kind])
        assert item.pen().color().rgb() == color.rgb() and item.pen().widthF() <= 1.0 and item.pen().isCosmetic()
        assert item.brush().color().rgb() == color.rgb() and item.brush().color().alpha() == AREA_ALPHA[kind]
        assert item.parentItem() is v.layer_items[kind]
        assert isinstance(item, ReviewPolygon if rec.type == "segment" else ReviewMask)
    # the boxes' layers draw no rectangle for them, but carry their tags and find them
    assert all(not layer._draw for layer in v.box_layers.values())
    assert sorted(b.kind for b in v.boxes()) == kinds

    # drawn: the FP blob's pixels are red over the image, the FN block's orange
    img = _render(v.scene())
    fp_pix = img.pixelColor(135, 100)
    fn_pix = img.pixelColor(118, 28)
    assert fp_pix.red() > 150 and fp_pix.green() < 120, fp_pix.name()
    assert fn_pix.red() > 150 and 80 < fn_pix.green() < 200 and fn_pix.blue() < 100, fn_pix.name()
    assert img.pixelColor(80, 5).alpha() == 0 or img.pixelColor(80, 5) == img.pixelColor(81, 5)   # nothing drawn

    # a click on the blob's pixels selects it; in its box's corner (off its pixels) nothing
    fp = next(r for r, k, _ in drawn if k == "fp")
    assert v.box_at(QPointF(135.5, 100.5))[0].id == fp.id
    assert v.box_at(QPointF(124.5, 89.5)) is None
    with qtbot.waitSignal(v.annotation_selected) as sig:
        v.select_annotation(fp.id)
    assert sig.args[0].id == fp.id
    sel = v.selected_box
    assert isinstance(sel, ReviewMask) and sel.annotation.id == fp.id and not sel.editable
    assert sel.pen().widthF() > 1.0 and sel.brush().color().alpha() > AREA_ALPHA["fp"]
    assert not v.area_items[fp.id].isVisible() and v.box_layers["fp"].hidden == fp.id
    assert v.item_for(fp.id) is sel and sel.tag is not None and sel.tag.text.startswith("FP block")
    v.select_annotation(None)
    assert v.area_items[fp.id].isVisible() and v.selected_box is None

    # hiding a kind's layer hides its masks
    v.set_layer_visible(LAYERS["fp"], False)
    assert not v.area_items[fp.id].isVisible() or not v.layer_items["fp"].isVisible()
    assert v.box_at(QPointF(135.5, 100.5)) is None


def test_a_threshold_change_recolours_masks_without_decoding_them_again(qtbot, segm):
    from desktop_app.gui.widgets.review_viewer import KIND_COLORS, ReviewViewer
    session = _session(segm)
    item_id = segm.item_ids[1]
    records = segm.cat.list_annotations(item_ids=[item_id])
    v = ReviewViewer()
    qtbot.addWidget(v)
    v.set_image(None, (W, H))
    v.show_annotations(records, session.item_tags(item_id))
    before = {r.id: item.geometry for r, _, item in v.masks() if r.type == "binary"}
    session.update(score_threshold=0.95)          # every prediction under the threshold: the disc is missed now
    tags = session.item_tags(item_id)
    v.show_annotations(records, tags)
    drawn = {r.id: (k, item) for r, k, item in v.masks()}
    assert sorted(k for k, _ in drawn.values()) == ["fn", "fn", "fn"]        # predictions below: not drawn
    for aid, (kind, item) in drawn.items():
        assert item.pen().color().rgb() == QColor(KIND_COLORS["fn"]).rgb()
        if aid in before:
            assert item.geometry is before[aid]


# -- the error gallery ------------------------------------------------------------------------------------------

def _cell_point(view, row: int, region: QRectF, x: float, y: float) -> tuple[int, int]:
    """Where image point (x, y) lands in gallery row `row`'s crop (the delegate's layout)."""
    from PySide6.QtCore import QRect

    from desktop_app.gui.widgets.error_gallery import PAD, THUMB
    from desktop_app.gui.widgets.gallery import fit_in
    rect = view.visualRect(view.model().index(row, 0))
    area = QRect(rect.x() + (rect.width() - THUMB) // 2, rect.y() + PAD, THUMB, THUMB)
    target = fit_in(int(region.width() * 100), int(region.height() * 100), area)
    return (int(target.x() + (x - region.x()) * target.width() / region.width()),
            int(target.y() + (y - region.y()) * target.height() / region.height()))


def test_the_error_gallery_crops_around_a_mask_and_draws_it_in_its_kind_colour(qtbot, segm):
    from desktop_app.evaluation.review import InstanceFilter
    from desktop_app.gui.widgets.annotation_items import MaskThumb
    from desktop_app.gui.widgets.error_gallery import ErrorGallery, InstanceDelegate, crop_region
    session = _session(segm)
    g = ErrorGallery(segm.cat)
    qtbot.addWidget(g)
    g.resize(700, 500)
    g.show()
    flt = InstanceFilter(kinds=("fn", "fp"))
    idx = session.select(flt)
    g.show_rows(session.table, idx, session.counts(flt))
    model = g.model
    assert model.draws_masks and model.rowCount() == 6                 # an FN block and an FP blob on each image
    t = model.table
    for row in range(model.rowCount()):
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)    # asks for the thumbnails
    qtbot.waitUntil(lambda: all(model.row_ready(r) for r in range(model.rowCount())), timeout=20000)
    rows = {t.row(model.table_row(r))["kind"]: r for r in range(model.rowCount())}
    fn_row, fp_row = rows["fn"], rows["fp"]
    item = model.item(model.item_id_at(fn_row))
    areas = model.areas_of(item.id)
    fn_mask = areas[int(t.annotation_id[model.table_row(fn_row)])]
    assert isinstance(fn_mask, MaskThumb) and fn_mask.rect == QRectF(95, 10, 45, 35)
    # the crop: the mask's box with context, kept inside the image
    region = InstanceDelegate.region(t, model.table_row(fn_row), item, areas)
    assert region == crop_region((95, 10, 45, 35), W, H)
    assert region.contains(QRectF(95, 10, 45, 35)) and region.width() < W

    img = g.gallery.viewport().grab().toImage()
    # inside the missed block: orange (FN) over the grey image; beside it, in the crop, the grey image
    inside = img.pixelColor(*_cell_point(g.gallery, fn_row, region, 117.5, 27.5))
    outside = img.pixelColor(*_cell_point(g.gallery, fn_row, region, 90.5, 55.5))
    assert inside.red() - inside.blue() > 80, inside.name()
    assert abs(outside.red() - outside.blue()) < 20, outside.name()
    fp_item = model.item(model.item_id_at(fp_row))
    fp_region = InstanceDelegate.region(t, model.table_row(fp_row), fp_item, model.areas_of(fp_item.id))
    on_fp = img.pixelColor(*_cell_point(g.gallery, fp_row, fp_region, 135.5, 100.5))
    assert on_fp.red() - on_fp.green() > 80 and on_fp.red() - on_fp.blue() > 80, on_fp.name()   # red: FP
    g.shutdown()


def test_a_box_evaluation_reads_no_masks_for_the_gallery(qtbot, catalog):
    from desktop_app.gui.itemmodels.instances_model import InstancesModel
    m = InstancesModel(catalog)
    assert not m.draws_masks and m.areas_of(1) == {}
    m.shutdown()


# -- the dataset gallery's thumbnails ---------------------------------------------------------------------------

def test_gallery_thumbnails_draw_masks_as_their_pixels(qtbot, segm):
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QStyleOptionViewItem

    from desktop_app.gui.colors import LabelColors
    from desktop_app.gui.itemmodels.gallery_model import make_row
    from desktop_app.gui.widgets.annotation_items import MaskThumb
    from desktop_app.gui.widgets.gallery import GalleryDelegate, fit_in, thumb_rect
    item = segm.cat.get_item(segm.item_ids[0])
    anns = segm.cat.list_annotations(item_ids=[item.id], ground_truth=True)
    row = make_row(item, anns)
    kinds = {sh.type for sh in row.shapes}
    assert kinds == {"mask", "segment"}
    assert all(isinstance(sh.geometry, MaskThumb) for sh in row.shapes if sh.type == "mask")
    assert [sh.type for sh in row.shapes][0] in ("mask", "segment")          # areas drawn first
    pm = QPixmap(str(segm.cat.store.path(item.sha256))).scaled(128, 96)
    d = GalleryDelegate()
    colors = LabelColors(LABELS)
    d.set_colors(colors)
    option = QStyleOptionViewItem()
    size = d.cell_size()
    option.rect = QRectF(0, 0, size.width(), size.height()).toRect()
    img = QImage(size.width(), size.height(), QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    d.paint_row(p, option, row, pm, None)
    p.end()
    target = fit_in(pm.width(), pm.height(), thumb_rect(option.rect, d.thumb_size))
    sx = target.width() / W

    def at(x, y):
        return img.pixelColor(int(target.x() + x * sx), int(target.y() + y * sx))
    block, disc, bare = at(117.5, 27.5), at(40.5, 35.5), at(150.5, 115.5)
    assert abs(bare.red() - 235) < 6 and abs(bare.blue() - 235) < 6                   # the image, untouched
    for got, label in ((block, "block"), (disc, "disc")):
        c = colors(label)
        # the label's colour over the grey: each channel moved from 235 towards it
        pairs = ((got.red(), c.red()), (got.green(), c.green()), (got.blue(), c.blue()))
        for ch, want in pairs:
            assert abs(ch - want) < abs(235 - want) - 5 or abs(235 - want) < 30, (label, got.name(), c.name())
        assert max(abs(ch - 235) for ch, _ in pairs) > 25, (label, got.name())


def test_label_tags_are_blitted_from_a_cached_pixmap_drawn_as_before(qapp):
    """200 masks' tags cost a frame ~8 ms drawn as text, ~1 ms blitted: each look is drawn once."""
    from desktop_app.gui.widgets import annotation_items as ai
    tag = ai.LabelTag("FN block", QColor("#f59f00"))
    images = []
    for selected in (False, True, True):
        tag.set_selected(selected)
        img = QImage(120, 60, QImage.Format.Format_ARGB32)
        img.fill(0)
        p = QPainter(img)
        p.translate(20, 40)
        n = len(ai._TAG_PIXMAPS)
        tag.paint(p, None)
        p.end()
        images.append((img, len(ai._TAG_PIXMAPS) - n))
    (plain, new0), (ring, new1), (again, new2) = images
    assert new1 == 1 and new2 == 0                  # a new look drawn once, then reused
    chip = plain.pixelColor(int(20 + tag.boundingRect().left() + 2), int(40 + tag.boundingRect().center().y()))
    assert chip.red() > 200 and 120 < chip.green() < 190 and chip.blue() < 60, chip.name()
    r = tag.boundingRect()
    outside = (int(20 + r.left() - 2), int(40 + r.top() - 2))     # the selection ring, outside the chip
    assert plain.pixelColor(*outside).alpha() == 0 and ring.pixelColor(*outside).alpha() > 0
    assert ring == again
