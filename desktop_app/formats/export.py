"""Export rules shared by the SDK, CLI and GUI: what each format can hold, the destination check, staged writes."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from desktop_app.errors import UserError

# Formats that can carry a model's predictions beside the ground truth so that they can be told apart, and the
# writer option that keeps their confidences: COCO marks each with its "score" and "model", YOLO with a sixth
# column (the confidence), Dataloop JSON with metadata.user.model {name, model_id, confidence}. VOC and
# ImageFolder have nowhere to put either: they are refused (a COCO results file holds predictions alone).
PREDICTION_FORMATS: dict[str, dict[str, Any]] = {
    "coco": {"include_scores": True}, "yolo": {"include_scores": True}, "dataloop": {},
}
# Yes / no writer options worth a checkbox: format -> [(keyword, what it does)].
FORMAT_FLAGS: dict[str, list[tuple[str, str]]] = {
    "coco": [("include_classes", "Also write image-level class labels (a COCO extension)")],
    "yolo": [("include_crowd", "Keep crowd regions (Ultralytics leaves them out)")],
    "imagefolder": [("skip_unlabeled", "Leave out images without exactly one class label")],
}
STAGING_PREFIX = ".model-desk-export-"


def writer_kwargs(fmt: str, predictions: bool | str = False, flags: dict[str, bool] | None = None) -> dict:
    """Keyword arguments for ``export_dataset``: the chosen predictions (if the format holds them) and flags."""
    known = {k for k, _ in FORMAT_FLAGS.get(fmt, [])}
    kw: dict[str, Any] = {k: bool(v) for k, v in (flags or {}).items() if k in known}
    if predictions and fmt in PREDICTION_FORMATS:
        kw.update(PREDICTION_FORMATS[fmt], include_predictions=predictions)
    return kw


def prediction_kwargs(fmt: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Writer keyword arguments for an export that carries predictions: their scores are always kept; a format
    that cannot hold them apart from the ground truth is refused (UserError)."""
    if fmt not in PREDICTION_FORMATS:
        raise UserError(f"the {fmt} format cannot hold predictions apart from the ground truth (no place for "
                        f"their scores); export them as {', '.join(PREDICTION_FORMATS)}, or as a COCO results "
                        f"file (dataset.export_results / desktop-app export --results MODEL)")
    if kwargs.get("include_scores") is False:
        raise UserError("predictions are always exported with their scores (include_scores=False would make them "
                        "look like ground truth)")
    return {**kwargs, **PREDICTION_FORMATS[fmt]}


def scope_filters(scope: str, gallery: dict | None = None, selected: list[int] | None = None) -> dict:
    """Catalog.list_items filters for a scope: 'all', 'subset:<train|validation|test|none>', 'gallery' (the
    gallery's own filter, as GalleryFilter.to_kwargs gives it) or 'selected' (those item ids)."""
    if scope == "all":
        return {}
    if scope.startswith("subset:"):
        return {"subset": scope.split(":", 1)[1]}
    if scope == "gallery":
        return dict(gallery or {})
    if scope == "selected":
        return {"item_ids": list(selected or [])}
    raise ValueError(f"unknown export scope {scope!r}")


def describe_filters(kw: dict) -> str:
    """A short phrase for a gallery filter: "subset train, label 'cat', name contains 'x'"."""
    parts = []
    if kw.get("subset"):
        parts.append("no subset" if kw["subset"] == "none" else f"subset {kw['subset']}")
    if kw.get("label"):
        parts.append(f"label {kw['label']!r}")
    if kw.get("ann_type"):
        parts.append(f"with {kw['ann_type']} annotations")
    if kw.get("text"):
        parts.append(f"name contains {kw['text']!r}")
    return ", ".join(parts) or "everything"


def check_destination(out: str | Path) -> bool:
    """True if ``out`` is a folder that already holds files (the caller may want to confirm), False if it is
    empty or new; UserError if nothing can be written there (a file, no permission)."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"cannot export to {out}: it is a file, not a folder")
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise UserError(f"cannot export to {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot export to {out}: no permission to write in {existing}")
    return out.is_dir() and any(out.iterdir())


@contextmanager
def staged(out: str | Path) -> Iterator[Path]:
    """A scratch folder to write the export into; moved to ``out`` when the block ends, removed if it raises.

    A new ``out`` is staged beside it and renamed; an existing one is staged inside it (its parent may not be
    writable) and merged in, replacing files of the same name, keeping the others."""
    out = Path(out).expanduser()
    check_destination(out)
    made = [p for p in (out.parent, *out.parent.parents) if not p.exists()]   # deepest first
    out.parent.mkdir(parents=True, exist_ok=True)
    existed = out.is_dir()
    tag = uuid.uuid4().hex[:8]
    tmp = out / f"{STAGING_PREFIX}{tag}" if existed else out.parent / f"{STAGING_PREFIX}{out.name}-{tag}"
    tmp.mkdir()
    try:
        yield tmp
        if existed:
            _check_merge(tmp, out)
            _merge(tmp, out)
            tmp.rmdir()
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in made:
            try:
                p.rmdir()
            except OSError:
                break
        raise


def _check_merge(src: Path, dst: Path) -> None:
    # Find a file-versus-folder clash before moving anything, so a refused merge changes nothing.
    for p in src.rglob("*"):
        target = dst / p.relative_to(src)
        if target.exists() and target.is_dir() != p.is_dir():
            raise UserError(f"cannot export to {dst}: {target} is in the way "
                            f"(a {'folder' if target.is_dir() else 'file'} where the export writes a "
                            f"{'folder' if p.is_dir() else 'file'})")


def _merge(src: Path, dst: Path) -> None:
    for p in sorted(src.iterdir()):
        target = dst / p.name
        if p.is_dir() and target.is_dir():
            _merge(p, target)
            p.rmdir()
        else:
            os.replace(p, target)
