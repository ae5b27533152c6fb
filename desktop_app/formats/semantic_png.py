"""Semantic segmentation as class-index PNGs (Pascal VOC's SegmentationClass, Cityscapes-style label maps).

One single-channel PNG an image, each pixel a class index into a class list, 255 = ignore (VOC's object
borders, Cityscapes' unlabelled). Two layouts are read:
- ours (Cityscapes-style): ``images/[<split>/]<name>``, ``masks/[<split>/]<stem>.png``, ``classes.txt``
  (one class a line, line k = index k);
- Pascal VOC: ``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png`` (palette PNGs), subsets from
  ``ImageSets/Segmentation/{train,val,test}.txt``, classes from ``classes.txt`` / ``labels.txt`` or VOC's 21.

In the catalog an image holds one ``binary`` annotation a class present (its pixels as COCO RLE). The
background class (a class named background / _background_ / __background__, if the list has one) is not stored:
it is every pixel no annotation covers. The ignore pixels are kept in the item's metadata (``ignore_mask``,
RLE) and written back as 255. Without a background class, uncovered pixels are written as 255 (ignore).
Writing paints the masks and polygons in their order (a later one wins where two overlap).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from desktop_app.catalog.names import contained
from desktop_app.domain import masks
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats import limits
from desktop_app.formats.images import (
    IMAGE_EXTENSIONS, SUBSET_DIRS, all_labels, dedupe_split_names, entry_size, is_image_file, label_problem,
    log_dropped, place_image, read_size, split_subset, unique_targets,
)

logger = logging.getLogger(__name__)

__all__ = ["IGNORE_INDEX", "VOC_CLASSES", "CLASS_FILES", "BACKGROUND_NAMES", "read_semantic", "write_semantic",
           "label_map", "is_semantic_folder"]

IGNORE_INDEX = 255
MAX_CLASSES = 255  # indices 0..254; 255 is the ignore index
CLASS_FILES = ("classes.txt", "labels.txt")
BACKGROUND_NAMES = ("background", "_background_", "__background__")
VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
VOC_SPLITS = {"train": "train", "val": "validation", "test": "test"}


def is_semantic_folder(p: Path) -> bool:
    """A folder in one of the two layouts (used by formats.detect_format)."""
    return ((p / "SegmentationClass").is_dir() and (p / "JPEGImages").is_dir()) or (
        (p / "masks").is_dir() and (p / "images").is_dir() and any((p / f).is_file() for f in CLASS_FILES))


def _voc_palette() -> list[int]:
    """VOC's colour map (bit-interleaved), 255 white-ish: the masks look as VOC's do in any viewer."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    pal[3 * 255:3 * 256] = [224, 224, 192]
    return pal


def background_of(classes: list[str]) -> str | None:
    return next((c for c in classes if c.lower() in BACKGROUND_NAMES), None)


# ---------------------------------------------------------------- reading

def _classes(root: Path, classes: list[str] | None, voc: bool) -> tuple[list[str], str]:
    if classes is not None:
        names, where = [str(c) for c in classes], "classes argument"
    else:
        found = next((root / f for f in CLASS_FILES if (root / f).is_file()), None)
        if found is None:
            if not voc:
                raise FormatError(f"no class list: expected {' or '.join(CLASS_FILES)} (one class a line)",
                                  file=str(root))
            return list(VOC_CLASSES), "Pascal VOC's 21 classes"
        names = [ln.strip() for ln in limits.read_text(found).splitlines() if ln.strip()]
        where = str(found)
    if not names:
        raise FormatError("the class list is empty", file=where)
    if len(names) > MAX_CLASSES:
        raise FormatError(f"{len(names)} classes; a class-index PNG holds at most {MAX_CLASSES} (255 is ignore)",
                          file=where)
    for k, n in enumerate(names):
        problem = label_problem(n)
        if problem:
            raise FormatError(f"class name {problem}", file=where, entry=f"class {k}")
    if len(set(names)) != len(names):
        raise FormatError("duplicate class names", file=where)
    return names, where


