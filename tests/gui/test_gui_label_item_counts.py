"""The label list counts items (what choosing a label shows), not annotations: 3 stars on one image count once."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.views.dataset_page import DatasetPage  # noqa: E402
from desktop_app.gui.widgets.dataset_filters import label_rows  # noqa: E402

WAIT_MS = 30_000


def test_label_rows_show_items_and_say_both():
    rows = label_rows(["star", "circle"], {"star": 250, "circle": 1}, total=300, annotations={"star": 750,
                                                                                            "circle": 1})
    assert rows[0] == (None, "All labels  (300)", "300 items")
    assert rows[1] == ("star", "star  (250)", "star: on 250 items, 750 annotations")
    assert rows[2] == ("circle", "circle  (1)", "circle: on 1 item, 1 annotation")


def test_the_page_counts_items_that_the_label_filter_shows(qtbot, client):
    ds = client.catalog.get_dataset("shapes-detection")
    annotations = client.catalog.label_counts(ds.id)
    items = {lb: client.catalog.count_items(ds.id, label=lb) for lb in ds.labels}
    assert any(annotations[lb] > items[lb] for lb in ds.labels)     # several boxes of one label on an image
    page = DatasetPage(client)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignals([page.model.query_done, page.summary_loaded], timeout=WAIT_MS):
        page.set_dataset(ds.id)
    texts = {page.filters.labels.item(i).data(0x0100): page.filters.labels.item(i) for i in
             range(page.filters.labels.count())}
    assert texts[None].text() == f"All labels  ({client.catalog.count_items(ds.id):,})"
    for lb in ds.labels:
        assert texts[lb].text() == f"{lb}  ({items[lb]:,})"
        assert f"{annotations[lb]:,} annotations" in texts[lb].toolTip()
    with qtbot.waitSignal(page.model.query_done, timeout=WAIT_MS):
        page.filters.labels.setCurrentItem(texts[ds.labels[0]])     # choosing it shows that many items
    assert page.model.rowCount() == items[ds.labels[0]]
    page.shutdown()
