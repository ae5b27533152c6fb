"""Mask (segm) IoU, area and bbox: pycocotools' mask module when installed, else a numpy twin of it."""

from __future__ import annotations

import numpy as np

try:  # pycocotools is optional at run time
    from pycocotools import mask as _mu
except ImportError:  # pragma: no cover - exercised by forcing the numpy backend in tests
    _mu = None

_force_numpy = False


def use_numpy(flag: bool = True) -> None:
    """Force the numpy backend (tests compare the two)."""
    global _force_numpy
    _force_numpy = flag


def _backend():
    return None if _force_numpy else _mu


# -- numpy twin of the COCO mask API -------------------------------------------------------------
# Same rules as maskApi.c (5x upsampled polygon boundary, column-major RLE, the compressed string,
# an RLE's bbox) so masks agree pixel for pixel; dense arrays: slower, but no compiled code needed.


def poly_to_mask(poly, h: int, w: int) -> np.ndarray:
    """Rasterise one polygon [x0, y0, x1, y1, ...] exactly as maskApi's rleFrPoly; column-major flat bool."""
    xy = np.asarray(poly, np.float64).reshape(-1, 2)
    scale = 5.0
    x = (scale * xy[:, 0] + 0.5).astype(np.int64)  # C (int) cast truncates toward zero; so does astype
    y = (scale * xy[:, 1] + 0.5).astype(np.int64)
    x, y = np.append(x, x[0]), np.append(y, y[0])
    us, vs = [], []
    for j in range(xy.shape[0]):
        xs, xe, ys, ye = int(x[j]), int(x[j + 1]), int(y[j]), int(y[j + 1])
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            s = (ye - ys) / dx if dx else 0.0
            t = np.arange(dx + 1)
            t = dx - t if flip else t
            us.append(t + xs)
            vs.append((ys + s * t + 0.5).astype(np.int64))
        else:
            s = (xe - xs) / dy
            t = np.arange(dy + 1)
            t = dy - t if flip else t
            vs.append(t + ys)
            us.append((xs + s * t + 0.5).astype(np.int64))
    u, v = np.concatenate(us), np.concatenate(vs)
    # points where the boundary crosses a pixel column, downsampled back to pixel coordinates
    step = np.flatnonzero(u[1:] != u[:-1]) + 1
    uj, up, vj, vp = u[step], u[step - 1], v[step], v[step - 1]
    xd = (np.where(uj < up, uj, uj - 1) + 0.5) / scale - 0.5
    ok = (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    yd = (np.minimum(vj, vp)[ok] + 0.5) / scale - 0.5
    yd = np.ceil(np.clip(yd, 0, h))
    toggles = np.sort(np.append(xd[ok].astype(np.int64) * h + yd.astype(np.int64), h * w))
    # each boundary point toggles inside/outside from there on (column-major); pairs cancel
    flips = np.zeros(h * w + 1, np.int64)
    np.add.at(flips, toggles, 1)
    return (np.cumsum(flips[:-1]) % 2).astype(bool)


def counts_to_mask(counts, h: int, w: int) -> np.ndarray:
    counts = np.asarray(counts, np.int64)
    vals = np.arange(counts.shape[0]) % 2 == 1
    flat = np.repeat(vals, counts)
    if flat.shape[0] != h * w:
        raise ValueError(f"RLE counts cover {flat.shape[0]} pixels, the mask has {h * w}")
    return flat


def string_to_counts(s) -> list:
    """Decode the compressed RLE string (LEB128-like, 5 bits per char, deltas after the 3rd count)."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def to_dense(seg, h: int, w: int) -> np.ndarray:
    """Any COCO segmentation (polygons, uncompressed or compressed RLE) as a column-major flat bool mask."""
    if isinstance(seg, list):
        out = np.zeros(h * w, bool)
        for poly in seg:
            out |= poly_to_mask(poly, h, w)
        return out
    rh, rw = seg["size"]
    counts = seg["counts"]
    if not isinstance(counts, list):
        counts = string_to_counts(counts)
    return counts_to_mask(counts, rh, rw)


def dense_bbox(mask: np.ndarray, h: int) -> list:
    """bbox of a flat column-major mask with maskApi's rleToBbox rule (a run crossing columns spans full height)."""
    idx = np.flatnonzero(mask)
    if idx.shape[0] == 0:
        return [0.0, 0.0, 0.0, 0.0]
    brk = np.flatnonzero(np.diff(idx) != 1)
    starts = np.append(idx[0], idx[brk + 1])
    ends = np.append(idx[brk], idx[-1])
    xs, ys, xe, ye = starts // h, starts % h, ends // h, ends % h
    x0, x1 = int(min(xs.min(), xe.min())), int(max(xs.max(), xe.max()))
    y0, y1 = int(min(ys.min(), ye.min())), int(max(ys.max(), ye.max()))
    if (xs < xe).any():
        y0, y1 = 0, h - 1
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


# -- the API the evaluators use ------------------------------------------------------------------


def _rle(seg, h: int, w: int):
    """pycocotools' annToRLE."""
    if isinstance(seg, list):
        return _mu.merge(_mu.frPyObjects(seg, h, w))
    if isinstance(seg.get("counts"), list):
        return _mu.frPyObjects(seg, h, w)
    return seg


def area(segs: list) -> np.ndarray:
    """Pixel area of each RLE segmentation (what loadRes stores as a result's area)."""
    mu = _backend()
    if mu is not None:
        # At most 255 a call: pycocotools' area builds np.array((n,), dtype=np.uint8), which numpy 2 refuses
        # (OverflowError) for n > 255.
        parts = [np.asarray(mu.area(segs[i:i + 255]), np.float64).reshape(-1) for i in range(0, len(segs), 255)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float64)
    return np.array([float(to_dense(s, *s["size"]).sum()) for s in segs])


def to_bbox(segs: list) -> np.ndarray:
    mu = _backend()
    if mu is not None:
        return np.asarray(mu.toBbox(segs), np.float64).reshape(-1, 4)
    return np.array([dense_bbox(to_dense(s, *s["size"]), s["size"][0]) for s in segs]).reshape(-1, 4)


def pair_iou(dt_segs: list, gt_segs: list, d: np.ndarray, g: np.ndarray, crowd: np.ndarray,
             image_sizes: np.ndarray | None, gt_image: np.ndarray, dt_image: np.ndarray) -> np.ndarray:
    """Mask IoU of pairs (dt_segs[d[i]], gt_segs[g[i]]); a crowd's union is the detection's area.

    Pairs must come grouped by detection, and detections of one group (same ground-truth list)
    adjacent, as the evaluators make them: one mask-IoU call then serves a whole image/category.
    """
    out = np.zeros(d.shape[0])
    if d.shape[0] == 0:
        return out
    mu = _backend()

    def size(img):
        if image_sizes is None:
            raise ValueError("polygon segmentations need image height and width")
        return int(image_sizes[img][0]), int(image_sizes[img][1])

    cache_d, cache_g = {}, {}

    def conv(cache, segs, i, img):
        if i not in cache:
            seg = segs[i]
            if mu is not None:
                h, w = size(img) if isinstance(seg, list) or isinstance(seg.get("counts"), list) else (0, 0)
                cache[i] = _rle(seg, h, w)
            else:
                h, w = size(img) if isinstance(seg, list) else tuple(seg["size"])
                cache[i] = to_dense(seg, h, w)
        return cache[i]

    run = np.flatnonzero(np.diff(d) != 0) + 1
    starts, ends = np.append(0, run), np.append(run, d.shape[0])
    i = 0
    while i < starts.shape[0]:
        s, e = starts[i], ends[i]
        gts = g[s:e]
        j = i + 1  # following detections with the same ground-truth list share one call
        while j < starts.shape[0] and ends[j] - starts[j] == e - s and np.array_equal(g[starts[j]:ends[j]], gts):
            j += 1
        dets = d[starts[i:j]]
        dm = [conv(cache_d, dt_segs, int(x), dt_image[x]) for x in dets]
        gm = [conv(cache_g, gt_segs, int(x), gt_image[x]) for x in gts]
        cr = crowd[s:e]
        if mu is not None:
            block = np.asarray(mu.iou(dm, gm, cr.astype(np.uint8).tolist()), np.float64).reshape(len(dm), len(gm))
        else:
            block = _dense_iou(dm, gm, cr)
        out[s:s + block.size] = block.reshape(-1)
        i = j
    return out


def _dense_iou(dm: list, gm: list, crowd: np.ndarray) -> np.ndarray:
    a = np.stack(dm).astype(np.int64)
    b = np.stack(gm).astype(np.int64)
    inter = a @ b.T
    area_d, area_g = a.sum(1), b.sum(1)
    union = np.where(crowd[None, :], area_d[:, None], area_d[:, None] + area_g[None, :] - inter)
    return np.where(inter > 0, inter / np.maximum(union, 1), 0.0)


def iou_matrix(dt_segs: list, gt_segs: list, crowd: np.ndarray) -> np.ndarray:
    """(len(dt_segs), len(gt_segs)) mask IoUs of compressed RLEs of one image; a crowd's union is the
    detection's area (pycocotools' iou)."""
    crowd = np.asarray(crowd, bool)
    if not dt_segs or not gt_segs:
        return np.zeros((len(dt_segs), len(gt_segs)))
    mu = _backend()
    if mu is not None:
        return np.asarray(mu.iou(dt_segs, gt_segs, crowd.astype(np.uint8).tolist()), np.float64).reshape(
            len(dt_segs), len(gt_segs))
    return _dense_iou([to_dense(s, *s["size"]) for s in dt_segs], [to_dense(s, *s["size"]) for s in gt_segs], crowd)
