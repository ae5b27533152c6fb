"""A model's predictions made elsewhere (COCO results, YOLO prediction txt files, Dataloop JSON), read against a
dataset's items and stored as that model's predictions: model id, model name and score, never ground truth.

Which item a prediction belongs to:
- COCO: with ``images`` (a COCO ground-truth file of the same set), the results' ``image_id`` is that file's own
  image id, whose ``file_name`` names the item. A COCO instances file holding scored annotations uses its own
  ``images`` the same way. Otherwise an ``image_id`` is the item's COCO id (kept when the dataset was imported from
  COCO), else an item's name or name stem (``397133`` matches ``000000397133.jpg``). Category ids are those of the
  ground-truth file's categories, else 1..N in the dataset's label order (as the dataset's COCO export numbers
  them).
- YOLO: one ``<stem>.txt`` per image (``class cx cy w h conf`` normalised, or a polygon ``class x1 y1 ... conf``),
  matched by its path under the folder (or ``labels/``) without suffix, else by the file's stem; class indices
  name ``data.yaml`` / ``classes.txt`` classes (in the folder or beside it), else the model's labels in order.
- Dataloop: item JSON files (``json/`` of an export, a folder of them, or one file) naming the item by
  ``filename`` (else by the JSON's path); predictions carry ``metadata.user.model`` (dtlpy's ``model_info``) with
  its ``confidence``.

A label the model (or, for a model without labels, the dataset) does not know is refused, all of them listed at
once, unless ``label_map`` maps it (a label, a COCO category id or a YOLO class index -> a label). Everything is
read and checked first (a bad entry names its file and its line or index); the model's earlier predictions on
every item the file covers are then replaced in one transaction, so nothing is written on an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.domain.annotations import Annotation
from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats import limits
from desktop_app.formats.coco import _find_json, _segmentation
from desktop_app.formats.dataloop import ONTOLOGY_FILE, from_dataloop_annotation
from desktop_app.formats.images import bounds, is_number, validate_annotation
from desktop_app.formats.yolo import TXT_NAMES, YAML_NAMES, _names_from

FORMATS = ("coco", "yolo", "dataloop")


# ---------------------------------------------------------------- what the predictions are read against

class ItemIndex:
    """A dataset's items by name, by name without suffix, by file name, by stem, by COCO id and by numeric stem."""

    def __init__(self, items: Iterable[Any], dataset_name: str):
        self.dataset_name = dataset_name
        self.by_name: dict[str, Any] = {}
        self._tables: dict[str, dict[Any, list]] = {k: {} for k in ("path_stem", "base", "stem", "coco", "number")}
        for it in items:
            p = PurePosixPath(it.name)
            self.by_name[it.name] = it
            self._add("path_stem", str(p.with_suffix("")) if p.suffix else it.name, it)
            self._add("base", p.name, it)
            self._add("stem", p.stem, it)
            cid = (it.metadata or {}).get("coco_id")
            if cid is not None and not isinstance(cid, (dict, list)):
                self._add("coco", cid, it)
            if p.stem.isdigit():
                self._add("number", int(p.stem), it)

    def _add(self, table: str, key: Any, it: Any) -> None:
        self._tables[table].setdefault(key, []).append(it)

    def _one(self, table: str, key: Any, what: str, file: str | None, entry: str | None) -> Any:
        found = self._tables[table].get(key)
        if not found:
            return None
        if len(found) > 1:
            names = ", ".join(repr(it.name) for it in found[:5])
            raise FormatError(f"{what} matches several items of dataset {self.dataset_name!r} ({names}); give "
                              f"the full item name", file=file, entry=entry)
        return found[0]

    def by_file_name(self, name: str, *, file: str | None = None, entry: str | None = None) -> Any:
        """The item a file name names: the exact item name, else the same path with another suffix, else the same
        file name in another folder, else the same stem; None when nothing matches."""
        key = name.replace("\\", "/").lstrip("/")
        if key in self.by_name:
            return self.by_name[key]
        p = PurePosixPath(key)
        what = f"file name {name!r}"
        return (self._one("path_stem", str(p.with_suffix("")) if p.suffix else key, what, file, entry)
                or self._one("base", p.name, what, file, entry) or self._one("stem", p.stem, what, file, entry))

    def by_stem_path(self, stem_path: str, *, file: str | None = None, entry: str | None = None) -> Any:
        """The item a prediction file named after its image names ('sub/img_001' for sub/img_001.png)."""
        what = f"{stem_path!r}"
        return (self.by_name.get(stem_path) or self._one("path_stem", stem_path, what, file, entry)
                or self._one("stem", PurePosixPath(stem_path).name, what, file, entry))

    def by_image_id(self, image_id: Any, *, file: str | None = None, entry: str | None = None) -> Any:
        """A COCO image id with no ground-truth file: the item's own COCO id, else its name or numeric stem."""
        what = f"image_id {image_id!r}"
        found = self._one("coco", image_id, what, file, entry)
        if found is None and isinstance(image_id, int):
            found = self._one("number", image_id, what, file, entry)
        if found is None and isinstance(image_id, str):
            found = self.by_file_name(image_id, file=file, entry=entry)
        return found


