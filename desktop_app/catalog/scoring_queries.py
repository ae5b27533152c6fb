"""Named reads of evaluation scoring: ground truth and a model's predictions as plain rows, straight from SQLite."""

from __future__ import annotations

from typing import NamedTuple

from .db import Database
from .ground_truth import ground_truth_sql


class SubsetTypeCount(NamedTuple):
    subset: str          # 'none' for items in no subset
    type: str            # annotation type: class, box, segment ...
    items: int           # items holding ground truth of this type


class ItemType(NamedTuple):
    item_id: int
    type: str


class GeometryRow(NamedTuple):
    id: int
    item_id: int
    label: str
    left: float | None
    top: float | None
    right: float | None
    bottom: float | None
    area: float | None
    iscrowd: int
    score: float | None


class ClassRow(NamedTuple):
    id: int
    item_id: int
    label: str


class PredictedClassRow(NamedTuple):
    id: int
    item_id: int
    label: str
    score: float | None
    metadata_json: str | None    # the annotation's metadata as stored (JSON text): per-class scores live here


class ShapeRow(NamedTuple):
    id: int
    item_id: int
    label: str
    type: str                    # 'binary' (coordinates: COCO RLE) or 'segment' (coordinates: rings)
    coordinates_json: str | None
    area: float | None
    iscrowd: int
    score: float | None
    left: float | None
    top: float | None
    right: float | None
    bottom: float | None


class ItemSizeRow(NamedTuple):
    item_id: int
    width: int | None
    height: int | None
    metadata_json: str           # the item's metadata (an 'ignore_mask' RLE lives here)


_SHAPE = "id, item_id, label, type, coordinates, area, iscrowd, score, left, top, right, bottom"
_GEOMETRY = "id, item_id, label, left, top, right, bottom, area, iscrowd, score"


class ScoringQueries:
    """`catalog.scoring`: what scoring a model on a dataset reads."""

    def __init__(self, db: Database):
        self._db = db

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        return self._db.conn.execute(sql, params).fetchall()

    def ground_truth_item_counts(self, dataset_id: str) -> list[SubsetTypeCount]:
        """Items with ground truth of each type, by subset."""
        rows = self._rows("SELECT COALESCE(i.subset, 'none'), a.type, COUNT(DISTINCT a.item_id) FROM annotations a "
                          f"JOIN items i ON i.id = a.item_id WHERE a.dataset_id = ? AND {ground_truth_sql('a')} "
                          "GROUP BY 1, 2", (dataset_id,))
        return [SubsetTypeCount(*r) for r in rows]

    def ground_truth_item_types(self, dataset_id: str) -> list[ItemType]:
        """Each (item, annotation type) pair with ground truth in the dataset, once."""
        rows = self._rows("SELECT DISTINCT item_id, type FROM annotations WHERE dataset_id = ? AND "
                          f"{ground_truth_sql()}", (dataset_id,))
        return [ItemType(*r) for r in rows]

    def ground_truth_geometry(self, dataset_id: str, annotation_type: str) -> list[GeometryRow]:
        """The dataset's ground-truth annotations of one type ('box', 'segment') with their bounds."""
        rows = self._rows(f"SELECT {_GEOMETRY} FROM annotations WHERE dataset_id = ? AND {ground_truth_sql()} "
                          f"AND type = ?", (dataset_id, annotation_type))
        return [GeometryRow(*r) for r in rows]

    def prediction_geometry(self, model_id: str, annotation_type: str = "box") -> list[GeometryRow]:
        """The model's predictions of one type, on every dataset, with their bounds and scores."""
        rows = self._rows(f"SELECT {_GEOMETRY} FROM annotations WHERE model_id = ? AND type = ?",
                          (model_id, annotation_type))
        return [GeometryRow(*r) for r in rows]

    def item_sizes(self, item_ids: list[int]) -> list[ItemSizeRow]:
        """Width, height and metadata of the given items (in chunks of 900 ids: SQLite's variable limit)."""
        out: list[ItemSizeRow] = []
        for i in range(0, len(item_ids), 900):
            part = [int(v) for v in item_ids[i:i + 900]]
            out += [ItemSizeRow(*r) for r in self._rows(
                f"SELECT id, width, height, metadata FROM items WHERE id IN ({','.join('?' * len(part))})",
                tuple(part))]
        return out

    def ground_truth_shapes(self, dataset_id: str, item_ids: list[int] | None = None) -> list[ShapeRow]:
        """The dataset's ground-truth masks and polygons, by item then id (the order a label map paints them);
        only those of `item_ids` when given."""
        return self._shapes(f"dataset_id = ? AND {ground_truth_sql()} AND type IN ('binary', 'segment')",
                            (dataset_id,), item_ids)

    def prediction_masks(self, model_id: str, item_ids: list[int] | None = None) -> list[ShapeRow]:
        """The model's mask ('binary') predictions, by item then id; only those of `item_ids` when given."""
        return self._shapes("model_id = ? AND type = 'binary'", (model_id,), item_ids)

    def prediction_items(self, model_id: str, annotation_type: str) -> list[int]:
        """The items holding predictions of one type by the model (any dataset)."""
        return [r[0] for r in self._rows("SELECT DISTINCT item_id FROM annotations WHERE model_id = ? AND type = ?",
                                         (model_id, annotation_type))]

    def _shapes(self, where: str, params: tuple, item_ids: list[int] | None) -> list[ShapeRow]:
        sql = f"SELECT {_SHAPE} FROM annotations WHERE {where}"
        if item_ids is None:
            return [ShapeRow(*r) for r in self._rows(sql + " ORDER BY item_id, id", params)]
        out: list[ShapeRow] = []
        for i in range(0, len(item_ids), 900):
            part = tuple(int(v) for v in item_ids[i:i + 900])
            out += [ShapeRow(*r) for r in self._rows(
                sql + f" AND item_id IN ({','.join('?' * len(part))}) ORDER BY item_id, id", params + part)]
        return out

    def ground_truth_classes(self, dataset_id: str) -> list[ClassRow]:
        """The dataset's ground-truth class labels, by id (an item's first is its class)."""
        rows = self._rows("SELECT id, item_id, label FROM annotations WHERE dataset_id = ? "
                          f"AND {ground_truth_sql()} AND type = 'class' ORDER BY id", (dataset_id,))
        return [ClassRow(*r) for r in rows]

    def class_predictions(self, model_id: str) -> list[PredictedClassRow]:
        """The model's class predictions, most confident first (ties by id)."""
        rows = self._rows("SELECT id, item_id, label, score, metadata FROM annotations WHERE model_id = ? "
                          "AND type = 'class' ORDER BY score DESC, id", (model_id,))
        return [PredictedClassRow(*r) for r in rows]

    def last_training_step(self, model_id: str) -> float | None:
        """The largest x of the model's metric samples, evaluation figures ('eval/...') left out."""
        return self._db.scalar("SELECT MAX(x) FROM metrics WHERE model_id = ? AND figure NOT LIKE 'eval/%'",
                               (model_id,))
