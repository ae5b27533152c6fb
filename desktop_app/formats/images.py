"""Helpers shared by the format modules: image headers and checks, item names, masks, geometry, file copies."""

from __future__ import annotations

import functools
import logging
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any


from desktop_app.catalog.names import name_problem
from desktop_app.domain import masks as _masks
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.images import (DECODE_ERRORS, MAX_PIXELS, ImageProblem, header_size,  # re-exported
                                       open_image, read_size)
from desktop_app.errors import FormatError
from desktop_app.formats.imagecheck import Damaged, TooLarge, check_decodes

logger = logging.getLogger(__name__)

__all__ = [
    "DECODE_ERRORS", "MAX_PIXELS", "ImageProblem", "header_size", "open_image", "read_size", "IMAGE_EXTENSIONS",
    "COPY_MODES", "SPLIT_DIRS", "SUBSET_DIRS", "is_image_file", "tolerance", "check_size", "verify_image",
    "verify_images", "clean_name", "check_unique", "split_subset", "dedupe_split_names", "rle_counts", "rle_string",
    "rle_decode", "rle_encode", "rle_area", "rle_bbox", "is_number", "MAX_LABEL", "unicode_problem",
    "label_problem", "validate_annotation", "bounds", "entry_size", "place_image", "unique_targets", "all_labels",
    "log_dropped",
]


IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
COPY_MODES = ("copy", "hardlink", "symlink", "none")
# Folder names that mean a subset, in every layout that encodes subsets as folders.
SPLIT_DIRS = {"train": "train", "val": "validation", "valid": "validation", "validation": "validation", "test": "test"}
SUBSET_DIRS = {"train": "train", "validation": "val", "test": "test"}


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def tolerance(side: float) -> float:
    """How far (pixels) geometry may stick out of an image side before it counts as malformed."""
    return max(2.0, 0.01 * side)


# ---------------------------------------------------------------- image files

def check_size(path: Path, declared: tuple[Any, Any], *, entry: str | None = None) -> tuple[int, int]:
    """Header size of ``path``; a declared (width, height) that disagrees with the file is an error."""
    w, h = read_size(path, entry=entry)
    dw, dh = declared
    if dw is not None and dh is not None and (dw, dh) != (w, h):
        raise FormatError(f"declared size {dw}x{dh} but the image file is {w}x{h}", file=str(path), entry=entry)
    return w, h


def _problem(path: Path, full: bool) -> str | None:
    try:
        w, h = header_size(path)
        if full:
            # Every byte a decoder reads, without holding the decoded image (imagecheck); a truncated file
            # fails here as long as nobody set ImageFile.LOAD_TRUNCATED_IMAGES, which hides truncation.
            check_decodes(path, w, h)
        else:
            with open_image(path) as im:
                im.verify()  # PNG: checks chunk CRCs and the end marker
    except (ImageProblem, TooLarge) as e:
        return str(e)
    except Damaged as e:
        return f"image is damaged or truncated ({e})"
    except DECODE_ERRORS as e:
        return f"image is damaged or truncated ({e})"
    return None


def verify_image(path: Path, *, full: bool = True) -> None:
    """Raise FormatError naming ``path`` if it cannot be decoded; ``full`` decodes every pixel."""
    msg = _problem(Path(path), full)
    if msg:
        raise FormatError(msg, file=str(path))


