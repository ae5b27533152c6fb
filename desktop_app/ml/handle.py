"""The narrow model handle an adapter works on (no SDK): a catalog model's fields, artifacts and status."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_app.catalog.names import check_name, contained
from desktop_app.catalog.records import ModelStatus
from desktop_app.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from desktop_app.catalog import Catalog
    from desktop_app.catalog.records import AnnotationRecord, ArtifactRecord, ItemRecord


@dataclass(frozen=True)
class ItemView:
    """A light, read-only item: what `prepare_item_func` and `predict` read of an SDK item (id, name, the image's
    local_path and size, its ground truth through `annotations.list(ground_truth=True)`)."""

    id: int
    name: str
    dataset_id: str
    local_path: Path
    width: int | None = None
    height: int | None = None
    mimetype: str | None = None
    subset: str | None = None
    metadata: dict = field(default_factory=dict)
    _catalog: Any = field(default=None, repr=False, compare=False)

    @property
    def filename(self) -> str:
        return "/" + self.name

    @property
    def annotations(self) -> _ItemAnnotations:
        return _ItemAnnotations(self._catalog, self.id)

    def open_image(self):
        from PIL import Image
        im = Image.open(self.local_path)
        im.load()
        return im

    @classmethod
    def of(cls, catalog: Catalog, rec: ItemRecord) -> ItemView:
        return cls(rec.id, rec.name, rec.dataset_id, catalog.item_path(rec), rec.width, rec.height, rec.mimetype,
                   rec.subset, dict(rec.metadata), catalog)


class _ItemAnnotations:
    """`item.annotations.list(ground_truth=..., model_id=...)`, read-only: the catalog's annotation records
    (type, label, left / top / right / bottom, coordinates, score, ...)."""

    def __init__(self, catalog: Catalog, item_id: int):
        self._catalog, self._item_id = catalog, item_id

    def list(self, *, ground_truth: bool | None = None, model_id: str | None = None) -> list[AnnotationRecord]:
        return self._catalog.list_annotations(item_ids=[self._item_id], ground_truth=ground_truth,
                                              model_id=model_id)


def item_views(catalog: Catalog, dataset_id: str, filters: dict | None = None) -> list[ItemView]:
    """The dataset's items that `filters` selects (all without one), in id order."""
    return [ItemView.of(catalog, r) for r in catalog.list_items(dataset_id, **(filters or {}))]


class _Items:
    """`dataset.items.list(filters=...)`, as an SDK dataset answers it."""

    def __init__(self, catalog: Catalog, dataset_id: str):
        self._catalog, self._dataset_id = catalog, dataset_id

    def list(self, filters: dict | None = None) -> list[ItemView]:
        return item_views(self._catalog, self._dataset_id, filters)

    def get(self, item_id: int) -> ItemView:
        rec = self._catalog.get_item(int(item_id))
        if rec.dataset_id != self._dataset_id:
            raise NotFoundError(f"item {item_id} is not in dataset {self._dataset_id}")
        return ItemView.of(self._catalog, rec)


class DatasetView:
    """A small read-only dataset: id, name, labels, and its items."""

    def __init__(self, catalog: Catalog, dataset_id: str):
        rec = catalog.get_dataset(dataset_id)
        self.id, self.name, self.labels = rec.id, rec.name, list(rec.labels)
        self.items = _Items(catalog, rec.id)

    def __repr__(self) -> str:
        return f"DatasetView(id={self.id!r}, name={self.name!r})"


class Artifacts:
    """A model's weight files in the catalog's store: list, download into a folder, upload from disk."""

    def __init__(self, catalog: Catalog, model_id: str, model_name: str):
        self._catalog, self._model_id, self._model_name = catalog, model_id, model_name

    def list(self) -> list[ArtifactRecord]:
        return self._catalog.list_artifacts(self._model_id)

    def download(self, local_path: str | Path, overwrite: bool = True) -> Path:
        dest = Path(local_path)
        # A restored or old catalog may hold a name no upload lets in today: check every one first.
        targets = [(a, contained(dest, a.filename, "artifact name")) for a in self.list()]
        dest.mkdir(parents=True, exist_ok=True)
        for a, target in targets:
            if target.exists() and not overwrite:
                continue
            self._catalog.store.export(a.sha256, target)
        return dest

    def upload(self, filepath: str | Path, overwrite: bool = True,
               artifact_name: str | None = None) -> list[ArtifactRecord]:
        """A file, a folder (recursively) or a glob into the model's artifacts."""
        p = Path(filepath)
        if p.is_dir():
            pairs = [(f, f.relative_to(p).as_posix()) for f in sorted(p.rglob("*")) if f.is_file()]
        elif p.is_file():
            pairs = [(p, artifact_name or p.name)]
        else:
            matches = sorted(glob.glob(str(filepath)))
            if not matches:
                raise NotFoundError(f"nothing to upload at {filepath}")
            pairs = [(Path(m), Path(m).name) for m in matches if os.path.isfile(m)]
        existing = {a.filename for a in self.list()}
        for _, name in pairs:  # every name is checked before anything is written
            check_name(name, "artifact name")
            if name in existing and not overwrite:
                raise ValidationError(f"artifact {name!r} exists; pass overwrite=True to replace it")
        out = []
        for f, name in pairs:
            sha, size = self._catalog.store.put_file(f)
            out.append(self._catalog.add_artifact(self._model_id, name, sha, size))
        return out


