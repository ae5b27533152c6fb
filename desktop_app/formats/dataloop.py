"""Dataloop JSON export layout: items/<path> images + json/<path>.json, one annotation file per item."""

# Binary masks arrive as a data:image/png;base64 RGBA PNG (mask = alpha > 127, as dtlpy reads it) and
# become the compact COCO-RLE form, so every layer below the SDK sees one mask encoding. The PNG's
# colour is kept in metadata['color'] and used again on export (white otherwise, dtlpy's default).

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from desktop_app.catalog.names import contained
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats import limits
from desktop_app.formats.imagecheck import Damaged, decode_mask_png
from desktop_app.formats.maskcheck import mask_check
from desktop_app.formats.images import (
    all_labels, check_size, clean_name, check_unique, entry_size, is_number, label_problem, place_image, rle_decode,
    rle_encode, unique_targets, validate_annotation,
)

SUPPORTED = ("class", "box", "segment", "point", "binary")
TAG_SUBSETS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}
ONTOLOGY_FILE = "ontology.json"


# ---------------------------------------------------------------- one annotation

def _xy(p: Any, file: str | None, entry: str | None) -> list[float]:
    if not (isinstance(p, dict) and is_number(p.get("x")) and is_number(p.get("y"))):
        raise FormatError(f"expected a point {{'x': .., 'y': ..}}, got {p!r}", file=file, entry=entry)
    return [float(p["x"]), float(p["y"])]