@dataclass
class Target:
    """The model and dataset the predictions are read for."""

    model_name: str
    output_type: str
    labels: list[str]                       # the labels a prediction may carry (empty: any)
    labels_of: str                          # whose labels they are, for messages
    class_names: dict[int, str]             # YOLO class index -> label when the files name none
    dataset_labels: list[str]
    items: ItemIndex
    label_map: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)

    def label(self, name: str | None, key: Any = None, key_kind: str = "") -> str | None:
        """The label a prediction gets: label_map by its id (COCO category id, YOLO class index) or by its name,
        else the name; None (and remembered, for one message listing them all) when it is not a known label."""
        if key is not None and str(key) in self.label_map:
            label = self.label_map[str(key)]
        elif name is None:
            self.unknown[f"{key_kind} {key}"] = self.unknown.get(f"{key_kind} {key}", 0) + 1
            return None
        else:
            label = self.label_map.get(name, name)
        if self.labels and label not in self.labels:
            self.unknown[repr(label)] = self.unknown.get(repr(label), 0) + 1
            return None
        return label

    def check_labels(self, file: str) -> None:
        if not self.unknown:
            return
        listed = ", ".join(f"{k} ({n} prediction{'s' if n != 1 else ''})" for k, n in sorted(self.unknown.items()))
        raise FormatError(f"labels that are not {self.labels_of} ({', '.join(self.labels)}): {listed}; map them "
                          f"with --label-map SOURCE=LABEL (label_map={{'SOURCE': 'LABEL'}})", file=file)

    def fit(self, a: Annotation, file: str, entry: str) -> Annotation:
        """The prediction in the form the model predicts: a box model's polygons and masks become their bounds."""
        kind, out = a.type, self.output_type
        if out == "class":
            ok = kind == "class"
        elif out == "box":
            if kind in ("segment", "binary"):
                b = bounds(a)
                if b is None:
                    raise FormatError("the mask is empty", file=file, entry=entry)
                a = Annotation("box", a.label, b, score=a.score, metadata=a.metadata)
                kind = "box"
            ok = kind == "box"
        elif out in ("segment", "binary"):
            ok = kind in ("box", "segment", "binary")
        else:
            ok = True
        if not ok:
            raise FormatError(f"a {kind} prediction, but model {self.model_name!r} predicts {out} annotations",
                              file=file, entry=entry)
        return a


def _score(value: Any, file: str, entry: str, what: str = "score") -> float:
    if value is None:
        raise FormatError(f"missing {what} (a prediction needs its confidence)", file=file, entry=entry)
    if not is_number(value):
        raise FormatError(f"{what} must be a finite number, got {value!r:.60}", file=file, entry=entry)
    if not 0.0 <= float(value) <= 1.0:
        raise FormatError(f"{what} {value} is outside [0, 1]", file=file, entry=entry)
    return float(value)


