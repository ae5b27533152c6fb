"""Fixtures for the format tests: small generated images and a bundle that uses every annotation kind."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry
from desktop_app.formats.images import rle_encode


def make_image(path: Path, w: int = 64, h: int = 48, color=(40, 120, 200)) -> Path:
    """A small image with a rectangle and a triangle; the suffix picks the format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", (w, h), color)
    d = ImageDraw.Draw(im)
    d.rectangle([w // 8, h // 8, w // 2, h // 2], fill=(230, 60, 60))
    d.polygon([(w // 2, h - 4), (w - 4, h // 3), (w - 4, h - 4)], fill=(60, 200, 90))
    im.save(path, quality=90) if path.suffix.lower() in (".jpg", ".jpeg") else im.save(path)
    return path


def png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG whose header claims w x h pixels but holds no pixel data (for size-limit tests)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def _mask(h: int, w: int) -> dict:
    m = np.zeros((h, w), dtype=bool)
    m[10:20, 5:30] = True
    m[30:35, 40:44] = True
    return rle_encode(m)


@pytest.fixture
def src_dir(tmp_path: Path) -> Path:
    return tmp_path / "src"


@pytest.fixture
def rich_bundle(src_dir: Path) -> DatasetBundle:
    """Six images across subsets with boxes (float), polygons, masks, points, classes, attributes, scores."""
    specs = [("a.png", 64, 48, "train"), ("b.jpg", 80, 60, "train"), ("sub/c.png", 50, 70, "validation"),
             ("d.png", 64, 64, "validation"), ("e.jpg", 40, 40, "test"), ("f.png", 32, 32, None)]
    items = []
    for i, (name, w, h, subset) in enumerate(specs):
        src = make_image(src_dir / name, w, h, color=(20 * i, 100, 150))
        anns = [
            Annotation("box", "cat", [1.25 + i, 2.5, 20.75, 30.125], attributes={"difficult": True} if i == 0 else {}),
            Annotation("segment", "dog", [[[5.5, 5.0], [25.0, 6.25], [15.0, 25.5]]]),
            Annotation("box", "bird", [0.0, 0.0, float(w), float(h)], score=0.5 + i / 20, model_name="m1"),
        ]
        if i == 1:
            anns.append(Annotation("binary", "dog", _mask(h, w), iscrowd=True))
        if i == 2:
            anns.append(Annotation("point", "cat", [10.0, 11.5]))
        if i in (0, 3):
            anns.append(Annotation("class", "bird"))
        items.append(ImageEntry(source=src, name=name, width=w, height=h, subset=subset, annotations=anns))
    items.append(ImageEntry(source=make_image(src_dir / "empty.png", 30, 20), name="empty.png", width=30, height=20,
                            subset="train"))
    return DatasetBundle(labels=["cat", "dog", "bird"], items=items)


@pytest.fixture
def int_box_bundle(src_dir: Path) -> DatasetBundle:
    """Integer boxes only (what VOC can hold exactly), with VOC-style flags."""
    items = []
    for i, (name, subset) in enumerate([("x1.jpg", "train"), ("x2.png", "validation"), ("x3.jpg", "test"),
                                        ("x4.png", None)]):
        src = make_image(src_dir / name, 60 + i, 40 + i)
        anns = [Annotation("box", "car", [0.0, 0.0, 60.0 + i, 40.0 + i]),
                Annotation("box", "person", [3.0 + i, 4.0, 10.0, 12.0 + i],
                           attributes={"difficult": True, "truncated": True} if i % 2 else {})]
        items.append(ImageEntry(source=src, name=name, width=60 + i, height=40 + i, subset=subset, annotations=anns))
    return DatasetBundle(labels=["person", "car"], items=items)


def ann_key(a: Annotation, ndigits: int = 6):
    def r(v):
        if isinstance(v, (list, tuple)):
            return tuple(r(x) for x in v)
        if isinstance(v, float):
            return round(v, ndigits)
        if isinstance(v, dict):
            return tuple(sorted((k, r(x)) for k, x in v.items()))
        return v
    return a.type, a.label, r(a.coordinates)


def assert_same(a: DatasetBundle, b: DatasetBundle, *, types=None, names=True, subsets=True, extra=None) -> None:
    """Same items (by name, or by basename), subsets, and annotations (coords to 1e-6) of the given types."""
    def key(it):
        return it.name if names else it.name.rsplit("/", 1)[-1]
    left = {key(it): it for it in a.items}
    right = {key(it): it for it in b.items}
    assert sorted(left) == sorted(right)
    for k, it in left.items():
        other = right[k]
        assert (other.width, other.height) == (it.width, it.height), k
        if subsets:
            assert other.subset == it.subset, k
        want = sorted(ann_key(x) for x in it.annotations if types is None or x.type in types)
        got = sorted(ann_key(x) for x in other.annotations)
        assert got == want, k
        if extra:
            extra(it, other)


# Helpers reach the tests as fixtures so no test module imports conftest by name.
@pytest.fixture(name="make_image")
def _make_image_fixture():
    return make_image


@pytest.fixture(name="png_header_only")
def _png_header_fixture():
    return png_header_only


@pytest.fixture(name="assert_same")
def _assert_same_fixture():
    return assert_same
