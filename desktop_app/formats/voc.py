"""Pascal VOC: Annotations/*.xml + JPEGImages/ + ImageSets/Main/{train,val,test}.txt."""

# Coordinates: VOC boxes are 1-based and inclusive, so pixel columns 0..9 (0-based) are written
# xmin=1, xmax=10. Our boxes are 0-based with an exclusive right edge, hence
# left = xmin - 1, top = ymin - 1, right = xmax, bottom = ymax (and back). Integer boxes round-trip
# exactly; fractional edges are rounded outwards on export, since VOC tools expect integers.

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_app.catalog.names import contained
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats import limits
from desktop_app.formats.images import (
    SUBSET_DIRS, all_labels, bounds, check_size, check_unique, clean_name, entry_size, is_image_file,
    log_dropped, place_image, unique_targets, validate_annotation,
)

SETS = {"train": "train", "val": "validation", "test": "test"}
FLAGS = ("difficult", "truncated", "occluded")
LABELS_FILE = "labels.txt"


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text and child.text.strip() else None


def _number(el: ET.Element, tag: str, file: str, where: str) -> float:
    v = _text(el, tag)
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FormatError(f"<{tag}> missing or not a number ({v!r})", file=file, entry=where) from None


def _object(obj: ET.Element, file: str, where: str) -> Annotation:
    name = _text(obj, "name")
    if not name:
        raise FormatError("<name> missing", file=file, entry=where)
    box = obj.find("bndbox")
    if box is None:
        raise FormatError("<bndbox> missing", file=file, entry=where)
    xmin, ymin, xmax, ymax = (_number(box, t, file, where) for t in ("xmin", "ymin", "xmax", "ymax"))
    if xmax < xmin or ymax < ymin:
        raise FormatError(f"box has a negative size: xmin {xmin:g} > xmax {xmax:g} or ymin {ymin:g} > ymax {ymax:g}",
                          file=file, entry=where)
    attrs: dict[str, Any] = {}
    for flag in FLAGS:
        v = _text(obj, flag)
        if v is not None:
            if v not in ("0", "1"):
                raise FormatError(f"<{flag}> must be 0 or 1, got {v!r}", file=file, entry=where)
            if v == "1":  # only set flags are kept, so a round trip adds no False attributes
                attrs[flag] = True
    pose = _text(obj, "pose")
    if pose and pose != "Unspecified":
        attrs["pose"] = pose
    for a in obj.findall("attributes/attribute"):  # CVAT's extension, also what we write
        key = _text(a, "name")
        if key:
            attrs[key] = _text(a, "value") or ""
    ann = Annotation("box", name, [xmin - 1, ymin - 1, xmax, ymax], attributes=attrs)
    score = _text(obj, "score")
    if score is not None:
        try:
            ann.score = float(score)
        except ValueError:
            raise FormatError(f"<score> is not a number ({score!r})", file=file, entry=where) from None
    return ann


def _guess_filename(folder: Path, stem: str) -> str:
    # No <filename>: the image is the one whose stem matches the XML's (JPEG if there is none).
    found = sorted(p.name for p in folder.iterdir() if p.stem == stem and is_image_file(p)) if folder.is_dir() else []
    return found[0] if found else f"{stem}.jpg"


def _parse(xml: Path, root: Path, check_images: bool) -> ImageEntry:
    file = str(xml)
    doc = limits.parse_xml(xml)  # a DOCTYPE / ENTITY declaration is refused (no entity expansion)
    if doc.tag != "annotation":
        raise FormatError(f"root element must be <annotation>, got <{doc.tag}>", file=file)
    rel_dir = xml.relative_to(root / "Annotations").parent.as_posix()
    fn = _text(doc, "filename") or _guess_filename(root / "JPEGImages" / rel_dir, xml.stem)
    name = clean_name(fn if rel_dir == "." else f"{rel_dir}/{fn}", file=file, entry="<filename>")
    source = root / "JPEGImages" / name
    w = h = None
    size = doc.find("size")
    if size is not None and _text(size, "width") and _text(size, "height"):
        try:
            w, h = int(_text(size, "width")), int(_text(size, "height"))  # type: ignore[arg-type]
        except ValueError:
            raise FormatError("<size> width/height must be integers", file=file, entry="<size>") from None
        if w <= 0 or h <= 0:  # some tools write 0 when they did not know: trust the image then
            w = h = None
    if check_images:
        w, h = check_size(source, (w, h), entry=f"annotation {xml.name}")
    anns = []
    for i, obj in enumerate(doc.findall("object"), 1):
        ann = _object(obj, file, f"object {i}")
        validate_annotation(ann, w, h, file=file, entry=f"object {i}")
        anns.append(ann)
    return ImageEntry(source=source, name=name, width=w, height=h, annotations=anns,
                      metadata={"voc_id": xml.relative_to(root / "Annotations").with_suffix("").as_posix()})


def _read_sets(root: Path, ids: set[str]) -> dict[str, str]:
    subset_of: dict[str, str] = {}
    for stem, subset in SETS.items():
        f = root / "ImageSets" / "Main" / f"{stem}.txt"
        if not f.is_file():
            continue
        for lineno, line in enumerate(limits.read_text(f).splitlines(), 1):
            vid = line.strip()
            if not vid:
                continue
            if vid not in ids:
                raise FormatError(f"id {vid!r} has no Annotations/{vid}.xml", file=str(f), entry=f"line {lineno}")
            if subset_of.get(vid, subset) != subset:
                raise FormatError(f"id {vid!r} is in both {subset_of[vid]} and {subset}",
                                  file=str(f), entry=f"line {lineno}")
            subset_of[vid] = subset
    return subset_of