class Collected:
    """The predictions read so far, by item id, with each one's place for duplicate checks."""

    def __init__(self) -> None:
        self.by_item: dict[int, list[Annotation]] = {}
        self._seen: dict[tuple, str] = {}
        self._files: dict[int, str] = {}
        self.skipped = 0            # ground-truth annotations left out of a file holding both

    def cover(self, item: Any, place: str | None = None) -> None:
        """The item is one the file speaks for (its earlier predictions are replaced, even by none)."""
        if place is not None:
            other = self._files.get(item.id)
            if other is not None and other != place:
                raise FormatError(f"names item {item.name!r} as {other} does too", file=place)
            self._files[item.id] = place
        self.by_item.setdefault(item.id, [])

    def add(self, item: Any, a: Annotation, file: str, entry: str) -> None:
        validate_annotation(a, item.width, item.height, file=file, entry=entry)
        key = (item.id, a.type, a.label, json.dumps(a.coordinates), a.score)
        first = self._seen.get(key)
        if first is not None:
            raise FormatError(f"duplicate prediction: the same {a.type} {a.label!r} with score {a.score} on item "
                              f"{item.name!r} as {first}", file=file, entry=entry)
        self._seen[key] = entry
        self.cover(item)
        self.by_item[item.id].append(a)


# ---------------------------------------------------------------- COCO results

def _coco_images(images: list, file: str, items: ItemIndex) -> dict[Any, Any]:
    """{image id: item or None (no such item)} from a ground-truth file's images."""
    out: dict[Any, Any] = {}
    for i, im in enumerate(images):
        where = f"image #{i}"
        if not isinstance(im, dict) or isinstance(im.get("id"), bool) or not isinstance(im.get("id"), (int, str)):
            raise FormatError("image needs an integer or string 'id'", file=file, entry=where)
        if not isinstance(im.get("file_name"), str) or not im["file_name"].strip():
            raise FormatError("image needs a 'file_name'", file=file, entry=f"image id {im['id']}")
        if im["id"] in out:
            raise FormatError("duplicate image id", file=file, entry=f"image id {im['id']}")
        out[im["id"]] = items.by_file_name(im["file_name"], file=file, entry=f"image id {im['id']}")
    return out


def _coco_categories(cats: Any, file: str) -> dict[Any, str]:
    if not isinstance(cats, list):
        raise FormatError("'categories' must be a list", file=file)
    out = {}
    for i, c in enumerate(cats):
        if not (isinstance(c, dict) and isinstance(c.get("name"), str) and "id" in c):
            raise FormatError("category needs an 'id' and a 'name'", file=file, entry=f"category #{i}")
        out[c["id"]] = c["name"]
    return out


