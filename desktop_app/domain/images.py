"""An image file's size from its header, opened lazily and refused when missing, unreadable or over MAX_PIXELS."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

from PIL import Image

from desktop_app.errors import FormatError

# Any image up to MAX_PIXELS is imported (formats.limits states every import limit and re-exports this one).
MAX_PIXELS = 200_000_000
# What PIL raises on files it cannot read (and a few of its plugins' parsing slips on hostile headers).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, struct.error, EOFError, TypeError, KeyError, IndexError,
                 ZeroDivisionError, zlib.error)


def _open_unchecked(path: Path) -> Image.Image:
    # PIL refuses images above 2 * MAX_IMAGE_PIXELS (~179 MP) on open; our own limit is 200 MP, so
    # repeat PIL's plugin lookup without its check rather than change the process-wide limit.
    Image.init()
    with open(path, "rb") as f:
        prefix = f.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        ok = not accept or accept(prefix)
        if ok and not isinstance(ok, str):
            try:
                return factory(str(path))  # given a path, the plugin owns (and later closes) the file
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
    raise OSError("cannot identify image file")


def open_image(path: Path) -> Image.Image:
    """Open lazily (header only); the caller closes it. Raises OSError / FileNotFoundError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError:
            return _open_unchecked(path)


class ImageProblem(Exception):
    """An image problem, before it is wrapped in a FormatError that names the file."""


def header_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header; ImageProblem if the file is missing, unreadable, empty or too big."""
    if not path.is_file():
        raise ImageProblem("image file missing")
    try:
        with open_image(path) as im:
            w, h = im.size
    except DECODE_ERRORS as e:
        raise ImageProblem(f"not a readable image ({e})") from None
    if w <= 0 or h <= 0:
        raise ImageProblem(f"image has an empty size {w}x{h}")
    if w * h > MAX_PIXELS:
        raise ImageProblem(f"image is {w}x{h} = {w * h / 1e6:.0f} megapixels, over the "
                           f"{MAX_PIXELS // 1_000_000} MP limit")
    return w, h


def read_size(path: Path, *, entry: str | None = None) -> tuple[int, int]:
    """(width, height) from the file header; FormatError naming the file if missing, unreadable or too big."""
    try:
        return header_size(Path(path))
    except ImageProblem as e:
        raise FormatError(str(e), file=str(path), entry=entry) from None
