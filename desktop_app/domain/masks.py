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
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from desktop_app.domain.images import MAX_PIXELS
from desktop_app.errors import ValidationError

__all__ = [
    "MAX_MASK_PIXELS", "as_mask", "encode", "decode", "decode_box", "decode_crop", "rle_bbox", "counts_of",
    "counts_array", "counts_string", "area", "bbox",
    "rle_problem", "polygon_problem", "polygon_to_mask", "mask_to_polygons", "polygon_area", "label_map", "iou",
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


def _string_counts_array(s: str) -> np.ndarray | None:
    """_string_counts in numpy (each character's 5 bits shifted into its number, numbers split where a character
    has no continuation bit, then the deltas summed along the even and the odd runs); None where the string is
    one the plain loop must judge (a bad character, a number cut short or longer than 12 characters)."""
    b = np.frombuffer(s.encode("ascii", "replace"), dtype=np.uint8).astype(np.int64) - 48
    if b.size == 0:
        return np.zeros(0, np.int64)
    if b.min() < 0 or b.max() >= 64:
        return None
    last = (b & 0x20) == 0                                 # the last character of a number
    if not last[-1]:
        return None
    ends = np.flatnonzero(last)
    starts = np.concatenate(([0], ends[:-1] + 1))
    k = np.arange(b.size) - np.repeat(starts, ends - starts + 1)
    if k.max() > 12:
        return None
    x = np.add.reduceat((b & 0x1F) << (5 * k), starts)
    negative = (b[ends] & 0x10) != 0
    x[negative] -= np.int64(1) << (5 * (k[ends[negative]] + 1))
    out = x.copy()
    for first in (3, 4):                                   # out[i] = x[i] + out[i - 2] for i > 2
        if out.size > first:
            out[first - 2::2] = np.cumsum(np.concatenate(([out[first - 2]], x[first::2])))
    return out


def counts_array(rle: dict[str, Any]) -> np.ndarray:
    """``counts_of(rle)`` as an int64 array, a compressed string read with numpy (a few hundred times fewer Python
    steps on a large mask); what counts_of refuses, refused the same (ValueError)."""
    c = rle.get("counts") if isinstance(rle, dict) else None
    if isinstance(c, bytes):
        try:
            c = c.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("the counts string is not ASCII") from None
    if isinstance(c, str) and c.isascii():
        out = _string_counts_array(c)
        if out is not None:
            return out
    return np.asarray(counts_of(rle), dtype=np.int64)


def _checked_runs(rle: dict[str, Any]) -> tuple[int, int, np.ndarray]:
    """(h, w, run boundaries): the flat (column-major) index where each run starts, then h * w; ValueError as
    decode's."""
    h, w = (int(v) for v in rle["size"])
    counts = counts_array(rle)
    if counts.size and counts.min() < 0:
        raise ValueError("RLE counts hold a negative run")
    ends = np.concatenate(([0], np.cumsum(counts)))
    if int(ends[-1]) != h * w:
        raise ValueError(f"RLE counts cover {int(ends[-1])} pixels, the {h}x{w} mask has {h * w}")
    return h, w, ends


def _box_pixels(h: int, w: int, ends: np.ndarray, box: Sequence[float]) -> np.ndarray:
    l, t = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    r, b = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if r <= l or b <= t:
        return np.zeros((max(0, b - t), max(0, r - l)), dtype=bool)
    bh = b - t
    lo, hi = l * h, r * h
    # runs whose span meets [lo, hi): from the one holding lo to the one holding hi - 1
    first = max(0, int(np.searchsorted(ends, lo, side="right")) - 1)
    last = int(np.searchsorted(ends, hi, side="left"))
    edges = np.clip(ends[first:last + 1], lo, hi) - lo
    col, row = np.divmod(edges, h)
    f = col * bh + np.clip(row - t, 0, bh)
    values = (np.arange(first, first + f.size - 1) % 2) == 1
    flat = np.repeat(values, np.diff(f))
    return np.ascontiguousarray(flat.reshape((r - l, bh)).T)


def _runs_bbox(h: int, ends: np.ndarray) -> list[float] | None:
    starts, stops = ends[1:-1:2], ends[2::2]          # the set runs: [start, stop) flat
    keep = stops > starts
    starts, stops = starts[keep], stops[keep] - 1
    if not starts.size:
        return None
    c0, r0 = np.divmod(starts, h)
    c1, r1 = np.divmod(stops, h)
    one_col = c0 == c1                                   # a run over two columns or more covers rows 0 .. h-1
    top = int(np.where(one_col, r0, 0).min())
    bottom = int(np.where(one_col, r1, h - 1).max())
    return [float(c0.min()), float(top), float(c1.max() + 1), float(bottom + 1)]


def decode_box(rle: dict[str, Any], box: Sequence[float]) -> np.ndarray:
    """``decode(rle)[top:bottom, left:right]`` for a box [left, top, right, bottom] (pixel corners; rounded
    outwards, clipped to the mask), without decoding the rest: only the runs that reach the box's columns are
    read, and each is mapped to the pixels of the box it covers, so the work is the box's area plus the runs.
    (Column-major: a run's pixels in columns l..r-1 and rows t..b-1, in the box's own column-major order, are
    the ones between f(start) and f(end), where f(p) counts the box's pixels before flat index p.)"""
    h, w, ends = _checked_runs(rle)
    return _box_pixels(h, w, ends, box)


def rle_bbox(rle: dict[str, Any]) -> list[float] | None:
    """``bbox(decode(rle))`` read from the runs alone ([left, top, right, bottom], pixel corners); None when
    the mask is empty."""
    h, _w, ends = _checked_runs(rle)
    return _runs_bbox(h, ends)


def decode_crop(rle: dict[str, Any]) -> tuple[list[float] | None, np.ndarray]:
    """(rle_bbox(rle), the mask's pixels in that box) with the counts read once; (None, a 0 x 0 array) when the
    mask is empty."""
    h, w, ends = _checked_runs(rle)
    box = _runs_bbox(h, ends)
    if box is None:
        return None, np.zeros((0, 0), dtype=bool)
    return box, _box_pixels(h, w, ends, box)


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


# Directions along pixel edges (screen coordinates, y down): east, south, west, north; d + 1 turns right.
_DX = np.array([1, 0, -1, 0], dtype=np.int64)
_DY = np.array([0, 1, 0, -1], dtype=np.int64)


def _boundary_edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pixel edge between a set pixel and an unset one (or the border), directed clockwise around the set
    pixels: (x, y) of its start corner and its direction (index into _DX / _DY)."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1]
    xs, ys, ds = [], [], []
    # top edges run east from (x, y); right edges south from (x+1, y); bottom west from (x+1, y+1); left north
    # from (x, y+1)
    for d, (dy, dx), (ox, oy) in ((0, (-1, 0), (0, 0)), (1, (0, 1), (1, 0)), (2, (1, 0), (1, 1)),
                                  (3, (0, -1), (0, 1))):
        nb = m[1 + dy:m.shape[0] - 1 + dy, 1 + dx:m.shape[1] - 1 + dx]
        y, x = np.nonzero(inner & ~nb)
        xs.append(x + ox)
        ys.append(y + oy)
        ds.append(np.full(x.size, d, dtype=np.int64))
    return np.concatenate(xs).astype(np.int64), np.concatenate(ys).astype(np.int64), np.concatenate(ds)


def _loops(x: np.ndarray, y: np.ndarray, d: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The closed outlines the edges make: (edge indices, outline after outline in walking order; where each
    outline starts in it). Each edge is followed by the edge leaving its end corner; where two leave it (two set
    pixels touching only at that corner) the right turn, so each pixel's own outline is followed: a
    permutation, whose cycles are the outlines."""
    n = x.size
    stride = width + 1
    key = (y * stride + x) * 4 + d
    order = np.argsort(key, kind="stable")
    skey = key[order]
    end = (y + _DY[d]) * stride + (x + _DX[d])
    nxt = np.full(n, -1, dtype=np.int64)
    for turn in (1, 0, 3):   # right, straight on, left
        want = end * 4 + (d + turn) % 4
        pos = np.minimum(np.searchsorted(skey, want), n - 1)
        hit = (skey[pos] == want) & (nxt < 0)
        nxt[hit] = order[pos[hit]]
    follow = nxt.tolist()
    seen = bytearray(n)
    walk: list[int] = []
    starts: list[int] = []
    for s in range(n):
        if seen[s]:
            continue
        starts.append(len(walk))
        e = s
        while not seen[e]:
            seen[e] = 1
            walk.append(e)
            e = follow[e]
    return np.asarray(walk, dtype=np.int64), np.asarray(starts, dtype=np.int64)


def _simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring (split at the point farthest from the first); a stack, not recursion, so
    a long outline cannot exhaust Python's recursion limit."""
    if ring.shape[0] <= 4 or tolerance <= 0:
        return ring
    far = int(np.argmax(((ring - ring[0]) ** 2).sum(1)))
    pts = np.concatenate([ring, ring[:1]])
    keep = np.zeros(pts.shape[0], dtype=bool)
    keep[[0, far, pts.shape[0] - 1]] = True
    stack = [(0, far), (far, pts.shape[0] - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, ab = pts[i], pts[j] - pts[i]
        rel = pts[i + 1:j] - a
        norm = float(np.hypot(*ab))
        dist = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / norm if norm else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    out = pts[:-1][keep[:-1]]
    return out if out.shape[0] >= 3 else ring


def mask_to_polygons(mask: np.ndarray, *, tolerance: float = 0.0, min_area: float = 0.0,
                     max_instances: int | None = None) -> list[list[list[float]]]:
    """The outer outlines of a mask's parts as rings of [x, y] (pixel corners, clockwise on screen), largest
    first. Traced along pixel edges (no OpenCV): with ``tolerance`` 0 each ring rasterises back to its part's
    pixels exactly (holes are not kept: COCO and YOLO polygons cannot mark them); ``tolerance`` > 0 runs
    through the pixel edges' midpoints and drops vertices within that many pixels of it (Douglas-Peucker).
    Parts touching only at a corner are separate rings. ``min_area`` drops smaller rings; ``max_instances``
    keeps that many of the largest."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValidationError(f"mask must be a 2-D (height, width) array, got shape {tuple(m.shape)}")
    x, y, d = _boundary_edges(m)
    if x.size == 0:
        return []
    walk, starts = _loops(x, y, d, m.shape[1])
    ends = np.append(starts[1:], walk.size)
    # shoelace over each outline's edges: an edge from (x, y) one step along (dx, dy) adds x*dy - dx*y
    areas = np.add.reduceat((x * _DY[d] - _DX[d] * y)[walk], starts) / 2.0
    dirs = d[walk]
    before = np.roll(dirs, 1)
    before[starts] = dirs[ends - 1]
    corner = dirs != before                                  # where the outline turns
    turns = np.add.reduceat(corner.astype(np.int64), starts)
    # a hole's outline runs the other way round (negative area): only the outer outlines are kept
    keep = np.flatnonzero((areas > 0) & (areas >= min_area) & (turns >= 3))
    keep = keep[np.argsort(-areas[keep], kind="stable")]
    if max_instances is not None:
        keep = keep[:max_instances]
    rings = []
    for k in keep.tolist():
        loop = walk[starts[k]:ends[k]]
        if tolerance > 0:
            # through the midpoints of the pixel edges: a staircase's midpoints lie on the line it steps along
            full = np.stack([x[loop], y[loop]], axis=1).astype(np.float64)
            pts = _simplify((full + np.roll(full, -1, axis=0)) / 2, tolerance)
        else:
            c = loop[corner[starts[k]:ends[k]]]
            pts = np.stack([x[c], y[c]], axis=1).astype(np.float64)
        rings.append(pts.tolist())
    return rings


def label_map(shapes: Iterable[tuple[int, str, Any]], height: int, width: int, *, fill: int = 255,
              ignore: dict[str, Any] | None = None) -> np.ndarray:
    """A (height, width) uint8 class-index map (semantic segmentation's form): ``fill`` where nothing is drawn,
    then each (class index, 'binary' or 'segment', compact coordinates) of ``shapes`` in order (a later one
    over an earlier one), then ``ignore`` (an RLE mask) as 255. ValueError for a mask of another size or
    counts that do not cover it."""
    out = np.full((height, width), fill, dtype=np.uint8)
    for k, kind, coords in shapes:
        if kind == "binary":
            problem = rle_problem(coords, width, height, allow_empty=True)
            if problem:
                raise ValueError(problem)
            out[decode(coords)] = k
        elif kind == "segment":
            out[polygon_to_mask(coords, height, width)] = k
        else:
            raise ValueError(f"a label map is drawn from masks and polygons, not {kind!r}")
    if ignore is not None:
        out[decode(ignore)] = 255
    return out


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
