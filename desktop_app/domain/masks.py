"""Binary masks as data: COCO RLE encode / decode, polygon <-> mask, mask checks, and a mask's Dataloop PNG.

Conventions (shared by every format and the SDK):
- a mask is a boolean numpy array of shape (height, width);
- its compact form is COCO RLE ``{"size": [h, w], "counts": ...}``, column-major, counts starting with a run
  of background; ``counts`` is pycocotools' compressed string, or a plain list of ints ("uncompressed", as
  COCO writes crowd regions), both read;
- polygon coordinates are in pixel-corner space: pixel (x, y) covers [x, x+1) x [y, y+1); a polygon covers a
  pixel when it holds the pixel's centre (x + 0.5, y + 0.5). Several rings are a union (COCO's rule: parts
  add up, holes are not marked). ``mask_to_polygons`` traces along pixel edges, so a mask without holes
  becomes polygons that rasterise back to the very same pixels.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from desktop_app.domain.images import MAX_PIXELS
from desktop_app.errors import ValidationError

__all__ = [
    "MAX_MASK_PIXELS", "as_mask", "encode", "decode", "counts_of", "counts_string", "area", "bbox",
    "rle_problem", "polygon_problem", "polygon_to_mask", "mask_to_polygons", "polygon_area", "iou",
    "png_data_uri",
]

# A mask never holds more pixels than an image may (domain.images.MAX_PIXELS, what an import accepts).
MAX_MASK_PIXELS = MAX_PIXELS


# ---------------------------------------------------------------- numpy masks

def as_mask(geo: Any, *, what: str = "mask", shape: tuple[int, int] | None = None,
            allow_empty: bool = False) -> np.ndarray:
    """``geo`` as a boolean (h, w) array; ValidationError saying what is wrong: not 2-D, values other than
    0 / 1 (or False / True, or 0 / 255 of a PNG's alpha), empty (no pixel set), over MAX_MASK_PIXELS, or
    not ``shape`` (h, w) when given."""
    arr = np.asarray(geo)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValidationError(f"{what} must be a 2-D (height, width) array, got shape {tuple(arr.shape)}")
    h, w = arr.shape
    if h * w > MAX_MASK_PIXELS:
        raise ValidationError(f"{what} is {h}x{w} (h x w), over the {MAX_MASK_PIXELS // 1_000_000} MP limit")
    if shape is not None and (h, w) != tuple(shape):
        raise ValidationError(f"{what} is {h}x{w} (h x w) but the image is {shape[0]}x{shape[1]}")
    if arr.dtype == bool:
        mask = arr
    elif arr.dtype.kind in "uif":
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValidationError(f"{what} holds NaN or infinite values; a mask holds 0 and 1 only")
        values = np.unique(arr)
        ones = 255 if values.max(initial=0) == 255 and arr.dtype == np.uint8 else 1
        bad = values[(values != 0) & (values != ones)]
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in bad[:5].tolist())
            raise ValidationError(f"{what} is not binary: it holds {shown}"
                                  f"{' ...' if bad.size > 5 else ''} beside 0 and {ones}")
        mask = arr != 0
    else:
        raise ValidationError(f"{what} must hold numbers or booleans, got dtype {arr.dtype}")
    if not allow_empty and not mask.any():
        raise ValidationError(f"{what} is empty (no pixel is set)")
    return mask


# ---------------------------------------------------------------- COCO RLE

def counts_string(counts: Sequence[int]) -> str:
    """COCO's compressed string of a run-length list (pycocotools' rleToString)."""
    chars: list[str] = []
    for i, x in enumerate(counts):
        x = int(x)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def _string_counts(s: str) -> list[int]:
    out: list[int] = []
    p, n = 0, len(s)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise ValueError("the counts string ends inside a number")
            c = ord(s[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"bad character {s[p]!r} in the counts string")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def counts_of(rle: dict[str, Any]) -> list[int]:
    """The run lengths of an RLE dict, from a compressed string or an uncompressed list; ValueError otherwise."""
    c = rle.get("counts") if isinstance(rle, dict) else None
    if isinstance(c, (list, tuple)):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in c):
            raise ValueError("an uncompressed counts list must hold integers")
        return [int(v) for v in c]
    if isinstance(c, bytes):
        try:
            c = c.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("the counts string is not ASCII") from None
    if not isinstance(c, str):
        raise ValueError(f"counts must be a string or a list of integers, got {type(c).__name__}")
    return _string_counts(c)


def encode(mask: np.ndarray, *, compressed: bool = True) -> dict[str, Any]:
    """COCO RLE of a (h, w) mask: counts as the compressed string (or, ``compressed=False``, a list)."""
    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    flat = m.ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size])))
    if flat.size and flat[0]:
        runs = np.concatenate(([0], runs))  # counts always start with a run of background
    counts = [int(v) for v in runs]
    return {"size": [int(h), int(w)], "counts": counts_string(counts) if compressed else counts}


def decode(rle: dict[str, Any]) -> np.ndarray:
    """The boolean (h, w) mask of an RLE dict; ValueError when its counts do not cover h * w pixels."""
    h, w = (int(v) for v in rle["size"])
    counts = np.asarray(counts_of(rle), dtype=np.int64)
    if counts.size and counts.min() < 0:
        raise ValueError("RLE counts hold a negative run")
    total = int(counts.sum())
    if total != h * w:
        raise ValueError(f"RLE counts cover {total} pixels, the {h}x{w} mask has {h * w}")
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape((h, w), order="F")


def area(rle: dict[str, Any]) -> int:
    """Pixels set in an RLE mask (the odd runs)."""
    return int(sum(counts_of(rle)[1::2]))


def bbox(mask: np.ndarray) -> list[float] | None:
    """[left, top, right, bottom] in pixel-corner space of a mask's set pixels; None when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def rle_problem(rle: Any, width: int | None = None, height: int | None = None, *,
                allow_empty: bool = False) -> str | None:
    """Why ``rle`` is not a usable mask of a ``width`` x ``height`` image, or None: not {'size', 'counts'}, a
    size that is not the image's, over the pixel limit, bad or negative counts, counts that do not sum to
    h * w, or (unless ``allow_empty``) no pixel set."""
    if not (isinstance(rle, dict) and isinstance(rle.get("size"), (list, tuple)) and len(rle["size"]) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in rle["size"])):
        return "a binary mask needs {'size': [h, w], 'counts': ...} with positive integer sizes"
    h, w = rle["size"]
    if h * w > MAX_MASK_PIXELS:
        return f"mask size {h}x{w} is over the {MAX_MASK_PIXELS // 1_000_000} MP limit"
    if width is not None and height is not None and (h, w) != (height, width):
        return f"mask size {h}x{w} (h x w) does not match the {height}x{width} image"
    try:
        counts = counts_of(rle)
    except ValueError as e:
        return f"bad RLE counts ({e})"
    if any(v < 0 for v in counts):
        return "RLE counts hold a negative run"
    total = sum(counts)
    if total != h * w:
        return f"RLE counts sum to {total} pixels, expected h*w = {h * w}"
    if not allow_empty and not any(counts[1::2]):
        return "mask is empty (no pixel is set)"
    return None


