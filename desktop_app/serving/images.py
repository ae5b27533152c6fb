"""Turn untrusted request bytes into RGB arrays: size from the header first, pixels only when allowed."""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
from typing import Iterator

import numpy as np
from PIL import Image

from .errors import RequestError, TooLarge

# Formats a client may send; PIL's other plugins (EPS, PSD, ...) are not worth their attack surface here.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")


@contextlib.contextmanager
def _opened(data: bytes, what: str) -> Iterator[Image.Image]:
    """The image with its header read and nothing decoded; the request errors for empty or unknown bytes."""
    if not data:
        raise RequestError(f"{what} is empty")
    with warnings.catch_warnings():
        # PIL warns above its own limit and raises above twice it; our limit is checked from the header.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError as e:
            raise TooLarge(f"{what} is too large: {e}") from None
        except (OSError, SyntaxError, ValueError, struct.error):
            raise RequestError(f"{what} is not an image in a supported format "
                               f"({', '.join(FORMATS)})") from None
        with im:
            w, h = im.size
            if w <= 0 or h <= 0:
                raise RequestError(f"{what} has an empty size {w}x{h}")
            yield im


def image_size(data: bytes, *, what: str = "image") -> tuple[int, int]:
    """(width, height) from the header alone: what a request's images will cost before any is decoded."""
    with _opened(data, what) as im:
        return im.size


def decode_image(data: bytes, max_pixels: int, *, what: str = "image") -> np.ndarray:
    """Encoded bytes -> [H, W, 3] uint8. Refuses empty, non-image, too big (before decoding) and damaged files."""
    with _opened(data, what) as im:           # its warning filter holds while this decodes too
        w, h = im.size
        if w * h > max_pixels:
            raise TooLarge(f"{what} is {w}x{h} = {w * h:,} pixels, over the service's limit of "
                           f"{max_pixels:,}; it was not decoded")
        try:
            im.load()  # raises on truncated data (unless someone set LOAD_TRUNCATED_IMAGES)
            # An RGB image is not copied again (Pillow keeps 4 bytes a pixel, the array 3 more).
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            return np.asarray(rgb)
        except Image.DecompressionBombError as e:
            raise TooLarge(f"{what} is too large: {e}") from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as e:
            raise RequestError(f"{what} is damaged or truncated ({e})") from None


def check_request_pixels(sizes: list[tuple[int, int]], max_request_pixels: int | None, *, what: str,
                         field: str | None = None) -> None:
    """One request's images together within the budget (each may be within the per-image limit and 64 of
    them still need gigabytes once decoded)."""
    total = sum(w * h for w, h in sizes)
    if max_request_pixels is not None and total > max_request_pixels:
        raise TooLarge(f"{what} holds {len(sizes)} images of {total:,} pixels in all, over the service's limit "
                       f"of {max_request_pixels:,} pixels per request; none was decoded: send fewer or smaller "
                       f"images per request", field=field)


def check_array(arr: np.ndarray, max_pixels: int, *, what: str = "image") -> np.ndarray:
    """An [H, W, 3] uint8 array within the pixel limit."""
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise RequestError(f"{what} must have shape [H, W, 3], got {list(arr.shape)}")
    h, w = arr.shape[:2]
    if h <= 0 or w <= 0:
        raise RequestError(f"{what} has an empty size {w}x{h}")
    if h * w > max_pixels:
        raise TooLarge(f"{what} is {w}x{h} = {w * h:,} pixels, over the service's limit of {max_pixels:,}")
    return arr