def _read_map(path: Path, size: tuple[int, int], where: str) -> np.ndarray:
    """The class-index array of one PNG, checked against the image's (width, height) before decoding."""
    mw, mh = read_size(path, entry=where)
    if (mw, mh) != size:
        raise FormatError(f"label PNG is {mw}x{mh} but its image is {size[0]}x{size[1]} (mask size must equal "
                          f"the image size)", file=str(path), entry=where)
    if mw * mh > limits.MAX_DECODE_PIXELS:
        raise FormatError(f"label PNG is {mw * mh / 1e6:.0f} megapixels, over the "
                          f"{limits.MAX_DECODE_PIXELS // 1_000_000} MP a mask may decode to", file=str(path),
                          entry=where)
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise FormatError(f"a class-index PNG must have one channel (mode L or P), got {im.mode} "
                                  f"(a colour-coded mask needs its colours mapped to class indices first)",
                                  file=str(path), entry=where)
            return np.asarray(im).astype(np.int64, copy=False)
    except FormatError:
        raise
    except (OSError, ValueError, SyntaxError) as e:
        raise FormatError(f"label PNG cannot be decoded ({e})", file=str(path), entry=where) from None


def _annotations(arr: np.ndarray, classes: list[str], background: str | None, file: str,
                 where: str) -> tuple[list[Annotation], dict[str, Any]]:
    if arr.size and arr.min() < 0:
        raise FormatError(f"negative class index {int(arr.min())} in the label PNG", file=file, entry=where)
    present = np.bincount(arr.reshape(-1), minlength=256) if arr.size else np.zeros(256, np.int64)
    bad = [v for v in np.flatnonzero(present).tolist() if v >= len(classes) and v != IGNORE_INDEX]
    if bad:
        ys, xs = np.nonzero(arr == bad[0])
        raise FormatError(f"unknown class index {bad[0]} at pixel (x={int(xs[0])}, y={int(ys[0])}) "
                          f"({int(present[bad[0]])} pixels); the class list has {len(classes)} classes (0.."
                          f"{len(classes) - 1}) and {IGNORE_INDEX} is ignore"
                          + (f"; other unknown indices: {bad[1:6]}" if len(bad) > 1 else ""), file=file, entry=where)
    anns = []
    for k, name in enumerate(classes):
        if present[k] and name != background:
            anns.append(Annotation("binary", name, masks.encode(arr == k)))
    meta: dict[str, Any] = {}
    if present[IGNORE_INDEX]:
        meta["ignore_mask"] = masks.encode(arr == IGNORE_INDEX)
    return anns, meta


def _find_image(folder: Path, stem: str) -> Path | None:
    for ext in sorted(IMAGE_EXTENSIONS):
        for e in (ext, ext.upper()):
            p = folder / f"{stem}{e}"
            if p.is_file():
                return p
    return None


