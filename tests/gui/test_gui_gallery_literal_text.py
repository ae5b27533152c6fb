"""The gallery's name search matches '%' and '_' as themselves (they were SQL wildcards)."""

from __future__ import annotations

import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from desktop_app.gui.itemmodels.gallery_model import GalleryFilter, GalleryModel  # noqa: E402


@pytest.mark.parametrize("text, expected", [("%", ["50%.png"]), ("_", ["a_b.png"]), ("a_b", ["a_b.png"]),
                                            ("%.png", ["50%.png"]), ("png", ["50%.png", "a_b.png", "axb.png"])])
def test_gallery_search_is_literal(qtbot, catalog, tmp_path, text, expected):
    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    for i, name in enumerate(["50%.png", "a_b.png", "axb.png"]):
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(tmp_path / f"{i}.png")
        catalog.add_item(ds.id, tmp_path / f"{i}.png", name)
    model = GalleryModel(catalog, page_size=16)
    try:
        with qtbot.waitSignal(model.query_done, timeout=20_000):
            model.set_query(ds.id, GalleryFilter(text=text))
        assert model.rowCount() == len(expected)
        assert sorted(model.row(i).item.name for i in range(model.rowCount())) == expected   # the first page came
    finally:
        model.shutdown()
