"""Small sample layouts shared by the ml tests (made once per session, a second or two each)."""

from __future__ import annotations

import pytest

from desktop_app.ml.layout import write_layout
from desktop_app.ml.sample_data import generate_shapes


def make_layout(root, kind: str, n: int, size: int | None = None, seed: int = 0):
    bundle = generate_shapes(root / "images", kind=kind, n=n, size=size, seed=seed)
    subsets: dict = {}
    for item in bundle.items:
        subsets.setdefault(item.subset, []).append(item)
    write_layout(root / "data", subsets, bundle.labels)
    return root / "data", bundle


@pytest.fixture(scope="session")
def layout_factory():
    """make(root, kind, n, size=None, seed=0) -> (data_path, bundle)."""
    return make_layout


@pytest.fixture(scope="session")
def cls_layout(tmp_path_factory):
    """60 classification images at 32 px: 42 train / 8-10 validation."""
    return make_layout(tmp_path_factory.mktemp("cls"), "classification", 60, size=32)[0]


@pytest.fixture(scope="session")
def det_layout(tmp_path_factory):
    return make_layout(tmp_path_factory.mktemp("det"), "detection", 40, size=64)[0]


# A quick configuration: tiny model work per step, a few steps per epoch.
FAST_CONFIG = {"arch": "resnet18", "image_size": 32, "batch_size": 16, "epochs": 2, "learning_rate": 1e-3,
        "pretrained": False, "num_workers": 0, "device": "cpu"}


@pytest.fixture
def fast():
    return dict(FAST_CONFIG)