# ---------------------------------------------------------------- polygons

def _finite(v: Any) -> bool:
    try:
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
            and bool(np.isfinite(float(v)))
    except OverflowError:
        return False


def polygon_problem(rings: Any, width: int | None = None, height: int | None = None, *,
                    slack: float = 0.0) -> str | None:
    """Why ``rings`` (a list of rings of [x, y]) is not a polygon of a ``width`` x ``height`` image, or None:
    a ring of fewer than 3 points, a NaN / infinite / non-numeric coordinate, or a point more than ``slack``
    pixels outside the image."""
    if not isinstance(rings, (list, tuple)) or not rings:
        return "a polygon needs a non-empty list of rings"
    for k, ring in enumerate(rings):
        if not isinstance(ring, (list, tuple)) or len(ring) < 3:
            n = len(ring) if isinstance(ring, (list, tuple)) else 0
            return f"polygon ring {k} has {n} points; a polygon needs at least 3"
        for j, p in enumerate(ring):
            if not (isinstance(p, (list, tuple)) and len(p) == 2 and _finite(p[0]) and _finite(p[1])):
                return f"polygon ring {k} point {j} is not two finite numbers: {p!r:.60}"
            if width is not None and height is not None and not (
                    -slack <= p[0] <= width + slack and -slack <= p[1] <= height + slack):
                return f"polygon ring {k} point {j} ({p[0]:g}, {p[1]:g}) lies outside the {width}x{height} image"
    return None


