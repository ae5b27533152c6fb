"""Label tags in the image viewer never cover each other (a box's tag and a class chip in the corner), whatever
the zoom; a gallery caption keeps the image folder (an image folder's class) in sight."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QPixmap  # noqa: E402

from desktop_app.catalog import AnnotationRecord  # noqa: E402
from desktop_app.gui.widgets.annotation_items import LabelTag  # noqa: E402
from desktop_app.gui.widgets.image_viewer import ImageViewer  # noqa: E402


def _records() -> list[AnnotationRecord]:
    return [AnnotationRecord(id=1, item_id=1, dataset_id="d", type="class", label="star"),
            AnnotationRecord(id=2, item_id=1, dataset_id="d", type="box", label="star", left=2, top=2, right=60,
                             bottom=60),
            AnnotationRecord(id=3, item_id=1, dataset_id="d", type="box", label="circle", left=4, top=6, right=30,
                             bottom=30)]


def _tag_rects(viewer: ImageViewer) -> list:
    """(tag, its rectangle on screen), measured here (not by the viewer's own helper)."""
    out = []
    for it in viewer.visible_annotation_items():
        for tag in [it, *it.childItems()]:
            if isinstance(tag, LabelTag) and tag.isVisible():
                out.append((tag, tag.deviceTransform(viewer.viewportTransform()).mapRect(tag.boundingRect())))
    return out


def _overlaps(viewer: ImageViewer) -> list[tuple[str, str]]:
    rects = _tag_rects(viewer)
    return [(a.text, b.text) for i, (a, ra) in enumerate(rects) for b, rb in rects[i + 1:] if ra.intersects(rb)]


def test_tags_do_not_cover_each_other(qtbot):
    v = ImageViewer()
    qtbot.addWidget(v)
    v.resize(400, 400)
    v.show()
    qtbot.waitExposed(v)
    pm = QPixmap(100, 100)
    pm.fill(QColor("gray"))
    v.set_image(pm, (100, 100))
    v.set_annotations(_records(), lambda _label: QColor("teal"))
    qtbot.waitUntil(lambda: len(_tag_rects(v)) == 3, timeout=5000)
    qtbot.waitUntil(lambda: not _overlaps(v), timeout=5000)
    v.zoom_to(1.0)                                   # smaller image, same-size tags: laid out again
    qtbot.waitUntil(lambda: not _overlaps(v), timeout=5000)
    v.fit()
    qtbot.waitUntil(lambda: not _overlaps(v), timeout=5000)


def test_gallery_caption_keeps_the_folder():
    from desktop_app.gui.widgets.gallery import caption_of
    assert caption_of("8/1666.png") == "8/1666.png"                 # an image folder's class stays in sight
    assert caption_of("digits/train/8/1666.png") == "8/1666.png"
    assert caption_of("shapes_00001.png") == "shapes_00001.png"