class ModelHandle:
    """What an adapter reads and writes of its model, straight over the catalog (built from (catalog, model_id)).

    A snapshot like an SDK Model: `configuration` and `labels` are this process's copies (a service may set
    its device in `configuration` without touching the catalog); `status` is read and written through the
    catalog; `refresh()` reads the record again."""

    def __init__(self, catalog: Catalog, model_id: str):
        self.catalog = catalog
        self._load(catalog.get_model(model_id))

    def _load(self, rec) -> None:
        self._record = rec
        self.id, self.name = rec.id, rec.name
        self.configuration = dict(rec.configuration)
        self.labels = list(rec.labels)
        self.metadata = dict(rec.metadata)

    def __repr__(self) -> str:
        return f"ModelHandle(id={self.id!r}, name={self.name!r})"

    project_id = property(lambda self: self._record.project_id)
    package_id = property(lambda self: self._record.package_id)
    dataset_id = property(lambda self: self._record.dataset_id)
    input_type = property(lambda self: self._record.input_type)
    output_type = property(lambda self: self._record.output_type)
    train_filter = property(lambda self: self._record.train_filter)
    validation_filter = property(lambda self: self._record.validation_filter)

    @property
    def status(self) -> str:
        return self.catalog.get_model(self.id).status

    @status.setter
    def status(self, value: ModelStatus | str) -> None:
        """Written through the catalog's one owner of transitions (an unknown or refused status: ValidationError)."""
        self._record = self.catalog.set_model_status(self.id, value)

    @property
    def package_name(self) -> str:
        return self.catalog.get_package(self.package_id).name

    @property
    def dataset(self) -> DatasetView:
        if not self.dataset_id:
            raise ValidationError(f"model {self.name!r} has no dataset; it can be used only for inference")
        return DatasetView(self.catalog, self.dataset_id)

    @property
    def subsets(self) -> dict[str, dict]:
        return model_subsets(self)

    @property
    def id_to_label_map(self) -> dict[int, str]:
        return id_to_label_map(self)

    @property
    def label_to_id_map(self) -> dict[str, int]:
        return label_to_id_map(self)

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(self.catalog, self.id, self.name)

    def refresh(self) -> ModelHandle:
        self._load(self.catalog.get_model(self.id))
        return self


# The rules below serve a model handle and an SDK dl.Model alike (both read the same fields): one place for each.

def model_subsets(model: Any) -> dict[str, dict]:
    """{'train': filter, 'validation': filter}: the model's own filters, else its dataset's subset of that name."""
    return {"train": model.train_filter or {"subset": "train"},
            "validation": model.validation_filter or {"subset": "validation"}}


def id_to_label_map(model: Any) -> dict[int, str]:
    """The configuration's `id_to_label_map` (keys made ints), else the model's labels (else its dataset's) in order."""
    m = model.configuration.get("id_to_label_map")
    if m:
        return {int(k): v for k, v in m.items()}
    labels = model.labels or (model.dataset.labels if model.dataset_id else [])
    return dict(enumerate(labels))


def label_to_id_map(model: Any) -> dict[str, int]:
    return {v: k for k, v in id_to_label_map(model).items()}


def catalog_of(model: Any) -> Catalog:
    """The catalog behind a model handle, or behind an SDK Model a user passed (its client's)."""
    catalog = getattr(model, "catalog", None)
    if catalog is None:
        client = getattr(model, "_client", None)
        catalog = getattr(client, "catalog", None)
    if catalog is None:
        raise ValidationError(f"{type(model).__name__} is not a model (a dl.Model or a model handle)")
    return catalog
