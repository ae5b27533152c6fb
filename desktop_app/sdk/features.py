"""Feature sets (a model's embeddings) in Dataloop's words: the FeatureSet entity, its features, and `dl.feature_sets`
(this module is `features`, so that `dl.feature_sets` stays the repository, not a submodule).

A model's set is named after it and made by ``model.embed(item_ids=[...])`` / ``model.embed_datasets([...])``.
``feature_set.features.list()`` gives one Feature per item (``item_id``, ``value``: a float32 numpy vector);
``feature_set.search(item_or_vector, k=10)`` the nearest items by cosine distance. A set whose model's weights
changed since (trained again) is stale: it is dropped when next read, and embedding again makes a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_app.catalog.feature_sets import FeatureSetRecord, queries
from desktop_app.errors import NotFoundError, ValidationError

from .entities import Entity, Item
from .repository_base import Repository

if TYPE_CHECKING:
    import numpy as np

    from .client import Client
    from .model import Model


@dataclass(frozen=True, eq=False)
class Feature:
    """One item's vector in a feature set."""
    feature_set_id: str
    item_id: int
    value: np.ndarray        # float32, the set's size

    @property
    def entity_id(self) -> int:
        """Dataloop's name for the item the vector belongs to."""
        return self.item_id

    def __repr__(self) -> str:
        return f"Feature(item_id={self.item_id}, size={len(self.value)})"


class FeatureSet(Entity):
    """A model's embeddings as last read: ``name`` (the model's), ``size`` (the vectors' length), ``count``
    (items embedded), ``model``, ``features`` and ``search``. ``refresh()`` reads it again."""
    _record: FeatureSetRecord
    set_type = "embeddings"
    entity_type = "item"

    name = property(lambda self: self._record.name)
    model_id = property(lambda self: self._record.model_id)
    project_id = property(lambda self: self._record.project_id)
    size = property(lambda self: self._record.size)
    count = property(lambda self: self._record.count)
    weights_sha = property(lambda self: self._record.weights_sha)
    created_at = property(lambda self: self._record.created_at)
    updated_at = property(lambda self: self._record.updated_at)

    def _fetch(self) -> FeatureSetRecord:
        return _fresh_of_model(self._client, self.model_id, self.name)

    @property
    def model(self) -> Model:
        return self._client.models.get(model_id=self.model_id)

    @property
    def features(self) -> Features:
        return Features(self._client, feature_set=self)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(item ids [count] int64, vectors [count, size] float32, read-only) as stored now."""
        self.refresh()
        v = queries(self._client.catalog).read(self._record)
        return v.ids, v.values

    def search(self, item_or_vector: Any, k: int = 10, *, method: str = "auto") -> list[tuple[Item, float]]:
        """The `k` items nearest `item_or_vector` (an Item or item id this set holds a vector of, or a vector of
        ``size`` numbers), nearest first, each with its cosine distance (0: same direction, 2: opposite); the
        item itself comes first at ~0. ``method``: "exact" (numpy over every vector), "approx" (the set's faiss
        index, built at the first such search and kept beside the vectors; vectors added since are searched
        exactly) or "auto" (approx from ml.ann_index.MIN_VECTORS vectors on, exact below). Without the ``ann``
        extra (faiss) every search is exact."""
        from desktop_app.ml.vector_search import search_feature_set
        query = item_or_vector
        if isinstance(query, Entity):
            if not isinstance(query, Item):
                raise ValidationError(f"search takes an Item, an item id or a vector, not a {type(query).__name__}")
            query = int(query.id)
        elif isinstance(query, str) and query.isdigit():
            query = int(query)
        self.refresh()
        found = search_feature_set(self._client.catalog, self._record, query, k, method=method)
        return [(Item(self._client, rec), dist) for rec, dist in found]

    def delete(self) -> bool:
        """Drop the vectors and their index (embedding the model's items again makes a new set)."""
        from desktop_app.ml import ann_index
        gone = queries(self._client.catalog).drop(self.model_id, reason="deleted")
        ann_index.drop(self._client.catalog.store, self.id)
        return gone


class Features(Repository):
    """``feature_set.features``: list the vectors, add one."""

    @property
    def feature_set(self) -> FeatureSet:
        return self._scope["feature_set"]

    def list(self) -> list[Feature]:
        ids, values = self.feature_set.vectors()
        fid = self.feature_set.id
        return [Feature(fid, int(i), values[n]) for n, i in enumerate(ids.tolist())]

    def create(self, value: Any, entity: Any = None) -> Feature:
        """Store `value` (a vector of the set's size) as the vector of `entity` (an Item or an item id),
        replacing the one it had."""
        import numpy as np
        if entity is None:
            raise ValidationError("features.create needs entity= (the item the vector belongs to)")
        item_id = int(entity.id) if isinstance(entity, Entity) else int(entity)
        catalog = self._client.catalog
        if not queries(catalog).existing_items([item_id]):
            raise NotFoundError(f"no item with id {item_id}")
        fs = self.feature_set.refresh()
        vec = np.asarray(value, dtype=np.float32).reshape(1, -1)
        if fs.count and vec.shape[1] != fs.size:
            raise ValidationError(f"the vector has {vec.shape[1]} numbers; feature set {fs.name!r} holds vectors "
                                  f"of {fs.size}")
        q = queries(catalog)
        fs._record = q.add(fs.model_id, [item_id], vec, weights_sha=fs.weights_sha)
        return Feature(fs.id, item_id, vec[0])


class FeatureSets(Repository):
    """``dl.feature_sets``: the feature sets of every model (of one project, or one model, when scoped)."""

    def list(self) -> list[FeatureSet]:
        q = queries(self.catalog)
        project, model = self._scope.get("project"), self._scope.get("model")
        recs = q.find(project_id=project.id if project else None, model_id=model.id if model else None)
        return [FeatureSet(self._client, r) for r in q.fresh(recs)]

    def get(self, name_or_id: str | None = None, *, feature_set_name: str | None = None,
            feature_set_id: str | None = None) -> FeatureSet:
        """By id, or by name (the model's: give the id when two models share a name)."""
        if name_or_id is None and feature_set_name is None and feature_set_id is None:
            raise ValidationError("feature_sets.get needs feature_set_name or feature_set_id")
        sets = self.list()
        key_id = feature_set_id or name_or_id
        by_id = [s for s in sets if s.id == key_id]
        if by_id:
            return by_id[0]
        name = feature_set_name or name_or_id
        named = [s for s in sets if s.name == name]
        if len(named) > 1:
            raise ValidationError(f"{len(named)} feature sets are named {name!r}; give feature_set_id")
        if not named:
            what = f"id {feature_set_id!r}" if feature_set_id else f"name {name!r}"
            raise NotFoundError(f"no feature set with {what} (embed a model's items to make its set: "
                                f"model.embed_datasets([...]))")
        return named[0]

    def of_model(self, model: Any) -> FeatureSet:
        """The set of `model` (a Model or a model id); NotFoundError saying how to make it."""
        model_id = model.id if isinstance(model, Entity) else str(model)
        return FeatureSet(self._client, _fresh_of_model(self._client, model_id))


def _fresh_of_model(client: Client, model_id: str, name: str = "") -> FeatureSetRecord:
    from desktop_app.workflows.embed import feature_set_of
    try:
        return feature_set_of(client.catalog, model_id)
    except NotFoundError:
        if name:
            raise NotFoundError(f"feature set {name!r} is gone: its model was trained again or it was deleted; "
                                f"embed the model's items again") from None
        raise