def read_coco_predictions(path: Path, target: Target, *, images: str | Path | None = None) -> Collected:
    """A COCO results file (a list of {image_id, category_id, bbox | segmentation, score}), or an instances file
    whose annotations are a model's (scored, or marked with 'model' beside ground truth, which is left out)."""
    file = str(path)
    doc = limits.load_json(path, limit=limits.MAX_ANNOTATION_FILE_BYTES)
    gt_images = gt_cats = None
    gt_file = file
    marked_only = False
    if isinstance(doc, list):
        rows, what = doc, "result"
    elif isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        rows, what = doc["annotations"], "annotation"
        gt_images, gt_cats = doc.get("images"), doc.get("categories")
        marked_only = any(isinstance(a, dict) and a.get("model") is not None for a in rows)
    else:
        raise FormatError("a COCO results file is a list of {image_id, category_id, bbox, score} objects (or an "
                          "instances file whose 'annotations' carry scores)", file=file)
    if images is not None:
        gpath = _find_json(Path(images))
        gt_file = str(gpath)
        gdoc = limits.load_json(gpath, limit=limits.MAX_ANNOTATION_FILE_BYTES)
        if not (isinstance(gdoc, dict) and isinstance(gdoc.get("images"), list)):
            raise FormatError("a COCO ground-truth file is an object with an 'images' list", file=gt_file)
        gt_images, gt_cats = gdoc["images"], gdoc.get("categories", gt_cats)
    image_map = None
    if gt_images is not None:
        if not isinstance(gt_images, list):
            raise FormatError("'images' must be a list", file=gt_file)
        image_map = _coco_images(gt_images, gt_file, target.items)
        if gt_images and not any(v is not None for v in image_map.values()):
            first = gt_images[0].get("file_name")
            raise FormatError(f"none of its {len(gt_images)} images is an item of dataset "
                              f"{target.items.dataset_name!r} (the first: {first!r})", file=gt_file)
    if gt_cats is not None:
        cat_names = _coco_categories(gt_cats, gt_file)
    else:   # the dataset's COCO export numbering
        cat_names = {i + 1: lab for i, lab in enumerate(target.dataset_labels)}

    out = Collected()
    if image_map is not None:
        for item in image_map.values():
            if item is not None:
                out.cover(item)
    for i, row in enumerate(rows):
        entry = f"{what} #{i}"
        if not isinstance(row, dict):
            raise FormatError(f"{what} must be an object", file=file, entry=entry)
        if marked_only and row.get("model") is None:
            out.skipped += 1                    # ground truth beside the model's predictions
            continue
        image_id = row.get("image_id")
        if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
            raise FormatError(f"'image_id' missing or not an id, got {image_id!r:.60}", file=file, entry=entry)
        if image_map is not None:
            if image_id not in image_map:
                raise FormatError(f"unknown image: image_id {image_id!r} is not among the images of {gt_file}",
                                  file=file, entry=entry)
            item = image_map[image_id]
            if item is None:
                name = next((im.get("file_name") for im in gt_images if im.get("id") == image_id), "?")
                raise FormatError(f"unknown image: image_id {image_id!r} ({name!r}) is no item of dataset "
                                  f"{target.items.dataset_name!r}", file=file, entry=entry)
        else:
            item = target.items.by_image_id(image_id, file=file, entry=entry)
            if item is None:
                raise FormatError(f"unknown image: image_id {image_id!r} matches no item of dataset "
                                  f"{target.items.dataset_name!r} (by COCO id, name or numeric name; give the "
                                  f"ground-truth file with --images to map its ids)", file=file, entry=entry)
        score = _score(row.get("score"), file, entry)
        cid = row.get("category_id")
        if isinstance(cid, bool) or not isinstance(cid, (int, str)):
            raise FormatError(f"'category_id' missing or not an id, got {cid!r:.60}", file=file, entry=entry)
        label = target.label(cat_names.get(cid), cid, "category_id")
        ann = _coco_geometry(row, target.output_type, file, entry)
        if label is None:
            continue
        ann.label, ann.score = label, score
        out.add(item, target.fit(ann, file, entry), file, entry)
    target.check_labels(file)
    return out


def _coco_geometry(row: dict, output_type: str, file: str, entry: str) -> Annotation:
    bbox = row.get("bbox")
    if bbox not in (None, []):
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) for v in bbox)):
            raise FormatError(f"bbox must be [x, y, w, h] finite numbers, got {bbox!r:.80}", file=file, entry=entry)
        if bbox[2] <= 0 or bbox[3] <= 0:
            raise FormatError(f"bbox {bbox} has a negative or zero size (COCO boxes are x, y, w, h)",
                              file=file, entry=entry)
    seg = _segmentation(row.get("segmentation"), file, entry)
    if seg is not None and (output_type in ("segment", "binary") or not bbox):
        kind, coords = seg
        return Annotation(kind, "", coords)
    if bbox:
        x, y, w, h = (float(v) for v in bbox)
        return Annotation("box", "", [x, y, x + w, y + h])
    return Annotation("class", "")          # an image-level label: our extension to COCO


# ---------------------------------------------------------------- YOLO prediction txt files

def _yolo_names(folders: Iterable[Path], target: Target) -> dict[int, str]:
    for d in folders:
        if any((d / n).is_file() for n in YAML_NAMES + TXT_NAMES):
            return _names_from(d, None)[0]
    return target.class_names