def _voc_subsets(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    sets = root / "ImageSets" / "Segmentation"
    for split, subset in VOC_SPLITS.items():
        f = sets / f"{split}.txt"
        if f.is_file():
            for ln in limits.read_text(f).splitlines():
                if ln.strip():
                    out.setdefault(ln.strip(), subset)
    return out


def read_semantic(root: str | Path, *, classes: list[str] | None = None,
                  background: str | None = "auto") -> DatasetBundle:
    """Read class-index PNGs with their images (either layout, see the module's docstring).

    ``classes`` overrides the class list; ``background`` names the class not stored as annotations ("auto": the
    one named background, if any; None: store every class). A PNG of another size than its image, not
    single-channel, or holding an index outside the class list (other than 255) is refused, naming it."""
    root = Path(root)
    if not root.is_dir():
        raise FormatError("not a folder", file=str(root))
    voc = (root / "SegmentationClass").is_dir()
    names, _ = _classes(root, classes, voc)
    bg = background_of(names) if background == "auto" else background
    if bg is not None and bg not in names:
        raise FormatError(f"background class {bg!r} is not in the class list", file=str(root))
    rows: list[tuple[Path, Path, str | None, str | None, str]] = []   # (png, image, subset, split dir, name)
    if voc:
        subsets = _voc_subsets(root)
        for png in sorted((root / "SegmentationClass").glob("*.png")):
            img = _find_image(root / "JPEGImages", png.stem)
            if img is None:
                raise FormatError("no image in JPEGImages/ for this label PNG", file=str(png))
            rows.append((png, img, subsets.get(png.stem), None, img.name))
    else:
        for png in sorted((root / "masks").rglob("*.png")):
            rel = png.relative_to(root / "masks")
            img = _find_image(root / "images" / rel.parent, rel.stem)
            if img is None:
                raise FormatError(f"no image images/{rel.with_suffix('.*').as_posix()} for this label PNG",
                                  file=str(png))
            subset, folder, rest = split_subset(img.relative_to(root / "images").parts)
            rows.append((png, img, subset, folder, "/".join(rest)))
        masked = {r[1] for r in rows}
        for img in sorted((root / "images").rglob("*")):
            if img.is_file() and is_image_file(img) and img not in masked:
                raise FormatError("no label PNG under masks/ for this image (one PNG an image, even an empty one)",
                                  file=str(img))
    if not rows:
        raise FormatError("no label PNGs found", file=str(root))
    item_names = dedupe_split_names([(folder, name, str(png)) for png, _, _, folder, name in rows])
    items = []
    for (png, img, subset, _, _), name in zip(rows, item_names):
        w, h = read_size(img, entry=name)
        arr = _read_map(png, (w, h), f"image {name}")
        anns, meta = _annotations(arr, names, bg, str(png), f"image {name}")
        items.append(ImageEntry(source=img, name=name, width=w, height=h, subset=subset, annotations=anns,
                                metadata=meta))
    return DatasetBundle(labels=names, items=items, info={"format": "semantic", "task": "semantic",
                                                          "ignore_index": IGNORE_INDEX, "background": bg})


# ---------------------------------------------------------------- writing

def label_map(it: ImageEntry, index: dict[str, int], *, fill: int = IGNORE_INDEX,
              dropped: dict[str, int] | None = None) -> np.ndarray:
    """The (height, width) uint8 class-index map of one item: ``fill`` where nothing is drawn, each mask and
    polygon in its class's index (later annotations over earlier ones), the item's ignore mask as 255.
    Predictions, boxes, points and image-level classes are left out (counted in ``dropped``)."""
    w, h = entry_size(it)
    shapes = []
    for a in it.annotations:
        if a.model_name is not None or a.type not in ("binary", "segment"):
            if dropped is not None:
                key = "prediction" if a.model_name is not None else a.type
                dropped[key] = dropped.get(key, 0) + 1
            continue
        if a.type == "binary":
            problem = masks.rle_problem(a.coordinates, w, h, allow_empty=True)
            if problem:
                raise FormatError(problem, entry=f"{it.name}: {a.label} mask")
        shapes.append((index[a.label], a.type, a.coordinates))
    ignore = it.metadata.get("ignore_mask")
    if not (isinstance(ignore, dict) and masks.rle_problem(ignore, w, h, allow_empty=True) is None):
        ignore = None
    return masks.label_map(shapes, h, w, fill=fill, ignore=ignore)


def write_semantic(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
                   background: str | None = "auto", progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``classes.txt``, ``images/[<split>/]<name>`` and ``masks/[<split>/]<stem>.png`` (palette PNGs,
    pixel = class index, 255 = ignore); returns ``out_dir``. Pixels no annotation covers get the background
    class's index ("auto": a class named background, if any; a class name: that one, added at index 0 when
    the labels lack it; None: they become 255, ignore)."""
    labels = all_labels(bundle)
    bg = background_of(labels) if background == "auto" else background
    if bg is not None and bg not in labels:
        labels.insert(0, bg)
    if len(labels) > MAX_CLASSES:
        raise FormatError(f"{len(labels)} classes; a class-index PNG holds at most {MAX_CLASSES} (255 is ignore)")
    index = {lab: i for i, lab in enumerate(labels)}
    fill = index[bg] if bg is not None else IGNORE_INDEX
    out = Path(out_dir)

    def rel(it: ImageEntry) -> str:
        split = SUBSET_DIRS.get(it.subset or "")
        return f"{split}/{it.name}" if split else it.name

    unique_targets((str(PurePosixPath(rel(it)).with_suffix("")), it.name) for it in bundle.items)
    # Every destination is checked before the first write: a name must not lead outside out_dir.
    targets = [(contained(out / "images", rel(it), "item name"),
                contained(out / "masks", str(PurePosixPath(rel(it)).with_suffix(".png")), "item name"))
               for it in bundle.items]
    palette = _voc_palette()
    dropped: dict[str, int] = {}
    for it, (dst, png) in tracked(list(zip(bundle.items, targets)), progress, cancelled):
        arr = label_map(it, index, fill=fill, dropped=dropped)
        png.parent.mkdir(parents=True, exist_ok=True)
        im = Image.frombytes("P", (arr.shape[1], arr.shape[0]), arr.tobytes())
        im.putpalette(palette)
        im.save(png, optimize=False, compress_level=6)
        place_image(it, dst, copy_images)
    log_dropped("class-index PNG", dropped)
    out.mkdir(parents=True, exist_ok=True)
    (out / CLASS_FILES[0]).write_text("".join(f"{lab}\n" for lab in labels), encoding="utf-8")
    return out
