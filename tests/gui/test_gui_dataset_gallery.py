"""Gallery model and view: qtmodeltester, filters that match the catalog's counts, lazy pages, layout math."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.itemmodels.gallery_model import (GalleryFilter, GalleryModel, ItemIdRole,  # noqa: E402
                                                      page_range)
from desktop_app.gui.widgets.gallery import GalleryView, GridLayout, move_index  # noqa: E402

WAIT_MS = 20_000


@pytest.fixture
def detection(client):
    return client.catalog.get_dataset("shapes-detection")


@pytest.fixture
def gallery_model(qtbot, client):
    model = GalleryModel(client.catalog, page_size=64)
    yield model
    model.shutdown()


def load(qtbot, model, dataset_id, flt=None):
    with qtbot.waitSignal(model.query_done, timeout=WAIT_MS):
        model.set_query(dataset_id, flt)
    return model.rowCount()


def load_all_ids(qtbot, model):
    if not model.ids_ready:
        with qtbot.waitSignal(model.ids_loaded, timeout=WAIT_MS):
            model._start_ids()


# ---------------------------------------------------------------- pure logic

def test_filter_to_kwargs_keeps_only_what_is_set():
    assert GalleryFilter().to_kwargs() == {}
    f = GalleryFilter(subset="train", label="circle", ann_type="box", text="  0001 ")
    assert f.to_kwargs() == {"subset": "train", "label": "circle", "ann_type": "box", "text": "0001"}
    assert GalleryFilter(text="   ").to_kwargs() == {}
    assert GalleryFilter(reviewed=False).to_kwargs() == {"reviewed": False}


def test_the_review_filter_shows_the_reviewed_items_or_the_others(qtbot, client, gallery_model, detection):
    from desktop_app.gui.widgets.dataset_filters import FilterPanel
    ids = client.catalog.item_ids(detection.id)[:3]
    for i in ids:
        client.catalog.update_item(i, reviewed=1)
    panel = FilterPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.changed, timeout=WAIT_MS) as sig:
        panel.review_box.setCurrentIndex(panel.review_box.findData(True))
    assert sig.args[0].reviewed is True
    assert load(qtbot, gallery_model, detection.id, sig.args[0]) == 3
    panel.review_box.setCurrentIndex(panel.review_box.findData(False))
    total = client.catalog.count_items(detection.id)
    assert load(qtbot, gallery_model, detection.id, panel.filter()) == total - 3


def test_grid_layout_math():
    g = GridLayout(count=10, width=450, cell_w=100, cell_h=120)
    assert (g.cols, g.rows, g.x0, g.height) == (4, 3, 25, 360)
    assert g.cell(5) == (125, 120, 100, 120)
    assert g.index_at(130, 125) == 5
    assert g.index_at(10, 10) == -1            # left margin
    assert g.index_at(330, 250) == -1          # past the last item on the last row
    assert g.visible(0, 119) == (0, 3)
    assert g.visible(130, 500) == (4, 9)
    assert g.in_rect(125, 0, 240, 130) == [(1, 2), (5, 6)]
    assert g.scroll_for(9, top=0, view_h=200) == 160
    assert g.scroll_for(0, top=160, view_h=200) == 0
    assert GridLayout(0, 450, 100, 120).visible(0, 100) == (0, -1)


def test_keyboard_moves_are_clipped_to_the_list():
    assert move_index(5, "right", 4, 3, 10) == 6
    assert move_index(5, "down", 4, 3, 10) == 9
    assert move_index(9, "down", 4, 3, 10) == 9
    assert move_index(1, "up", 4, 3, 10) == 0
    assert move_index(5, "page_down", 4, 3, 100) == 17
    assert move_index(5, "end", 4, 3, 10) == 9
    assert move_index(-1, "right", 4, 3, 10) == 0
    assert move_index(3, "left", 4, 3, 0) == -1


def test_page_range_covers_the_rows_and_margin():
    assert list(page_range(0, 47, 1000, 128)) == [0]
    assert list(page_range(120, 140, 1000, 128)) == [0, 1]
    assert list(page_range(990, 999, 1000, 128, margin=64)) == [7]
    assert list(page_range(0, 10, 0, 128)) == []


# ---------------------------------------------------------------- the model

def test_model_passes_qtmodeltester(qtbot, qtmodeltester, gallery_model, detection):
    load(qtbot, gallery_model, detection.id)
    load_all_ids(qtbot, gallery_model)
    assert gallery_model.rowCount() == 1000
    qtmodeltester.check(gallery_model, force_py=True)


@pytest.mark.parametrize("flt", [
    GalleryFilter(),
    GalleryFilter(subset="train"),
    GalleryFilter(subset="none"),
    GalleryFilter(label="circle"),
    GalleryFilter(ann_type="segment"),
    GalleryFilter(ann_type="class"),
    GalleryFilter(text="0001"),
    GalleryFilter(subset="validation", label="star", text="00"),
])
def test_filters_give_the_catalog_count(qtbot, client, gallery_model, detection, flt):
    n = load(qtbot, gallery_model, detection.id, flt)
    assert n == client.catalog.count_items(detection.id, **flt.to_kwargs())


def test_rows_follow_the_catalog_order_across_pages(qtbot, client, gallery_model, detection):
    flt = GalleryFilter(label="triangle")
    load(qtbot, gallery_model, detection.id, flt)
    load_all_ids(qtbot, gallery_model)
    expected = client.catalog.item_ids(detection.id, label="triangle")
    last = gallery_model.rowCount() - 1
    assert gallery_model.row(last) is None      # not loaded yet: pages come on demand
    with qtbot.waitSignal(gallery_model.page_loaded, timeout=WAIT_MS):
        gallery_model.row(last)
    assert gallery_model.index(last).data(ItemIdRole) == expected[last]
    assert gallery_model.row_of_item(expected[last]) == last
    row = gallery_model.row(last)
    anns = client.catalog.list_annotations(item_ids=[expected[last]])
    assert [a.id for a in row.annotations] == [a.id for a in anns]


def test_a_fling_reads_no_page_until_the_view_holds_still(qtbot, monkeypatch, client, gallery_model, detection):
    """Pages scrolled past in a fling are never read (reading them starved the painting); one jump loads at
    once; FLING_MS after the last move the pages in sight are read."""
    from desktop_app.gui.itemmodels import gallery_model as gm
    from desktop_app.gui.itemmodels.gallery_model import FLING_MS

    class Clock:                                     # paints 16 ms apart, however busy the machine is
        now = 100.0

        def monotonic(self):
            return self.now
    clock = Clock()
    monkeypatch.setattr(gm, "time", clock)
    m = gallery_model
    load(qtbot, m, detection.id)
    load_all_ids(qtbot, m)
    read: list[int] = []
    m.page_loaded.connect(read.append)
    m.set_visible_rows(0, 30)
    clock.now += 0.016
    m.set_visible_rows(200, 230)                     # one jump (End, a click on the scroll bar): read now
    qtbot.waitUntil(lambda: m._peek(200) is not None and not m._page_jobs, timeout=WAIT_MS)
    read.clear()
    for first in (400, 600, 800):                    # then a fling: a jump of pages at every paint
        clock.now += 0.016
        m.set_visible_rows(first, first + 30)
        assert m.row(first) is None                  # asked for while painting: still not read
    assert not m._page_jobs
    qtbot.wait(FLING_MS // 3)                        # time passing is the point: still flinging, nothing is read
    assert read == []
    qtbot.waitUntil(lambda: m._peek(800) is not None and m._peek(830) is not None and not m._page_jobs,
                    timeout=WAIT_MS)                  # every read asked for has landed (13 is the margin)
    assert set(read) == {12, 13}                     # 800..830 (64 a page) with the margin, nothing between
    assert m._peek(400) is None and m._peek(600) is None


def test_view_paints_every_visible_thumbnail(qtbot, client, detection):
    model = GalleryModel(client.catalog)
    view = GalleryView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.setModel(model)
    view.show()

    def complete(first, last, ok):
        return ok and last > first

    with qtbot.waitSignal(view.painted, check_params_cb=complete, timeout=WAIT_MS):
        model.set_query(detection.id)
    first, last = view.visible_rows
    g, vh = view.grid(), view.viewport().height()
    assert first == 0 and last == ((vh - 1) // g.cell_h + 1) * g.cols - 1   # every row at least partly seen
    for i in range(first, last + 1):
        assert model.index(i).data(1) is not None             # DecorationRole: the pixmap
    shown = {model.row(i).item.sha256 for i in range(first, last + 1)}
    cache = client.catalog.home / "cache" / "thumbs"
    qtbot.waitUntil(lambda: {p.stem for p in cache.rglob("*.png")} >= shown, timeout=WAIT_MS)  # written after
    with qtbot.waitSignal(view.painted, check_params_cb=complete, timeout=WAIT_MS):
        view.scrollToBottom()
    assert view.visible_rows[1] == model.rowCount() - 1
    model.shutdown()
