"""Catalog operations on datasets, items and annotations, with bulk import in one transaction."""

from __future__ import annotations

import json
import mimetypes
import random
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from desktop_app.domain.annotations import ANNOTATION_TYPES, SUBSETS, Annotation, DatasetBundle
from desktop_app.domain.progress import tracked
from desktop_app.errors import AlreadyExistsError, FormatError, NotFoundError, ValidationError

from .db import Database, new_id, now_iso, to_json
from .ground_truth import ground_truth_sql, prediction_sql
from .names import check_name, name_problem
from .records import AnnotationChange, AnnotationRecord, DatasetRecord, ItemRecord
from .store import BlobStore

ANN_COLUMNS = ("id", "item_id", "dataset_id", "type", "label", "left", "top", "right", "bottom",
               "coordinates", "attributes", "model_id", "model_name", "score", "iscrowd", "area",
               "metadata", "creator", "created_at", "updated_at")
_ANN_INSERT = f"INSERT INTO annotations ({', '.join(ANN_COLUMNS)}) VALUES ({', '.join('?' * len(ANN_COLUMNS))})"
ITEM_COLUMNS = ("id", "dataset_id", "name", "sha256", "mimetype", "width", "height", "subset",
                "created_at", "updated_at", "metadata")
_ITEM_INSERT = f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' * len(ITEM_COLUMNS))})"


def geometry(ann: Annotation) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    """(left, top, right, bottom, area) of an annotation; boxes live in columns, not JSON."""
    c = ann.coordinates
    t = ann.type
    if t == "box":
        l, tp, r, b = (float(v) for v in c)
        return l, tp, r, b, (r - l) * (b - tp)
    if t == "segment":
        xs = [float(p[0]) for ring in c for p in ring]
        ys = [float(p[1]) for ring in c for p in ring]
        if not xs:
            return None, None, None, None, 0.0
        area = 0.0
        for ring in c:
            n = len(ring)
            s = 0.0
            for i in range(n):
                x1, y1 = ring[i][0], ring[i][1]
                x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
                s += x1 * y2 - x2 * y1
            area += abs(s) / 2.0
        return min(xs), min(ys), max(xs), max(ys), area
    if t == "point":
        x, y = float(c[0]), float(c[1])
        return x, y, x, y, 0.0
    if t == "binary" and isinstance(c, dict) and "bbox" in c:
        x, y, w, h = c["bbox"]
        return x, y, x + w, y + h, c.get("area")
    if t == "binary" and isinstance(c, dict) and "size" in c and "counts" in c:
        from desktop_app.domain import masks         # the mask's own box and pixel count (COCO's area of a mask)
        try:
            box = masks.bbox(masks.decode(c))
        except (ValueError, TypeError):
            return None, None, None, None, None      # refused where it came in (formats, the SDK); not stored here
        if box is None:
            return None, None, None, None, 0.0
        return box[0], box[1], box[2], box[3], float(masks.area(c))
    return None, None, None, None, None


def validate_annotation(ann: Annotation, *, where: str) -> None:
    if ann.type not in ANNOTATION_TYPES:
        raise ValidationError(f"{where}: unknown annotation type {ann.type!r}; one of {', '.join(ANNOTATION_TYPES)}")
    if not isinstance(ann.label, str) or not ann.label:
        raise ValidationError(f"{where}: annotation needs a non-empty label")
    if ann.type == "box":
        c = ann.coordinates
        if not isinstance(c, (list, tuple)) or len(c) != 4:
            raise ValidationError(f"{where}: a box needs [left, top, right, bottom], got {c!r}")
        if not (c[2] >= c[0] and c[3] >= c[1]):
            raise ValidationError(f"{where}: box {list(c)} has negative size")
    elif ann.type == "segment":
        c = ann.coordinates
        if not isinstance(c, (list, tuple)) or not c or any(len(ring) < 3 for ring in c):
            raise ValidationError(f"{where}: a polygon needs rings of at least 3 [x, y] points")
    elif ann.type == "point":
        if not isinstance(ann.coordinates, (list, tuple)) or len(ann.coordinates) != 2:
            raise ValidationError(f"{where}: a point needs [x, y]")
    if ann.score is not None and not (0.0 <= float(ann.score) <= 1.0):
        raise ValidationError(f"{where}: confidence {ann.score} is not within 0..1")


