"""What a catalog holds: the built-in models on every open (cheap), the generated sample project only when asked."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import DatasetRecord, ProjectRecord
from desktop_app.domain.status import ModelStatus
from desktop_app.errors import NotFoundError

log = logging.getLogger(__name__)

SAMPLE_PROJECT = "Sample project"
SAMPLE_DATASETS = {"shapes": "classification", "shapes-detection": "detection", "shapes-segmentation": "segmentation"}
SAMPLE_SIZE = 1000


def ensure_builtins(catalog: Catalog) -> None:
    """The built-in packages and their pretrained-* models, in the sample project's record (a model needs a
    project): a few rows, no images, so every client can call it. Idempotent: creates only what is missing.

    Their labels are the shapes they were declared with, not read from a dataset, and they point at no dataset
    until the sample exists (create_sample_project links them)."""
    from desktop_app.ml.builtin import BUILTIN_PACKAGES, package_schema
    from desktop_app.ml.sample_data import SHAPES

    project = _ensure_project(catalog)
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
            config = package_schema(pkg, m.arch).defaults()
            catalog.create_model(
                m.name, project_id=project.id, package_id=rec.id, description=m.description,
                status=ModelStatus.PRE_TRAINED, configuration=config, labels=list(SHAPES),
                output_type=pkg.output_type,
                train_filter={"subset": "train"}, validation_filter={"subset": "validation"},
                scope="public", tags=["builtin", m.arch],
                metadata={"task": pkg.task, "arch": m.arch, "builtin": True})


def create_sample_project(catalog: Catalog) -> ProjectRecord:
    """The sample project: three datasets of generated shapes (classification, detection and segmentation: a
    mask a shape; SAMPLE_SIZE images each, 70/15/15 split; drawn here, no download), and the built-in models
    pointed at the one of their task.
    Idempotent: an existing, filled dataset is kept and a built-in already pointing at a dataset keeps it."""
    from desktop_app.ml.builtin import BUILTIN_PACKAGES

    ensure_builtins(catalog)
    project = _ensure_project(catalog)
    datasets = {name: _ensure_dataset(catalog, project.id, name, kind) for name, kind in SAMPLE_DATASETS.items()}
    for pkg in BUILTIN_PACKAGES:
        package_id = catalog.get_package(pkg.name).id
        for m in pkg.models:
            for rec in catalog.find_models(name=m.name, package_id=package_id):
                if rec.dataset_id is None:
                    catalog.update_model(rec.id, dataset_id=datasets[pkg.sample_dataset].id)
    return catalog.get_project(project.id)


def has_sample_data(catalog: Catalog) -> bool:
    """Whether every sample dataset exists and holds items (what create_sample_project would leave)."""
    try:
        project = catalog.get_project(SAMPLE_PROJECT)
        return all(catalog.count_items(catalog.get_dataset(name, project.id).id) for name in SAMPLE_DATASETS)
    except NotFoundError:
        return False


def _ensure_project(catalog: Catalog) -> ProjectRecord:
    try:
        return catalog.get_project(SAMPLE_PROJECT)
    except NotFoundError:
        return catalog.create_project(SAMPLE_PROJECT, "The built-in models and, once asked for (desktop-app sample), "
                                      "generated shapes: classification, detection and segmentation, drawn on "
                                      "this machine (no download).", metadata={"sample": True})


def _ensure_dataset(catalog: Catalog, project_id: str, name: str, kind: str) -> DatasetRecord:
    from desktop_app.ml.sample_data import SHAPES
    try:
        ds = catalog.get_dataset(name, project_id)
    except NotFoundError:
        ds = catalog.create_dataset(project_id, name, labels=list(SHAPES),
                                    description=f"Sample shapes ({kind}), {SAMPLE_SIZE} images, 70/15/15 split.",
                                    metadata={"sample": True, "kind": kind})
    if catalog.count_items(ds.id) == 0:
        fill_sample_dataset(catalog, ds.id, kind)
    return catalog.get_dataset(ds.id)


def fill_sample_dataset(catalog: Catalog, dataset_id: str, kind: str, n: int = SAMPLE_SIZE) -> None:
    """`kind`: classification | detection | segmentation (a `binary` mask a shape)."""
    from desktop_app.ml.sample_data import generate_shapes
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation
    with tempfile.TemporaryDirectory(dir=catalog.work_dir) as tmp:
        if kind == "segmentation":
            bundle = generate_shapes_segmentation(Path(tmp), n=n, seed=0, form="mask")
        else:
            bundle = generate_shapes(Path(tmp), kind=kind, n=n, seed=0)
        catalog.import_bundle(dataset_id, bundle, creator="sample")
    log.info("sample dataset %s filled with %d generated images", dataset_id, n)
