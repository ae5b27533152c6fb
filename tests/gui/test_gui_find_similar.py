"""Find similar in the dataset page (a stored feature set, no training): the gallery sorted by cosine distance with
the distances as captions and a banner; show_only / clear_only; paging and next in a list; no feature set: the
message and Embed with…; the error gallery's request (a right-click in an evaluation) opens the dataset page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from desktop_app.gui.itemmodels.gallery_model import GalleryFilter  # noqa: E402
from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from similar_fixtures import planted, store_vectors, trained_model  # noqa: E402

WAIT_MS = 20_000


@pytest.fixture
def shapes(client):
    return client.catalog.get_dataset("shapes")


@pytest.fixture
def page(qtbot, client, shapes):
    p = DatasetPage(client)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    with qtbot.waitSignal(p.model.query_done, timeout=WAIT_MS):
        p.set_dataset(shapes.id)
    yield p
    p.shutdown()


def settled_list(qtbot, page, n: int | None = None) -> None:
    """Wait until the gallery lists chosen items, all their ids in (n of them when given)."""
    qtbot.waitUntil(lambda: page.showing_only and page.model.settled and page.model.ids_ready
                    and (n is None or page.model.rowCount() == n), timeout=WAIT_MS)


def open_row(qtbot, page, row):
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.open_row(row)
    return page.current_item()


def test_find_similar_sorts_the_gallery_with_distances_and_a_banner(qtbot, client, shapes, page):
    ids = client.catalog.item_ids(shapes.id)
    model = trained_model(client, "embedder-a")
    store_vectors(client.catalog, model.id, ids, planted(len(ids)))
    page.find_similar(ids[0])
    settled_list(qtbot, page, 50)
    shown = page.model.item_ids_of([(0, 49)])
    assert shown[:6] == ids[:6]                        # the item itself, then its planted neighbours in order
    notes = [page.model.notes[i] for i in shown]
    assert notes[0] == "0.000" and [float(v) for v in notes] == sorted(float(v) for v in notes)
    assert page.model.note(1) == notes[1] and float(notes[1]) > 0
    name = client.catalog.get_item(ids[0]).name.split("/")[-1]
    text = page.banner.text.text()
    assert page.banner.isVisible() and text.startswith("Similar to") and name in text
    assert "embedder-a" in text and "50 nearest" in text
    assert not page.banner.models.isVisible()          # one model covers the item: nothing to choose
    qtbot.waitUntil(lambda: page.count_label.text() == f"50 of {len(ids):,} items", timeout=WAIT_MS)
    assert "distance 0.000" in page.model.data(page.model.index(0), 3)   # the tooltip (ToolTipRole)
    page.gallery.grab()                                # the captions paint with their notes

    # a second model's set, newer: the default now, and a choice between the two
    other = trained_model(client, "embedder-b")
    store_vectors(client.catalog, other.id, ids, planted(len(ids), seed=1)[::-1])
    page.find_similar(ids[0])
    qtbot.waitUntil(lambda: "embedder-b" in page.banner.text.text(), timeout=WAIT_MS)
    assert page.banner.models.isVisible() and page.banner.models.count() == 2
    assert page.banner.models.currentData() == other.id
    page.banner.models.setCurrentIndex(page.banner.models.findData(model.id))
    page.banner.model_chosen.emit(model.id)
    qtbot.waitUntil(lambda: "embedder-a" in page.banner.text.text(), timeout=WAIT_MS)
    settled_list(qtbot, page, 50)
    assert page.model.item_ids_of([(0, 5)]) == ids[:6]

    # the right-click menu and the viewer's button ask for the same
    menu = page.gallery_menu(0)
    assert menu.actions()[0].isEnabled() and "Find similar" in menu.actions()[0].text()
    open_row(qtbot, page, 3)
    page.viewer_panel.similar_button.click()
    qtbot.waitUntil(lambda: page.model.settled and page.model.item_ids_of([(0, 0)]) == [ids[3]], timeout=WAIT_MS)


def test_show_only_lists_exactly_the_items_and_clear_goes_back(qtbot, client, shapes, page):
    cat = client.catalog
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.filters.set_filter(GalleryFilter(subset="train"))
    n_train = page.model.rowCount()
    all_ids = cat.item_ids(shapes.id)
    picked = [all_ids[40], all_ids[3], all_ids[17], all_ids[8]]
    with pytest.raises(ValueError, match="distances"):
        page.show_only(picked, title="x", distances=[0.1])
    page.show_only(picked + [10_000_000], title="Picked on the map", distances=None)
    settled_list(qtbot, page, 4)                       # an id not in the dataset is left out
    assert page.model.item_ids_of([(0, 3)]) == picked
    assert page.model.notes == {} and page.model.note(0) is None
    assert page.banner.text.text() == "Picked on the map" and page.banner.isVisible()
    assert page.filters.filter() == GalleryFilter()   # exactly these: the subset filter let go
    qtbot.waitUntil(lambda: page.count_label.text() == f"4 of {len(all_ids):,} items", timeout=WAIT_MS)
    assert page.model.row_of_item(picked[2]) == 2 and page.model.row_of_item(all_ids[0]) == -1

    # the filter column narrows the list, keeping its order
    subset = cat.get_item(picked[1]).subset
    keep = [i for i in picked if cat.get_item(i).subset == subset]
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.filters.set_filter(GalleryFilter(subset=subset))
    qtbot.waitUntil(lambda: page.model.ids_ready, timeout=WAIT_MS)
    assert page.model.item_ids_of([(0, len(keep) - 1)]) == keep and page.showing_only

    # distances as captions
    page.show_only(picked, title="With distances", distances=[0.0, 0.25, 0.5, 1.0])
    settled_list(qtbot, page, 4)                        # exactly these again: the narrowing is let go
    assert page.model.notes == {picked[0]: "0.000", picked[1]: "0.250", picked[2]: "0.500", picked[3]: "1.000"}

    # Clear: the gallery as it was before the first show_only (train), no banner, no notes
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.banner.clear_button.click()
    assert not page.showing_only and not page.banner.isVisible() and page.model.notes == {}
    assert page.filters.filter().subset == "train" and page.model.rowCount() == n_train
    page.clear_only()                                  # twice: nothing to do
    assert not page.banner.isVisible()


def test_paging_and_next_walk_a_long_list_in_its_order(qtbot, client, shapes, page):
    ids = client.catalog.item_ids(shapes.id)[::-1][:300]    # newest first: not the catalog's order
    page.model.page_size = 64
    page.show_only(ids, title="Reversed")
    settled_list(qtbot, page, 300)
    assert open_row(qtbot, page, 200).id == ids[200]
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.next_item()
    assert page.current_item().id == ids[201]
    assert page.viewer_panel.position.text() == "202 / 300"
    with qtbot.waitSignal(page.item_opened, timeout=WAIT_MS):
        page.previous_item()
    assert page.current_item().id == ids[200]
    assert page.model.row_of_item(ids[250]) == 250
    assert page.selected_item_ids() == [ids[200]]


def test_no_feature_set_says_so_and_embed_with_searches_when_the_job_ends(qtbot, client, shapes, page, monkeypatch):
    ids = client.catalog.item_ids(shapes.id)
    page.find_similar(ids[5])
    qtbot.waitUntil(lambda: page.banner.isVisible() and "No model has embedded" in page.banner.text.text(),
                    timeout=WAIT_MS)
    assert "train one first" in page.banner.text.text() and not page.banner.embed_button.isVisible()
    assert not page.showing_only

    model = trained_model(client, "embedder-c")
    page.find_similar(ids[5])
    qtbot.waitUntil(lambda: page.banner.embed_button.isVisible(), timeout=WAIT_MS)
    assert page.banner.embed_button.text() == "Embed with embedder-c…"
    assert "No model has embedded" in page.banner.text.text()

    # Embed with…: a yes, the job (here: vectors stored at once, the execution read back as succeeded), the search
    started = []

    def fake_embed(model_id, dataset_ids, on_done, on_error, *, tasks=None):
        started.append((model_id, dataset_ids))
        store_vectors(client.catalog, model_id, ids, planted(len(ids)))
        on_done(SimpleNamespace(id="fake-embed"))

    real_get = client.catalog.get_execution
    monkeypatch.setattr(client.catalog, "get_execution", lambda i: SimpleNamespace(
        id=i, status="success", output={}, error=None) if i == "fake-embed" else real_get(i))
    monkeypatch.setattr(page.actions, "embed_datasets", fake_embed)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.banner.embed_button.click()
    assert started == [(model.id, [shapes.id])]
    settled_list(qtbot, page, 50)
    assert page.model.item_ids_of([(0, 0)]) == [ids[5]] and "embedder-c" in page.banner.text.text()


def test_the_error_gallery_asks_and_the_dataset_page_answers(qtbot, client, shapes):
    from desktop_app.gui.pages import Pages
    from desktop_app.gui.widgets.error_gallery import ErrorGallery

    gallery = ErrorGallery(client.catalog)
    qtbot.addWidget(gallery)
    assert not gallery.context_menu(0).actions()[0].isEnabled()   # no rows: nothing to find

    ids = client.catalog.item_ids(shapes.id)
    model = trained_model(client, "embedder-d")
    store_vectors(client.catalog, model.id, ids, planted(len(ids)))
    pages = Pages()
    qtbot.addWidget(pages)
    pages.bind(client, None, None)
    asked = []
    pages.navigate.connect(lambda kind, ident: asked.append((kind, ident)))
    pages.find_similar(ids[2])
    page = pages.pages["dataset"]
    assert asked == [("dataset", shapes.id)] and pages.currentWidget() is page
    settled_list(qtbot, page, 50)
    assert page.model.item_ids_of([(0, 0)]) == [ids[2]]
    pages.clear_pages()


def test_find_similar_from_an_evaluations_error_gallery_opens_the_dataset(qtbot, window, client):
    from review_fixtures import evaluated

    ev = evaluated(client, "oracle-b")
    window.navigate("evaluation", ev.id)
    evaluation = window.pages.currentWidget()
    qtbot.waitUntil(lambda: evaluation.gallery.model.rowCount() > 0, timeout=WAIT_MS)
    item_id = evaluation.gallery.item_at(0)
    action = evaluation.gallery.context_menu(0).actions()[0]
    assert action.isEnabled() and action.text() == "Find similar images"
    action.trigger()
    page = window.pages.currentWidget()
    assert window.pages.current_kind() == "dataset" and page.dataset_id == ev.dataset_id
    assert window.navigator.current_key() == ("dataset", ev.dataset_id)
    name = client.catalog.get_item(item_id).name.split("/")[-1]
    qtbot.waitUntil(lambda: name in page.banner.text.text() and "No model has embedded" in page.banner.text.text(),
                    timeout=WAIT_MS)