def annotation_row(ann: Annotation, item_id: int, dataset_id: str, now: str, creator: str,
                   model_id: str | None = None, ann_id: int | None = None) -> tuple:
    if ann.type == "box":  # the hot path of bulk imports: no JSON for the geometry
        l, t, r, b = ann.coordinates
        l, t, r, b = float(l), float(t), float(r), float(b)
        area = (r - l) * (b - t)
        coords = None
    else:
        l, t, r, b, area = geometry(ann)
        coords = None if ann.type == "class" else to_json(ann.coordinates)
    meta = ann.metadata
    if meta and "area" in meta:  # COCO's own area decides COCO area ranges; keep it exactly
        area = float(meta["area"])
        meta = {k: v for k, v in meta.items() if k != "area"}
    return (ann_id, item_id, dataset_id, ann.type, ann.label, l, t, r, b, coords,
            to_json(ann.attributes) if ann.attributes else "{}",
            model_id, ann.model_name, ann.score, 1 if ann.iscrowd else 0, area,
            to_json(meta) if meta else "{}", creator, now, now)


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ESCAPE '\\': its '%', '_' and '\\' match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def record_to_annotation(rec: AnnotationRecord) -> Annotation:
    meta = dict(rec.metadata)
    if rec.area is not None:
        meta.setdefault("area", rec.area)
    return Annotation(type=rec.type, label=rec.label, coordinates=rec.compact_coordinates(),
                      attributes=dict(rec.attributes), iscrowd=bool(rec.iscrowd), score=rec.score,
                      model_name=rec.model_name, metadata=meta)