def read_yolo_predictions(path: Path, target: Target) -> Collected:
    """One ``<image stem>.txt`` per image (a folder of them, ``labels/`` inside it, or one file): lines
    ``class cx cy w h conf`` (normalised to the image) or ``class x1 y1 ... xn yn conf`` (a polygon). Where some
    lines carry a confidence, those without are ground truth beside them (as this app's YOLO export writes
    predictions) and are left out; where none does, every line misses its confidence."""
    if path.is_file():
        base, files = path.parent, [path]
    else:
        base = path / "labels" if (path / "labels").is_dir() else path
        files = sorted(f for f in base.rglob("*.txt") if f.name not in TXT_NAMES)
        if not files:
            raise FormatError("no .txt prediction files (one per image: class cx cy w h conf)", file=str(path))
    names = _yolo_names(dict.fromkeys([base, path if path.is_dir() else base]), target)
    read = []
    for f in files:
        file = str(f)
        stem_path = f.relative_to(base).with_suffix("").as_posix()
        item = target.items.by_stem_path(stem_path, file=file)
        if item is None:
            raise FormatError(f"unknown image: no item of dataset {target.items.dataset_name!r} is named "
                              f"{stem_path!r} (with any suffix)", file=file)
        if not (item.width and item.height):
            raise FormatError(f"item {item.name!r} has no recorded size to scale the normalised coordinates",
                              file=file)
        rows = [(f"line {k}", v) for k, ln in enumerate(limits.read_text(f).splitlines(), 1)
                if (v := _yolo_values(ln, file, f"line {k}")) is not None]
        read.append((file, item, rows))
    scored = any(_has_confidence(v) for _, _, rows in read for _, v in rows)
    out = Collected()
    for file, item, rows in read:
        out.cover(item, file)
        for entry, vals in rows:
            if scored and not _has_confidence(vals) and (len(vals) == 5 or len(vals) >= 7):
                out.skipped += 1            # ground truth beside the predictions
                continue
            ann = _yolo_annotation(vals, names, target, item.width, item.height, file, entry)
            if ann is not None:
                out.add(item, target.fit(ann, file, entry), file, entry)
    target.check_labels(str(path))
    return out


def _has_confidence(vals: list[float]) -> bool:
    n = len(vals) - 1
    return n == 5 or (n >= 7 and n % 2 == 1)


def _yolo_values(line: str, file: str, entry: str) -> list[float] | None:
    toks = line.split()
    if not toks:
        return None
    try:
        vals = [float(t) for t in toks]
    except ValueError:
        raise FormatError(f"non-numeric value in {line.strip()!r:.80}", file=file, entry=entry) from None
    if not all(is_number(v) for v in vals):
        raise FormatError(f"non-finite value (NaN or infinity) in {line.strip()!r:.80}", file=file, entry=entry)
    if vals[0] != int(vals[0]) or vals[0] < 0:
        raise FormatError(f"class index {toks[0]} is not a non-negative integer", file=file, entry=entry)
    return vals


