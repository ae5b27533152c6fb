"""COCO instances JSON: read / write datasets and write detection results files."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_app.catalog.names import contained
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats import limits
from desktop_app.formats.maskcheck import mask_check
from desktop_app.formats.images import (
    all_labels, bounds, check_size, clean_name, entry_size, label_problem, log_dropped, place_image, rle_area,
    unique_targets, validate_annotation, is_number,
)

logger = logging.getLogger(__name__)

ANNOTATIONS_FILE = "annotations.json"
# Where a file of predictions belongs (formats.predictions), named when plain import refuses one.
PREDICTIONS_HINT = "desktop-app import-predictions FILE --model NAME --dataset NAME"


def _find_json(path: Path) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise FormatError("no such file or folder", file=str(path))
    for cand in (path / ANNOTATIONS_FILE, path / "annotations" / ANNOTATIONS_FILE):
        if cand.is_file():
            return cand
    found = sorted(path.glob("*.json")) or sorted((path / "annotations").glob("*.json"))
    if len(found) != 1:
        raise FormatError(f"expected one COCO JSON file, found {len(found)}; pass the file itself", file=str(path))
    return found[0]


def load_json(path: Path) -> Any:
    """The instances file, parsed (within limits.MAX_ANNOTATION_FILE_BYTES); FormatError naming it otherwise."""
    return limits.load_json(path, limit=limits.MAX_ANNOTATION_FILE_BYTES)


def _inside(path: str, folder: Path) -> bool:
    base = os.path.normpath(os.path.abspath(folder))
    return os.path.commonpath([base, os.path.normpath(path)]) == base


def _id(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str)


def _list(doc: dict, key: str, file: str, required: bool = True) -> list:
    v = doc.get(key)
    if v is None and not required:
        return []
    if not isinstance(v, list):
        raise FormatError(f"'{key}' must be a list" + ("" if key in doc else " (missing)"), file=file)
    return v


def _categories(doc: dict, file: str) -> tuple[list[str], list[int], list[str], dict[Any, str]]:
    cats: dict[int, tuple[str, str]] = {}
    for i, c in enumerate(_list(doc, "categories", file, required=bool(doc.get("annotations")))):
        where = f"category #{i}"
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or isinstance(c.get("id"), bool):
            raise FormatError("category needs an integer 'id'", file=file, entry=where)
        where = f"category id {c['id']}"
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError("category needs a non-empty 'name'", file=file, entry=where)
        problem = label_problem(name)
        if problem:
            raise FormatError(f"category name {problem}", file=file, entry=where)
        if c["id"] in cats:
            raise FormatError("duplicate category id", file=file, entry=where)
        if any(n == name for n, _ in cats.values()):
            raise FormatError(f"duplicate category name {name!r}", file=file, entry=where)
        cats[c["id"]] = (name, str(c.get("supercategory") or ""))
    ids = sorted(cats)  # bundle.labels follows the category id order
    return [cats[i][0] for i in ids], ids, [cats[i][1] for i in ids], {i: cats[i][0] for i in ids}


def _segmentation(seg: Any, file: str, where: str) -> tuple[str, Any] | None:
    if seg is None or seg == []:
        return None
    if isinstance(seg, dict):
        size = seg.get("size")
        return "binary", {"size": list(size) if isinstance(size, (list, tuple)) else size, "counts": seg.get("counts")}
    if isinstance(seg, list) and all(isinstance(p, list) for p in seg):
        rings = []
        for poly in seg:
            if len(poly) < 6 or len(poly) % 2 or not all(is_number(v) for v in poly):
                raise FormatError("polygon must be an even list of at least 6 numbers", file=file, entry=where)
            rings.append([[float(poly[j]), float(poly[j + 1])] for j in range(0, len(poly), 2)])
        return "segment", rings
    raise FormatError("segmentation must be a list of polygons or an RLE dict", file=file, entry=where)


def _annotation(a: Any, i: int, cat_names: dict, file: str) -> tuple[Any, Annotation]:
    where = f"annotation id {a['id']}" if isinstance(a, dict) and _id(a.get("id")) else f"annotation #{i}"
    if not isinstance(a, dict):
        raise FormatError("annotation must be an object", file=file, entry=where)
    if "id" in a and not _id(a["id"]):
        raise FormatError(f"'id' must be an integer or a string, got {a['id']!r:.60}", file=file, entry=where)
    if not _id(a.get("image_id")):
        raise FormatError("'image_id' missing or not an id", file=file, entry=where)
    cid = a.get("category_id")
    if isinstance(cid, bool) or not isinstance(cid, int) or cid not in cat_names:
        raise FormatError(f"unknown category id {cid!r:.60}", file=file, entry=where)
    label = cat_names[a["category_id"]]
    bbox = a.get("bbox")
    if bbox not in (None, []) and not (isinstance(bbox, list) and len(bbox) == 4 and all(map(is_number, bbox))):
        raise FormatError(f"bbox must be [x, y, w, h] numbers, got {bbox!r}", file=file, entry=where)
    if bbox and (bbox[2] <= 0 or bbox[3] <= 0):
        raise FormatError(f"bbox has a negative or zero size: {bbox}", file=file, entry=where)
    seg = _segmentation(a.get("segmentation"), file, where)
    if seg is not None:
        kind, coords = seg
    elif bbox:
        kind, coords = "box", [float(bbox[0]), float(bbox[1]), float(bbox[0] + bbox[2]), float(bbox[1] + bbox[3])]
    else:
        kind, coords = "class", None  # image-level label: our extension to COCO
    score = a.get("score")
    if score is not None and not is_number(score):
        raise FormatError(f"score must be a number, got {score!r}", file=file, entry=where)
    if a.get("iscrowd", 0) not in (0, 1, True, False):
        raise FormatError(f"iscrowd must be 0 or 1, got {a.get('iscrowd')!r}", file=file, entry=where)
    meta: dict[str, Any] = {}
    if "id" in a:
        meta["coco_id"] = a["id"]
    if a.get("area") is not None:
        if not is_number(a["area"]) or a["area"] < 0:
            raise FormatError(f"area must be a non-negative number, got {a['area']!r:.60}", file=file, entry=where)
        meta["area"] = a["area"]
    for k in ("keypoints", "num_keypoints"):
        if k in a:
            meta[k] = a[k]
    model = a.get("model")  # what write_coco marks predictions with
    if model is not None:
        if not (isinstance(model, dict) and isinstance(model.get("name"), str) and model["name"].strip()):
            raise FormatError(f"'model' must be {{'name': ..., 'id': ...}} naming the model that predicted it, "
                              f"got {model!r}", file=file, entry=f"{where}.model")
        if isinstance(model.get("id"), str):
            meta["model_id"] = model["id"]
    attrs = a.get("attributes")
    ann = Annotation(type=kind, label=label, coordinates=coords, iscrowd=bool(a.get("iscrowd", 0)),
                     attributes=dict(attrs) if isinstance(attrs, dict) else {},
                     score=float(score) if score is not None else None, metadata=meta,
                     model_name=model["name"] if model is not None else None)
    return a["image_id"], ann


def read_coco(path: str | Path, images_dir: str | Path | None = None, *,
              check_images: bool = True) -> DatasetBundle:
    """Read a COCO instances file (or a folder holding one).

    Images are looked up in ``images_dir``; by default ``images/`` beside the JSON if it exists, else the
    JSON's own folder. ``check_images`` reads every image header (existence, readability, size)."""
    jpath = _find_json(Path(path))
    file = str(jpath)
    doc = load_json(jpath)
    if isinstance(doc, list):
        raise FormatError(f"a list at the top level is a COCO results file (a model's predictions), not a dataset: "
                          f"import it as a model's predictions with `{PREDICTIONS_HINT}`", file=file)
    if not isinstance(doc, dict):
        raise FormatError("top level must be an object with 'images', 'annotations', 'categories'", file=file)
    labels, cat_ids, supercats, cat_names = _categories(doc, file)
    if images_dir is None:
        images_dir = jpath.parent / "images" if (jpath.parent / "images").is_dir() else jpath.parent
    images_dir = Path(images_dir)

    items: dict[Any, ImageEntry] = {}
    names: dict[str, Any] = {}
    for i, im in enumerate(_list(doc, "images", file)):
        where = f"image id {im['id']}" if isinstance(im, dict) and _id(im.get("id")) else f"image #{i}"
        if not isinstance(im, dict) or not _id(im.get("id")):
            raise FormatError("image needs an 'id'", file=file, entry=where)
        if im["id"] in items:
            raise FormatError("duplicate image id", file=file, entry=where)
        fn = im.get("file_name")
        if isinstance(fn, str) and Path(fn).is_absolute():
            # Read only inside the set: a crafted file_name must not pull in any file on this disk.
            if not any(_inside(fn, d) for d in (images_dir, jpath.parent)):
                raise FormatError(f"file name {fn!r} is outside the dataset folders ({images_dir}, "
                                  f"{jpath.parent}); refused", file=file, entry=where)
            source, name = Path(fn), clean_name(Path(fn).name, file=file, entry=where)
        else:
            name = clean_name(fn, file=file, entry=where)
            source = images_dir / name
        if name in names:
            raise FormatError(f"duplicate file name {name!r} (also image id {names[name]})", file=file, entry=where)
        names[name] = im["id"]
        w, h = im.get("width"), im.get("height")
        for v in (w, h):
            if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
                raise FormatError(f"width/height must be positive integers, got {w!r}x{h!r}", file=file, entry=where)
        if check_images:
            w, h = check_size(source, (w, h), entry=where)
        items[im["id"]] = ImageEntry(source=source, name=name, width=w, height=h, metadata={"coco_id": im["id"]})

    seen_ids: set = set()
    unscored = 0            # ground truth carries no score: a file where every annotation has one is predictions
    raw = _list(doc, "annotations", file, required=False)
    for i, a in enumerate(raw):
        raw[i] = None  # each parsed dict goes as its Annotation comes: the two are not held whole together
        image_id, ann = _annotation(a, i, cat_names, file)
        where = f"annotation id {a['id']}" if _id(a.get("id")) else f"annotation #{i}"
        if "id" in a:
            if a["id"] in seen_ids:
                raise FormatError("duplicate annotation id", file=file, entry=where)
            seen_ids.add(a["id"])
        it = items.get(image_id)
        if it is None:
            raise FormatError(f"unknown image id {image_id!r}", file=file, entry=where)
        validate_annotation(ann, it.width, it.height, file=file, entry=where)
        mask_check(ann, it.width, it.height, file=file, entry=where)
        it.annotations.append(ann)
        unscored += ann.score is None or ann.model_name is not None   # ground truth, or marked as a model's
    if raw and not unscored:
        raise FormatError(f"every annotation has a score: this looks like a model's predictions, not ground truth; "
                          f"import them as that model's with `{PREDICTIONS_HINT}` (model.predictions.import_from), "
                          f"or remove the scores to import them as ground truth", file=file)

    info: dict[str, Any] = {"format": "coco", "category_ids": cat_ids, "supercategories": supercats}
    if isinstance(doc.get("info"), dict):
        info["coco_info"] = doc["info"]
    return DatasetBundle(labels=labels, items=list(items.values()), info=info)


