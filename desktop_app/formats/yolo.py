"""Ultralytics YOLO layout: data.yaml + images/<split>/ + labels/<split>/*.txt (normalised boxes and polygons)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from desktop_app.catalog.names import contained
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
from desktop_app.domain.progress import tracked
from desktop_app.errors import FormatError
from desktop_app.formats import limits
from desktop_app.formats.images import (
    SUBSET_DIRS, all_labels, bounds, dedupe_split_names, entry_size, is_image_file, label_problem, log_dropped,
    place_image, read_size, split_subset, unique_targets, validate_annotation,
)

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
TXT_NAMES = ("names.txt", "classes.txt", "obj.names")


# ---------------------------------------------------------------- the small YAML subset of data.yaml

def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(s: str) -> Any:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        return json.loads(s)
    if len(s) >= 2 and s[0] == s[-1] == "'":
        return s[1:-1].replace("''", "'")
    if re.fullmatch(r"[-+]?\d+", s):
        return int(s)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", s):
        return float(s)
    return {"true": True, "false": False, "null": None, "~": None, "": None}.get(s.lower(), s)


def _split_flow(s: str) -> list[str]:
    parts, cur, quote = [], [], None
    for ch in s:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def _key_value(s: str) -> tuple[Any, str]:
    m = re.match(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+?)\s*:(?:\s+|$)(.*)$""", s)
    if not m:
        raise ValueError(f"expected 'key: value', got {s.strip()!r}")
    return _scalar(m.group(1)), m.group(2)


def _value(s: str) -> Any:
    s = s.strip()
    if s.startswith("["):
        if not s.endswith("]"):
            raise ValueError("unclosed '['")
        return [_scalar(p) for p in _split_flow(s[1:-1])]
    if s.startswith("{"):
        if not s.endswith("}"):
            raise ValueError("unclosed '{'")
        return {k: _scalar(v) for k, v in map(_key_value, _split_flow(s[1:-1]))}
    return _scalar(s)


def parse_yaml(text: str, file: str | None = None) -> dict[str, Any]:
    """Parse the YAML subset data.yaml files use: top-level ``key: value``, flow lists/maps (may span
    lines) and one level of block lists (``- a``) or maps (``0: a``) under a key."""
    out: dict[str, Any] = {}
    lines = [_strip_comment(line) for line in text.splitlines()]
    i = 0
    while i < len(lines):
        line, lineno = lines[i], i + 1
        i += 1
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        try:
            if line[0] in " \t":
                raise ValueError("unexpected indentation")
            key, rest = _key_value(line)
            if rest.strip().startswith(("[", "{")):
                close = "]" if rest.strip()[0] == "[" else "}"
                while not rest.rstrip().endswith(close) and i < len(lines):
                    rest += " " + lines[i].strip()
                    i += 1
                out[key] = _value(rest)
            elif rest.strip():
                out[key] = _value(rest)
            else:
                block: list[str] = []
                while i < len(lines) and (not lines[i].strip() or lines[i][0] in " \t"):
                    if lines[i].strip():
                        block.append(lines[i].strip())
                    i += 1
                if block and all(b.startswith("- ") or b == "-" for b in block):
                    out[key] = [_scalar(b[1:]) for b in block]
                elif block:
                    out[key] = dict((k, _scalar(v)) for k, v in map(_key_value, block))
                else:
                    out[key] = None
        except (ValueError, json.JSONDecodeError) as e:
            raise FormatError(f"cannot parse YAML ({e})", file=file, entry=f"line {lineno}") from None
    return out


def _yaml_str(s: str) -> str:
    # JSON strings are valid YAML; quote anything a plain YAML scalar could misread.
    plain = re.fullmatch(r"[A-Za-z_][\w .\-/()]*", s) and s == s.strip()
    if plain and s.lower() not in ("true", "false", "null", "yes", "no", "on", "off"):
        return s
    return json.dumps(s, ensure_ascii=False)


# ---------------------------------------------------------------- reading

