"""Find similar, near-duplicates and leakage for the window, without Qt (each runs on a task thread): which models'
feature sets hold vectors of an item or a dataset, an item's nearest items of its dataset, the duplicates report.

Everything goes through the SDK (dl.feature_sets, FeatureSet.search, Dataset.near_duplicates / leakage), so the
window finds what a script finds. A model's feature set may hold items of other datasets too (embed_datasets of
several): the search keeps to the item's own dataset, asking the set for more until it has k of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from desktop_app.catalog import Catalog, ItemRecord
from desktop_app.domain.status import ModelStatus
from desktop_app.evaluation.similarity import DEFAULT_DUPLICATE_THRESHOLD, DuplicateGroup, Leak

DEFAULT_K = 50


@dataclass(frozen=True)
class Embedding:
    """A model's fresh feature set holding vectors of the items asked about."""
    model_id: str
    model_name: str
    updated_at: str
    covered: int           # how many of the items asked about it holds


@dataclass
class Similar:
    """An item's nearest items of its dataset by one model's vectors (nearest first: the item itself, at ~0)."""
    item_id: int
    item_name: str
    dataset_id: str
    model_id: str | None = None
    model_name: str = ""
    item_ids: list[int] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    choices: list[Embedding] = field(default_factory=list)       # every set covering the item, most recent first
    embedders: list[tuple[str, str]] = field(default_factory=list)   # (id, name) of models that could embed it

    @property
    def found(self) -> bool:
        return self.model_id is not None


@dataclass
class DuplicateReport:
    """Near-duplicate groups and leaking held-out items of a dataset by one model's vectors, at one threshold."""
    dataset_id: str
    threshold: float
    model_id: str | None = None
    model_name: str = ""
    groups: list[DuplicateGroup] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    items: dict[int, ItemRecord] = field(default_factory=dict)    # every item the report names
    choices: list[Embedding] = field(default_factory=list)
    embedders: list[tuple[str, str]] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.model_id is not None


def caption(name: str) -> str:
    """An item's short name, as the gallery captions it: the file with its folder."""
    return "/".join(name.strip("/").split("/")[-2:])


def covering(client: Any, item_ids: Sequence[int]) -> list[Embedding]:
    """The fresh feature sets holding vectors of any of `item_ids`, most recently updated first."""
    import numpy as np

    from desktop_app.sdk.features import FeatureSets

    want = np.asarray(list(item_ids), np.int64)
    out = []
    for fs in FeatureSets(client).list():
        ids, _ = fs.vectors()
        n = int(np.isin(want, ids).sum()) if want.size and ids.size else 0
        if n:
            out.append(Embedding(fs.model_id, fs.name, fs.updated_at, n))
    out.sort(key=lambda e: e.updated_at, reverse=True)
    return out


def embedders(catalog: Catalog, dataset_id: str) -> list[tuple[str, str]]:
    """(id, name) of the models with weights in the dataset's project that could embed it; those trained on it
    first."""
    ds = catalog.get_dataset(dataset_id)
    models = [m for m in catalog.find_models(project_id=ds.project_id) if m.status in ModelStatus.WITH_WEIGHTS]
    models.sort(key=lambda m: (m.dataset_id != ds.id, m.name))
    return [(m.id, m.name) for m in models]


def _pick(choices: list[Embedding], model_id: str | None) -> Embedding:
    return next((c for c in choices if c.model_id == model_id), choices[0])


def find_similar(client: Any, item_id: int, *, k: int = DEFAULT_K, model_id: str | None = None) -> Similar:
    """The `k` items of `item_id`'s dataset nearest it by `model_id`'s vectors (default: the most recent set that
    holds the item). None holds it: an empty answer naming the models that could embed the dataset."""
    from desktop_app.sdk.features import FeatureSets

    catalog = client.catalog
    item = catalog.get_item(int(item_id))
    out = Similar(item.id, item.name, item.dataset_id, choices=covering(client, [item.id]))
    if not out.choices:
        out.embedders = embedders(catalog, item.dataset_id)
        return out
    chosen = _pick(out.choices, model_id)
    fs = FeatureSets(client).of_model(chosen.model_id)
    ask = int(k)
    while True:
        hits = fs.search(item.id, k=ask)
        mine = [(it.id, d) for it, d in hits if it.dataset_id == item.dataset_id][:k]
        if len(mine) >= k or len(hits) < ask:
            break
        ask *= 4
    out.model_id, out.model_name = chosen.model_id, chosen.model_name
    out.item_ids = [i for i, _ in mine]
    out.distances = [float(d) for _, d in mine]
    return out


def duplicates_report(client: Any, dataset_id: str, *, model_id: str | None = None,
                      threshold: float = DEFAULT_DUPLICATE_THRESHOLD) -> DuplicateReport:
    """Dataset.near_duplicates and Dataset.leakage by `model_id`'s vectors (default: the most recent set holding
    any of the dataset's items), with the records of every item they name."""
    catalog = client.catalog
    out = DuplicateReport(dataset_id, float(threshold), choices=covering(client, catalog.item_ids(dataset_id)))
    if not out.choices:
        out.embedders = embedders(catalog, dataset_id)
        return out
    chosen = _pick(out.choices, model_id)
    out.model_id, out.model_name = chosen.model_id, chosen.model_name
    ds = client.datasets.get(dataset_id=dataset_id)
    model = client.models.get(model_id=chosen.model_id)
    out.groups = ds.near_duplicates(model, threshold=threshold)
    out.leaks = ds.leakage(model, threshold=threshold)
    named = sorted({i for g in out.groups for i in g.items} | {x for lk in out.leaks for x in (lk.item, lk.twin)})
    for start in range(0, len(named), 500):
        for rec in catalog.list_items(dataset_id, item_ids=named[start:start + 500]):
            out.items[rec.id] = rec
    return out


def keep_one_per_group(groups: Sequence[DuplicateGroup], items: dict[int, ItemRecord]) -> list[int]:
    """The items to drop so that one of each group stays: a train item where the group has one (the model keeps
    learning from it), else the lowest id."""
    drop = []
    for g in groups:
        keep = next((i for i in g.items if items.get(i) is not None and items[i].subset == "train"), g.items[0])
        drop += [i for i in g.items if i != keep]
    return drop
