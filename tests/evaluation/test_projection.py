"""The embedding map's core: PCA against numpy's SVD (each path), UMAP through the optional extra, the projection
cache, and the lasso / hover geometry."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation import projection as pj


def _reference(x: np.ndarray, k: int = 2) -> np.ndarray:
    xc = np.asarray(x, np.float64) - np.asarray(x, np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    return u[:, :k] * s[:k]


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    scale = np.abs(b).max()
    for j in range(b.shape[1]):
        err = min(np.abs(a[:, j] - b[:, j]).max(), np.abs(a[:, j] + b[:, j]).max())
        assert err <= rtol * scale, (j, err / scale)


@pytest.fixture
def small_thresholds(monkeypatch):
    """Each PCA path reached with small matrices: exact SVD up to 500 rows, the covariance up to 64 columns."""
    monkeypatch.setattr(pj, "EXACT_BELOW", 500)
    monkeypatch.setattr(pj, "EXACT_DIMS", 64)


@pytest.mark.parametrize("n, d, path", [(300, 40, "exact SVD"), (1500, 48, "covariance"),
                                        (1500, 150, "randomized")])
def test_pca_equals_the_numpy_reference_up_to_sign(n, d, path, small_thresholds):
    rng = np.random.default_rng(n + d)
    x = (rng.normal(size=(n, d)) * (6.0 * 0.85 ** np.arange(d)) + rng.normal(size=d) * 4).astype(np.float32)
    got = pj.pca(x, 2)
    assert got.shape == (n, 2) and got.dtype == np.float32
    _same_up_to_sign(got, _reference(x), 1e-4)
    assert np.array_equal(got, pj.pca(x, 2))                         # the same from run to run, signs too
    assert np.allclose(pj.project(x, "pca"), got)


def test_pca_of_memory_mapped_vectors_reads_them_in_blocks(tmp_path, monkeypatch, small_thresholds):
    monkeypatch.setattr(pj, "ROWS", 300)                              # many blocks, a ragged last one
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(1700, 100)) * (3.0 * 0.8 ** np.arange(100))).astype(np.float32)
    np.save(tmp_path / "v.npy", x)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    _same_up_to_sign(pj.pca(mapped, 2), _reference(x), 1e-4)


@pytest.mark.parametrize("n, d", [(300, 40), (900, 40), (900, 80)])      # exact, covariance, randomized
def test_unit_rows_project_the_directions_not_the_lengths(small_thresholds, monkeypatch, n, d):
    monkeypatch.setattr(pj, "ROWS", 256)
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(n, d)) * (2.0 * 0.8 ** np.arange(d)) + 1).astype(np.float32)
    x[::50] *= 40                                                     # a few long vectors: a long tail
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    _same_up_to_sign(pj.project(x, "pca", unit=True), _reference(unit), 1e-4)
    assert pj.UnitRows(np.zeros((2, 3)))[0:2].tolist() == [[0, 0, 0], [0, 0, 0]]   # a zero row stays zero


def test_pca_edge_cases():
    assert pj.pca(np.zeros((0, 8), np.float32)).shape == (0, 2)
    one = pj.pca(np.ones((1, 8), np.float32))
    assert one.shape == (1, 2) and not one.any()
    line = pj.pca(np.array([[0, 0], [1, 1], [2, 2]], np.float32))
    assert np.allclose(np.abs(line[:, 0]), [np.sqrt(2), 0, np.sqrt(2)], atol=1e-5) and np.allclose(line[:, 1], 0,
                                                                                                     atol=1e-5)
    with pytest.raises(ValidationError, match="tsne"):
        pj.project(np.zeros((3, 2)), "tsne")


def test_umap_without_the_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)                   # import umap -> ImportError
    assert not pj.umap_available()
    with pytest.raises(ValidationError, match=r"pip install .*\[umap\]"):
        pj.project(np.zeros((10, 4), np.float32), "umap")


def test_umap_runs_on_the_first_50_principal_components(monkeypatch):
    seen = {}

    class FakeUMAP:
        def __init__(self, **params):
            seen["params"] = params

        def fit_transform(self, x):
            seen["shape"] = x.shape
            return np.asarray(x)[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    assert pj.umap_available()
    x = np.random.default_rng(0).normal(size=(200, 120)).astype(np.float32)
    out = pj.project(x, "umap")
    assert out.shape == (200, 2) and out.dtype == np.float32 and seen["shape"] == (200, 50)
    assert seen["params"]["metric"] == "cosine" and seen["params"]["n_components"] == 2


def test_the_cache_projects_each_version_once():
    cache = pj.ProjectionCache(capacity=2)
    made = []

    def make(tag):
        made.append(tag)
        return pj.Projection(np.arange(3), np.zeros((3, 2), np.float32), "pca")

    first = cache.get_or_make(("fs", "v1", "pca"), lambda: make("v1"))
    assert cache.get_or_make(("fs", "v1", "pca"), lambda: make("again")) is first and made == ["v1"]
    cache.get_or_make(("fs", "v2", "pca"), lambda: make("v2"))       # new vectors: a new version
    cache.get_or_make(("fs", "v1", "umap"), lambda: make("umap"))    # capacity 2: the oldest (v1 pca) goes
    assert made == ["v1", "v2", "umap"] and cache.get(("fs", "v1", "pca")) is None and len(cache) == 2


def test_lasso_selects_exactly_the_points_inside_a_concave_polygon():
    xs, ys = np.meshgrid(np.arange(-1, 6) + 0.5, np.arange(-1, 5) + 0.5)
    pts = np.column_stack([xs.ravel(), ys.ravel()])
    ell = [(0, 0), (4, 0), (4, 1), (1, 1), (1, 3), (0, 3)]           # an L: the notch's points are outside
    inside = pj.points_in_polygon(pts, ell)
    got = {tuple(p) for p in pts[inside].tolist()}
    assert got == {(0.5, 0.5), (1.5, 0.5), (2.5, 0.5), (3.5, 0.5), (0.5, 1.5), (0.5, 2.5)}
    # the same in any orientation and starting vertex, and closed explicitly
    assert np.array_equal(pj.points_in_polygon(pts, ell[::-1]), inside)
    assert np.array_equal(pj.points_in_polygon(pts, ell[2:] + ell[:2] + [ell[2]]), inside)
    assert not pj.points_in_polygon(pts, ell[:2]).any()              # fewer than 3 vertices: nothing


def test_lasso_agrees_with_a_per_point_ray_cast_on_random_points():
    rng = np.random.default_rng(5)
    pts = rng.uniform(-1, 1, size=(3000, 2))
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    star = np.column_stack([np.cos(t), np.sin(t)]) * np.where(np.arange(40) % 2, 0.35, 0.9)[:, None]

    def inside(x, y):
        hit = False
        for (ax, ay), (bx, by) in zip(star, np.roll(star, -1, axis=0)):
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                hit = not hit
        return hit

    assert pj.points_in_polygon(pts, star).tolist() == [inside(x, y) for x, y in pts]


def test_hover_resolves_the_nearest_point_on_screen():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 1.0]], np.float32)
    assert pj.nearest_point(xy, 9.0, 0.2) == 1
    # x spans 100 px per unit less than y: in pixels (0, 1) is far, (10, 0) near
    assert pj.nearest_point(xy, 0.1, 0.6, scale=(1.0, 100.0)) == 2
    assert pj.nearest_point(xy, 5.0, 0.0, scale=(1.0, 1.0), radius=4.0) == -1
    assert pj.nearest_point(np.zeros((0, 2)), 0, 0) == -1