def _names_from(root: Path, names: list[str] | dict[int, str] | None) -> tuple[dict[int, str], str]:
    if names is not None:
        return (dict(enumerate(names)) if isinstance(names, list) else dict(names)), "names argument"
    for fn in YAML_NAMES:
        p = root / fn
        if p.is_file():
            doc = parse_yaml(limits.read_text(p), str(p))
            raw = doc.get("names")
            if isinstance(raw, list):
                out = dict(enumerate(raw))
            elif isinstance(raw, dict):
                bad = [k for k in raw if not (isinstance(k, int) and not isinstance(k, bool)
                                               or isinstance(k, str) and re.fullmatch(r"\s*-?\d+\s*", k))]
                if bad:
                    raise FormatError(f"'names' keys must be class indices, got {bad[0]!r:.40}", file=str(p),
                                      entry="names")
                out = {int(k): v for k, v in raw.items()}
            else:
                raise FormatError("'names' missing or not a list / map", file=str(p))
            if not all(isinstance(v, (str, int, float)) and str(v).strip() for v in out.values()):
                raise FormatError("class names must be non-empty strings", file=str(p))
            out = {k: str(v) for k, v in out.items()}
            bad_name = next((k for k, v in out.items() if label_problem(v)), None)
            if bad_name is not None:
                raise FormatError(f"class name {label_problem(out[bad_name])}", file=str(p), entry=f"names[{bad_name}]")
            if "nc" in doc and doc["nc"] != len(out):
                raise FormatError(f"nc is {doc['nc']} but {len(out)} names are listed", file=str(p))
            if len(set(out.values())) != len(out):
                raise FormatError("duplicate class names", file=str(p))
            return out, str(p)
    for fn in TXT_NAMES:
        p = root / fn
        if p.is_file():
            lines = [ln.strip() for ln in limits.read_text(p).splitlines() if ln.strip()]
            return dict(enumerate(lines)), str(p)
    raise FormatError(f"no class names: expected one of {', '.join(YAML_NAMES + TXT_NAMES)}", file=str(root))


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last 'images' folder of the path becomes 'labels', the suffix '.txt'."""
    parts = list(image.parts)
    idx = max(i for i, p in enumerate(parts[:-1]) if p == "images")
    parts[idx] = "labels"
    return Path(*parts).with_suffix(".txt")


def _parse_labels(path: Path, names: dict[int, str], w: int, h: int) -> list[Annotation]:
    file = str(path)
    text = limits.read_text(path)
    anns = []
    for lineno, line in enumerate(text.splitlines(), 1):
        toks = line.split()
        if not toks:
            continue
        where = f"line {lineno}"
        try:
            vals = [float(t) for t in toks]
        except ValueError:
            raise FormatError(f"non-numeric value in {line.strip()!r}", file=file, entry=where) from None
        if not all(math.isfinite(v) for v in vals):
            raise FormatError("non-finite value", file=file, entry=where)
        cls = vals[0]
        if cls != int(cls) or int(cls) not in names:
            raise FormatError(f"class index {toks[0]} out of range (0..{max(names, default=-1)})",
                              file=file, entry=where)
        n = len(vals) - 1
        score = None
        if n in (4, 5):  # cx cy w h [conf]
            cx, cy, bw, bh = vals[1:5]
            score = vals[5] if n == 5 else None
            if bw <= 0 or bh <= 0:
                raise FormatError(f"box has a negative or zero size: w {bw:g}, h {bh:g}", file=file, entry=where)
            ann = Annotation("box", names[int(cls)], [(cx - bw / 2) * w, (cy - bh / 2) * h,
                                                     (cx + bw / 2) * w, (cy + bh / 2) * h])
        elif n >= 6:  # x1 y1 x2 y2 ... [conf]; an odd count means the last value is a confidence
            xy = vals[1:]
            if n % 2:
                xy, score = xy[:-1], xy[-1]
            ann = Annotation("segment", names[int(cls)], [[[xy[j] * w, xy[j + 1] * h] for j in range(0, len(xy), 2)]])
        else:
            raise FormatError(f"expected 'class cx cy w h' or a polygon, got {n} values", file=file, entry=where)
        ann.score = score
        validate_annotation(ann, w, h, file=file, entry=where)
        anns.append(ann)
    return anns


def read_yolo(root: str | Path, *, names: list[str] | dict[int, str] | None = None) -> DatasetBundle:
    """Read an Ultralytics dataset: ``images/<split>/...`` or ``<split>/images/...`` beside ``labels``.

    The split folder (train / val / test) gives the subset and is dropped from item names unless that
    makes two names equal. Class names come from data.yaml (or names.txt / classes.txt) unless given.
    A missing label file means an image without objects; a label file without an image is an error."""
    root = Path(root)
    if not root.is_dir():
        raise FormatError("not a folder", file=str(root))
    names_map, names_file = _names_from(root, names)
    images = sorted(p for p in root.rglob("*") if is_image_file(p) and "images" in p.relative_to(root).parts[:-1]
                    and p.is_file())
    if not images:
        raise FormatError("no images found under an 'images' folder", file=str(root))

    rows, label_files = [], {}
    for p in images:
        lab = label_path(p)
        if lab in label_files:
            raise FormatError(f"duplicate file name: {label_files[lab].name} and {p.name} share {lab.name}",
                              file=str(p))
        label_files[lab] = p
        rel = p.relative_to(root).parts
        k = max(i for i, q in enumerate(rel[:-1]) if q == "images")
        subset, folder, rest = split_subset(rel[:k] + rel[k + 1:])
        rows.append((p, lab, subset, folder, "/".join(rest)))
    for lab in sorted(root.rglob("*.txt")):
        rel = lab.relative_to(root).parts
        if "labels" in rel[:-1] and lab.name not in TXT_NAMES and lab not in label_files:
            raise FormatError("image file missing for this label file", file=str(lab))

    item_names = dedupe_split_names([(folder, name, str(p)) for p, _, _, folder, name in rows])
    items = []
    for (p, lab, subset, _, _), name in zip(rows, item_names):
        w, h = read_size(p)
        anns = _parse_labels(lab, names_map, w, h) if lab.is_file() else []
        items.append(ImageEntry(source=p, name=name, width=w, height=h, subset=subset, annotations=anns))
    order = sorted(names_map)
    return DatasetBundle(labels=[names_map[k] for k in order], items=items,
                         info={"format": "yolo", "class_ids": order, "names_file": names_file})


# ---------------------------------------------------------------- writing

def _fmt(v: float) -> str:
    return f"{v:.10g}"


def _line(a: Annotation, cls: int, w: int, h: int, task: str | None, include_scores: bool) -> str | None:
    if a.type == "segment" and task != "detect":
        # YOLO has one polygon per line: parts of a multi-part polygon become separate objects.
        lines = [" ".join([str(cls)] + [_fmt(v) for x, y in ring for v in (x / w, y / h)]) for ring in a.coordinates]
    else:
        b = bounds(a) if a.type in ("box", "segment", "binary") else None
        if b is None:
            return None
        if task == "segment":
            l, t, r, bt = b
            corners = (l / w, t / h, r / w, t / h, r / w, bt / h, l / w, bt / h)
            lines = [" ".join([str(cls)] + [_fmt(v) for v in corners])]
        else:
            lines = [" ".join([str(cls)] + [_fmt(v) for v in ((b[0] + b[2]) / 2 / w, (b[1] + b[3]) / 2 / h,
                                                            (b[2] - b[0]) / w, (b[3] - b[1]) / h)])]
    if a.score is not None and (include_scores or a.model_name is not None):
        lines = [f"{ln} {_fmt(a.score)}" for ln in lines]  # a prediction always keeps its confidence column
    return "\n".join(lines)


def write_yolo(bundle: DatasetBundle, out_dir: str | Path, *, copy_images: str = "copy", task: str | None = None,
               include_scores: bool = False, include_crowd: bool = False,
               progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``data.yaml``, ``images/<split>/<name>`` and ``labels/<split>/<stem>.txt``; returns ``out_dir``.

    ``task=None`` writes boxes as box lines and polygons as polygon lines (exact round trip);
    ``"detect"`` writes everything as boxes, ``"segment"`` everything as polygons (Ultralytics wants one
    kind per dataset). Masks become their bounding box. Crowd regions are left out unless
    ``include_crowd`` (as Ultralytics' own COCO converter does); class and point annotations are left out."""
    if task not in (None, "detect", "segment"):
        raise ValueError(f"task must be None, 'detect' or 'segment', got {task!r}")
    for it in bundle.items:
        for a in it.annotations:
            if a.model_name is not None and a.score is None:
                raise FormatError(f"a prediction of model {a.model_name!r} has no score: in YOLO only the confidence "
                                  f"column tells a prediction from ground truth", entry=it.name)
    out = Path(out_dir)
    labels = all_labels(bundle)
    index = {lab: i for i, lab in enumerate(labels)}

    def rel(it: ImageEntry) -> str:
        split = SUBSET_DIRS.get(it.subset or "")
        return f"{split}/{it.name}" if split else it.name

    # Every destination is checked before the first write: a name must not lead outside out_dir.
    images = [contained(out / "images", rel(it), "item name") for it in bundle.items]
    unique_targets((str(Path(rel(it)).with_suffix("")), it.name) for it in bundle.items)
    targets = [(contained(out / "labels", str(PurePosixPath(rel(it)).with_suffix(".txt")), "item name"), dst)
               for it, dst in zip(bundle.items, images)]
    dropped: dict[str, int] = {}
    for it, (txt, dst) in tracked(list(zip(bundle.items, targets)), progress, cancelled):
        w, h = entry_size(it)
        lines = []
        for a in it.annotations:
            line = None if (a.iscrowd and not include_crowd) else _line(a, index[a.label], w, h, task, include_scores)
            if line is None:
                key = "crowd" if a.iscrowd and not include_crowd else a.type
                dropped[key] = dropped.get(key, 0) + 1
            else:
                lines.append(line)
        txt.parent.mkdir(parents=True, exist_ok=True)
        txt.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
        place_image(it, dst, copy_images)
    log_dropped("YOLO", dropped)

    splits = {SUBSET_DIRS[it.subset] for it in bundle.items if it.subset in SUBSET_DIRS}
    train = "images/train" if "train" in splits else "images"
    yaml = ["# Written by Model Desk", f"train: {train}",
            f"val: {'images/val' if 'val' in splits else train}"]
    if "test" in splits:
        yaml.append("test: images/test")
    yaml += [f"nc: {len(labels)}", "names:"] + [f"  {i}: {_yaml_str(lab)}" for i, lab in enumerate(labels)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.yaml").write_text("\n".join(yaml) + "\n", encoding="utf-8")
    return out
