"""Fixing a mask or a polygon by hand, as data: brush / eraser strokes on a boolean mask, polygon vertex moves,
inserts and deletes, with the checks that refuse an edit leaving a shape the catalog should not store.

Coordinates follow domain.masks: pixel (x, y) covers [x, x+1) x [y, y+1), so a brush disc of radius r centred at
(cx, cy) sets the pixels whose centres (x + 0.5, y + 0.5) lie within r of the stroke. No Qt here; the GUI's mask
editor (gui/widgets/mask_editor.py) drives these functions and turns their results into undoable catalog edits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from desktop_app.errors import ValidationError

Point = tuple[float, float]
Rings = list[list[list[float]]]

MIN_RADIUS, MAX_RADIUS = 1, 200


def clamp_radius(r: float) -> int:
    return int(max(MIN_RADIUS, min(MAX_RADIUS, round(r))))


# ---------------------------------------------------------------- brush / eraser

def paint_stroke(mask: np.ndarray, p0: Point, p1: Point, radius: float, value: bool = True
                 ) -> tuple[int, int, int, int] | None:
    """Set (brush, value True) or clear (eraser, False) in place the pixels of `mask` whose centres lie within
    `radius` of the segment p0 -> p1 (scene / image coordinates); a click is a segment of length 0 (a disc).
    Returns the box touched (left, top, right, bottom; right / bottom exclusive), None when the stroke misses the
    image."""
    h, w = mask.shape
    r = float(radius)
    (x0, y0), (x1, y1) = (float(v) for v in p0), (float(v) for v in p1)
    left = max(0, int(math.floor(min(x0, x1) - r - 0.5)))
    top = max(0, int(math.floor(min(y0, y1) - r - 0.5)))
    right = min(w, int(math.ceil(max(x0, x1) + r + 0.5)))
    bottom = min(h, int(math.ceil(max(y0, y1) + r + 0.5)))
    if left >= right or top >= bottom:
        return None
    ys, xs = np.mgrid[top:bottom, left:right]
    px, py = xs + 0.5 - x0, ys + 0.5 - y0
    dx, dy = x1 - x0, y1 - y0
    seg = dx * dx + dy * dy
    if seg > 0:   # distance to the segment: project onto it, clamped to its ends
        t = np.clip((px * dx + py * dy) / seg, 0.0, 1.0)
        px, py = px - t * dx, py - t * dy
    disc = px * px + py * py <= r * r
    view = mask[top:bottom, left:right]
    view[disc] = bool(value)
    return left, top, right, bottom


def stroke_problem(before: np.ndarray, after: np.ndarray) -> str | None:
    """Why a finished stroke should not be saved, or None: it would leave the mask empty (a mask annotation
    with no pixel is refused by the catalog; delete the annotation instead)."""
    if not after.any():
        return ("that would erase every pixel of the mask, and an empty mask cannot be stored; "
                "delete the annotation instead (Del)" if before.any() else "the mask is empty")
    return None


# ---------------------------------------------------------------- polygons

def as_rings(coordinates: object) -> Rings:
    """A segment's stored coordinates as a fresh list of rings of [x, y] floats (ValidationError if malformed)."""
    if not isinstance(coordinates, (list, tuple)) or not coordinates:
        raise ValidationError("a polygon needs a non-empty list of rings")
    out: Rings = []
    for k, ring in enumerate(coordinates):
        if not isinstance(ring, (list, tuple)):
            raise ValidationError(f"polygon ring {k} is not a list of [x, y] points")
        pts = []
        for j, p in enumerate(ring):
            if not (isinstance(p, (list, tuple)) and len(p) >= 2):
                raise ValidationError(f"polygon ring {k} point {j} is not [x, y]: {p!r:.40}")
            pts.append([float(p[0]), float(p[1])])
        out.append(pts)
    return out