def _decode_png(data: Any, file: str | None, entry: str | None,
                image_size: tuple[int, int] | None = None) -> tuple[dict[str, Any], list[int] | None]:
    if isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, str) or not data.startswith("data:image/") or "," not in data:
        raise FormatError("binary coordinates must be a 'data:image/png;base64,...' URI", file=file, entry=entry)
    try:
        raw = base64.b64decode(data.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as e:
        raise FormatError(f"binary mask PNG cannot be decoded (not base64: {e})", file=file, entry=entry) from None
    # The header is checked against the item's size and the decode limit before a pixel is decoded.
    try:
        with decode_mask_png(raw, image_size) as im:
            rgba = im if im.mode == "RGBA" else im.convert("RGBA")
            mask = np.asarray(rgba.getchannel("A")) > 127  # the alpha plane alone: a byte a pixel, not four
            first = int(np.argmax(mask)) if mask.any() else None
            color = list(rgba.getpixel((first % rgba.width, first // rgba.width))[:3]) if first is not None else None
            del rgba
    except Damaged as e:
        raise FormatError(f"binary mask PNG cannot be decoded: {e}", file=file, entry=entry) from None
    return rle_encode(mask), color


def _encode_png(rle: dict[str, Any], color: Any) -> str:
    mask = rle_decode(rle)
    rgb = tuple(color[:3]) if isinstance(color, (list, tuple)) and len(color) >= 3 else (255, 255, 255)
    arr = np.zeros(mask.shape + (4,), dtype=np.uint8)
    arr[mask] = (*rgb, 255)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def from_dataloop_annotation(d: dict[str, Any], *, file: str | None = None, entry: str | None = None,
                             image_size: tuple[int, int] | None = None) -> Annotation:
    """One Dataloop annotation dict -> Annotation (compact coordinates). Box corners may come in any
    order (dtlpy takes min / max); list attributes become ``{name: True}``. A mask PNG must have
    ``image_size`` (width, height) when that is given, and is decoded only then."""
    if not isinstance(d, dict):
        raise FormatError("annotation must be an object", file=file, entry=entry)
    kind, label = d.get("type"), d.get("label")
    if kind not in SUPPORTED:
        raise FormatError(f"unsupported annotation type {kind!r} (supported: {', '.join(SUPPORTED)})",
                          file=file, entry=entry)
    if not isinstance(label, str) or not label.strip():
        raise FormatError(f"label must be a non-empty string, got {label!r}", file=file, entry=entry)
    c = d.get("coordinates", d.get("data"))
    meta: dict[str, Any] = {}
    if kind == "class":
        coords = None
    elif kind == "box":
        if not isinstance(c, list) or len(c) < 2:
            raise FormatError("box coordinates must be two corner points", file=file, entry=entry)
        (x1, y1), (x2, y2) = _xy(c[0], file, entry), _xy(c[1], file, entry)
        coords = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
        if len(c) > 2 and is_number(c[2]) and c[2]:
            meta["angle"] = c[2]
    elif kind == "segment":
        if not isinstance(c, list) or not c:
            raise FormatError("segment coordinates must be a list of rings", file=file, entry=entry)
        rings = c if all(isinstance(r, list) for r in c) else [c]  # tolerate one bare ring
        coords = [[_xy(p, file, entry) for p in ring] for ring in rings]
    elif kind == "point":
        coords = _xy(c[0] if isinstance(c, list) and len(c) == 1 else c, file, entry)
    else:
        coords, color = _decode_png(c, file, entry, image_size)
        if color is not None:
            meta["color"] = color
    attrs = d.get("attributes") or {}
    if isinstance(attrs, list):
        attrs = {str(a): True for a in attrs}
    elif not isinstance(attrs, dict):
        raise FormatError(f"attributes must be a list or an object, got {type(attrs).__name__}", file=file, entry=entry)
    model: Any = d
    for key in ("metadata", "user", "model"):  # metadata.user.model, each level optional
        model = model.get(key) or {}
        if not isinstance(model, dict):
            raise FormatError(f"{key} must be an object, got {type(model).__name__}", file=file, entry=entry)
    score = model.get("confidence")
    if score is not None and not is_number(score):
        raise FormatError(f"model confidence must be a number, got {score!r:.60}", file=file, entry=entry)
    if model.get("name") is not None and not (isinstance(model["name"], str) and model["name"].strip()):
        raise FormatError(f"model name must be a non-empty string, got {model['name']!r:.60}", file=file, entry=entry)
    if model.get("model_id") is not None:
        meta["model_id"] = model["model_id"]
    if d.get("id") is not None:
        meta["dataloop_id"] = d["id"]
    return Annotation(type=kind, label=label, coordinates=coords, attributes=dict(attrs),
                      score=float(score) if score is not None else None,
                      model_name=model.get("name"), metadata=meta)


def to_dataloop_annotation(a: Annotation) -> dict[str, Any]:
    """Annotation -> Dataloop annotation dict (the inverse of ``from_dataloop_annotation``)."""
    c = a.coordinates
    if a.type == "class":
        coords: Any = None
    elif a.type == "box":
        coords = [{"x": float(c[0]), "y": float(c[1]), "z": 0}, {"x": float(c[2]), "y": float(c[3]), "z": 0}]
        if a.metadata.get("angle"):
            coords.append(a.metadata["angle"])
    elif a.type == "segment":
        coords = [[{"x": float(x), "y": float(y), "z": 0} for x, y in ring] for ring in c]
    elif a.type == "point":
        coords = {"x": float(c[0]), "y": float(c[1]), "z": 0}
    elif a.type == "binary":
        coords = _encode_png(c, a.metadata.get("color"))
    else:
        raise ValueError(f"unknown annotation type {a.type!r}")
    attrs: Any = a.attributes
    if attrs and all(v is True for v in attrs.values()):
        attrs = list(attrs)  # Dataloop's v1 form: the names of the set attributes
    d: dict[str, Any] = {"type": a.type, "label": a.label, "coordinates": coords, "attributes": attrs or []}
    if a.metadata.get("dataloop_id") is not None:
        d["id"] = a.metadata["dataloop_id"]
    if a.score is not None or a.model_name is not None:
        d["metadata"] = {"user": {"model": {"name": a.model_name, "model_id": a.metadata.get("model_id"),
                                            "confidence": a.score}}}
    return d


# ---------------------------------------------------------------- items

def _read_item(jpath: Path, root: Path, check_images: bool) -> ImageEntry:
    file = str(jpath)
    doc = limits.load_json(jpath)
    if not isinstance(doc, dict):
        raise FormatError("item JSON must be an object", file=file)
    name = clean_name(doc.get("filename"), file=file, entry="filename")
    system = ((doc.get("metadata") or {}).get("system") or {}) if isinstance(doc.get("metadata"), dict) else {}
    if not isinstance(system, dict):
        raise FormatError("metadata.system must be an object", file=file, entry="metadata")
    w, h = system.get("width"), system.get("height")
    for v in (w, h):
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            raise FormatError(f"width/height must be positive integers, got {w!r}x{h!r}", file=file, entry="metadata")
    source = root / "items" / name
    if check_images:
        w, h = check_size(source, (w, h), entry=f"item {name}")
    tags = system.get("tags") or {}
    subsets = [TAG_SUBSETS[t] for t, on in tags.items() if on and t in TAG_SUBSETS] if isinstance(tags, dict) else []
    if len(set(subsets)) > 1:
        raise FormatError(f"item is tagged with several subsets: {sorted(set(subsets))}", file=file, entry="metadata")
    anns_raw = doc.get("annotations", [])
    if not isinstance(anns_raw, list):
        raise FormatError("'annotations' must be a list", file=file)
    anns = []
    for i, d in enumerate(anns_raw):
        where = f"annotation {d['id']}" if isinstance(d, dict) and d.get("id") else f"annotation #{i}"
        a = from_dataloop_annotation(d, file=file, entry=where, image_size=(w, h) if w and h else None)
        validate_annotation(a, w, h, file=file, entry=where)
        mask_check(a, w, h, file=file, entry=where)
        anns.append(a)
    meta = {"dataloop_id": doc["id"]} if doc.get("id") else {}
    return ImageEntry(source=source, name=name, width=w, height=h, subset=subsets[0] if subsets else None,
                      annotations=anns, metadata=meta)


def read_dataloop(root: str | Path, *, check_images: bool = True) -> DatasetBundle:
    """Read ``root/json/**/*.json`` (each names its image by ``filename``, looked up under ``root/items``).
    Subsets come from ``metadata.system.tags``; label order from ``ontology.json`` if present, else first use."""
    root = Path(root)
    jdir = root / "json"
    if not jdir.is_dir():
        raise FormatError("no json/ folder", file=str(root))
    files = sorted(jdir.rglob("*.json"))
    items = [_read_item(j, root, check_images) for j in files]
    check_unique((it.name, str(j)) for it, j in zip(items, files))
    labels: list[str] = []
    onto = root / ONTOLOGY_FILE
    if onto.is_file():
        doc = limits.load_json(onto)
        roots = doc.get("roots") if isinstance(doc, dict) else None
        if not isinstance(roots, list):
            raise FormatError("ontology must be {'roots': [{'tag': ...}]}", file=str(onto), entry="roots")
        for i, r in enumerate(roots):
            tag = r.get("tag") if isinstance(r, dict) else None
            if label_problem(tag):
                raise FormatError(f"each root needs a 'tag': its label {label_problem(tag)}", file=str(onto),
                                  entry=f"roots[{i}].tag")
            labels.append(tag)
    labels += [lab for lab in dict.fromkeys(a.label for it in items for a in it.annotations) if lab not in labels]
    return DatasetBundle(labels=labels, items=items, info={"format": "dataloop"})


def dataloop_item_json(it: ImageEntry, width: int | None, height: int | None,
                       subset: str | None) -> dict[str, Any]:
    """One item's JSON as Dataloop writes it: filename with a leading '/', metadata.system width / height / subset
    tag, annotations with point coordinates ({x, y, z}). Also what a user's adapter reads (ml/layout.py)."""
    system: dict[str, Any] = {"width": width, "height": height}
    if subset:
        system["tags"] = {subset: True}
    doc: dict[str, Any] = {"filename": "/" + it.name, "name": it.name.rsplit("/", 1)[-1],
                           "metadata": {"system": system},
                           "annotations": [to_dataloop_annotation(a) for a in it.annotations]}
    if it.metadata.get("dataloop_id"):
        doc["id"] = it.metadata["dataloop_id"]
    return doc


def dataloop_item_from_json(doc: dict[str, Any], *, file: str | None = None) -> tuple[str, int | None, int | None,
                                                                                     list[Annotation]]:
    """(name, width, height, annotations) of one item JSON in Dataloop's form, without touching its image."""
    if not isinstance(doc, dict):
        raise FormatError("item JSON must be an object", file=file)
    name = clean_name(doc.get("filename"), file=file, entry="filename")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    system = meta.get("system") or {}
    if not isinstance(system, dict):
        raise FormatError("metadata.system must be an object", file=file, entry="metadata")
    w, h = system.get("width"), system.get("height")
    anns_raw = doc.get("annotations", [])
    if not isinstance(anns_raw, list):
        raise FormatError("'annotations' must be a list", file=file)
    anns = [from_dataloop_annotation(d, file=file, entry=f"annotation #{i}", image_size=(w, h) if w and h else None)
            for i, d in enumerate(anns_raw)]
    return name, w, h, anns


def write_dataloop(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``items/<name>``, ``json/<name>.json`` and ``ontology.json`` (label order); returns ``out_dir``."""
    out = Path(out_dir)
    unique_targets((it.name, it.name) for it in bundle.items)
    # Every destination is checked before the first write: a name must not lead outside out_dir.
    targets = [(contained(out / "items", it.name, "item name"), contained(out / "json", f"{it.name}.json", "item name"))
               for it in bundle.items]
    for it, (dst, jpath) in tracked(list(zip(bundle.items, targets)), progress, cancelled):
        w, h = entry_size(it)
        doc = dataloop_item_json(it, w, h, it.subset)
        jpath.parent.mkdir(parents=True, exist_ok=True)
        jpath.write_text(json.dumps(doc), encoding="utf-8")
        place_image(it, dst, copy_images)
    (out / ONTOLOGY_FILE).write_text(json.dumps({"roots": [{"tag": lab} for lab in all_labels(bundle)]}),
                                     encoding="utf-8")
    return out
