"""A fresh catalog gets the built-in packages, their pretrained models and the sample project."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from desktop_app.catalog import Catalog
from desktop_app.errors import NotFoundError

log = logging.getLogger(__name__)

SAMPLE_PROJECT = "Sample project"
SAMPLE_DATASETS = {"shapes": "classification", "shapes-detection": "detection"}
SAMPLE_SIZE = 1000


def ensure_builtins(catalog: Catalog, *, sample_data: bool = True) -> None:
    """Idempotent: creates only what is missing, so every start can call it."""
    from desktop_app.ml.builtin import BUILTIN_PACKAGES, package_schema

    project = _ensure_project(catalog)
    datasets = {}
    for name, kind in SAMPLE_DATASETS.items():
        datasets[name] = _ensure_dataset(catalog, project.id, name, kind, sample_data)
    for pkg in BUILTIN_PACKAGES:
        try:
            rec = catalog.get_package(pkg.name)
        except NotFoundError:
            schema = package_schema(pkg, pkg.models[0].arch)
            rec = catalog.create_package(
                pkg.name, kind="builtin", description=pkg.description, entry_point=pkg.entry_point,
                class_name=pkg.class_name, default_configuration=schema.defaults(),
                hyperparameters=schema.to_list(), output_type=pkg.output_type,
                metadata={"task": pkg.task})
        for m in pkg.models:
            if catalog.find_models(name=m.name, package_id=rec.id):
                continue
            ds = datasets[pkg.sample_dataset]
            config = package_schema(pkg, m.arch).defaults()
            catalog.create_model(
                m.name, project_id=project.id, package_id=rec.id, description=m.description,
                status="pre-trained", configuration=config, labels=list(ds.labels), output_type=pkg.output_type,
                dataset_id=ds.id, train_filter={"subset": "train"}, validation_filter={"subset": "validation"},
                scope="public", tags=["builtin", m.arch],
                metadata={"task": pkg.task, "arch": m.arch, "builtin": True})


def _ensure_project(catalog: Catalog):
    try:
        return catalog.get_project(SAMPLE_PROJECT)
    except NotFoundError:
        return catalog.create_project(SAMPLE_PROJECT, "Generated shapes: classification and detection, "
                                      "created on this machine (no download).", metadata={"sample": True})


def _ensure_dataset(catalog: Catalog, project_id: str, name: str, kind: str, sample_data: bool):
    from desktop_app.ml.sample_data import SHAPES
    try:
        ds = catalog.get_dataset(name, project_id)
    except NotFoundError:
        ds = catalog.create_dataset(project_id, name, labels=list(SHAPES),
                                    description=f"Sample shapes ({kind}), {SAMPLE_SIZE} images, 70/15/15 split.",
                                    metadata={"sample": True, "kind": kind})
    if sample_data and catalog.count_items(ds.id) == 0:
        fill_sample_dataset(catalog, ds.id, kind)
    return catalog.get_dataset(ds.id)


def fill_sample_dataset(catalog: Catalog, dataset_id: str, kind: str, n: int = SAMPLE_SIZE) -> None:
    from desktop_app.ml.sample_data import generate_shapes
    with tempfile.TemporaryDirectory(dir=catalog.work_dir) as tmp:
        bundle = generate_shapes(Path(tmp), kind=kind, n=n, seed=0)
        catalog.import_bundle(dataset_id, bundle, creator="sample")
    log.info("sample dataset %s filled with %d generated images", dataset_id, n)
