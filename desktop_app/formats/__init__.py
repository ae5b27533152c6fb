"""Dataset importers / exporters (COCO, YOLO, Pascal VOC, ImageFolder, Dataloop JSON, YOLO segmentation,
class-index PNGs) and their registry.
Uses: catalog, domain, settings, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.keywords import keyword_names
from desktop_app.errors import FormatError
from desktop_app.formats.coco import read_coco, write_coco, write_coco_results
from desktop_app.formats.dataloop import (
    from_dataloop_annotation, read_dataloop, to_dataloop_annotation, write_dataloop,
)
from desktop_app.formats.imagefolder import read_imagefolder, write_imagefolder
from desktop_app.formats.images import is_image_file, verify_images
from desktop_app.formats.voc import read_voc, write_voc
from desktop_app.formats.yolo import YAML_NAMES, read_yolo, write_yolo
from desktop_app.formats.semantic_png import is_semantic_folder, read_semantic, write_semantic
from desktop_app.formats.yolo_seg import read_yolo_seg, write_yolo_seg


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    read: Callable[..., DatasetBundle]
    write: Callable[..., Path]


FORMATS: dict[str, Format] = {
    "coco": Format("coco", "COCO instances JSON", read_coco, write_coco),
    "yolo": Format("yolo", "YOLO (Ultralytics)", read_yolo, write_yolo),
    "voc": Format("voc", "Pascal VOC XML", read_voc, write_voc),
    "imagefolder": Format("imagefolder", "ImageFolder (class folders)", read_imagefolder, write_imagefolder),
    "dataloop": Format("dataloop", "Dataloop JSON", read_dataloop, write_dataloop),
    "yolo-seg": Format("yolo-seg", "YOLO segmentation (masks as polygons)", read_yolo_seg, write_yolo_seg),
    "semantic": Format("semantic", "Class-index PNGs (VOC / Cityscapes semantic)", read_semantic, write_semantic),
}


def _get(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise FormatError(f"unknown dataset format {fmt!r}; known: {', '.join(FORMATS)}") from None


def option_names(fmt: str, direction: str) -> set[str]:
    """The keyword options the ``fmt`` reader (``direction`` 'read') or writer ('write') takes."""
    fn = _get(fmt).read if direction == "read" else _get(fmt).write
    names, _ = keyword_names(fn, skip=1 if direction == "read" else 2)
    return set(names)


def read(fmt: str, path: str | Path, **kw: Any) -> DatasetBundle:
    """Read a dataset in format ``fmt``; validates everything before returning."""
    return _get(fmt).read(path, **kw)


def write(fmt: str, bundle: DatasetBundle, out_dir: str | Path, **kw: Any) -> Path:
    """Write ``bundle`` in format ``fmt`` under ``out_dir``; returns the folder to read it back from."""
    return _get(fmt).write(bundle, out_dir, **kw)


def _is_coco_json(p: Path) -> bool:
    # A sniff of the first megabyte: parsing a big instances file in full would take seconds.
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    return head.lstrip().startswith("{") and '"images"' in head


def detect_format(path: str | Path) -> str:
    """Guess the format of a dataset folder (or a COCO JSON file)."""
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() == ".json":
            from desktop_app.formats import limits
            try:
                doc = limits.load_json(p, limit=limits.MAX_ANNOTATION_FILE_BYTES)
            except FormatError:
                doc = None
            if isinstance(doc, dict) and "images" in doc:
                return "coco"
            if isinstance(doc, dict) and "filename" in doc and "annotations" in doc:
                return "dataloop"
        raise FormatError("not a recognised dataset file", file=str(p))
    if not p.is_dir():
        raise FormatError("no such file or folder", file=str(p))
    if (p / "Annotations").is_dir() and any((p / "Annotations").rglob("*.xml")):
        return "voc"
    if (p / "json").is_dir() and (p / "items").is_dir():
        return "dataloop"
    if is_semantic_folder(p):
        return "semantic"
    if any((p / n).is_file() for n in YAML_NAMES) or (p / "labels").is_dir() or any(
            (d / "labels").is_dir() for d in p.iterdir() if d.is_dir()):
        return "yolo"
    for cand in [p / "annotations.json", *sorted(p.glob("*.json")), *sorted((p / "annotations").glob("*.json"))]:
        if cand.is_file() and _is_coco_json(cand):
            return "coco"
    if any(d.is_dir() and not d.name.startswith(".") and any(is_image_file(f) for f in d.rglob("*"))
           for d in p.iterdir()):
        return "imagefolder"
    raise FormatError("cannot tell the dataset format (no COCO JSON, data.yaml, Annotations/, json/ or class "
                      "folders found)", file=str(p))


__all__ = [
    "Annotation", "DatasetBundle", "FORMATS", "Format", "ImageEntry", "detect_format", "from_dataloop_annotation",
    "option_names", "read", "read_coco", "read_dataloop", "read_imagefolder", "read_voc", "read_yolo",
    "to_dataloop_annotation", "verify_images", "write", "write_coco", "write_coco_results", "write_dataloop",
    "write_imagefolder", "write_voc", "write_yolo", "read_semantic", "write_semantic", "read_yolo_seg",
    "write_yolo_seg",
]