def ring_area(ring: Sequence[Sequence[float]]) -> float:
    a = np.asarray(ring, np.float64)
    x, y = a[:, 0], a[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1, p2, q1, q2) -> bool:
    """Whether two segments cross properly (touching at an end does not count)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def self_intersects(ring: Sequence[Sequence[float]]) -> bool:
    """Whether two edges of a closed ring cross (neighbouring edges share a vertex and do not count)."""
    n = len(ring)
    edges = [(ring[i], ring[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def rings_problem(rings: Rings, width: int, height: int) -> str | None:
    """Why edited rings should not be saved, or None: a ring of fewer than 3 points, a point off the image, a
    ring with no area, or edges that cross."""
    if not rings:
        return "a polygon needs at least one ring"
    for k, ring in enumerate(rings):
        if len(ring) < 3:
            return f"polygon ring {k} would have {len(ring)} points; a polygon needs at least 3"
        for j, (x, y) in enumerate(ring):
            if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= width and 0 <= y <= height):
                return f"polygon ring {k} point {j} ({x:g}, {y:g}) lies outside the {width}x{height} image"
        if self_intersects(ring):
            return f"polygon ring {k} would cross itself"
        if ring_area(ring) < 1e-6:
            return f"polygon ring {k} would have no area (its points are in one line)"
    return None


def _checked(rings: Rings, width: int, height: int) -> Rings:
    why = rings_problem(rings, width, height)
    if why is not None:
        raise ValidationError(why)
    return rings


def _clamp(p: Point, width: int, height: int) -> list[float]:
    return [round(min(max(float(p[0]), 0.0), float(width)), 2), round(min(max(float(p[1]), 0.0), float(height)), 2)]


def move_vertex(rings: Rings, ring: int, vertex: int, to: Point, width: int, height: int) -> Rings:
    """New rings with one vertex moved to `to` (kept on the image); ValidationError if the ring would cross."""
    out = [list(map(list, r)) for r in rings]
    out[ring][vertex] = _clamp(to, width, height)
    return _checked(out, width, height)


def insert_vertex(rings: Rings, ring: int, edge: int, at: Point, width: int, height: int) -> Rings:
    """New rings with a vertex at `at` on edge `edge` (between vertex edge and edge + 1) of ring `ring`."""
    out = [list(map(list, r)) for r in rings]
    out[ring].insert(edge + 1, _clamp(at, width, height))
    return _checked(out, width, height)


def delete_vertex(rings: Rings, ring: int, vertex: int, width: int, height: int) -> Rings:
    """New rings without one vertex; refused (ValidationError) when its ring would keep fewer than 3 points."""
    if len(rings[ring]) <= 3:
        raise ValidationError(f"polygon ring {ring} has only {len(rings[ring])} points; a polygon needs at least "
                              f"3, so this vertex cannot be removed (delete the annotation instead)")
    out = [list(map(list, r)) for r in rings]
    del out[ring][vertex]
    return _checked(out, width, height)


def nearest_vertex(rings: Rings, p: Point, tolerance: float) -> tuple[int, int] | None:
    """(ring, vertex) of the vertex nearest `p` within `tolerance`, None if none is that close."""
    best, found = tolerance * tolerance, None
    for k, ring in enumerate(rings):
        for j, (x, y) in enumerate(ring):
            d = (x - p[0]) ** 2 + (y - p[1]) ** 2
            if d <= best:
                best, found = d, (k, j)
    return found


def nearest_edge(rings: Rings, p: Point, tolerance: float) -> tuple[int, int, Point] | None:
    """(ring, edge, the nearest point on it) of the edge nearest `p` within `tolerance`; edge i joins vertex i
    to vertex i + 1 (the last closes the ring)."""
    best, found = tolerance * tolerance, None
    for k, ring in enumerate(rings):
        n = len(ring)
        for i in range(n):
            (ax, ay), (bx, by) = ring[i], ring[(i + 1) % n]
            dx, dy = bx - ax, by - ay
            seg = dx * dx + dy * dy
            t = 0.0 if seg == 0 else min(1.0, max(0.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / seg))
            qx, qy = ax + t * dx, ay + t * dy
            d = (qx - p[0]) ** 2 + (qy - p[1]) ** 2
            if d <= best:
                best, found = d, (k, i, (qx, qy))
    return found


def point_in_rings(rings: Rings, p: Point) -> bool:
    """Whether `p` lies inside any ring (even-odd rule per ring; rings are a union, as in COCO)."""
    x, y = p
    for ring in rings:
        inside = False
        n = len(ring)
        for i in range(n):
            (ax, ay), (bx, by) = ring[i], ring[(i + 1) % n]
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                inside = not inside
        if inside:
            return True
    return False
