"""The local, Dataloop-like folder a training run (and a user's adapter) reads its data from.

    data_path/labels.json                      {"labels": [...]}   (order = class ids)
    data_path/<subset>/items/<name>            symlink to the source image (a copy where links fail)
    data_path/<subset>/json/<name>.json        one item as Dataloop writes it: "/<name>", metadata.system width /
                                               height / subset tag, annotations with {x, y, z} points
    data_path/<subset>/annotations.json        the whole subset in one file (the fast path), compact coordinates

The per-item files are Dataloop's item JSON, so an adapter written for Dataloop reads them unchanged. The one-file
form keeps the compact coordinates of `formats.base` (box = [l, t, r, b] pixels, segment = rings of [x, y]).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from desktop_app.catalog.names import check_name, contained
from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats.base import Annotation, ImageEntry
from desktop_app.formats.dataloop import dataloop_item_from_json, dataloop_item_json

LAYOUT_VERSION = 1


def write_layout(data_path: str | Path, subsets: dict[str, list[ImageEntry]], labels: list[str]) -> Path:
    """Lay out `subsets` under `data_path` (created; existing files of the same names are replaced)."""
    root = Path(data_path)
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(root / "labels.json", {"version": LAYOUT_VERSION, "labels": list(labels)})
    for subset, entries in subsets.items():
        sub = contained(root, subset, "subset")
        (sub / "items").mkdir(parents=True, exist_ok=True)
        (sub / "json").mkdir(parents=True, exist_ok=True)
        records = []
        seen: set[str] = set()
        for entry in entries:
            item_path = _replaceable(sub / "items", entry.name)
            json_path = contained(sub / "json", f"{entry.name}.json", "item name")
            if entry.name in seen:
                raise ValidationError(f"item name: {entry.name!r} appears twice in subset {subset!r}")
            seen.add(entry.name)
            if entry.source is not None:
                _link_or_copy(Path(entry.source), item_path)
            record = _item_to_json(entry)
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(dataloop_item_json(entry, record["width"], record["height"], subset)),
                                 encoding="utf-8")
            records.append(record)
        _atomic_write_json(sub / "annotations.json",
                           {"version": LAYOUT_VERSION, "subset": subset, "labels": list(labels), "items": records})
    return root


def read_labels(data_path: str | Path) -> list[str]:
    path = Path(data_path) / "labels.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError("labels.json is missing: not a Model Desk data folder", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc})", file=str(path)) from None
    labels = data.get("labels") if isinstance(data, dict) else data
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise FormatError("expected {'labels': [str, ...]}", file=str(path))
    return labels


def list_subsets(data_path: str | Path) -> list[str]:
    root = Path(data_path)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and ((p / "annotations.json").exists()
                                                                   or (p / "json").is_dir()))


def read_layout(data_path: str | Path, subset: str) -> list[ImageEntry]:
    """The items of one subset; `source` points into `<subset>/items/`. A missing subset reads as empty."""
    check_name(subset, "subset")
    sub = Path(data_path) / subset
    fast = sub / "annotations.json"
    if fast.exists():
        try:
            data = json.loads(fast.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FormatError(f"not valid JSON ({exc})", file=str(fast)) from None
        records = data.get("items", []) if isinstance(data, dict) else []
    elif (sub / "json").is_dir():  # written by hand or by a user's script: the per-item files alone
        entries = []
        for path in sorted((sub / "json").rglob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise FormatError(f"not valid JSON ({exc})", file=str(path)) from None
            entries.append(_item_from_dataloop(record, sub, subset, path) if _is_dataloop(record)
                           else _item_from_json(record, sub, subset, path))
        return entries
    else:
        return []
    return [_item_from_json(r, sub, subset, fast) for r in records]


# -- internals ---------------------------------------------------------------------------------------

def _replaceable(folder: Path, name: str) -> Path:
    """folder/name for _link_or_copy, which replaces what is there: the link an earlier layout of the same
    model left (into the store, outside the folder) is removed, never followed; the folders on the way are
    checked to stay inside first, so nothing outside is touched."""
    check_name(name, "item name")
    parent = name.rpartition("/")[0]
    if parent:
        contained(folder, parent, "item name")
    if (folder / name).is_symlink():
        (folder / name).unlink()
    return contained(folder, name, "item name")


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # no symlink rights (Windows without developer mode, some network drives)
        shutil.copy2(src, dst)


def _ann_to_json(a: Annotation) -> dict[str, Any]:
    d: dict[str, Any] = {"type": a.type, "label": a.label, "coordinates": a.coordinates}
    if a.attributes:
        d["attributes"] = a.attributes
    if a.iscrowd:
        d["iscrowd"] = True
    if a.score is not None:
        d["score"] = a.score
    if a.model_name is not None:
        d["model_name"] = a.model_name
    if a.metadata:
        d["metadata"] = a.metadata
    return d


def _item_to_json(entry: ImageEntry) -> dict[str, Any]:
    width, height = entry.width, entry.height
    if (width is None or height is None) and entry.source is not None:
        try:
            from PIL import Image  # header only: cheap

            with Image.open(entry.source) as im:
                width, height = im.size
        except OSError:
            pass  # unreadable: the trainer names it when it skips it
    d: dict[str, Any] = {
        "filename": entry.name,
        "width": width,
        "height": height,
        "annotations": [_ann_to_json(a) for a in entry.annotations],
    }
    if entry.metadata:
        d["metadata"] = entry.metadata
    return d


def _item_from_json(r: dict[str, Any], sub: Path, subset: str, file: Path) -> ImageEntry:
    try:
        name = r["filename"].lstrip("/")
        anns = [
            Annotation(
                type=a["type"], label=a["label"], coordinates=a.get("coordinates"),
                attributes=a.get("attributes", {}), iscrowd=bool(a.get("iscrowd", False)),
                score=a.get("score"), model_name=a.get("model_name"), metadata=a.get("metadata", {}),
            )
            for a in r.get("annotations", [])
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise FormatError(f"malformed item record ({exc!r})", file=str(file), entry=str(r.get("filename"))) from None
    return ImageEntry(source=sub / "items" / name, name=name, width=r.get("width"), height=r.get("height"),
                      subset=subset, annotations=anns, metadata=r.get("metadata", {}))


def _is_dataloop(r: Any) -> bool:
    """An item JSON in Dataloop's form (what write_layout writes per item), not the compact one of annotations.json."""
    return isinstance(r, dict) and isinstance(r.get("metadata"), dict) and "system" in r["metadata"]


def _item_from_dataloop(r: dict[str, Any], sub: Path, subset: str, file: Path) -> ImageEntry:
    name, width, height, anns = dataloop_item_from_json(r, file=str(file))
    check_name(name, "item name")
    return ImageEntry(source=sub / "items" / name, name=name, width=width, height=height, subset=subset,
                      annotations=anns)


def _atomic_write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