def _ring_toggles(ring: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) where the scanline through each row's pixel centres crosses the ring's edges."""
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    # rows r whose centre r + 0.5 lies in [ylo, yhi): a horizontal edge crosses none
    r0 = np.clip(np.ceil(ylo - 0.5), 0, h).astype(np.int64)
    r1 = np.clip(np.ceil(yhi - 0.5), 0, h).astype(np.int64)
    n = np.maximum(r1 - r0, 0)
    if n.sum() == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    e = np.repeat(np.arange(ring.shape[0]), n)
    start = np.repeat(np.cumsum(n) - n, n)
    rows = r0[e] + (np.arange(e.size) - start)
    yc = rows + 0.5
    t = (yc - y0[e]) / (y1[e] - y0[e])
    xc = x0[e] + t * (x1[e] - x0[e])
    # from the first column whose centre is right of the crossing on, the inside / outside state flips
    cols = np.clip(np.ceil(xc - 0.5), 0, w).astype(np.int64)
    return rows, cols


def polygon_to_mask(rings: Sequence[Sequence[Sequence[float]]], height: int, width: int) -> np.ndarray:
    """Rasterise a polygon (a union of rings of [x, y]) to a boolean (height, width) mask: a pixel is set when
    its centre lies inside a ring (even-odd within a ring)."""
    out = np.zeros((height, width), dtype=bool)
    for ring in rings:
        pts = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if pts.shape[0] < 3:
            continue
        rows, cols = _ring_toggles(pts, height, width)
        flips = np.zeros((height, width + 1), dtype=np.uint8)
        np.bitwise_xor.at(flips, (rows, cols), 1)
        out |= np.bitwise_xor.accumulate(flips, axis=1)[:, :width].astype(bool)
    return out


def polygon_area(ring: Sequence[Sequence[float]]) -> float:
    """Signed shoelace area of one ring (positive when clockwise on screen, y pointing down)."""
    p = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum() / 2)


# Directions along pixel edges (screen coordinates, y down) and the right turn of each.
_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))   # east, south, west, north


def _boundary_edges(mask: np.ndarray) -> dict[tuple[int, int], list[int]]:
    """Every pixel edge between a set pixel and an unset one (or the border), directed clockwise around the set
    pixels: start corner -> the directions (indices into _DIRS) leaving it."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1]
    out: dict[tuple[int, int], list[int]] = {}
    # top edges go east from (x, y); right edges south from (x+1, y); bottom west from (x+1, y+1); left north
    # from (x, y+1)
    for d, (dy, dx), (ox, oy) in ((0, (-1, 0), (0, 0)), (1, (0, 1), (1, 0)), (2, (1, 0), (1, 1)),
                                  (3, (0, -1), (0, 1))):
        nb = m[1 + dy:m.shape[0] - 1 + dy, 1 + dx:m.shape[1] - 1 + dx]
        ys, xs = np.nonzero(inner & ~nb)
        for x, y in zip((xs + ox).tolist(), (ys + oy).tolist()):
            out.setdefault((x, y), []).append(d)
    return out


def _trace(edges: dict[tuple[int, int], list[int]]) -> list[list[tuple[int, int]]]:
    """The closed outlines the edges make. At a corner where two set pixels touch diagonally (two edges leave
    it) the walk turns right, so each pixel's own outline is followed: every edge arriving there pairs with
    one edge leaving, and each walk ends where it began."""
    loops = []
    used: set[tuple[tuple[int, int], int]] = set()
    for first in [(v, d) for v, ds in edges.items() for d in ds]:
        if first in used:
            continue
        v, d = first
        loop: list[tuple[int, int]] = []
        while True:
            used.add((v, d))
            loop.append(v)
            v = (v[0] + _DIRS[d][0], v[1] + _DIRS[d][1])
            outs = edges[v]
            d = outs[0] if len(outs) == 1 else next(t for t in ((d + 1) % 4, d, (d + 3) % 4) if t in outs)
            if (v, d) == first:
                break
        loops.append(loop)
    return loops


