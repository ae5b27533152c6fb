"""Does an image decode? Checked at import without holding the decoded image: PNG by streaming its zlib data,
JPEG at an eighth of its size; other formats are decoded in full up to limits.MAX_DECODE_PIXELS.

PIL's own ``load()`` would hold the whole image (a 572 KB PNG of 14000 x 14000 zeros takes 588 MB decoded);
these checks read the same bytes a decoder reads, so a file that passes here decodes later, at training time.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.domain.images import DECODE_ERRORS, open_image  # DECODE_ERRORS: re-exported
from desktop_app.formats.limits import MAX_DECODE_PIXELS

__all__ = ["DECODE_ERRORS", "Damaged", "TooLarge", "check_png", "check_decodes", "decode_mask_png"]

PIECE = 1 << 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}            # PNG colour type -> samples per pixel
_BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


class Damaged(Exception):
    """The image would not decode; the message says why."""


class TooLarge(Damaged):
    """The image is over a limit on what is decoded to check it."""


def _rows(w: int, h: int, bits_per_pixel: int, interlace: int) -> list[tuple[int, int]]:
    """(row length including the filter byte, number of rows) for each pass of the decompressed stream."""
    def row_len(cols: int) -> int:
        return 1 + (cols * bits_per_pixel + 7) // 8
    if not interlace:
        return [(row_len(w), h)]
    out = []
    for x0, y0, dx, dy in _ADAM7:
        cols, rows = max(0, -(-(w - x0) // dx)), max(0, -(-(h - y0) // dy))
        if cols and rows:
            out.append((row_len(cols), rows))
    return out


class _RowChecker:
    """Follows the decompressed stream in pieces: each row's filter byte must be 0..4, and the rows must all
    arrive (PIL's decoder refuses both, but only after allocating the image)."""

    def __init__(self, passes: list[tuple[int, int]]):
        self.segments = []
        start = 0
        for length, rows in passes:
            self.segments.append((start, length, rows))
            start += length * rows
        self.expected = start
        self.seen = 0

    def feed(self, piece: bytes) -> None:
        a, n = self.seen, len(piece)
        if n == 0 or a >= self.expected:
            self.seen += n
            return
        buf = np.frombuffer(piece, dtype=np.uint8)
        for s, length, rows in self.segments:
            k0 = max(0, -(-(a - s) // length))
            k1 = min(rows - 1, (a + n - 1 - s) // length)
            if k1 >= k0:
                idx = s + np.arange(k0, k1 + 1) * length - a
                if int(buf[idx].max()) > 4:
                    raise Damaged("PNG row with an unknown filter type (damaged data)")
        self.seen += n

    @property
    def done(self) -> bool:
        return self.seen >= self.expected


def check_png(path: Path) -> None:
    """Every chunk's CRC, the IHDR, and the whole IDAT stream decompressed in 1 MiB pieces (never held)."""
    with open(path, "rb") as f:
        if f.read(8) != PNG_SIGNATURE:
            raise Damaged("not a PNG file")
        rows: _RowChecker | None = None
        inflate = zlib.decompressobj()
        first = True
        while True:
            head = f.read(8)
            if len(head) < 8:
                raise Damaged("truncated PNG file (no IEND chunk)")
            length, kind = struct.unpack(">I4s", head)
            if length > 0x7FFFFFFF:
                raise Damaged(f"PNG chunk {kind!r} declares {length} bytes")
            if first and kind != b"IHDR":
                raise Damaged("PNG does not start with its IHDR chunk")
            crc = zlib.crc32(kind)
            left, ihdr = length, b""
            while left:
                piece = f.read(min(left, PIECE))
                if not piece:
                    raise Damaged(f"truncated PNG file (inside a {kind.decode('latin-1')} chunk)")
                left -= len(piece)
                crc = zlib.crc32(piece, crc)
                if kind == b"IHDR":
                    ihdr += piece
                elif kind == b"IDAT" and rows is not None and not rows.done:
                    _inflate(inflate, piece, rows)
            stored = f.read(4)
            if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc & 0xFFFFFFFF:
                raise Damaged(f"PNG chunk {kind.decode('latin-1')} fails its CRC check (damaged or truncated)")
            if kind == b"IHDR":
                rows = _ihdr(ihdr)
            first = False
            if kind == b"IEND":
                break
        if rows is None or not rows.done:
            got = 0 if rows is None else rows.seen
            raise Damaged(f"PNG image data ends early ({got} of {rows.expected if rows else '?'} bytes)")


def _ihdr(data: bytes) -> _RowChecker:
    if len(data) != 13:
        raise Damaged("PNG IHDR chunk has the wrong length")
    w, h, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data)
    if colour not in _CHANNELS or depth not in _BIT_DEPTHS[colour] or interlace not in (0, 1):
        raise Damaged(f"PNG colour type {colour} / bit depth {depth} / interlace {interlace} is not valid")
    return _RowChecker(_rows(w, h, _CHANNELS[colour] * depth, interlace))


def _inflate(inflate, piece: bytes, rows: _RowChecker) -> None:
    try:
        out = inflate.decompress(piece, PIECE)
        rows.feed(out)
        while inflate.unconsumed_tail and not rows.done:
            out = inflate.decompress(inflate.unconsumed_tail, PIECE)
            rows.feed(out)
    except zlib.error as e:
        raise Damaged(f"PNG image data is damaged ({e})") from None


def check_decodes(path: Path, w: int, h: int) -> None:
    """Raise Damaged unless the image at ``path`` (``w`` x ``h`` from its header) decodes in full."""
    with open(path, "rb") as f:
        if f.read(8) == PNG_SIGNATURE:
            check_png(path)
            return
    with open_image(path) as im:
        if im.format == "JPEG":
            if (im.info.get("progressive") or im.info.get("progression")) and w * h > MAX_DECODE_PIXELS:
                # libjpeg holds a progressive image's coefficients whole, whatever the output size
                raise TooLarge(f"progressive JPEG of {w * h / 1e6:.0f} megapixels, over the "
                              f"{MAX_DECODE_PIXELS // 1_000_000} MP decoded to check it (save it as baseline)")
            im.draft(im.mode, (max(1, w // 8), max(1, h // 8)))  # every coefficient is read, an eighth decoded
            im.load()
            return
        if w * h > MAX_DECODE_PIXELS:
            raise TooLarge(f"{im.format} image of {w * h / 1e6:.0f} megapixels, over the "
                          f"{MAX_DECODE_PIXELS // 1_000_000} MP decoded to check it (save it as PNG or JPEG)")
        im.load()


def decode_mask_png(data: bytes, expect: tuple[int, int] | None) -> Image.Image:
    """A Dataloop mask PNG, loaded: refused (Damaged) before decoding when its header is not ``expect`` (the
    item's width, height) or over MAX_DECODE_PIXELS."""
    import io
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise TooLarge(f"mask PNG is over the {MAX_DECODE_PIXELS // 1_000_000} MP decoded for masks") from None
        except DECODE_ERRORS as e:
            raise Damaged(f"mask PNG cannot be read ({e})") from None
    w, h = im.size
    if expect is not None and (w, h) != tuple(expect):
        raise Damaged(f"mask size {w}x{h} does not match the {expect[0]}x{expect[1]} image")
    if w * h > MAX_DECODE_PIXELS or w <= 0 or h <= 0:
        raise TooLarge(f"mask PNG is {w}x{h}, over the {MAX_DECODE_PIXELS // 1_000_000} MP decoded for masks")
    try:
        im.load()
    except DECODE_ERRORS as e:
        raise Damaged(f"mask PNG cannot be decoded ({e})") from None
    return im
