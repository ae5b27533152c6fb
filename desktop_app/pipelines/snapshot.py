"""Freeze the data a run uses: item and ground-truth annotation versions (ids + updated_at), content-addressed."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.stamps import now_iso
from desktop_app.errors import NotFoundError, ValidationError

from .definition import SUBSET_ROLES

FORMAT = 1


@dataclass
class Snapshot:
    sha: str
    taken_at: str
    data: dict

    def item_ids(self, role: str) -> list[int]:
        return [int(i) for i, _ in self.data["subsets"][role]["items"]]

    def filter(self, role: str) -> dict:
        """The frozen subset as an item filter (what the challenger trains / is tested on)."""
        return {"item_ids": self.item_ids(role)}

    def counts(self) -> dict[str, int]:
        c = {r: len(v["items"]) for r, v in self.data["subsets"].items()}
        c["annotations"] = len(self.data["annotations"])
        return c

    def summary(self) -> dict:
        return {"sha": self.sha, "taken_at": self.taken_at, "counts": self.counts()}


def freeze(catalog: Catalog, dataset_id: str, subsets: dict[str, dict], *, max_items: dict[str, int] | None = None,
           seed: int = 0) -> Snapshot:
    """Read the subsets and their ground truth in one transaction, so the versions belong together."""
    max_items = max_items or {}
    with catalog.transaction():
        taken_at = now_iso()
        ds = catalog.get_dataset(dataset_id)
        frozen: dict[str, Any] = {}
        for role in SUBSET_ROLES:
            f = dict(subsets.get(role) or {"subset": role})
            ids = catalog.item_ids(dataset_id, **f)
            cap = max_items.get(role)
            if cap and len(ids) > cap:
                ids = sorted(random.Random(f"{seed}:{role}").sample(ids, cap))
            if not ids:
                raise ValidationError(f"the {role} subset of dataset {ds.name!r} is empty (filter {f}); split the "
                                      f"dataset (dataset.split_ml_subsets) or change the pipeline's subsets")
            frozen[role] = {"filter": f, "items": [[v.id, v.updated_at] for v in catalog.data_versions.items(ids)]}
        train, test = set(_ids(frozen["train"])), set(_ids(frozen["test"]))
        shared = train & test
        if shared:
            raise ValidationError(f"the test subset shares {len(shared)} items with the train subset (e.g. item "
                                  f"{min(shared)}); a challenger must be tested on items it did not train on")
        all_ids = sorted({i for v in frozen.values() for i in _ids(v)})
        annotations = [[a.id, a.item_id, a.updated_at] for a in catalog.data_versions.ground_truth(all_ids)]
    # Only the data goes into the blob (not the time), so the same data always has the same address.
    data = {"format": FORMAT, "dataset_id": dataset_id, "subsets": frozen, "annotations": annotations}
    sha = catalog.store.put_bytes(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return Snapshot(sha=sha, taken_at=taken_at, data=data)


def _ids(frozen_subset: dict) -> list[int]:
    return [int(i) for i, _ in frozen_subset["items"]]


def load(catalog: Catalog, sha: str, taken_at: str = "") -> Snapshot:
    if not catalog.store.exists(sha):
        raise NotFoundError(f"snapshot {sha[:12]} is missing from the store (was it garbage-collected?)")
    return Snapshot(sha=sha, taken_at=taken_at, data=json.loads(catalog.store.path(sha).read_bytes()))


def drift(catalog: Catalog, snap: Snapshot) -> dict[str, list[int]]:
    """What changed since the snapshot: items / annotations edited, deleted or added on the frozen items."""
    items = {int(i): u for v in snap.data["subsets"].values() for i, u in v["items"]}
    anns = {int(a): (int(it), u) for a, it, u in snap.data["annotations"]}
    ids = sorted(items)
    now_items = {v.id: v.updated_at for v in catalog.data_versions.items(ids)}
    now_anns = {a.id: a.updated_at for a in catalog.data_versions.ground_truth(ids)}
    return {
        "items_changed": sorted(i for i, u in items.items() if i in now_items and now_items[i] != u),
        "items_deleted": sorted(i for i in items if i not in now_items),
        "annotations_changed": sorted(a for a, (_, u) in anns.items() if a in now_anns and now_anns[a] != u),
        "annotations_deleted": sorted(a for a in anns if a not in now_anns),
        "annotations_added": sorted(a for a in now_anns if a not in anns),
    }