def read_voc(root: str | Path, *, check_images: bool = True) -> DatasetBundle:
    """Read a VOC folder. Subsets come from ImageSets/Main/{train,val,test}.txt when present;
    labels keep the order of ``labels.txt`` (which we write) and else are sorted."""
    root = Path(root)
    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise FormatError("no Annotations/ folder", file=str(root))
    items = [_parse(x, root, check_images) for x in sorted(ann_dir.rglob("*.xml"))]
    check_unique((it.name, it.metadata["voc_id"] + ".xml") for it in items)
    subset_of = _read_sets(root, {it.metadata["voc_id"] for it in items})
    for it in items:
        it.subset = subset_of.get(it.metadata["voc_id"])
    used = sorted({a.label for it in items for a in it.annotations})
    labels: list[str] = []
    lf = root / LABELS_FILE
    if lf.is_file():
        labels = [ln.strip() for ln in limits.read_text(lf).splitlines() if ln.strip()]
    labels += [lab for lab in used if lab not in labels]
    return DatasetBundle(labels=labels, items=items, info={"format": "voc"})


# ---------------------------------------------------------------- writing

def _sub(parent: ET.Element, tag: str, text: Any) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def _xml(it: ImageEntry, w: int, h: int, include_scores: bool, dropped: dict[str, int],
         converted: dict[str, int]) -> ET.ElementTree:
    doc = ET.Element("annotation")
    _sub(doc, "folder", "JPEGImages")
    _sub(doc, "filename", it.name.rsplit("/", 1)[-1])
    size = ET.SubElement(doc, "size")
    _sub(size, "width", w)
    _sub(size, "height", h)
    _sub(size, "depth", 3)
    _sub(doc, "segmented", 0)
    for a in it.annotations:
        b = bounds(a) if a.type in ("box", "segment", "binary") else None
        if b is None:
            dropped[a.type] = dropped.get(a.type, 0) + 1
            continue
        if a.type != "box":
            converted[a.type] = converted.get(a.type, 0) + 1
        obj = ET.SubElement(doc, "object")
        _sub(obj, "name", a.label)
        _sub(obj, "pose", a.attributes.get("pose", "Unspecified"))
        for flag in FLAGS:
            _sub(obj, flag, int(bool(a.attributes.get(flag, False))))
        box = ET.SubElement(obj, "bndbox")
        # Fractional edges round outwards so the written box still covers the object.
        l, t, r, bt = math.floor(b[0]), math.floor(b[1]), math.ceil(b[2]), math.ceil(b[3])
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), (l + 1, t + 1, r, bt)):
            _sub(box, tag, v)
        extra = {k: v for k, v in a.attributes.items() if k not in FLAGS and k != "pose"}
        if extra:
            attrs = ET.SubElement(obj, "attributes")
            for k, v in extra.items():
                at = ET.SubElement(attrs, "attribute")
                _sub(at, "name", k)
                _sub(at, "value", v)
        if include_scores and a.score is not None:
            _sub(obj, "score", a.score)
    tree = ET.ElementTree(doc)
    ET.indent(tree)
    return tree


def write_voc(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
              include_scores: bool = False, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> Path:
    """Write Annotations/, JPEGImages/, ImageSets/Main/ and labels.txt; returns ``out_dir``.

    Polygons and masks are written as their bounding box; class and point annotations are left out
    (logged). Extra attributes go to CVAT-style ``<attributes>``; images keep their own format."""
    out = Path(out_dir)
    ids = [it.name.rsplit(".", 1)[0] if "." in it.name.rsplit("/", 1)[-1] else it.name for it in bundle.items]
    unique_targets(zip(ids, (it.name for it in bundle.items)))
    # Every destination is checked before the first write: a name must not lead outside out_dir.
    targets = [(contained(out / "JPEGImages", it.name, "item name"),
                contained(out / "Annotations", f"{voc_id}.xml", "item name")) for it, voc_id in zip(bundle.items, ids)]
    sets: dict[str, list[str]] = {}
    dropped: dict[str, int] = {}
    converted: dict[str, int] = {}
    for it, voc_id, (dst, xml) in tracked(list(zip(bundle.items, ids, targets)), progress, cancelled):
        w, h = entry_size(it)
        xml.parent.mkdir(parents=True, exist_ok=True)
        _xml(it, w, h, include_scores, dropped, converted).write(xml, encoding="utf-8", xml_declaration=True)
        place_image(it, dst, copy_images)
        if it.subset in SUBSET_DIRS:
            sets.setdefault(SUBSET_DIRS[it.subset], []).append(voc_id)
    log_dropped("VOC", dropped, converted)
    (out / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    for stem, lines in sets.items():
        (out / "ImageSets" / "Main" / f"{stem}.txt").write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    (out / LABELS_FILE).write_text("".join(f"{lab}\n" for lab in all_labels(bundle)), encoding="utf-8")
    return out