def _corners(loop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The loop without the points where it runs straight on."""
    n = len(loop)
    keep = []
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = loop[i - 1], loop[i], loop[(i + 1) % n]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) != 0:
            keep.append(loop[i])
    return keep


def _simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring (split at the point farthest from the first)."""
    if ring.shape[0] <= 4 or tolerance <= 0:
        return ring
    far = int(np.argmax(((ring - ring[0]) ** 2).sum(1)))

    def dp(pts: np.ndarray) -> np.ndarray:
        if pts.shape[0] <= 2:
            return pts
        a, b = pts[0], pts[-1]
        ab = b - a
        norm = np.hypot(*ab)
        rel = pts[1:-1] - a
        dist = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / norm if norm else np.hypot(rel[:, 0], rel[:, 1])
        i = int(np.argmax(dist))
        if dist[i] <= tolerance:
            return np.stack([a, b])
        return np.concatenate([dp(pts[:i + 2])[:-1], dp(pts[i + 1:])])

    closed = np.concatenate([ring, ring[:1]])
    out = np.concatenate([dp(closed[:far + 1])[:-1], dp(closed[far:])[:-1]])
    return out if out.shape[0] >= 3 else ring


def mask_to_polygons(mask: np.ndarray, *, tolerance: float = 0.0, min_area: float = 0.0,
                     max_instances: int | None = None) -> list[list[list[float]]]:
    """The outer outlines of a mask's parts as rings of [x, y] (pixel corners, clockwise on screen), largest
    first. Traced along pixel edges (no OpenCV): with ``tolerance`` 0 each ring rasterises back to its part's
    pixels exactly (holes are not kept: COCO and YOLO polygons cannot mark them); ``tolerance`` > 0 runs
    through the pixel edges' midpoints and drops vertices within that many pixels of it (Douglas-Peucker).
    Parts touching only at a corner are separate rings. ``min_area`` drops smaller rings; ``max_instances`` keeps that many of the largest."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValidationError(f"mask must be a 2-D (height, width) array, got shape {tuple(m.shape)}")
    rings = []
    for loop in _trace(_boundary_edges(m)):
        pts = _corners(loop)
        if len(pts) < 3:
            continue
        a = polygon_area(pts)
        if a <= 0 or a < min_area:  # a hole's outline runs the other way round
            continue
        if tolerance > 0:
            # through the midpoints of the pixel edges: a staircase's midpoints lie on the line it steps along
            full = np.asarray(loop, dtype=np.float64)
            ring = _simplify((full + np.roll(full, -1, axis=0)) / 2, tolerance)
        else:
            ring = np.asarray(pts, dtype=np.float64)
        rings.append((a, [[float(x), float(y)] for x, y in ring]))
    rings.sort(key=lambda r: -r[0])
    if max_instances is not None:
        rings = rings[:max_instances]
    return [r for _, r in rings]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks of one shape (1.0 when both are empty)."""
    inter = int(np.logical_and(a, b).sum())
    union = int(np.logical_or(a, b).sum())
    return inter / union if union else 1.0


# ---------------------------------------------------------------- Dataloop's PNG

def png_data_uri(mask: np.ndarray, color: Sequence[int] | None = None) -> str:
    """A mask as Dataloop's binary coordinates: a ``data:image/png;base64,`` RGBA PNG, the mask in its alpha
    channel (255 set, 0 not), drawn in ``color`` (white by default, dtlpy's)."""
    from PIL import Image

    m = np.asarray(mask, dtype=bool)
    rgb = tuple(int(v) for v in color[:3]) if color is not None and len(color) >= 3 else (255, 255, 255)
    arr = np.zeros(m.shape + (4,), dtype=np.uint8)
    arr[m] = (*rgb, 255)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