def verify_images(bundle: DatasetBundle, full: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Check every item's image decodes; the FormatError names the first bad file and counts the rest."""
    bad: list[tuple[ImageEntry, str]] = []
    total = len(bundle.items)
    for i, it in enumerate(bundle.items):
        if it.source is not None:
            msg = _problem(Path(it.source), full)
            if msg:
                bad.append((it, msg))
        if progress is not None:
            progress(i + 1, total)
    if bad:
        it, msg = bad[0]
        more = f" (and {len(bad) - 1} more bad images)" if len(bad) > 1 else ""
        raise FormatError(msg + more, file=str(it.source), entry=it.name)


# ---------------------------------------------------------------- names

def clean_name(name: Any, *, file: str | None = None, entry: str | None = None) -> str:
    """A dataset-relative '/' path: no leading '/', no '..', no drive, not empty."""
    if not isinstance(name, str) or not name.strip():
        raise FormatError(f"file name must be a non-empty string, got {name!r}", file=file, entry=entry)
    problem = unicode_problem(name)
    if problem:
        raise FormatError(f"file name {name!r:.80} {problem}", file=file, entry=entry)
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or parts[0].endswith(":"):
        raise FormatError(f"file name {name!r} must stay inside the dataset", file=file, entry=entry)
    clean = "/".join(parts)
    problem = name_problem(clean)  # the catalog's rule for every stored name (control characters, length)
    if problem:
        raise FormatError(f"file name {name!r} {problem}", file=file, entry=entry)
    return clean


def check_unique(names: Iterable[tuple[str, str]], *, file: str | None = None) -> None:
    """names: (name, where) pairs; a repeated name is an error naming both places."""
    seen: dict[str, str] = {}
    for name, where in names:
        if name in seen:
            raise FormatError(f"duplicate file name {name!r} (also {seen[name]})", file=file, entry=where)
        seen[name] = where


def split_subset(parts: tuple[str, ...]) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Pull the first split folder out of a relative path: (subset, that folder, remaining parts)."""
    for i, p in enumerate(parts[:-1]):
        if p.lower() in SPLIT_DIRS:
            return SPLIT_DIRS[p.lower()], p, parts[:i] + parts[i + 1:]
    return None, None, parts


def dedupe_split_names(rows: list[tuple[str | None, str, str]]) -> list[str]:
    """rows: (split folder or None, name inside it, where). Names normally drop the split folder; if that
    makes two names equal (same file in train and val), every name keeps its split folder instead."""
    plain = [n for _, n, _ in rows]
    if len(set(plain)) == len(plain):
        return plain
    names = [f"{d}/{n}" if d else n for d, n, _ in rows]
    check_unique(zip(names, (w for _, _, w in rows)))
    return names


# ---------------------------------------------------------------- masks (COCO RLE, column-major)
# The format modules' names for domain.masks (the one RLE code: pycocotools' compressed strings, checked runs).

rle_string = _masks.counts_string
rle_encode = _masks.encode
rle_decode = _masks.decode
rle_area = _masks.area


def rle_counts(counts: Any) -> list[int]:
    """Run lengths from an uncompressed list or a COCO compressed string (ValueError otherwise)."""
    return _masks.counts_of({"counts": counts})


def rle_bbox(rle: dict[str, Any]) -> list[float]:
    """[x, y, w, h] of the mask's pixels, as pycocotools' toBbox (all zeros for an empty mask)."""
    box = _masks.bbox(_masks.decode(rle))
    if box is None:
        return [0.0, 0.0, 0.0, 0.0]
    left, top, right, bottom = box
    return [float(left), float(top), float(right - left), float(bottom - top)]


# ---------------------------------------------------------------- geometry

_FLOAT_MAX = int(sys.float_info.max)


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool), one that converts to a float: JSON's 10**400 does not."""
    t = type(v)
    if t is float:  # the hot path of every coordinate read
        return v - v == 0.0  # False for inf and nan
    if t is int:
        return -_FLOAT_MAX <= v <= _FLOAT_MAX
    if t is bool or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _inside(xs: list[float], ys: list[float], w: int | None, h: int | None) -> bool:
    if w is None or h is None:
        return True
    tw, th = tolerance(w), tolerance(h)
    return min(xs) >= -tw and max(xs) <= w + tw and min(ys) >= -th and max(ys) <= h + th


MAX_LABEL = 1024


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text (JSON's "\\ud800" escape gives Python an unpaired surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"holds an unpaired surrogate {text[e.start]!r} (not valid Unicode)"
    return None


def label_problem(label: Any) -> str | None:
    """Why ``label`` cannot be a label (or a model's name), or None when it can."""
    if not isinstance(label, str) or not label.strip():
        return f"must be a non-empty string, got {label!r:.60}"
    return _text_problem(label)


@functools.lru_cache(maxsize=4096)  # a set repeats its few labels on every annotation
def _text_problem(label: str) -> str | None:
    if len(label) > MAX_LABEL:
        return f"is {len(label)} characters long, over the limit of {MAX_LABEL}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in label):
        return f"{label!r:.60} holds a control character"
    return unicode_problem(label)


def validate_annotation(a: Annotation, width: int | None, height: int | None, *,
                        file: str | None = None, entry: str | None = None) -> None:
    """Check one annotation's label (and its model's name) and compact coordinates against its image size."""
    def bad(msg: str) -> FormatError:
        return FormatError(msg, file=file, entry=entry)

    problem = label_problem(a.label)
    if problem:
        raise bad(f"label {problem}")
    problem = None if a.model_name is None else label_problem(a.model_name)
    if problem:
        raise bad(f"model name {problem}")
    if a.score is not None and not is_number(a.score):
        raise bad(f"score must be a number, got {a.score!r}")
    c = a.coordinates
    if a.type == "class":
        return
    if a.type == "box":
        if not (isinstance(c, (list, tuple)) and len(c) == 4 and all(is_number(v) for v in c)):
            raise bad(f"box must be 4 finite numbers, got {c!r}")
        l, t, r, b = c
        if r <= l or b <= t:
            raise bad(f"box has a negative or zero size: width {r - l:g}, height {b - t:g}")
        if not _inside([l, r], [t, b], width, height):
            raise bad(f"box {[round(v, 2) for v in c]} lies outside the {width}x{height} image")
    elif a.type == "segment":
        if not isinstance(c, list) or not c:
            raise bad("segment must be a non-empty list of rings")
        for ring in c:
            if not (isinstance(ring, list) and len(ring) >= 3 and all(
                    isinstance(p, (list, tuple)) and len(p) == 2 and all(map(is_number, p)) for p in ring)):
                raise bad("each polygon ring needs at least 3 [x, y] points of finite numbers")
            if not _inside([p[0] for p in ring], [p[1] for p in ring], width, height):
                raise bad(f"polygon lies outside the {width}x{height} image")
    elif a.type == "point":
        if not (isinstance(c, (list, tuple)) and len(c) == 2 and all(is_number(v) for v in c)):
            raise bad(f"point must be [x, y], got {c!r}")
        if not _inside([c[0]], [c[1]], width, height):
            raise bad(f"point {list(c)} lies outside the {width}x{height} image")
    elif a.type == "binary":
        if not (isinstance(c, dict) and isinstance(c.get("size"), (list, tuple)) and len(c["size"]) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in c["size"])):
            raise bad("binary mask needs {'size': [h, w], 'counts': ...}")
        h, w = c["size"]
        if h * w > MAX_PIXELS:
            raise bad(f"mask size {h}x{w} is over the {MAX_PIXELS // 1_000_000} MP limit")
        if width is not None and height is not None and (h, w) != (height, width):
            raise bad(f"mask size {h}x{w} (h x w) does not match the {height}x{width} image")
        try:
            counts = rle_counts(c.get("counts"))
        except (TypeError, ValueError) as e:
            raise bad(f"bad RLE counts ({e})") from None
        if sum(counts) != h * w or any(v < 0 for v in counts):
            raise bad(f"RLE counts cover {sum(counts)} pixels, expected {h * w}")
    else:
        raise bad(f"unknown annotation type {a.type!r}")
    if a.score is not None and not is_number(a.score):
        raise bad(f"score must be a number, got {a.score!r}")


def bounds(a: Annotation) -> list[float] | None:
    """[l, t, r, b] of a box, polygon or mask; None for class / point / empty masks."""
    if a.type == "box":
        return [float(v) for v in a.coordinates]
    if a.type == "segment":
        xs = [p[0] for ring in a.coordinates for p in ring]
        ys = [p[1] for ring in a.coordinates for p in ring]
        return [min(xs), min(ys), max(xs), max(ys)]
    if a.type == "binary":
        x, y, w, h = rle_bbox(a.coordinates)
        return [x, y, x + w, y + h] if w > 0 else None
    return None


# ---------------------------------------------------------------- writing

def entry_size(it: ImageEntry) -> tuple[int, int]:
    """An item's (width, height), from the entry or else the source header."""
    if it.width and it.height:
        return int(it.width), int(it.height)
    if it.source is None:
        raise FormatError("image size unknown and no source file to read it from", entry=it.name)
    return read_size(it.source, entry=it.name)


def place_image(it: ImageEntry, dst: Path, mode: str = "copy") -> None:
    """Copy / hard-link / symlink an item's source to ``dst`` ('none' writes nothing)."""
    if mode not in COPY_MODES:
        raise ValueError(f"copy_images must be one of {COPY_MODES}, got {mode!r}")
    if mode == "none":
        return
    if it.source is None or not Path(it.source).is_file():
        raise FormatError("image file missing", file=str(it.source) if it.source else None, entry=it.name)
    src = Path(it.source)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        if dst.exists() and os.path.samefile(src, dst):
            return
        dst.unlink()
    if mode == "hardlink":
        try:
            os.link(src, dst)
            return
        except OSError:  # other device / filesystem without links: fall back to a copy
            pass
    elif mode == "symlink":
        dst.symlink_to(src.resolve())
        return
    shutil.copy2(src, dst)


def unique_targets(paths: Iterable[tuple[PurePosixPath | str, str]]) -> None:
    """Two items written to one output path would overwrite each other."""
    check_unique((str(p), where) for p, where in paths)


def all_labels(bundle: DatasetBundle) -> list[str]:
    """bundle.labels followed by any label used in annotations but missing there (first-use order)."""
    labels = list(dict.fromkeys(bundle.labels))
    known = set(labels)
    for it in bundle.items:
        for a in it.annotations:
            if a.label not in known:
                known.add(a.label)
                labels.append(a.label)
    return labels


def log_dropped(fmt: str, dropped: dict[str, int], converted: dict[str, int] | None = None) -> None:
    """One warning per export for annotations the format cannot hold (and ones it holds only as boxes)."""
    if dropped:
        what = ", ".join(f"{n} {k}" for k, n in sorted(dropped.items()))
        logger.warning("%s export: left out %s annotations the format cannot hold", fmt, what)
    if converted:
        what = ", ".join(f"{n} {k}" for k, n in sorted(converted.items()))
        logger.warning("%s export: wrote %s annotations as their bounding boxes", fmt, what)
