"""Image checks (truncation, size limit), ImageFolder edge cases, RLE codec and format detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop_app.errors import FormatError
from desktop_app.formats import (
    detect_format, read_coco, read_imagefolder, verify_images, write_imagefolder,
)
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
from desktop_app.formats.images import MAX_PIXELS, read_size, rle_counts, rle_decode, rle_encode, rle_string


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_image_found_by_full_verify_only(tmp_path, make_image, suffix):
    good = make_image(tmp_path / "images" / f"good{suffix}", 200, 150)
    bad = make_image(tmp_path / "images" / f"cut{suffix}", 200, 150)
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    doc = {"images": [{"id": 1, "file_name": good.name, "width": 200, "height": 150},
                      {"id": 2, "file_name": bad.name, "width": 200, "height": 150}],
           "annotations": [], "categories": []}
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    bundle = read_coco(tmp_path)  # the reader only reads headers: a cut file still has one
    with pytest.raises(FormatError, match="damaged or truncated") as e:
        verify_images(bundle, full=True)
    assert e.value.file == str(bad) and e.value.entry == bad.name
    seen = []
    bundle.items.pop()
    verify_images(bundle, progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 1)]


def test_huge_images_refused_by_header(tmp_path, png_header_only):
    huge = png_header_only(tmp_path / "huge.png", 20_000, MAX_PIXELS // 20_000 + 1)
    with pytest.raises(FormatError, match="megapixels, over the 200 MP limit") as e:
        read_size(huge)
    assert e.value.file == str(huge)
    # above PIL's own bomb limit (~179 MP) but within ours: accepted, header only
    big = png_header_only(tmp_path / "big.png", 15_000, 12_000)
    assert read_size(big) == (15_000, 12_000)


def test_rle_codec_matches_known_string():
    m = np.zeros((7, 5), dtype=bool)
    m[2:5, 1:4] = True
    m[0, 0] = m[6, 4] = True
    rle = rle_encode(m)
    assert rle == {"size": [7, 5], "counts": "0182L0004N"}  # what pycocotools writes for this mask
    assert rle_counts(rle["counts"]) == [0, 1, 8, 3, 4, 3, 4, 3, 8, 1]
    assert rle_string([0, 1, 8, 3, 4, 3, 4, 3, 8, 1]) == "0182L0004N"
    rng = np.random.default_rng(0)
    big = rng.random((97, 131)) > 0.7
    assert (rle_decode(rle_encode(big)) == big).all()
    assert (rle_decode({"size": [7, 5], "counts": rle_counts(rle["counts"])}) == m).all()


def test_imagefolder_empty_and_write_rules(tmp_path, make_image):
    with pytest.raises(FormatError, match="no images"):
        read_imagefolder(tmp_path)
    src = make_image(tmp_path / "s.png", 10, 10)
    bundle = DatasetBundle(["a"], [ImageEntry(src, "s.png", 10, 10, None, [Annotation("class", "a")]),
                                   ImageEntry(src, "u.png", 10, 10, None, [])])
    with pytest.raises(FormatError, match="exactly one class label") as e:
        write_imagefolder(bundle, tmp_path / "out")
    assert e.value.entry == "u.png"
    out = write_imagefolder(bundle, tmp_path / "out", skip_unlabeled=True)
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.png")] == ["a/s.png"]


def test_imagefolder_unreadable_image(tmp_path, make_image):
    make_image(tmp_path / "cat" / "ok.png")
    (tmp_path / "cat" / "bad.png").write_bytes(b"nope")
    with pytest.raises(FormatError, match="not a readable image") as e:
        read_imagefolder(tmp_path)
    assert e.value.file.endswith("bad.png")


def test_writers_refuse_name_collisions_and_missing_sources(tmp_path, make_image):
    from desktop_app.formats import write_coco
    src = make_image(tmp_path / "s.png", 10, 10)
    dup = DatasetBundle(["a"], [ImageEntry(src, "x.png", 10, 10), ImageEntry(src, "x.png", 10, 10)])
    with pytest.raises(FormatError, match="duplicate file name"):
        write_coco(dup, tmp_path / "o1")
    gone = DatasetBundle(["a"], [ImageEntry(tmp_path / "gone.png", "g.png", 10, 10)])
    with pytest.raises(FormatError, match="image file missing"):
        write_coco(gone, tmp_path / "o2")
    assert (write_coco(gone, tmp_path / "o3", copy_images="none") / "annotations.json").is_file()


def test_detect_format_unknown(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FormatError, match="cannot tell"):
        detect_format(tmp_path)
    with pytest.raises(FormatError, match="unknown dataset format"):
        from desktop_app import formats
        formats.read("csv", tmp_path)


@pytest.mark.parametrize("mode", ["hardlink", "symlink"])
def test_link_modes(int_box_bundle, tmp_path, mode):
    from desktop_app.formats import read_voc, write_voc
    out = write_voc(int_box_bundle, tmp_path / mode, copy_images=mode)
    placed = out / "JPEGImages" / "x1.jpg"
    assert placed.is_symlink() == (mode == "symlink")
    assert placed.read_bytes() == int_box_bundle.items[0].source.read_bytes()
    assert len(read_voc(out).items) == 4
