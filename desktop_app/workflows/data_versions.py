"""Which dataset version a training or an evaluation used, and a training laid out from a version's frozen content.

A train job uses, in this order: the version its input names (a resumed job goes on with the data it started on),
the version the model is pinned to (a user's name in models.data_version: `model.train(data_version=...)`), else
the live data, frozen first under its automatic name ("auto-<sha>", reused when that content was frozen before).
The job's input, the model's data_version and the adapter's context['data_version'] then name it. A pinned or
resumed job lays its subsets out from the frozen content (same items, subsets and annotations as when it was
frozen; images from the store by sha); one on the live data keeps the adapter's own prepare_data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from desktop_app.catalog import Catalog
from desktop_app.catalog.dataset_versions import DatasetVersionRecord, DatasetVersions, FrozenData
from desktop_app.errors import ValidationError
from desktop_app.ml.adapter import BaseModelAdapter, _wanted_types
from desktop_app.ml.layout import write_layout


def use_training_version(catalog: Catalog, ex: Any, adapter: BaseModelAdapter) -> DatasetVersionRecord:
    """Decide the train job's data version, record it (job input, model, adapter context) and, for a named or
    resumed one, make the adapter lay its data out from the frozen content."""
    model = adapter.model_entity
    versions = DatasetVersions(catalog)
    if model.dataset_id is None:
        raise ValidationError(f"model {model.name!r} has no dataset to train on; clone it with dataset=")
    named = ex.input.get("data_version")
    version = versions.get(model.dataset_id, named) if named else versions.for_training(model.id)
    frozen_now = version is None
    if frozen_now:
        version = versions.auto(model.dataset_id, created_by=f"training {model.name}")
    catalog.update_execution(ex.id, input={**ex.input, "data_version": version.name, "data_sha": version.sha})
    ex.input.update(data_version=version.name, data_sha=version.sha)
    versions.record_model(model.id, version.name)
    adapter.context["data_version"] = version.name
    if not frozen_now:
        lay_out_from(adapter, catalog, versions.load(version), version.name)
    print(f"data: dataset version {version.name!r} ({version.sha[:12]}, {version.counts.get('items', '?')} items"
          f"{'' if frozen_now else ', laid out from its frozen content'})", flush=True)
    return version


def lay_out_from(adapter: BaseModelAdapter, catalog: Catalog, frozen: FrozenData, name: str) -> None:
    """Point this adapter's prepare_data at the frozen content (the base class's layout, the version's items)."""
    if type(adapter).prepare_data is not BaseModelAdapter.prepare_data:
        raise ValidationError(f"{type(adapter).__name__} lays its data out itself (it overrides prepare_data), so "
                              f"it cannot train on dataset version {name!r}; train it on the live dataset")

    def prepare_data(dataset: Any = None, root_path: str | None = None, data_path: str | None = None,
                     output_path: str | None = None, overwrite: bool = False,
                     subsets: Sequence[str] = ("train", "validation"), **kwargs: Any) -> tuple[str, str, str]:
        return prepare_frozen(adapter, catalog, frozen, name, dataset=dataset, root_path=root_path,
                              data_path=data_path, output_path=output_path, overwrite=overwrite, subsets=subsets,
                              **kwargs)

    adapter.prepare_data = prepare_data   # this job's adapter only; its class is untouched


def prepare_frozen(adapter: BaseModelAdapter, catalog: Catalog, frozen: FrozenData, name: str, *,
                   dataset: Any = None, root_path: str | None = None, data_path: str | None = None,
                   output_path: str | None = None, overwrite: bool = False,
                   subsets: Sequence[str] = ("train", "validation"), **kwargs: Any) -> tuple[str, str, str]:
    """BaseModelAdapter.prepare_data's layout, its items and ground truth read from the frozen content."""
    import shutil

    model = adapter.model_entity
    ds_id = dataset.id if dataset is not None else model.dataset_id
    if ds_id != model.dataset_id:
        raise ValidationError(f"dataset version {name!r} is a version of the model's dataset; asked to lay out "
                              f"dataset {ds_id}")
    root = Path(root_path) if root_path else catalog.work_dir / "data" / model.id
    data = Path(data_path) if data_path else root / "datasets" / ds_id
    out = Path(output_path) if output_path else root / "output"
    if overwrite and data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(model.labels) or frozen.labels
    wanted = _wanted_types(model.output_type)
    subset_entries = {}
    for subset in subsets:
        f = model.subsets.get(subset) or {"subset": subset}
        entries = frozen.entries(catalog, f, types=wanted)
        if not entries:
            raise ValidationError(f"the {subset} subset of dataset version {name!r} is empty (filter {f})")
        subset_entries[subset] = entries
    write_layout(data, subset_entries, labels)
    adapter.convert_from_dtlpy(str(data), **kwargs)
    return str(root), str(data), str(out)


def record_evaluation_version(catalog: Catalog, dataset_id: str, evaluation_id: str) -> str:
    """The data an evaluation scored, as a version: the live dataset frozen right after scoring under its automatic
    name (reused when that content was frozen before); set on the evaluation, returned."""
    version = DatasetVersions(catalog).auto(dataset_id, created_by="evaluation")
    catalog.update_evaluation(evaluation_id, data_version=version.name)
    return version.name