class DataMixin:
    db: Database
    store: BlobStore

    # -- datasets -------------------------------------------------------------------------
    def create_dataset(self, project_id: str, name: str, *, description: str = "",
                       labels: Sequence[str] = (), metadata: dict | None = None,
                       dataset_id: str | None = None) -> DatasetRecord:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a dataset needs a non-empty name")
        if self._db.scalar("SELECT 1 FROM datasets WHERE project_id = ? AND name = ?", (project_id, name)):
            raise AlreadyExistsError(f"a dataset named {name!r} already exists in this project")
        now = now_iso()
        rec = DatasetRecord(id=dataset_id or new_id(), project_id=project_id, name=name,
                            description=description, labels=list(labels), created_at=now, updated_at=now,
                            metadata=metadata or {})
        self._db.insert("datasets", rec.to_dict())
        return rec

    def get_dataset(self, id_or_name: str, project_id: str | None = None) -> DatasetRecord:
        if project_id:
            row = self._db.query_one("SELECT * FROM datasets WHERE (id = ? OR name = ?) AND project_id = ? "
                                    "ORDER BY id = ? DESC", (id_or_name, id_or_name, project_id, id_or_name))
        else:
            row = self._db.query_one("SELECT * FROM datasets WHERE id = ? OR name = ? ORDER BY id = ? DESC",
                                    (id_or_name, id_or_name, id_or_name))
        if row is None:
            raise NotFoundError(f"no dataset with id or name {id_or_name!r}")
        return DatasetRecord.from_row(row)

    def list_datasets(self, project_id: str | None = None) -> list[DatasetRecord]:
        if project_id:
            rows = self._db.query("SELECT * FROM datasets WHERE project_id = ? ORDER BY created_at", (project_id,))
        else:
            rows = self._db.query("SELECT * FROM datasets ORDER BY created_at")
        return [DatasetRecord.from_row(r) for r in rows]

    def update_dataset(self, dataset_id: str, **values: Any) -> DatasetRecord:
        values["updated_at"] = now_iso()
        self._db.update("datasets", {"id": dataset_id}, values)
        return self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM annotations WHERE dataset_id = ?", (dataset_id,))
            conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))

    def add_labels(self, dataset_id: str, labels: Iterable[str]) -> list[str]:
        with self._db.transaction():
            ds = self.get_dataset(dataset_id)
            merged = list(ds.labels)
            for lb in labels:
                if lb not in merged:
                    merged.append(lb)
            if merged != ds.labels:
                self._db.update("datasets", {"id": dataset_id}, {"labels": merged, "updated_at": now_iso()})
        return merged

    # -- import ---------------------------------------------------------------------------
    def import_bundle(self, dataset_id: str, bundle: DatasetBundle, *, creator: str = "import",
                      progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None, new_dataset: dict | None = None) -> list[int]:
        """Copy images into the store and insert items + annotations in one transaction.

        Either every item goes in or none does: files are copied first (content-addressed, so a
        failed import leaves only unreferenced blobs, which are removed again here). With ``new_dataset``
        (create_dataset's arguments) the dataset ``dataset_id`` is created in that same transaction, so an
        import that fails or is killed leaves no empty dataset behind."""
        if new_dataset is None:
            self.get_dataset(dataset_id)
        seen: set[str] = set()
        for i, entry in enumerate(bundle.items):
            name = entry.name.lstrip("/") if isinstance(entry.name, str) else entry.name  # Dataloop's root '/'
            problem = name_problem(name)
            if problem:
                raise FormatError(f"item name {name!r} {problem}", file=str(entry.source or name),
                                  entry=f"item {i}")
            if name in seen:
                raise FormatError(f"duplicate file name {name!r}", file=str(entry.source or name),
                                  entry=f"item {i}")
            seen.add(name)
            if entry.subset is not None and entry.subset not in SUBSETS:
                raise FormatError(f"unknown subset {entry.subset!r}", file=name, entry=f"item {i}")
            for j, ann in enumerate(entry.annotations):
                try:
                    validate_annotation(ann, where=f"{name} annotation {j}")
                except ValidationError as e:
                    raise FormatError(str(e), file=name, entry=f"annotation {j}") from None
        existing = self._existing_names(dataset_id, seen)
        if existing:
            first = sorted(existing)[0]
            raise FormatError(f"the dataset already has an item named {first!r}", file=first)

        new_blobs: list[str] = []
        shas: list[tuple[str | None, int]] = []
        # The copied files are unreferenced until the commit: garbage collection keeps off meanwhile.
        with self.store.writing():
            try:
                for entry in tracked(bundle.items, progress, cancelled, every=64,
                                     cancel_message="import cancelled; nothing was imported"):
                    if entry.source is None:
                        shas.append((None, 0))
                        continue
                    src = Path(entry.source)
                    if not src.is_file():
                        raise FormatError("image file is missing", file=str(src), entry=entry.name)
                    sha, size, created = self.store.put_file_new(src)
                    if created:
                        new_blobs.append(sha)
                    shas.append((sha, size))
                with self._db.transaction():
                    if new_dataset is not None:
                        self.create_dataset(**new_dataset, dataset_id=dataset_id)
                    ids = self._insert_items(dataset_id, bundle, shas, creator)
            except BaseException:
                self._drop_unreferenced(new_blobs)
                raise
        return ids

    def _blob_referenced(self, sha: str) -> bool:
        return bool(self._db.scalar("SELECT 1 FROM items WHERE sha256 = ? LIMIT 1", (sha,))
                    or self._db.scalar("SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", (sha,)))

    def _drop_unreferenced(self, shas: list[str]) -> None:
        for sha in shas:
            if not self._blob_referenced(sha):
                self.store.delete(sha)

    def _existing_names(self, dataset_id: str, names: set[str]) -> set[str]:
        if not names:
            return set()
        found: set[str] = set()
        lst = list(names)
        for i in range(0, len(lst), 500):
            chunk = lst[i:i + 500]
            rows = self._db.conn.execute(
                f"SELECT name FROM items WHERE dataset_id = ? AND name IN ({','.join('?' * len(chunk))})",
                [dataset_id, *chunk]).fetchall()
            found.update(r[0] for r in rows)
        return found

    def _insert_items(self, dataset_id: str, bundle: DatasetBundle, shas: list[tuple[str | None, int]],
                      creator: str) -> list[int]:
        now = now_iso()
        with self._db.transaction() as conn:
            start = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]) + 1
            ann_start = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM annotations").fetchone()[0]) + 1
            item_rows = []
            labels: list[str] = []
            seen_labels: set[str] = set()
            for k, (entry, (sha, _size)) in enumerate(zip(bundle.items, shas)):
                item_id = start + k
                name = entry.name.lstrip("/")
                mime = mimetypes.guess_type(name)[0] or "image/unknown"
                item_rows.append((item_id, dataset_id, name, sha, mime, entry.width, entry.height,
                                  entry.subset, now, now, to_json(entry.metadata) if entry.metadata else "{}"))
                for ann in entry.annotations:
                    if ann.label not in seen_labels:
                        seen_labels.add(ann.label)
                        labels.append(ann.label)
            conn.executemany(_ITEM_INSERT, item_rows)
            # Rows made as SQLite takes them: a big set's rows are never all held at once (import memory budget).
            anns = ((start + k, ann) for k, entry in enumerate(bundle.items) for ann in entry.annotations)
            conn.executemany(_ANN_INSERT, (annotation_row(ann, item_id, dataset_id, now, creator, ann_id=ann_start + n)
                                           for n, (item_id, ann) in enumerate(anns)))
            # The bundle's label order (class ids) first, then labels only annotations mention.
            ordered = list(bundle.labels)
            self.add_labels(dataset_id, ordered + [lb for lb in labels if lb not in ordered])
        return [start + k for k in range(len(item_rows))]

    # -- items ----------------------------------------------------------------------------
    def add_item(self, dataset_id: str, source: Path | str, name: str | None = None, *,
                 subset: str | None = None, width: int | None = None, height: int | None = None,
                 metadata: dict | None = None) -> ItemRecord:
        from desktop_app.domain.annotations import ImageEntry
        from desktop_app.domain.images import read_size as read_image_size

        src = Path(source)
        given = name or src.name
        check_name(given.lstrip("/") if isinstance(given, str) else given, "item name")
        if width is None or height is None:
            width, height = read_image_size(src)
        ids = self.import_bundle(dataset_id, DatasetBundle(items=[ImageEntry(
            source=src, name=name or src.name, width=width, height=height, subset=subset,
            metadata=metadata or {})]))
        return self.get_item(ids[0])

    def get_item(self, item_id: int) -> ItemRecord:
        row = self._db.query_one("SELECT * FROM items WHERE id = ?", (int(item_id),))
        if row is None:
            raise NotFoundError(f"no item with id {item_id!r}")
        return ItemRecord.from_row(row)

    def find_item(self, dataset_id: str, name: str) -> ItemRecord:
        row = self._db.query_one("SELECT * FROM items WHERE dataset_id = ? AND name = ?",
                                (dataset_id, name.lstrip("/")))
        if row is None:
            raise NotFoundError(f"no item named {name!r} in dataset {dataset_id}")
        return ItemRecord.from_row(row)

    def _item_where(self, dataset_id: str, *, subset: str | None = None, label: str | None = None,
                    ann_type: str | None = None, text: str | None = None,
                    item_ids: Sequence[int] | None = None, reviewed: bool | None = None,
                    has_annotations: bool | None = None, dir: str | None = None) -> tuple[str, list[Any]]:
        where, params = ["dataset_id = ?"], [dataset_id]
        if subset is not None:
            if subset == "none":
                where.append("subset IS NULL")
            else:
                where.append("subset = ?")
                params.append(subset)
        if label is not None:
            where.append("id IN (SELECT item_id FROM annotations WHERE dataset_id = ? AND label = ? "
                         f"AND {ground_truth_sql()})")
            params += [dataset_id, label]
        if ann_type is not None:
            where.append("id IN (SELECT item_id FROM annotations WHERE dataset_id = ? AND type = ? "
                         f"AND {ground_truth_sql()})")
            params += [dataset_id, ann_type]
        if text:
            where.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{like_literal(text)}%")
        if dir:
            prefix = dir.strip("/")
            if prefix:
                where.append("name LIKE ? ESCAPE '\\'")
                params.append(f"{like_literal(prefix)}/%")
        if item_ids is not None:
            ids = [int(i) for i in item_ids]
            if len(ids) <= 500:
                where.append(f"id IN ({','.join('?' * len(ids)) or 'NULL'})")
                params += ids
            else:   # one bound JSON array: a lasso of 100,000 items passes SQLite's 32,766-variable limit
                where.append("id IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(ids))
        if reviewed is not None:
            where.append("reviewed = ?")
            params.append(int(reviewed))
        if has_annotations is not None:
            op = "IN" if has_annotations else "NOT IN"
            where.append(f"id {op} (SELECT item_id FROM annotations WHERE dataset_id = ? AND {ground_truth_sql()})")
            params.append(dataset_id)
        return " AND ".join(where), params

    def list_items(self, dataset_id: str, *, offset: int = 0, limit: int | None = None,
                   order: str = "id", **filters: Any) -> list[ItemRecord]:
        where, params = self._item_where(dataset_id, **filters)
        order_by = {"id": "id", "name": "name"}.get(order, "id")
        sql = f"SELECT * FROM items WHERE {where} ORDER BY {order_by}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        return [ItemRecord.from_row(r) for r in self._db.query(sql, params)]

    def item_ids(self, dataset_id: str, **filters: Any) -> list[int]:
        where, params = self._item_where(dataset_id, **filters)
        return [r[0] for r in self._db.conn.execute(f"SELECT id FROM items WHERE {where} ORDER BY id", params)]

    def count_items(self, dataset_id: str, **filters: Any) -> int:
        where, params = self._item_where(dataset_id, **filters)
        return int(self._db.scalar(f"SELECT COUNT(*) FROM items WHERE {where}", params))

    def update_item(self, item_id: int, **values: Any) -> ItemRecord:
        if "name" in values:
            check_name(values["name"], "item name")
        if "subset" in values and values["subset"] not in (*SUBSETS, None):
            raise ValidationError(f"unknown subset {values['subset']!r}; one of {', '.join(SUBSETS)}")
        values["updated_at"] = now_iso()
        if self._db.update("items", {"id": int(item_id)}, values) == 0:
            raise NotFoundError(f"no item with id {item_id!r}")
        return self.get_item(item_id)

    def delete_items(self, item_ids: Sequence[int]) -> int:
        ids = [int(i) for i in item_ids]
        with self._db.transaction() as conn:
            n = 0
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                n += conn.execute(f"DELETE FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
        return n

    def item_path(self, item: ItemRecord) -> Path:
        if not item.sha256:
            raise NotFoundError(f"item {item.name} has no file")
        return self.store.path(item.sha256)

    def set_subset(self, item_ids: Sequence[int], subset: str | None) -> None:
        if subset not in (*SUBSETS, None):
            raise ValidationError(f"unknown subset {subset!r}; one of {', '.join(SUBSETS)}")
        now = now_iso()
        with self._db.transaction() as conn:
            conn.executemany("UPDATE items SET subset = ?, updated_at = ? WHERE id = ?",
                             [(subset, now, int(i)) for i in item_ids])

    def split_subsets(self, dataset_id: str, percentages: dict[str, float], *, seed: int = 0,
                      only_missing: bool = False) -> dict[str, int]:
        """Shuffle the items deterministically and tag them train / validation / test."""
        unknown = set(percentages) - set(SUBSETS)
        if unknown:
            raise ValidationError(f"unknown subset(s) {', '.join(sorted(unknown))}; use {', '.join(SUBSETS)}")
        total_pct = sum(percentages.values())
        if abs(total_pct - 100) > 1e-6 and abs(total_pct - 1) > 1e-6:
            raise ValidationError(f"subset percentages must sum to 100 (got {total_pct})")
        scale = 100.0 if abs(total_pct - 100) <= 1e-6 else 1.0
        ids = self.item_ids(dataset_id, subset="none") if only_missing else self.item_ids(dataset_id)
        rng = random.Random(seed)
        rng.shuffle(ids)
        counts: dict[str, int] = {}
        start = 0
        names = [s for s in SUBSETS if s in percentages]
        for k, s in enumerate(names):
            n = len(ids) - start if k == len(names) - 1 else round(len(ids) * percentages[s] / scale)
            counts[s] = n
            self_ids = ids[start:start + n]
            self.set_subset(self_ids, s)
            start += n
        return counts

    def subset_counts(self, dataset_id: str) -> dict[str, int]:
        rows = self._db.conn.execute("SELECT COALESCE(subset, 'none'), COUNT(*) FROM items WHERE dataset_id = ? "
                                    "GROUP BY subset", (dataset_id,)).fetchall()
        return {r[0]: r[1] for r in rows}

    def label_counts(self, dataset_id: str, *, subset: str | None = None) -> dict[str, int]:
        if subset:
            rows = self._db.conn.execute(
                "SELECT a.label, COUNT(*) FROM annotations a JOIN items i ON i.id = a.item_id "
                "WHERE a.dataset_id = ? AND a.model_id IS NULL AND i.subset = ? GROUP BY a.label",
                (dataset_id, subset)).fetchall()
        else:
            rows = self._db.conn.execute("SELECT label, COUNT(*) FROM annotations WHERE dataset_id = ? "
                                        "AND model_id IS NULL GROUP BY label", (dataset_id,)).fetchall()
        return {r[0]: r[1] for r in rows}

    def prediction_models(self, dataset_id: str) -> list[tuple[str | None, str | None, int]]:
        """(model_id, model_name, count) of every model with predictions on this dataset."""
        rows = self._db.conn.execute(
            "SELECT model_id, model_name, COUNT(*) FROM annotations WHERE dataset_id = ? AND "
            "(model_id IS NOT NULL OR model_name IS NOT NULL) GROUP BY model_id, model_name ORDER BY model_name",
            (dataset_id,)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def items_with_label_above(self, dataset_id: str, label: str, min_score: float) -> list[int]:
        """Items holding an annotation of `label` with confidence above `min_score` (index-only scan)."""
        rows = self._db.conn.execute(
            "SELECT DISTINCT item_id FROM annotations WHERE dataset_id = ? AND label = ? AND score > ?",
            (dataset_id, label, float(min_score))).fetchall()
        return [r[0] for r in rows]

    # -- annotations ----------------------------------------------------------------------
    def add_annotations(self, item_id: int, annotations: Sequence[Annotation], *, creator: str = "",
                        model_id: str | None = None, record_change: bool = False) -> list[int]:
        item = self.get_item(item_id)
        for j, ann in enumerate(annotations):
            validate_annotation(ann, where=f"item {item.name} annotation {j}")
        now = now_iso()
        ids = []
        with self._db.transaction() as conn:
            for ann in annotations:
                cur = conn.execute(_ANN_INSERT, annotation_row(ann, item.id, item.dataset_id, now, creator,
                                                               model_id=model_id))
                ids.append(cur.lastrowid)
                if record_change:
                    self._log_change(conn, cur.lastrowid, item.id, "create", None,
                                     _ann_snapshot(ann), creator, now)
            self.add_labels(item.dataset_id, [a.label for a in annotations])
        return ids

    def get_annotation(self, annotation_id: int) -> AnnotationRecord:
        row = self._db.query_one("SELECT * FROM annotations WHERE id = ?", (int(annotation_id),))
        if row is None:
            raise NotFoundError(f"no annotation with id {annotation_id!r}")
        return AnnotationRecord.from_row(row)

    def list_annotations(self, *, item_ids: Sequence[int] | None = None, dataset_id: str | None = None,
                         model_id: str | None = None, ground_truth: bool | None = None,
                         types: Sequence[str] | None = None, label: str | None = None) -> list[AnnotationRecord]:
        where, params = [], []
        if item_ids is not None:
            ids = [int(i) for i in item_ids]
            if not ids:
                return []
            if len(ids) > 900:
                out: list[AnnotationRecord] = []
                for i in range(0, len(ids), 900):
                    out += self.list_annotations(item_ids=ids[i:i + 900], dataset_id=dataset_id,
                                                 model_id=model_id, ground_truth=ground_truth, types=types,
                                                 label=label)
                return out
            where.append(f"item_id IN ({','.join('?' * len(ids))})")
            params += ids
        if dataset_id is not None:
            where.append("dataset_id = ?")
            params.append(dataset_id)
        if model_id is not None:
            where.append("model_id = ?")
            params.append(model_id)
        if ground_truth is True:
            where.append(ground_truth_sql())
        elif ground_truth is False:
            where.append(prediction_sql())
        if types:
            where.append(f"type IN ({','.join('?' * len(types))})")
            params += list(types)
        if label is not None:
            where.append("label = ?")
            params.append(label)
        sql = "SELECT * FROM annotations" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [AnnotationRecord.from_row(r) for r in self._db.query(sql, params)]

    def update_annotation(self, annotation_id: int, *, who: str = "", label: str | None = None,
                          coordinates: Any = None, attributes: dict | None = None) -> AnnotationRecord:
        """Relabel / move / resize, keeping who, when and the previous value."""
        with self._db.transaction() as conn:
            old = self.get_annotation(annotation_id)
            ann = record_to_annotation(old)
            if label is not None:
                ann.label = label
            if coordinates is not None:
                ann.coordinates = list(coordinates) if ann.type == "box" else coordinates
                ann.metadata.pop("area", None)  # the stored area belonged to the old geometry
            if attributes is not None:
                ann.attributes = attributes
            validate_annotation(ann, where=f"annotation {annotation_id}")
            now = now_iso()
            row = annotation_row(ann, old.item_id, old.dataset_id, now, old.creator,
                                 model_id=old.model_id, ann_id=old.id)
            cols = ANN_COLUMNS[3:]  # type .. updated_at
            vals = dict(zip(ANN_COLUMNS, row))
            vals["created_at"] = old.created_at
            conn.execute(f"UPDATE annotations SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?",
                         [vals[c] for c in cols] + [old.id])
            self._log_change(conn, old.id, old.item_id, "update", _rec_snapshot(old), _ann_snapshot(ann), who, now)
            conn.execute("UPDATE items SET reviewed = 1, updated_at = ? WHERE id = ?", (now, old.item_id))
            if label is not None:
                self.add_labels(old.dataset_id, [label])
        return self.get_annotation(annotation_id)

    def delete_annotation(self, annotation_id: int, *, who: str = "") -> AnnotationRecord:
        with self._db.transaction() as conn:
            old = self.get_annotation(annotation_id)
            now = now_iso()
            conn.execute("DELETE FROM annotations WHERE id = ?", (old.id,))
            self._log_change(conn, old.id, old.item_id, "delete", _rec_snapshot(old), None, who, now)
            conn.execute("UPDATE items SET reviewed = 1, updated_at = ? WHERE id = ?", (now, old.item_id))
        return old

    def restore_annotation(self, snapshot: dict, *, who: str = "") -> int:
        """Re-insert a deleted annotation with its original id (undo of a delete)."""
        ann = Annotation(type=snapshot["type"], label=snapshot["label"], coordinates=snapshot["coordinates"],
                         attributes=snapshot.get("attributes") or {}, iscrowd=bool(snapshot.get("iscrowd")),
                         score=snapshot.get("score"), model_name=snapshot.get("model_name"),
                         metadata=snapshot.get("metadata") or {})
        now = now_iso()
        with self._db.transaction() as conn:
            row = annotation_row(ann, snapshot["item_id"], snapshot["dataset_id"], now,
                                 snapshot.get("creator", ""), model_id=snapshot.get("model_id"),
                                 ann_id=snapshot.get("id"))
            cur = conn.execute(_ANN_INSERT, row)
            self._log_change(conn, cur.lastrowid, snapshot["item_id"], "create", None, _ann_snapshot(ann), who, now)
        return cur.lastrowid

    def replace_predictions(self, model_id: str, model_name: str, predictions: dict[int, Sequence[Annotation]],
                            dataset_id: str) -> int:
        """Store a model's predictions, replacing its earlier predictions on those items."""
        now = now_iso()
        rows = []
        for item_id, anns in predictions.items():
            for j, ann in enumerate(anns):
                validate_annotation(ann, where=f"prediction {j} on item {item_id}")
                ann.model_name = model_name
                rows.append(annotation_row(ann, int(item_id), dataset_id, now, f"model:{model_name}",
                                           model_id=model_id))
        ids = [int(i) for i in predictions]
        with self._db.transaction() as conn:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                conn.execute(f"DELETE FROM annotations WHERE model_id = ? AND item_id IN "
                             f"({','.join('?' * len(chunk))})", [model_id, *chunk])
            conn.executemany(_ANN_INSERT, rows)
        return len(rows)

    def annotation_changes(self, *, item_id: int | None = None, since: str | None = None) -> list[AnnotationChange]:
        where, params = [], []
        if item_id is not None:
            where.append("item_id = ?")
            params.append(int(item_id))
        if since is not None:
            where.append("at > ?")
            params.append(since)
        sql = "SELECT * FROM annotation_changes" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [AnnotationChange.from_row(r) for r in self._db.query(sql, params)]

    def _log_change(self, conn, annotation_id, item_id, action, before, after, who, now) -> None:
        conn.execute("INSERT INTO annotation_changes (annotation_id, item_id, action, before, after, who, at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (annotation_id, item_id, action, to_json(before), to_json(after), who, now))


def _ann_snapshot(ann: Annotation) -> dict:
    return {"type": ann.type, "label": ann.label, "coordinates": ann.coordinates,
            "attributes": ann.attributes, "score": ann.score, "model_name": ann.model_name}


def _rec_snapshot(rec: AnnotationRecord) -> dict:
    return {"id": rec.id, "item_id": rec.item_id, "dataset_id": rec.dataset_id, "type": rec.type,
            "label": rec.label, "coordinates": rec.compact_coordinates(), "attributes": rec.attributes,
            "score": rec.score, "model_id": rec.model_id, "model_name": rec.model_name,
            "iscrowd": rec.iscrowd, "metadata": rec.metadata, "creator": rec.creator}
