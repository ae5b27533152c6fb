"""Model versions: clone a model into a new one (same package, a copy of its configuration, its weights)."""

from __future__ import annotations

from typing import Sequence

from desktop_app.catalog import Catalog, ModelRecord, ModelStatus
from desktop_app.catalog.dataset_versions import DatasetVersions, is_auto
from desktop_app.ml.adapter import checked_configuration


def clone_model(catalog: Catalog, from_model_id: str, model_name: str, *, description: str | None = None,
                project_id: str | None = None, dataset_id: str | None = None, configuration: dict | None = None,
                labels: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                train_filter: dict | None = None, validation_filter: dict | None = None, status: str | None = None,
                metadata: dict | None = None) -> ModelRecord:
    """A new version: same package, a copy of the configuration (merged with `configuration`), the parent's
    weights; labels from `dataset_id` when one is given, else the parent's. `metadata` is added to what the
    clone records ('cloned_from'). One transaction."""
    src = catalog.get_model(from_model_id)
    pid = project_id or src.project_id
    catalog.get_project(pid)  # clear error for a wrong project id
    ds_id = dataset_id or src.dataset_id
    if labels is None:
        labels = catalog.get_dataset(ds_id).labels if dataset_id else list(src.labels)
    config = dict(src.configuration)  # never mutate the source's configuration (dtlpy does)
    if list(labels) != list(src.labels):
        config.pop("id_to_label_map", None)
        config.pop("label_to_id_map", None)
    config.update(configuration or {})
    config = checked_configuration(catalog, src.package_id, config)
    with catalog.transaction():
        rec = catalog.create_model(
            model_name, project_id=pid, package_id=src.package_id,
            description=src.description if description is None else description,
            tags=list(src.tags if tags is None else tags), status=status or ModelStatus.CREATED,
            configuration=config, labels=list(labels), input_type=src.input_type,
            output_type=src.output_type, dataset_id=ds_id,
            train_filter=dict(train_filter) if train_filter is not None else src.train_filter,
            validation_filter=dict(validation_filter) if validation_filter is not None else src.validation_filter,
            parent_id=src.id, metadata={"cloned_from": {"id": src.id, "name": src.name}, **(metadata or {})})
        for art in catalog.list_artifacts(src.id):
            catalog.add_artifact(rec.id, art.filename, art.sha256, art.size)
        # a parent pinned to a named version of the same dataset: the clone trains on it too
        if src.data_version and not is_auto(src.data_version) and ds_id == src.dataset_id:
            DatasetVersions(catalog).record_model(rec.id, src.data_version)
            rec.data_version = src.data_version
    return rec
