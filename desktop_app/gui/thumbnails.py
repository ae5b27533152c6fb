"""Thumbnails and full images decoded on a QThreadPool, cached on disk (catalog/cache/thumbs) and in memory."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

log = logging.getLogger(__name__)

THUMB_SIZE = 128
BATCH, BATCH_S = 16, 0.03      # a worker hands over results every 16 images or 30 ms, whichever first


def thumbs_dir(catalog_home: Path | str, size: int = THUMB_SIZE) -> Path:
    return Path(catalog_home) / "cache" / "thumbs" / str(size)


def cache_path(cache_dir: Path, sha: str) -> Path:
    return cache_dir / sha[:2] / f"{sha}.png"


def fit_size(w: int, h: int, box: int) -> tuple[int, int]:
    """(w, h) scaled so the longer side is `box` (small images are enlarged: drawn 1:1, they paint fast)."""
    s = box / max(w, h, 1)
    return max(1, round(w * s)), max(1, round(h * s))


def decode_rgba(path: Path | str, box: int | None = None) -> tuple[int, int, bytes]:
    """(width, height, RGBA bytes) of an image, scaled to fit `box` when given; raises OSError.

    WORKAROUND: pillow, not QImageReader, because this runs on pool threads. PySide keeps the GIL while
    QImageReader probes its plugins (the SVG one builds a QTextStream, which takes a signal-slot lock to
    connect to the file); a main thread in QObject::disconnect that needs the GIL for a Python override
    then deadlocks with it (seen here: the test run hung with every thread waiting; the same trap is
    described in https://github.com/GafferHQ/gaffer/pull/4557). Pillow touches no QObject and releases the
    GIL while it decodes."""
    from PIL import Image, ImageOps
    path = Path(path)
    try:
        with Image.open(path) as im:
            if box:
                im.draft("RGB", (2 * box, 2 * box))   # JPEG: decode at 1/2 .. 1/8 scale, most of the work skipped
            im = ImageOps.exif_transpose(im).convert("RGBA")
    except Exception as e:  # noqa: BLE001 - any decoder failure means "cannot show this file"
        raise OSError(f"{path.name}: {e}") from None
    if box:
        w, h = fit_size(im.width, im.height, box)
        if (w, h) != im.size:
            im = im.resize((w, h), Image.Resampling.BILINEAR)
    return im.width, im.height, im.tobytes()


def to_qimage(w: int, h: int, data: bytes) -> QImage:
    """A QImage owning a copy of the pixels (a plain value: safe on any thread)."""
    return QImage(data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def decode(path: Path | str, box: int | None = None) -> QImage:
    """Read an image, scaled to fit `box` when given (JPEG scales while decoding); raises OSError."""
    return to_qimage(*decode_rgba(path, box))


class _Relay(QObject):
    """Lives in the GUI thread; workers emit through it, so slots run in the GUI thread."""
    done = Signal(object)               # [(key, QImage), ...]: batched, one repaint per batch
    failed = Signal(str, str)           # key, message


def load_cached(cache_file: Path | None) -> tuple[int, int, bytes] | None:
    if cache_file is not None and cache_file.is_file():
        try:
            return decode_rgba(cache_file)
        except OSError:
            return None   # a damaged cache file: decode the image again
    return None


def save_cached(pixels: tuple[int, int, bytes], cache_file: Path) -> None:
    """Write a thumbnail atomically; best effort (a read-only or full disk costs speed, not thumbnails)."""
    from PIL import Image
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        w, h, data = pixels
        Image.frombytes("RGBA", (w, h), data).save(tmp, "PNG", compress_level=1)
        os.replace(tmp, cache_file)
    except (OSError, ValueError) as e:
        log.debug("thumbnail cache write failed: %s", e)


class _Drain(QRunnable):
    """A pool worker that decodes queued requests, newest first, until the queue is empty."""

    def __init__(self, loader: ImageLoader):
        super().__init__()
        self.setAutoDelete(False)
        self.loader = loader

    def run(self) -> None:
        ld = self.loader
        relay = ld._relay
        batch: list[tuple[str, QImage]] = []
        unsaved: list[tuple[tuple[int, int, bytes], Path]] = []   # written after the batch is handed over
        last_emit = time.monotonic()
        while True:
            with ld._lock:
                if not ld._queue or ld._closing:
                    ld._workers.discard(self)
                    break
                key, path = ld._queue.popitem()          # last in, first out: what is on screen now
                ld._running.add(key)
            cf = cache_path(ld.cache_dir, key) if (ld.cache_dir and ld.box) else None
            try:
                pixels = load_cached(cf)
                if pixels is None:
                    pixels = decode_rgba(path, ld.box)
                    if cf is not None:
                        unsaved.append((pixels, cf))
                batch.append((key, to_qimage(*pixels)))
            except Exception as e:  # noqa: BLE001 - reported to the GUI, never raised in a pool thread
                self._emit(relay.failed, key, str(e))
            if len(batch) >= BATCH or time.monotonic() - last_emit > BATCH_S:
                self._emit(relay.done, batch)
                batch, last_emit = [], time.monotonic()
                self._save(unsaved)
        if batch:
            self._emit(relay.done, batch)
        self._save(unsaved)

    @staticmethod
    def _save(unsaved: list[tuple[tuple[int, int, bytes], Path]]) -> None:
        for pixels, cf in unsaved:
            save_cached(pixels, cf)
        unsaved.clear()

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the loader is gone (page closed)
            pass


class ImageLoader(QObject):
    """Decodes images off the GUI thread; newest request first, a memory LRU of QPixmaps in front.

    A few pool workers drain one queue, so a screenful of requests costs no thread hand-offs.
    `box` > 0 makes thumbnails (and keeps them on disk under `cache_dir`); `box` None loads full images."""

    ready = Signal(str)                 # key now in memory: get(key) returns it
    failed = Signal(str, str)

    def __init__(self, *, box: int | None = THUMB_SIZE, cache_dir: Path | None = None,
                 memory_items: int = 2000, threads: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self.box = box
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.memory_items = memory_items
        self.threads = max(1, threads)
        self._memory: OrderedDict[str, QPixmap] = OrderedDict()
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, Path] = OrderedDict()   # guarded by _lock
        self._running: set[str] = set()                       # guarded by _lock
        self._workers: set[_Drain] = set()                    # guarded by _lock
        self._closing = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(self.threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)

    # -- queries ----------------------------------------------------------------------
    def get(self, key: str) -> QPixmap | None:
        pm = self._memory.get(key)
        if pm is not None:
            self._memory.move_to_end(key)
        return pm

    def error(self, key: str) -> str | None:
        return self._errors.get(key)

    def is_pending(self, key: str) -> bool:
        with self._lock:
            return key in self._queue or key in self._running

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._running)

    # -- requests ---------------------------------------------------------------------
    def request(self, key: str, path: Path | str) -> None:
        """Queue a decode unless it is in memory or failed before; a repeated request moves it to the front."""
        if key in self._memory or key in self._errors or self._closing:
            return
        with self._lock:
            if key in self._running:
                return
            if key in self._queue:
                self._queue.move_to_end(key)
                return
            self._queue[key] = Path(path)
            start = len(self._workers) < self.threads
            if start:
                worker = _Drain(self)
                self._workers.add(worker)
        if start:
            self._pool.start(worker)

    def retain(self, keys: set[str]) -> int:
        """Forget queued (not yet started) decodes of keys not in `keys`: scrolled out of sight."""
        with self._lock:
            drop = [k for k in self._queue if k not in keys]
            for k in drop:
                del self._queue[k]
        return len(drop)

    def clear_memory(self) -> None:
        self._memory.clear()
        self._errors.clear()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        with self._lock:
            self._closing = True
            self._queue.clear()
        self._pool.waitForDone(timeout_ms)

    # -- results (GUI thread) ---------------------------------------------------------
    def _on_done(self, batch: list[tuple[str, QImage]]) -> None:
        with self._lock:
            self._running.difference_update(k for k, _ in batch)
            if self._closing:      # delivered after shutdown(): its owner has let go of its catalog and views
                return
        for key, image in batch:
            self._memory[key] = QPixmap.fromImage(image)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)
        for key, _ in batch:
            self.ready.emit(key)

    def _on_failed(self, key: str, message: str) -> None:
        with self._lock:
            self._running.discard(key)
            if self._closing:
                return
        self._errors[key] = message
        log.info("cannot decode %s: %s", key, message)
        self.failed.emit(key, message)