# ---------------------------------------------------------------- writing

def category_ids(bundle: DatasetBundle) -> dict[str, int]:
    """label -> COCO category id: the ids read from COCO when they still fit bundle.labels, else 1..N."""
    labels = all_labels(bundle)
    old = bundle.info.get("category_ids")
    if (isinstance(old, list) and len(old) == len(bundle.labels) and len(set(old)) == len(old)
            and all(isinstance(v, int) for v in old)):
        ids = dict(zip(bundle.labels, old))
        nxt = max(old, default=0) + 1
        for lab in labels[len(bundle.labels):]:
            ids[lab], nxt = nxt, nxt + 1
        return ids
    return {lab: i + 1 for i, lab in enumerate(labels)}


def image_ids(bundle: DatasetBundle) -> list[Any]:
    """The ids read from COCO when every item has a distinct one, else 1..N (results files use the same)."""
    old = [it.metadata.get("coco_id") for it in bundle.items]
    if all(_id(v) for v in old) and len(set(old)) == len(old):
        return old
    return list(range(1, len(bundle.items) + 1))


def _xywh(a: Annotation) -> list[float] | None:
    b = bounds(a)
    return None if b is None else [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def _area(a: Annotation, bbox: list[float]) -> float:
    if a.type == "segment":  # shoelace; holes are not marked in COCO polygons, so parts add up
        return float(sum(abs(sum(r[j][0] * r[j - 1][1] - r[j - 1][0] * r[j][1] for j in range(len(r)))) / 2
                         for r in a.coordinates))
    if a.type == "binary":
        return float(rle_area(a.coordinates))
    return bbox[2] * bbox[3]


def _coco_ann(a: Annotation, ann_id: int, image_id: Any, cat_id: int, include_scores: bool) -> dict[str, Any] | None:
    d: dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": cat_id, "iscrowd": int(a.iscrowd)}
    if a.type == "class":
        pass
    elif a.type in ("box", "segment", "binary"):
        bbox = _xywh(a)
        if bbox is None:
            return None
        d["bbox"] = bbox
        if a.type == "segment":
            d["segmentation"] = [[v for p in ring for v in p] for ring in a.coordinates]
        elif a.type == "binary":
            d["segmentation"] = dict(a.coordinates)
        # An area read from the file is kept (COCO's GT areas are mask areas); else compute one.
        d["area"] = a.metadata["area"] if is_number(a.metadata.get("area")) else _area(a, bbox)
    else:
        return None
    if a.attributes:
        d["attributes"] = a.attributes
    if a.score is not None and (include_scores or a.model_name is not None):
        d["score"] = a.score  # a prediction always keeps its score
    if a.model_name is not None:  # ...and says whose it is, so no tool mistakes it for ground truth
        d["model"] = {k: v for k, v in (("name", a.model_name), ("id", a.metadata.get("model_id"))) if v is not None}
    return d


def write_coco(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
               include_scores: bool = False, include_classes: bool = False,
               progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``out_dir/annotations.json`` + ``out_dir/images/<name>``; returns ``out_dir``.

    Boxes, polygons (bbox = polygon bounds) and RLE masks are written; image-level ``class``
    annotations only with ``include_classes`` (an extension other COCO tools may reject); points
    are left out (logged). ``progress(done, total)`` follows the image copies; ``cancelled()`` stops them."""
    out = Path(out_dir)
    unique_targets((it.name, it.name) for it in bundle.items)
    cats = category_ids(bundle)
    supers = bundle.info.get("supercategories")
    supers = dict(zip(bundle.labels, supers)) if isinstance(supers, list) and len(supers) == len(bundle.labels) else {}
    images, anns, dropped = [], [], {}
    for it, img_id in zip(bundle.items, image_ids(bundle)):
        w, h = entry_size(it)
        images.append({"id": img_id, "file_name": it.name, "width": w, "height": h})
        for a in it.annotations:
            d = None
            if a.type != "class" or include_classes:
                d = _coco_ann(a, len(anns) + 1, img_id, cats[a.label], include_scores)
            if d is None:
                dropped[a.type] = dropped.get(a.type, 0) + 1
            else:
                anns.append(d)
    log_dropped("COCO", dropped)
    doc: dict[str, Any] = {}
    if isinstance(bundle.info.get("coco_info"), dict):
        doc["info"] = bundle.info["coco_info"]
    doc.update(images=images, annotations=anns,
               categories=[{"id": i, "name": lab, "supercategory": supers.get(lab, "")} for lab, i in cats.items()])
    # Every destination is checked before the first write: a name must not lead outside out_dir.
    targets = [contained(out / "images", it.name, "item name") for it in bundle.items]
    out.mkdir(parents=True, exist_ok=True)
    for it, dst in tracked(list(zip(bundle.items, targets)), progress, cancelled):
        place_image(it, dst, copy_images)
    (out / ANNOTATIONS_FILE).write_text(json.dumps(doc), encoding="utf-8")
    return out


def write_coco_results(bundle: DatasetBundle, out_path: str | Path, *, model_name: str | None = None) -> Path:
    """Write a COCO results file ``[{image_id, category_id, bbox, score}]`` of every scored annotation
    (only ``model_name``'s if given). Ids match what ``write_coco`` writes for the same bundle; polygon
    and mask predictions also carry their ``segmentation``."""
    cats = category_ids(bundle)
    rows = []
    for it, img_id in zip(bundle.items, image_ids(bundle)):
        for a in it.annotations:
            if a.score is None or (model_name is not None and a.model_name != model_name):
                continue
            bbox = _xywh(a) if a.type in ("box", "segment", "binary") else None
            if bbox is None:
                continue
            row: dict[str, Any] = {"image_id": img_id, "category_id": cats[a.label], "bbox": bbox, "score": a.score}
            if a.type == "segment":
                row["segmentation"] = [[v for p in ring for v in p] for ring in a.coordinates]
            elif a.type == "binary":
                row["segmentation"] = dict(a.coordinates)
            rows.append(row)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows), encoding="utf-8")
    return out
