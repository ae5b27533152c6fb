"""Decoding for thumbnails and the viewer, done with pillow on pool threads: sizes, orientation, formats
Qt has no plugin for, damaged files, the disk cache, and a loader that delivers through the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.thumbnails import (ImageLoader, cache_path, decode, decode_rgba, load_cached,  # noqa: E402
                                        save_cached)


def _image(tmp_path, name, size=(300, 200), mode="RGB", **save):
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2] = (255, 0, 0)          # left half red, right half blue
    arr[:, size[0] // 2:] = (0, 0, 255)
    im = Image.fromarray(arr)
    if mode != "RGB":
        im = im.convert(mode)
    path = tmp_path / name
    im.save(path, **save)
    return path


def test_thumbnail_fits_the_box_and_keeps_the_pixels(tmp_path):
    for name in ("a.jpg", "a.png", "a.webp"):
        w, h, data = decode_rgba(_image(tmp_path, name), 128)
        assert (w, h) == (128, 85) and len(data) == w * h * 4
        px = np.frombuffer(data, np.uint8).reshape(h, w, 4)
        assert px[40, 10, 0] > 200 and px[40, 10, 2] < 60        # still red on the left
        assert px[40, 120, 2] > 200 and px[40, 120, 0] < 60      # blue on the right
    img = decode(_image(tmp_path, "b.png", (40, 20)), 128)      # small images are enlarged to the box
    assert (img.width(), img.height()) == (128, 64)
    full = decode(_image(tmp_path, "c.png", (3000, 2000)))      # no box: full size
    assert (full.width(), full.height()) == (3000, 2000)


def test_exif_orientation_and_16_bit_tiff(tmp_path):
    path = tmp_path / "rot.jpg"
    im = Image.open(_image(tmp_path, "src.jpg", (300, 200)))
    exif = im.getexif()
    exif[0x0112] = 6                                            # rotate 90° clockwise to view
    im.save(path, exif=exif)
    w, h, _ = decode_rgba(path, 128)
    assert (w, h) == (85, 128)
    deep = tmp_path / "deep.tif"
    Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)).save(deep)
    assert decode_rgba(deep, 32)[:2] == (32, 24)


def test_damaged_and_non_image_files_raise_oserror_naming_the_file(tmp_path):
    good = _image(tmp_path, "cut.png", (200, 200)).read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 3])
    (tmp_path / "notes.jpg").write_text("not an image")
    for name in ("cut.png", "notes.jpg", "missing.png"):
        with pytest.raises(OSError, match=name.replace(".", r"\.")):
            decode_rgba(tmp_path / name, 64)


def test_the_disk_cache_round_trips_and_ignores_a_damaged_file(tmp_path):
    pixels = decode_rgba(_image(tmp_path, "x.jpg"), 64)
    cf = cache_path(tmp_path / "cache", "ab" + "0" * 62)
    save_cached(pixels, cf)
    assert load_cached(cf) == pixels
    cf.write_bytes(b"\x89PNG broken")
    assert load_cached(cf) is None and load_cached(None) is None


def test_the_loader_decodes_off_the_gui_thread_and_caches_on_disk(qtbot, tmp_path):
    paths = {f"k{i}": _image(tmp_path, f"{i}.jpg", (200 + i, 150)) for i in range(6)}
    (tmp_path / "bad.jpg").write_text("nope")
    loader = ImageLoader(box=64, cache_dir=tmp_path / "thumbs", threads=2)
    seen_threads = []
    real = decode_rgba

    import desktop_app.gui.thumbnails as th
    th.decode_rgba = lambda *a, **k: (seen_threads.append(threading.get_ident()), real(*a, **k))[1]
    try:
        with qtbot.waitSignal(loader.failed, timeout=20_000) as failed:
            loader.request("bad", tmp_path / "bad.jpg")
        assert failed.args[0] == "bad" and "bad.jpg" in failed.args[1]
        for k, p in paths.items():
            loader.request(k, p)
        qtbot.waitUntil(lambda: all(loader.get(k) is not None for k in paths), timeout=20_000)
    finally:
        th.decode_rgba = real
        loader.shutdown()
    assert threading.get_ident() not in seen_threads
    assert all(loader.get(k).width() == 64 for k in paths)
    assert len(list((tmp_path / "thumbs").rglob("*.png"))) == len(paths)


def test_a_decode_that_ends_after_shutdown_is_not_delivered(qtbot, tmp_path):
    # The review page shuts its loader when it closes; a decode still running then used to land afterwards
    # and reach a catalog already gone ("unable to open database file", seen in CI).
    import desktop_app.gui.thumbnails as th
    path = _image(tmp_path, "a.jpg")
    started, release = threading.Event(), threading.Event()
    real = th.decode_rgba

    def slow(*a, **k):
        started.set()
        release.wait(10)
        return real(*a, **k)

    loader = ImageLoader(box=None, threads=1)
    delivered = []
    loader.ready.connect(delivered.append)
    loader.failed.connect(lambda key, _m: delivered.append(key))
    th.decode_rgba = slow
    try:
        loader.request("a", path)
        assert started.wait(10)
        threading.Timer(0.2, release.set).start()
        loader.shutdown()                      # waits for the running decode; its result is queued to this thread
    finally:
        th.decode_rgba = real
    qtbot.wait(100)                            # the queued delivery would run here
    assert delivered == [] and loader.get("a") is None
