"""ImageFolder classification layout: root/<class>/<image> or root/<split>/<class>/<image>."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from desktop_app.catalog.names import check_name, contained
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats.images import (
    SPLIT_DIRS, SUBSET_DIRS, dedupe_split_names, is_image_file, place_image, read_size, unique_targets,
)

logger = logging.getLogger(__name__)


def _visible_dirs(p: Path) -> list[Path]:
    return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))


def read_imagefolder(root: str | Path, *, check_images: bool = True) -> DatasetBundle:
    """Read class folders. If every top-level folder is a split name (train / val / valid / validation /
    test) they are subsets, each holding class folders. Item names are ``<class>/<file>`` (the split
    folder is kept only if two splits hold the same name); images outside any class folder are
    unlabelled items. Labels are the sorted class folder names, as torchvision's ImageFolder orders them."""
    root = Path(root)
    if not root.is_dir():
        raise FormatError("not a folder", file=str(root))
    tops = _visible_dirs(root)
    split_layout = bool(tops) and all(d.name.lower() in SPLIT_DIRS for d in tops)
    bases = [(d, SPLIT_DIRS[d.name.lower()], d.name) for d in tops] if split_layout else [(root, None, None)]

    rows = []  # (path, subset, split folder, name inside it, class)
    classes: set[str] = set()
    for base, subset, folder in bases:
        classes.update(d.name for d in _visible_dirs(base))  # empty class folders still name a class
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base).parts
            if not p.is_file() or not is_image_file(p) or any(q.startswith(".") for q in rel):
                continue
            label = rel[0] if len(rel) > 1 else None
            rows.append((p, subset, folder, "/".join(rel), label))
    if not rows:
        raise FormatError("no images found", file=str(root))
    names = dedupe_split_names([(folder, name, str(p)) for p, _, folder, name, _ in rows])
    items = []
    for (p, subset, _, _, label), name in zip(rows, names):
        w, h = read_size(p) if check_images else (None, None)
        anns = [Annotation("class", label)] if label else []
        items.append(ImageEntry(source=p, name=name, width=w, height=h, subset=subset, annotations=anns))
    return DatasetBundle(labels=sorted(classes), items=items, info={"format": "imagefolder"})


def write_imagefolder(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy",
                      skip_unlabeled: bool = False, progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``[split/]<label>/<name>`` (a leading ``<label>/`` in the name is not doubled); returns ``out_dir``.

    Every item needs exactly one ``class`` annotation; items without (or with several) are an error,
    or are left out with ``skip_unlabeled``. When some items have a subset, the others go to train."""
    out = Path(out_dir)
    with_splits = any(it.subset in SUBSET_DIRS for it in bundle.items)
    targets: list[tuple[ImageEntry, str]] = []
    skipped = 0
    for it in bundle.items:
        labels = list(dict.fromkeys(a.label for a in it.annotations if a.type == "class"))
        if len(labels) != 1:
            if skip_unlabeled:
                skipped += 1
                continue
            raise FormatError(f"ImageFolder needs exactly one class label per image, found {len(labels)}"
                              " (pass skip_unlabeled=True to leave such images out)", entry=it.name)
        label = labels[0]
        name = it.name[len(label) + 1:] if it.name.startswith(label + "/") else it.name
        rel = f"{label}/{name}"
        if with_splits:
            rel = f"{SUBSET_DIRS.get(it.subset or '', 'train')}/{rel}"
        targets.append((it, rel))
    if skipped:
        logger.warning("ImageFolder export: %d images without exactly one class label were left out", skipped)
    unique_targets((rel, it.name) for it, rel in targets)
    # Every destination is checked before the first write: a name (or a label: it is a folder here) must
    # not lead outside out_dir.
    dsts = [(it, check_name(it.name, "item name") and contained(out, rel, "item path (label/name)"))
            for it, rel in targets]
    out.mkdir(parents=True, exist_ok=True)
    for it, dst in tracked(dsts, progress, cancelled):
        place_image(it, dst, copy_images)
    return out