def _yolo_annotation(vals: list[float], names: dict[int, str], target: Target, w: int, h: int, file: str,
                     entry: str) -> Annotation | None:
    cls, n = int(vals[0]), len(vals) - 1
    if n == 5:
        cx, cy, bw, bh = vals[1:5]
        if bw <= 0 or bh <= 0:
            raise FormatError(f"box has a negative or zero size: w {bw:g}, h {bh:g}", file=file, entry=entry)
        ann = Annotation("box", "", [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    elif n >= 7 and n % 2:
        xy = vals[1:-1]
        ann = Annotation("segment", "", [[[xy[j] * w, xy[j + 1] * h] for j in range(0, len(xy), 2)]])
    elif n == 4 or (n >= 6 and not n % 2):
        raise FormatError(f"missing confidence: a prediction line is 'class cx cy w h conf' (or a polygon "
                          f"'class x1 y1 ... conf'); this one has {len(vals)} values", file=file, entry=entry)
    else:
        raise FormatError(f"expected 'class cx cy w h conf' or a polygon, got {len(vals)} values", file=file,
                          entry=entry)
    ann.score = _score(vals[-1], file, entry, "confidence")
    label = target.label(names.get(cls), cls, "class")
    if label is None:
        return None
    ann.label = label
    return ann


# ---------------------------------------------------------------- Dataloop JSON

def read_dataloop_predictions(path: Path, target: Target) -> Collected:
    """Item JSON files (an export's ``json/``, a folder of them, or one): the annotations carrying
    ``metadata.user.model`` are the predictions (those without, beside them, are ground truth and left out); in a
    file where none carries it, every annotation is a prediction and needs its confidence."""
    if path.is_file():
        base, files = path.parent, [path]
    else:
        base = path / "json" if (path / "json").is_dir() else path
        files = sorted(f for f in base.rglob("*.json") if f.name != ONTOLOGY_FILE)
        if not files:
            raise FormatError("no Dataloop item JSON files", file=str(path))
    docs = []
    for f in files:
        doc = limits.load_json(f)
        anns = doc if isinstance(doc, list) else doc.get("annotations") if isinstance(doc, dict) else None
        if not isinstance(anns, list):
            raise FormatError("a Dataloop item JSON is an object with an 'annotations' list", file=str(f))
        docs.append((f, doc, anns))
    marked_only = any(_model_info(a) is not None for _, _, anns in docs for a in anns)
    out = Collected()
    for f, doc, anns in docs:
        file = str(f)
        name = doc.get("filename") if isinstance(doc, dict) else None
        if isinstance(name, str) and name.strip():
            item = target.items.by_file_name(name, file=file, entry="filename")
        else:
            name = f.relative_to(base).with_suffix("").as_posix()
            item = target.items.by_file_name(name, file=file) or target.items.by_stem_path(name, file=file)
        if item is None:
            raise FormatError(f"unknown image: {name!r} is no item of dataset {target.items.dataset_name!r}",
                              file=file, entry="filename")
        out.cover(item, file)
        for i, d in enumerate(anns):
            entry = f"annotation #{i}"
            if marked_only and _model_info(d) is None:
                out.skipped += 1
                continue
            a = from_dataloop_annotation(d, file=file, entry=entry, image_size=(item.width, item.height)
                                         if item.width and item.height else None)
            score = _score(a.score, file, entry, "confidence (metadata.user.model.confidence)")
            label = target.label(a.label)
            if label is None:
                continue
            fitted = target.fit(Annotation(a.type, label, a.coordinates, attributes=a.attributes, score=score,
                                           metadata={k: v for k, v in a.metadata.items() if k == "angle"}),
                                file, entry)
            out.add(item, fitted, file, entry)
    target.check_labels(str(path))
    return out


def _model_info(d: Any) -> Any:
    meta = d.get("metadata") if isinstance(d, dict) else None
    user = meta.get("user") if isinstance(meta, dict) else None
    return user.get("model") if isinstance(user, dict) else None


# ---------------------------------------------------------------- detect, read, store

def detect_predictions_format(path: str | Path) -> str:
    """coco (a .json list, or one with image ids), yolo (.txt files), dataloop (item JSON files)."""
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() == ".txt":
            return "yolo"
        if p.suffix.lower() == ".json":
            head = _head(p)
            return "coco" if head.startswith("[") or '"image_id"' in head else "dataloop"
        raise FormatError("not a predictions file (.json COCO results or Dataloop, .txt YOLO)", file=str(p))
    if not p.is_dir():
        raise FormatError("no such file or folder", file=str(p))
    if (p / "json").is_dir():
        return "dataloop"
    if (p / "labels").is_dir() or any(f.name not in TXT_NAMES for f in p.rglob("*.txt")):
        return "yolo"
    if any(p.rglob("*.json")):
        return "dataloop"
    raise FormatError("cannot tell the predictions' format (no .json or .txt files); pass format=", file=str(p))


def _head(p: Path) -> str:
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            return f.read(1 << 20).lstrip("\ufeff \t\r\n")
    except OSError as e:
        raise FormatError(f"cannot be read ({e.strerror})", file=str(p)) from None


def looks_like_results_file(path: str | Path) -> bool:
    """A .json file whose top level is a list: a COCO results file (a model's predictions), not a dataset."""
    p = Path(path)
    return p.is_file() and p.suffix.lower() == ".json" and _head(p).startswith("[")


def parse_label_map(spec: Any) -> dict[str, str]:
    """{source: label} from a dict, 'SRC=DST' strings, or a JSON file of such a dict; keys as text (a COCO
    category id or YOLO class index may be one)."""
    if spec is None:
        return {}
    if isinstance(spec, (str, Path)) and Path(spec).is_file():
        spec = limits.load_json(Path(spec))
    if isinstance(spec, dict):
        pairs = list(spec.items())
    elif isinstance(spec, (list, tuple)):
        pairs = []
        for s in spec:
            if not isinstance(s, str) or "=" not in s:
                raise ValidationError(f"label map entry {s!r}: expected SOURCE=LABEL")
            src, _, dst = s.partition("=")
            pairs.append((src.strip(), dst.strip()))
    else:
        raise ValidationError(f"label_map must be a dict, SOURCE=LABEL strings or a JSON file, not {spec!r:.60}")
    out = {}
    for src, dst in pairs:
        if not isinstance(dst, str) or not dst or str(src) == "":
            raise ValidationError(f"label map entry {src!r}: {dst!r} is not a label")
        out[str(src)] = dst
    return out


def _target(catalog: Catalog, model: Any, ds: Any, label_map: dict[str, str]) -> Target:
    labels = list(model.labels) or list(ds.labels)
    whose = f"model {model.name!r}'s labels" if model.labels else f"dataset {ds.name!r}'s labels"
    configured = (model.configuration or {}).get("id_to_label_map")
    class_names = {int(k): v for k, v in configured.items()} if configured else dict(enumerate(labels))
    return Target(model_name=model.name, output_type=model.output_type, labels=labels, labels_of=whose,
                  class_names=class_names, dataset_labels=list(ds.labels),
                  items=ItemIndex(catalog.list_items(ds.id), ds.name), label_map=label_map)


def read_predictions(catalog: Catalog, model_id: str, dataset_id: str, path: str | Path, fmt: str | None = None, *,
                     images: str | Path | None = None, label_map: Any = None) -> tuple[Collected, str]:
    """Read and check every prediction in ``path`` against the dataset's items and the model's labels;
    returns (what was read, the format)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FormatError("no such file or folder", file=str(p))
    fmt = fmt or detect_predictions_format(p)
    if fmt not in FORMATS:
        raise ValidationError(f"unknown predictions format {fmt!r}; known: {', '.join(FORMATS)}")
    if images is not None and fmt != "coco":
        raise ValidationError("images= (a COCO ground-truth file mapping image ids) is for COCO results only")
    target = _target(catalog, catalog.get_model(model_id), catalog.get_dataset(dataset_id), parse_label_map(label_map))
    if fmt == "coco":
        if p.is_dir():
            p = _find_json(p)
        return read_coco_predictions(p, target, images=images), fmt
    if fmt == "yolo":
        return read_yolo_predictions(p, target), fmt
    return read_dataloop_predictions(p, target), fmt


def import_predictions(catalog: Catalog, model_id: str, path: str | Path, *, dataset_id: str | None = None,
                       fmt: str | None = None, images: str | Path | None = None, label_map: Any = None) -> dict:
    """Store the predictions in ``path`` as the model's on the dataset (default: the model's), replacing the
    model's earlier predictions on every item the file covers, in one transaction. Returns counts: items,
    predictions, replaced (the model's predictions there before), skipped (ground truth beside them), labels."""
    model = catalog.get_model(model_id)
    dataset_id = dataset_id or model.dataset_id
    if not dataset_id:
        raise ValidationError(f"model {model.name!r} has no dataset: say which dataset the predictions are on")
    ds = catalog.get_dataset(dataset_id)
    got, fmt = read_predictions(catalog, model_id, dataset_id, path, fmt, images=images, label_map=label_map)
    if not got.by_item:
        raise FormatError("holds no predictions and covers no item", file=str(path))
    covered = set(got.by_item)
    before = sum(1 for a in catalog.list_annotations(dataset_id=dataset_id, model_id=model_id)
                 if a.item_id in covered)
    n = catalog.replace_predictions(model.id, model.name, got.by_item, dataset_id)
    labels: dict[str, int] = {}
    for anns in got.by_item.values():
        for a in anns:
            labels[a.label] = labels.get(a.label, 0) + 1
    return {"model": model.name, "model_id": model.id, "dataset": ds.name, "dataset_id": ds.id, "format": fmt,
            "items": len(covered), "predictions": n, "replaced": before, "skipped": got.skipped,
            "labels": dict(sorted(labels.items()))}
