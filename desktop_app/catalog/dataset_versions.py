"""Named dataset versions: a dataset's items and ground truth frozen BY CONTENT into the store, and their diffs.

A version's blob holds, for every item, its id, name, image sha256, subset, size and metadata, and every ground-truth
annotation's full content (type, label, coordinates, attributes, iscrowd, metadata with the area), in a canonical
JSON: the same data always has the same sha, whatever its names, dates or who froze it; two versions of the same
data share one blob. The pipelines' snapshots (pipelines.snapshot) freeze only ids and updated_at, enough to tell
that something moved; a version keeps what it was, so a training on it after a label fix still sees the old label.

Reach it as `DatasetVersions(catalog)`; training and evaluation record the version they used (models.data_version,
evaluations.data_version). Names starting with "auto-" are the ones a training or an evaluation gives the data it
froze itself ("auto-" + the first 12 hex digits of the sha), so a user's name can never take one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from desktop_app.domain.annotations import Annotation, ImageEntry
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError

from .data import record_to_annotation
from .names import check_name
from .records import Record
from .stamps import new_id, now_iso, to_json

if TYPE_CHECKING:
    from .catalog import Catalog

FORMAT = 1
AUTO_PREFIX = "auto-"
ITEM_FIELDS = ("name", "sha256", "subset", "width", "height", "metadata")
ANNOTATION_FIELDS = ("type", "label", "coordinates", "attributes", "iscrowd", "metadata")
# Item filters a model's train / validation filter may use that a frozen version can answer (catalog._item_where's
# less the review flag, which a version does not keep).
FROZEN_FILTERS = {"subset", "label", "ann_type", "text", "item_ids", "has_annotations", "dir"}


def is_auto(name: str | None) -> bool:
    """Whether `name` is one a training / an evaluation gave the data it froze itself (not a user's pin)."""
    return bool(name) and str(name).startswith(AUTO_PREFIX)


def auto_name(sha: str) -> str:
    return AUTO_PREFIX + sha[:12]


@dataclass
class DatasetVersionRecord(Record):
    id: str
    dataset_id: str
    name: str
    sha: str
    description: str = ""
    counts: dict = field(default_factory=dict)
    created_at: str = ""
    created_by: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DatasetVersionRecord:
        row = dict(row)
        if isinstance(row.get("counts"), str):
            row["counts"] = json.loads(row["counts"])
        return super().from_row(row)


@dataclass
class FrozenData:
    """The content of a version (or of the live dataset, read now): {'format', 'labels', 'items': [...]}, items by
    id, each with its ground truth by annotation id."""
    sha: str
    data: dict

    @property
    def labels(self) -> list[str]:
        return list(self.data["labels"])

    @property
    def items(self) -> list[dict]:
        return self.data["items"]

    def counts(self) -> dict:
        return content_counts(self.data)

    def select(self, filters: dict | None = None) -> list[dict]:
        """The frozen items a model's item filter selects (as Catalog.list_items would have selected them then)."""
        f = dict(filters or {})
        unknown = set(f) - FROZEN_FILTERS
        if unknown:
            raise ValidationError(f"a dataset version cannot answer the item filter key(s) "
                                  f"{', '.join(sorted(unknown))}; it keeps {', '.join(sorted(FROZEN_FILTERS))}")
        out = []
        ids = {int(i) for i in f["item_ids"]} if f.get("item_ids") is not None else None
        prefix = str(f.get("dir") or "").strip("/")
        text = str(f.get("text") or "").lower()
        for it in self.items:
            anns = it["annotations"]
            if f.get("subset") is not None and it["subset"] != (None if f["subset"] == "none" else f["subset"]):
                continue
            if f.get("label") is not None and not any(a["label"] == f["label"] for a in anns):
                continue
            if f.get("ann_type") is not None and not any(a["type"] == f["ann_type"] for a in anns):
                continue
            if text and text not in it["name"].lower():      # SQLite's LIKE: ASCII case-insensitive
                continue
            if prefix and not it["name"].startswith(prefix + "/"):
                continue
            if ids is not None and int(it["id"]) not in ids:
                continue
            if f.get("has_annotations") is not None and bool(anns) != bool(f["has_annotations"]):
                continue
            out.append(it)
        return out

    def entries(self, catalog: Catalog, filters: dict | None = None,
                types: set[str] | None = None) -> list[ImageEntry]:
        """The selected items as the interchange form a training lays out: images from the store by sha,
        the ground truth as it was (only annotations of `types` when given)."""
        out = []
        for it in self.select(filters):
            anns = [Annotation(type=a["type"], label=a["label"], coordinates=a["coordinates"],
                               attributes=dict(a["attributes"]), iscrowd=bool(a["iscrowd"]),
                               metadata=dict(a["metadata"]))
                    for a in it["annotations"] if types is None or a["type"] in types]
            sha = it["sha256"]
            if sha and not catalog.store.exists(sha):
                raise NotFoundError(f"item {it['id']} ({it['name']}): its image {sha[:12]} is missing from the "
                                    f"store (was it garbage-collected?)")
            out.append(ImageEntry(source=catalog.store.path(sha) if sha else None, name=it["name"],
                                  width=it["width"], height=it["height"], subset=it["subset"], annotations=anns,
                                  metadata=dict(it["metadata"])))
        return out


def content_counts(data: dict) -> dict:
    subsets: dict[str, int] = {}
    labels: dict[str, int] = {}
    n_anns = 0
    for it in data["items"]:
        key = it["subset"] or "none"
        subsets[key] = subsets.get(key, 0) + 1
        for a in it["annotations"]:
            labels[a["label"]] = labels.get(a["label"], 0) + 1
            n_anns += 1
    return {"items": len(data["items"]), "annotations": n_anns, "subsets": dict(sorted(subsets.items())),
            "labels": dict(sorted(labels.items()))}


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class DatasetVersions:
    """`DatasetVersions(catalog)`: snapshot, list, get, load, diff and delete a dataset's versions; record the
    version a model trained on. Every query of the dataset_versions table lives here."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._db = catalog._db

    # -- content --------------------------------------------------------------------------
    def read(self, dataset_id: str) -> FrozenData:
        """The live dataset's content now, in one read transaction (nothing is stored)."""
        cat = self.catalog
        with cat.transaction():
            ds = cat.get_dataset(dataset_id)
            items = cat.list_items(ds.id)
            anns = cat.list_annotations(dataset_id=ds.id, ground_truth=True)
        by_item: dict[int, list[dict]] = {}
        for a in anns:
            ann = record_to_annotation(a)
            by_item.setdefault(a.item_id, []).append(
                {"id": a.id, **{k: getattr(ann, k) for k in ANNOTATION_FIELDS if k != "iscrowd"},
                 "iscrowd": bool(ann.iscrowd)})
        data = {"format": FORMAT, "labels": list(ds.labels),
                "items": [{"id": it.id, **{k: getattr(it, k) for k in ITEM_FIELDS},
                           "annotations": by_item.get(it.id, [])} for it in items]}
        # Round-trip once so the content compares equal to what load() gives back (tuples become lists ...).
        blob = _canonical(data)
        return FrozenData(sha=hashlib.sha256(blob).hexdigest(), data=json.loads(blob))

    def load(self, version: DatasetVersionRecord) -> FrozenData:
        if not self.catalog.store.exists(version.sha):
            raise NotFoundError(f"dataset version {version.name!r}: its content {version.sha[:12]} is missing from "
                                f"the store (was it garbage-collected?)")
        data = json.loads(self.catalog.store.path(version.sha).read_bytes())
        if data.get("format") != FORMAT:
            raise ValidationError(f"dataset version {version.name!r} has format {data.get('format')!r}; this Model "
                                  f"Desk reads format {FORMAT}")
        return FrozenData(sha=version.sha, data=data)

    # -- versions -------------------------------------------------------------------------
    def snapshot(self, dataset_id: str, name: str, *, description: str = "", created_by: str = "",
                 source: str | None = None) -> DatasetVersionRecord:
        """Freeze the dataset's items and ground truth under `name` (unique in the dataset); `source`: name the
        content of that existing version instead of the live data (e.g. an 'auto-' one a training froze)."""
        check_name(name, "dataset version name")
        if is_auto(name):
            raise ValidationError(f"dataset version name {name!r}: names starting with {AUTO_PREFIX!r} are the ones "
                                  f"a training or an evaluation gives the data it freezes; choose another")
        if not isinstance(description, str):
            raise ValidationError(f"a dataset version's description is text, not {type(description).__name__}")
        ds = self.catalog.get_dataset(dataset_id)
        self._refuse_taken(ds.id, ds.name, name)
        frozen = self.read(ds.id) if source is None else self.load(self.get(ds.id, source))
        return self._store(ds.id, name, frozen, description, created_by)

    def auto(self, dataset_id: str, *, created_by: str = "") -> DatasetVersionRecord:
        """The live data frozen under its automatic name, reusing the version when the same content was frozen so."""
        ds = self.catalog.get_dataset(dataset_id)
        frozen = self.read(ds.id)
        name = auto_name(frozen.sha)
        existing = self._find(ds.id, name)
        if existing is not None and existing.sha == frozen.sha:
            return existing
        if existing is not None:   # two contents sharing 12 hex digits: keep both apart
            name = AUTO_PREFIX + frozen.sha
            existing = self._find(ds.id, name)
            if existing is not None:
                return existing
        try:
            return self._store(ds.id, name, frozen, "frozen for a training or an evaluation", created_by)
        except AlreadyExistsError:   # another process froze the same content at the same moment
            return self.get(ds.id, name)

    def _store(self, dataset_id: str, name: str, frozen: FrozenData, description: str,
               created_by: str) -> DatasetVersionRecord:
        rec = DatasetVersionRecord(id=new_id(), dataset_id=dataset_id, name=name, sha=frozen.sha,
                                   description=description, counts=frozen.counts(), created_at=now_iso(),
                                   created_by=created_by)
        store = self.catalog.store
        with store.writing():   # the blob is not referenced until the row commits: keep gc off it till then
            store.put_bytes(_canonical(frozen.data))
            with self.catalog.transaction():
                ds = self.catalog.get_dataset(dataset_id)
                self._refuse_taken(dataset_id, ds.name, name)
                self._db.insert("dataset_versions", {**rec.to_dict(), "counts": to_json(rec.counts)})
                # its images stay in the store (gc) while the version exists, whatever happens to the items
                shas = sorted({it["sha256"] for it in frozen.data["items"] if it.get("sha256")})
                self._db.conn.executemany("INSERT INTO dataset_version_images (version_id, sha) VALUES (?, ?)",
                                          [(rec.id, sha) for sha in shas])
        return rec

    def _refuse_taken(self, dataset_id: str, dataset_name: str, name: str) -> None:
        if self._db.scalar("SELECT 1 FROM dataset_versions WHERE dataset_id = ? AND name = ?", (dataset_id, name)):
            raise AlreadyExistsError(f"dataset {dataset_name!r} already has a version named {name!r}")

    def _find(self, dataset_id: str, name: str) -> DatasetVersionRecord | None:
        row = self._db.query_one("SELECT * FROM dataset_versions WHERE dataset_id = ? AND name = ?",
                                 (dataset_id, name))
        return DatasetVersionRecord.from_row(row) if row else None

    def get(self, dataset_id: str, name: str) -> DatasetVersionRecord:
        rec = self._find(dataset_id, name)
        if rec is None:
            ds = self.catalog.get_dataset(dataset_id)
            have = [v.name for v in self.list(dataset_id)]
            raise NotFoundError(f"dataset {ds.name!r} has no version named {name!r} "
                                f"({'versions: ' + ', '.join(have[:10]) if have else 'it has no versions'})")
        return rec

    def list(self, dataset_id: str) -> list[DatasetVersionRecord]:
        """The dataset's versions, newest first."""
        rows = self._db.query("SELECT * FROM dataset_versions WHERE dataset_id = ? ORDER BY created_at DESC, "
                              "rowid DESC", (dataset_id,))
        return [DatasetVersionRecord.from_row(r) for r in rows]

    def delete(self, dataset_id: str, name: str) -> DatasetVersionRecord:
        """Forget the version; its blob goes at the next garbage collection unless another version shares it.
        Models and evaluations keep the name they recorded."""
        rec = self.get(dataset_id, name)
        with self.catalog.transaction():
            self._db.conn.execute("DELETE FROM dataset_versions WHERE id = ?", (rec.id,))
        return rec

    def models_pinned(self, dataset_id: str, name: str) -> list[str]:
        """Ids of the models of this dataset whose data_version names this version."""
        rows = self._db.query("SELECT id FROM models WHERE dataset_id = ? AND data_version = ? ORDER BY id",
                              (dataset_id, name))
        return [r["id"] for r in rows]

    # -- what used a version --------------------------------------------------------------
    def record_model(self, model_id: str, name: str | None) -> None:
        """Set models.data_version: the version the model trains on next (a user's name pins it) or trained on."""
        if name is not None:
            check_name(name, "dataset version name")
        with self.catalog.transaction():
            n = self._db.conn.execute("UPDATE models SET data_version = ?, updated_at = ? WHERE id = ?",
                                      (name, now_iso(), model_id)).rowcount
        if n == 0:
            raise NotFoundError(f"no model with id {model_id!r}")

    def for_training(self, model_id: str, name: str | None = None) -> DatasetVersionRecord | None:
        """The named version a training of this model must use: `name`, else the model's pinned one (a user's
        name in models.data_version; an 'auto-' one only records what it used); None: train on the live data."""
        model = self.catalog.get_model(model_id)
        name = name or (model.data_version if not is_auto(model.data_version) else None)
        if not name:
            return None
        if model.dataset_id is None:
            raise ValidationError(f"model {model.name!r} has no dataset; it cannot train on version {name!r}")
        try:
            return self.get(model.dataset_id, name)
        except NotFoundError as e:
            raise NotFoundError(f"model {model.name!r} trains on data version {name!r}, which is gone: {e}; "
                                f"train it with another data_version") from None

    # -- diff -----------------------------------------------------------------------------
    def diff(self, dataset_id: str, a: str, b: str | None = None) -> dict:
        """What changed from version `a` to version `b` (None: the live dataset now)."""
        old = self.load(self.get(dataset_id, a))
        new = self.read(dataset_id) if b is None else self.load(self.get(dataset_id, b))
        out = diff_contents(old.data, new.data)
        out.update(a=a, b=b, a_sha=old.sha, b_sha=new.sha, same=old.sha == new.sha)
        return out


def diff_contents(old: dict, new: dict) -> dict:
    """Items and ground-truth annotations added, removed and changed between two frozen contents."""
    old_items = {int(it["id"]): it for it in old["items"]}
    new_items = {int(it["id"]): it for it in new["items"]}
    old_anns = {int(a["id"]): (int(it["id"]), a) for it in old["items"] for a in it["annotations"]}
    new_anns = {int(a["id"]): (int(it["id"]), a) for it in new["items"] for a in it["annotations"]}

    def item_row(it: dict) -> dict:
        return {"id": int(it["id"]), "name": it["name"], "subset": it["subset"]}

    items_changed = []
    for i in sorted(old_items.keys() & new_items.keys()):
        fields_ = {k: [old_items[i][k], new_items[i][k]] for k in ITEM_FIELDS if old_items[i][k] != new_items[i][k]}
        if fields_:
            items_changed.append({**item_row(new_items[i]), "changes": fields_})
    anns_changed = []
    for k in sorted(old_anns.keys() & new_anns.keys()):
        (item_id, before), (_, after) = old_anns[k], new_anns[k]
        what = [f for f in ANNOTATION_FIELDS if before[f] != after[f]]
        if what:
            anns_changed.append({"id": k, "item_id": item_id, "type": after["type"], "label": after["label"],
                                 "before": before["label"], "after": after["label"], "fields": what})

    def ann_row(k: int, pair: tuple[int, dict]) -> dict:
        return {"id": k, "item_id": pair[0], "type": pair[1]["type"], "label": pair[1]["label"]}

    out = {
        "items_added": [item_row(new_items[i]) for i in sorted(new_items.keys() - old_items.keys())],
        "items_removed": [item_row(old_items[i]) for i in sorted(old_items.keys() - new_items.keys())],
        "items_changed": items_changed,
        "annotations_added": [ann_row(k, new_anns[k]) for k in sorted(new_anns.keys() - old_anns.keys())],
        "annotations_removed": [ann_row(k, old_anns[k]) for k in sorted(old_anns.keys() - new_anns.keys())],
        "annotations_changed": anns_changed,
        "labels_added": [x for x in new["labels"] if x not in old["labels"]],
        "labels_removed": [x for x in old["labels"] if x not in new["labels"]],
    }
    out["counts"] = {"a": content_counts(old), "b": content_counts(new),
                     **{k: len(v) for k, v in out.items() if isinstance(v, list)}}
    return out

