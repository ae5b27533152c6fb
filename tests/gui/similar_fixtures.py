"""Feature sets for the find-similar and near-duplicates tests, written straight into the catalog (no training)."""

from __future__ import annotations

import numpy as np

from desktop_app.catalog.feature_sets import queries

DIM = 16


def store_vectors(catalog, model_id: str, ids: list[int], vectors) -> None:
    """A model's feature set written straight into the catalog (what an embed job stores)."""
    q = queries(catalog)
    q.add(model_id, ids, np.asarray(vectors, np.float32), weights_sha=q.weights_sha(model_id))


def planted(n: int, near: int = 5, seed: int = 0) -> np.ndarray:
    """n random vectors; rows 1..near lie ever further from row 0 along one direction orthogonal to it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, DIM))
    u = rng.normal(size=DIM)
    u -= (u @ x[0]) / (x[0] @ x[0]) * x[0]
    u /= np.linalg.norm(u)
    for j in range(1, near + 1):
        x[j] = x[0] + 0.15 * j * np.linalg.norm(x[0]) * u
    return x


def trained_model(client, name: str):
    """A model of the sample project marked trained (weights are not needed to hold a feature set)."""
    ds = client.datasets.get("shapes")
    return client.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet").clone(
        model_name=name, dataset=ds, status="trained")
