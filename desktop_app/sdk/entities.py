"""SDK entities other than Model: Project, Package, Dataset, Item, Annotation, Artifact, Execution, Service."""

from __future__ import annotations

import abc
import io
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from desktop_app.catalog.records import (AnnotationRecord, ArtifactRecord, DatasetRecord, ExecutionRecord,
                                         ExecutionStatus, ItemRecord, PackageRecord, ProjectRecord,
                                         ServiceRecord)
from desktop_app.errors import NotFoundError, ValidationError

from .definitions import definition_from, filter_dict
from .keywords import check_public_methods

if TYPE_CHECKING:
    from .client import Client


@check_public_methods
class Entity(abc.ABC):
    """An SDK entity: a snapshot of one catalog record. Reading a field returns the snapshot's value (no query);
    ``refresh()`` reads the record again, and a method that changes the record leaves the new one in its
    snapshot. Relations (``model.dataset``, ``dataset.items``, ...) query and return new entities.

    Every public method of a subclass refuses an unknown keyword argument naming the closest one it takes
    (domain.keywords), as do the repositories."""
    _record: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_public_methods(cls)

    def __init__(self, client: Client, record: Any):
        self._client = client
        self._record = record

    @property
    def id(self) -> Any:
        return self._record.id

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        name = getattr(self._record, "name", None)
        return f"{type(self).__name__}(id={self.id!r}" + (f", name={name!r})" if name else ")")

    def to_json(self) -> dict:
        return self._record.to_dict()

    def refresh(self) -> Entity:
        """Read the record again (someone else may have changed it); returns this entity."""
        self._record = self._fetch()
        return self

    @abc.abstractmethod
    def _fetch(self) -> Any:
        """The entity's record as the catalog holds it now."""


class Project(Entity):
    _record: ProjectRecord

    def _fetch(self) -> ProjectRecord:
        return self._client.catalog.get_project(self.id)

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def description(self) -> str:
        return self._record.description

    @property
    def datasets(self):
        return self._client.repository("Datasets", project=self)

    @property
    def models(self):
        return self._client.repository("Models", project=self)

    @property
    def packages(self):
        return self._client.repository("Packages", project=self)

    @property
    def pipelines(self):
        return self._client.repository("Pipelines", project=self)

    def delete(self) -> bool:
        self._client.catalog.delete_project(self.id)
        return True


class Package(Entity):
    """A package (model code) at one of its versions: ``dl.packages.get(...)`` gives the current version,
    ``package.revisions`` every version, oldest first. ``description``, ``default_configuration`` and
    ``service_config`` are editable in place and saved by ``update()``."""
    _record: PackageRecord

    def __init__(self, client: Client, record: PackageRecord):
        super().__init__(client, record)
        self.description = record.description
        self.default_configuration = dict(record.default_configuration)
        self.service_config = dict((record.metadata or {}).get(_SERVICE_CONFIG) or {})

    name = property(lambda self: self._record.name)
    kind = property(lambda self: self._record.kind)
    version = property(lambda self: self._record.version)
    output_type = property(lambda self: self._record.output_type)
    input_type = property(lambda self: self._record.input_type)
    entry_point = property(lambda self: self._record.entry_point)
    class_name = property(lambda self: self._record.class_name)
    metadata = property(lambda self: self._record.metadata)
    created_at = property(lambda self: self._record.created_at)

    @property
    def package_type(self) -> str:
        """Dataloop's type of package: 'ml' (a model adapter) for every package here."""
        return "ml"

    def __repr__(self) -> str:
        return f"Package(id={self.id!r}, name={self.name!r}, version={self.version!r})"

    def _fetch(self) -> PackageRecord:
        return self._client.catalog.get_package_revision(self.id, self.version)

    def refresh(self) -> Package:
        """Read this version again; edits not saved by update() are dropped."""
        self.__init__(self._client, self._fetch())
        return self

    @property
    def hyperparameters(self) -> list[dict]:
        return list(self._record.hyperparameters)

    @property
    def is_current(self) -> bool:
        """Whether this is the package's current version (the one pushes add after and new models take)."""
        return self._client.catalog.get_package(self.id).version == self.version

    @property
    def revisions(self) -> list[Package]:
        """Every version of the package, oldest first; each loads its own code (``build()``)."""
        return [Package(self._client, r) for r in self._client.catalog.list_package_revisions(self.id)]

    def revision(self, version: str) -> Package:
        """One version of the package ('1.0.0'); NotFoundError naming the versions it has."""
        return Package(self._client, self._client.catalog.get_package_revision(self.id, version))

    @property
    def models(self):
        return self._client.repository("Models", package=self)

    def build(self, model_entity=None):
        """Instantiate this version's adapter (its code loaded from the store for user packages)."""
        from desktop_app.ml.adapter import load_adapter_class
        cls = load_adapter_class(self._client.catalog, self._record)
        return cls(model_entity=model_entity)

    def update(self, revision_increment: str | None = None) -> Package:
        """Save the edits of ``description``, ``default_configuration`` and ``service_config`` (checked as push
        checks them). Without ``revision_increment`` they change the current version in place (none of them
        changes what its code does); with it ('patch', 'minor', 'major'), they make a new version holding the same
        code, as Dataloop's ``packages.update(package, revision_increment=...)``. Only the current version can be
        updated (ValidationError naming it)."""
        from desktop_app.ml.adapter import EXTRA_CONFIGURATION, check_default_configuration
        catalog = self._client.catalog
        current = catalog.get_package(self.id)
        if current.version != self.version:
            raise ValidationError(f"package {self.name!r} {self.version} is not its current version "
                                  f"({current.version}): only the current version can be updated; push new code "
                                  f"to make another")
        if not isinstance(self.description, str):
            raise ValidationError(f"description must be a string, got {type(self.description).__name__}")
        check_default_configuration(self.name, self.default_configuration, current.hyperparameters,
                                    bool((current.metadata or {}).get(EXTRA_CONFIGURATION)))
        metadata = {k: v for k, v in (current.metadata or {}).items() if k != _SERVICE_CONFIG}
        config = package_service_config(self.service_config)
        if config:
            metadata[_SERVICE_CONFIG] = config
        values = dict(description=self.description, default_configuration=dict(self.default_configuration),
                      metadata=metadata)
        if revision_increment is None:
            rec = catalog.update_package(self.id, **values)
        else:
            rec = catalog.add_package_revision(self.id, increment=revision_increment, **values)
        self.__init__(self._client, rec)
        return self

    def delete(self, with_models: bool = False) -> dict:
        """Delete the package, every version. Refused (UserError) while it has models, unless
        ``with_models=True``: then they go too, with their weights, evaluations and the files only they used.
        Returns what went: {'package', 'models' (names), 'removed_files', 'freed_bytes'}."""
        from desktop_app.catalog.housekeeping import delete_package
        return delete_package(self._client.catalog, self.id, with_models=with_models)

    def to_json(self) -> dict:
        return {**self._record.to_dict(), "versions": self._client.catalog.package_versions(self.id)}


_SERVICE_CONFIG = "service_config"   # ml.adapter.SERVICE_CONFIG: the package metadata key


def package_service_config(config: Any) -> dict | None:
    """A package's ``service_config`` (the default settings of its models' services), checked as
    ``model.deploy(service_config=...)`` checks its own; None or {} for none. A token is never stored, and
    Dataloop's cloud runtime settings (pod type, replicas, ...) are refused naming the keys that exist here."""
    if config is None or config == {}:
        return None
    if not isinstance(config, dict):
        raise ValidationError(f"service_config must be a dict of service settings, got {type(config).__name__}")
    if "token" in config or "auth" in config:
        raise ValidationError("service_config: a package does not keep a token; give it when deploying: "
                              "model.deploy(service_config={'token': ...})")
    from desktop_app.serving.config import ServiceConfig
    try:
        ServiceConfig.from_dict(config)
    except ValidationError as e:
        raise ValidationError(f"service_config: {e} (Dataloop's cloud runtime settings have no meaning on this "
                              f"machine)" if "unknown" in str(e) else f"service_config: {e}") from None
    return dict(config)


class Dataset(Entity):
    _record: DatasetRecord

    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    project_id = property(lambda self: self._record.project_id)
    metadata = property(lambda self: self._record.metadata)

    @property
    def labels(self) -> list[str]:
        return list(self._record.labels)

    @property
    def project(self) -> Project:
        return self._client.projects.get(project_id=self.project_id)

    @property
    def items(self):
        return self._client.repository("Items", dataset=self)

    @property
    def items_count(self) -> int:
        """Counted now, as ``items.count()``: a question about the items, which are not in the snapshot."""
        return self._client.catalog.count_items(self.id)

    def _fetch(self) -> DatasetRecord:
        return self._client.catalog.get_dataset(self.id)

    @property
    def label_colors(self) -> dict[str, str]:
        """{label: '#rrggbb'} for the labels given a colour (add_label(color=...)); the others get the app's."""
        return dict(self._record.label_colors)

    def add_label(self, label_name: str, color: str | Sequence[int] | None = None) -> list[str]:
        """Dataloop's ``dataset.add_label(label_name, color=(r, g, b) or '#rrggbb')``: the label joins the
        dataset's labels and its colour is kept (the window draws it so). Returns the dataset's labels."""
        if not isinstance(label_name, str) or not label_name.strip():
            raise ValidationError("a label needs a non-empty name")
        hex_color = _hex_color(color) if color is not None else None
        labels = self.add_labels([label_name])
        if hex_color is not None:
            colors = dict(self._record.label_colors) | {label_name: hex_color}
            self._record = self._client.catalog.update_dataset(self.id, label_colors=colors)
        return labels

    def add_labels(self, label_list: str | Sequence[str]) -> list[str]:
        labels = [label_list] if isinstance(label_list, str) else list(label_list)
        self._client.catalog.add_labels(self.id, labels)
        return self.refresh().labels

    def split_ml_subsets(self, items_query: Any = None, percentages: dict | None = None,
                         seed: int = 0) -> dict[str, int]:
        """Tag items train / validation / test by percentages (default 80/10/10, as Dataloop)."""
        pct = percentages or {"train": 80, "validation": 10, "test": 10}
        if items_query is not None:
            ids = self._client.catalog.item_ids(self.id, **filter_dict(items_query))
            return _split_ids(self._client, ids, pct, seed)
        return self._client.catalog.split_subsets(self.id, pct, seed=seed)

    def assign_subset_to_items(self, subset: str, items_query: Any = None) -> int:
        ids = self._client.catalog.item_ids(self.id, **filter_dict(items_query))
        self._client.catalog.set_subset(ids, subset)
        return len(ids)

    def remove_subset_from_items(self, items_query: Any = None) -> int:
        ids = self._client.catalog.item_ids(self.id, **filter_dict(items_query))
        self._client.catalog.set_subset(ids, None)
        return len(ids)

    def get_items_missing_ml_subset(self) -> list[int]:
        return self._client.catalog.item_ids(self.id, subset="none")

    def subset_counts(self) -> dict[str, int]:
        return self._client.catalog.subset_counts(self.id)

    def label_counts(self, subset: str | None = None) -> dict[str, int]:
        return self._client.catalog.label_counts(self.id, subset=subset)

    def import_from(self, path: str | Path, format: str | None = None, **kwargs: Any) -> list[int]:
        """Import a COCO / YOLO / VOC / ImageFolder / Dataloop set in one transaction."""
        from desktop_app.formats import io as fio
        ids = fio.import_dataset(self._client.catalog, self.id, path, format, **kwargs)
        self.refresh()  # an import may add labels
        return ids

    def export(self, path: str | Path, format: str = "coco", *, filters: Any = None,
               include_predictions: bool | str = False, **kwargs: Any) -> Path:
        """Write the items (all, or those ``filters`` selects) with their ground truth and, if asked, every
        model's predictions (True) or one model's (its id); ``progress`` / ``cancelled`` callbacks may be given.
        Predictions keep their scores and are marked as a model's (COCO ``score`` + ``model``, YOLO's sixth
        column, Dataloop's ``metadata.user.model``); VOC and ImageFolder cannot hold them and are refused."""
        from desktop_app.formats import io as fio
        return fio.export_dataset(self._client.catalog, self.id, path, format,
                                  filters=filter_dict(filters), include_predictions=include_predictions, **kwargs)

    def export_results(self, path: str | Path, model_id: str, *, filters: Any = None) -> Path:
        """A COCO results file of the model's stored predictions on these items (all, or those ``filters``
        selects), numbered as ``export(path, 'coco', filters=...)`` numbers images and categories: the two go
        to ``desktop-app evaluate-coco --gt ... --dt ...`` or pycocotools. ``model_id``: the model's id (or the
        name imported predictions carry); ``path``: the file, or a folder to write results.json into."""
        from desktop_app.formats import io as fio
        return fio.export_results(self._client.catalog, self.id, path, model_id, filters=filter_dict(filters))

    # -- data versions (catalog.dataset_versions) --
    def snapshot(self, name: str, description: str = "", *, source: str | None = None) -> DatasetVersion:
        """Freeze the items and their ground truth by content under ``name`` (unique in the dataset; names starting
        with 'auto-' are the ones trainings give the data they freeze). The same data always has the same sha, and
        versions of the same data share one stored copy. ``source``: name an existing version's content instead
        (e.g. the 'auto-...' one a training froze) rather than the data as it is now."""
        from desktop_app.catalog.dataset_versions import DatasetVersions
        rec = DatasetVersions(self._client.catalog).snapshot(self.id, name, description=description,
                                                             created_by="sdk", source=source)
        return DatasetVersion(self._client, rec)

    def versions(self) -> list[DatasetVersion]:
        """The dataset's versions, newest first, each with its counts (items, annotations, subsets, labels)."""
        from desktop_app.catalog.dataset_versions import DatasetVersions
        return [DatasetVersion(self._client, r) for r in DatasetVersions(self._client.catalog).list(self.id)]

    def get_version(self, name: str) -> DatasetVersion:
        from desktop_app.catalog.dataset_versions import DatasetVersions
        return DatasetVersion(self._client, DatasetVersions(self._client.catalog).get(self.id, name))

    def diff(self, a: str, b: str | None = None) -> dict:
        """What changed from version ``a`` to version ``b`` (None: the dataset as it is now): items_added /
        items_removed / items_changed (image bytes, subset, ...), annotations_added / annotations_removed /
        annotations_changed (each with the label before and after), labels added / removed, and 'counts'."""
        from desktop_app.catalog.dataset_versions import DatasetVersions
        return DatasetVersions(self._client.catalog).diff(self.id, a, b)

    def delete_version(self, name: str) -> bool:
        """Forget the version (models and evaluations keep the name they recorded); its stored copy is freed at the
        next garbage collection unless another version shares it."""
        from desktop_app.catalog.dataset_versions import DatasetVersions
        DatasetVersions(self._client.catalog).delete(self.id, name)
        return True

    # -- what to label next, near-duplicates, leakage (workflows.labeling) --
    def rank_for_labeling(self, model: Any, strategy: str = "entropy", k: int = 50, diversity: float = 0.0,
                          unlabeled_only: bool = True) -> LabelQueue:
        """The ``k`` items most worth labelling next, by ``model``'s (a Model or model id) uncertainty in its stored
        predictions on them: a list of (Item, score), score in [0, 1], least sure first. ``strategy``: 'entropy',
        'margin', 'least_confidence' (classification) or 'detection' (the mean binary entropy of an image's boxes).
        Entropy and margin need every class's probability (metadata['scores'], which the built-in classifiers
        store); where only the top-1 confidence is kept, least confidence is used and the queue's ``strategy`` and
        ``note`` say so. ``diversity`` in [0, 1]: 0 ranks by uncertainty alone; above it, greedy k-center over the
        model's embeddings (its feature set) picks k spread over the k + diversity * (n - k) most uncertain, the
        labelled items counted as covered. ``unlabeled_only``: items without ground truth only. Items the model has
        no prediction (or, with diversity, no vector) for are left out and listed in ``unscored``."""
        from desktop_app.workflows.labeling import rank_for_labeling
        model = self._labeling_model(model)
        vectors = model.feature_set.vectors() if diversity > 0 else None
        r = rank_for_labeling(self._client.catalog, self.id, model.id, strategy=strategy, k=k, diversity=diversity,
                              unlabeled_only=unlabeled_only, vectors=vectors)
        records = {rec.id: rec for rec in self._client.catalog.list_items(self.id, item_ids=r.items)}
        return LabelQueue([(Item(self._client, records[i]), s) for i, s in r.pairs()], strategy=r.strategy,
                          diversity=r.diversity, note=r.note, unscored=r.unscored)

    def near_duplicates(self, model: Any, threshold: float | None = None) -> list:
        """Groups of near-identical items by ``model``'s embeddings (its feature set): items whose vectors lie within
        ``threshold`` cosine distance (default evaluation.similarity.DEFAULT_DUPLICATE_THRESHOLD, 0.05) joined
        transitively; each group (evaluation.similarity.DuplicateGroup) has ``items`` (ids), the ``pairs`` that
        joined it with their distances, and ``max_distance``. Largest groups first."""
        from desktop_app.evaluation.similarity import DEFAULT_DUPLICATE_THRESHOLD
        from desktop_app.workflows.labeling import near_duplicates
        vectors = self._labeling_model(model).feature_set.vectors()
        return near_duplicates(self._client.catalog, self.id, vectors,
                               DEFAULT_DUPLICATE_THRESHOLD if threshold is None else threshold)

    def leakage(self, model: Any, threshold: float | None = None) -> list:
        """The validation / test items with a near-duplicate in train by ``model``'s embeddings, closest first: each
        (evaluation.similarity.Leak) names the ``item``, its ``subset``, its nearest train ``twin`` and their
        ``distance`` (cosine, at most ``threshold``, default as ``near_duplicates``)."""
        from desktop_app.evaluation.similarity import DEFAULT_DUPLICATE_THRESHOLD
        from desktop_app.workflows.labeling import leakage_report
        vectors = self._labeling_model(model).feature_set.vectors()
        return leakage_report(self._client.catalog, self.id, vectors,
                              DEFAULT_DUPLICATE_THRESHOLD if threshold is None else threshold)

    def reviewed_items(self, since: str | None = None, via: str | None = None) -> dict[int, dict]:
        """Items marked labelled (the label-next queue, or ``item.mark_reviewed(who=...)``): {item id: mark}, each
        mark {by, at, via, model_id?}; only those marked after ``since`` (ISO time) / through ``via`` when given."""
        from desktop_app.workflows.labeling import reviewed_items
        return reviewed_items(self._client.catalog, self.id, since=since, via=via)

    def _labeling_model(self, model: Any):
        return model if isinstance(model, Entity) else self._client.models.get(model_id=str(model))

    def delete(self) -> bool:
        self._client.catalog.delete_dataset(self.id)
        return True


@check_public_methods
class LabelQueue(list):
    """``dataset.rank_for_labeling``'s answer: (Item, score) pairs, most worth labelling first, with the
    ``strategy`` the scores are (the one asked for, or the fallback), a ``note`` saying why, the ``diversity``
    used, and the ``unscored`` item ids (no prediction, or no vector when diversity needs one)."""

    def __init__(self, pairs: Sequence, *, strategy: str, diversity: float, note: str, unscored: list[int]):
        super().__init__(pairs)
        self.strategy, self.diversity, self.note, self.unscored = strategy, diversity, note, unscored


def _hex_color(color: Any) -> str:
    """'#rrggbb' from Dataloop's colour forms: an (r, g, b) tuple of 0-255 ints or a '#rrggbb' string."""
    if isinstance(color, str):
        c = color.strip().lstrip("#")
        if len(c) == 6 and all(ch in "0123456789abcdefABCDEF" for ch in c):
            return "#" + c.lower()
    elif isinstance(color, (tuple, list)) and len(color) in (3, 4) and all(
            isinstance(v, int) and 0 <= v <= 255 for v in color):
        return "#" + "".join(f"{v:02x}" for v in color[:3])
    raise ValidationError(f"a label colour is (r, g, b) with 0-255 values or '#rrggbb', got {color!r}")


def _split_ids(client: Client, ids: list[int], pct: dict, seed: int) -> dict[str, int]:
    import random
    total = sum(pct.values())
    if abs(total - 100) > 1e-6:
        raise ValidationError(f"subset percentages must sum to 100 (got {total})")
    ids = list(ids)
    random.Random(seed).shuffle(ids)
    out, start = {}, 0
    names = list(pct)
    for k, s in enumerate(names):
        n = len(ids) - start if k == len(names) - 1 else round(len(ids) * pct[s] / 100)
        client.catalog.set_subset(ids[start:start + n], s)
        out[s] = n
        start += n
    return out


class DatasetVersion(Entity):
    """A named, frozen version of a dataset (dataset.snapshot): its name, content sha and counts."""

    name = property(lambda self: self._record.name)
    sha = property(lambda self: self._record.sha)
    description = property(lambda self: self._record.description)
    dataset_id = property(lambda self: self._record.dataset_id)
    created_at = property(lambda self: self._record.created_at)
    created_by = property(lambda self: self._record.created_by)

    @property
    def counts(self) -> dict:
        return dict(self._record.counts)

    def _fetch(self) -> Any:
        from desktop_app.catalog.dataset_versions import DatasetVersions
        return DatasetVersions(self._client.catalog).get(self.dataset_id, self.name)


class Item(Entity):
    _record: ItemRecord

    name = property(lambda self: self._record.name)
    width = property(lambda self: self._record.width)
    height = property(lambda self: self._record.height)
    dataset_id = property(lambda self: self._record.dataset_id)
    mimetype = property(lambda self: self._record.mimetype)
    metadata = property(lambda self: self._record.metadata)

    @property
    def filename(self) -> str:
        return "/" + self._record.name

    @property
    def subset(self) -> str | None:
        return self._record.subset

    @property
    def reviewed(self) -> bool:
        return bool(self._record.reviewed)

    @property
    def review(self) -> dict | None:
        """Who marked the item labelled, when and through what ({by, at, via, model_id?}); None if no one did."""
        from desktop_app.workflows.labeling import review_mark
        return review_mark(self._record)

    @property
    def dataset(self) -> Dataset:
        return self._client.datasets.get(dataset_id=self.dataset_id)

    @property
    def annotations(self):
        return self._client.repository("Annotations", item=self)

    @property
    def local_path(self) -> Path:
        """The image file inside the catalog's store (read-only; use download() for a copy)."""
        return self._client.catalog.item_path(self._record)

    def download(self, local_path: str | Path | None = None, save_locally: bool = True,
                 to_array: bool = False, overwrite: bool = True) -> Path | io.BytesIO | Any:
        """A copy of the image: into ``local_path`` (a folder, or a file name; default the working folder);
        with ``save_locally=False`` its bytes in memory (an io.BytesIO named as the item, like Dataloop's); with
        ``to_array=True`` too, a numpy array (height x width x channels). ``overwrite=False`` keeps a file that
        is there already."""
        if not save_locally:
            if to_array:
                import numpy as np
                return np.asarray(self.open_image())
            buf = io.BytesIO(self.local_path.read_bytes())
            buf.name = Path(self.name).name
            return buf
        dest = Path(local_path) if local_path else Path.cwd()
        if dest.is_dir() or not dest.suffix:
            dest = dest / Path(self.name).name
        if dest.exists() and not overwrite:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.local_path, dest)
        return dest

    def open_image(self):
        from PIL import Image
        im = Image.open(self.local_path)
        im.load()
        return im

    def assign_subset(self, subset: str) -> Item:
        self._record = self._client.catalog.update_item(self.id, subset=subset)
        return self

    def remove_subset(self) -> Item:
        self._record = self._client.catalog.update_item(self.id, subset=None)
        return self

    def get_current_subset(self) -> str | None:
        return self._record.subset

    def mark_reviewed(self, reviewed: bool = True, who: str | None = None) -> Item:
        """Set the reviewed flag; with ``who``, also mark it labelled by them now (``item.review``, via 'sdk')."""
        if who is not None and reviewed:
            from desktop_app.workflows.labeling import mark_reviewed
            mark_reviewed(self._client.catalog, self.id, who=who, via="sdk")
            self._record = self._client.catalog.get_item(self.id)
            return self
        self._record = self._client.catalog.update_item(self.id, reviewed=int(reviewed))
        return self

    def _fetch(self) -> ItemRecord:
        return self._client.catalog.get_item(self.id)

    def delete(self) -> bool:
        return self._client.catalog.delete_items([self.id]) == 1


class Annotation(Entity):
    """One stored annotation; ground truth unless it carries model_info."""
    _record: AnnotationRecord

    type = property(lambda self: self._record.type)
    item_id = property(lambda self: self._record.item_id)
    dataset_id = property(lambda self: self._record.dataset_id)
    attributes = property(lambda self: self._record.attributes)
    left = property(lambda self: self._record.left)
    top = property(lambda self: self._record.top)
    right = property(lambda self: self._record.right)
    bottom = property(lambda self: self._record.bottom)

    def __init__(self, client: Client, record: AnnotationRecord):
        super().__init__(client, record)
        self._new_label: str | None = None

    def _fetch(self) -> AnnotationRecord:
        return self._client.catalog.get_annotation(self.id)

    def refresh(self) -> Annotation:
        """Read the annotation again; a label assigned and not saved by update() is dropped."""
        self._new_label = None
        return super().refresh()  # type: ignore[return-value]

    @property
    def label(self) -> str:
        return self._new_label if self._new_label is not None else self._record.label

    @label.setter
    def label(self, value: str) -> None:
        """Dataloop's ``ann.label = 'dog'; ann.update()``: changes the snapshot, update() saves it."""
        if not isinstance(value, str) or not value:
            raise ValidationError("an annotation's label must be a non-empty string")
        self._new_label = value

    @property
    def creator(self) -> str:
        """Who made it: 'sdk', 'import:<format>', 'sample', the window's user, or the model's job."""
        return self._record.creator

    @property
    def created_at(self) -> str:
        return self._record.created_at

    @property
    def updated_at(self) -> str:
        return self._record.updated_at

    @property
    def source(self) -> str:
        """Dataloop's source: 'model' for a prediction, else how it came ('sdk', 'import', 'ui', 'sample')."""
        if not self.is_ground_truth:
            return "model"
        creator = self._record.creator or "sdk"
        return creator.split(":", 1)[0] if creator.split(":", 1)[0] in ("sdk", "import", "sample") else "ui"

    @property
    def metadata(self) -> dict:
        """Dataloop's annotation metadata, built from the record (a copy: editing it saves nothing):
        ``system`` {automated, model, createdAt} and ``user`` (the stored metadata, and ``model`` for a
        prediction, where Dataloop's model_info goes)."""
        info = self.model_info
        user = {k: v for k, v in (self._record.metadata or {}).items() if k not in ("model_id", "dataloop_id")}
        system: dict[str, Any] = {"automated": info is not None, "createdAt": self.created_at}
        if info is not None:
            system["model"] = dict(info)
            user["model"] = dict(info)
        return {"system": system, "user": user}

    @property
    def coordinates(self) -> Any:
        """Dataloop JSON coordinates ([{x, y, z}, {x, y, z}] for a box, [[{x, y}, ...]] for a polygon)."""
        from desktop_app.formats.dataloop import to_dataloop_annotation
        return to_dataloop_annotation(self.to_interchange())["coordinates"]

    @property
    def compact_coordinates(self) -> Any:
        return self._record.compact_coordinates()

    @property
    def model_info(self) -> dict | None:
        r = self._record
        if r.model_id is None and r.model_name is None:
            return None
        return {"name": r.model_name, "model_id": r.model_id, "confidence": r.score}

    @property
    def is_ground_truth(self) -> bool:
        return self.model_info is None

    @property
    def confidence(self) -> float | None:
        return self._record.score

    @property
    def annotation_definition(self):
        r = self._record
        return definition_from(r.type, r.label, r.compact_coordinates(), r.attributes)

    def to_interchange(self):
        from desktop_app.catalog.data import record_to_annotation
        return record_to_annotation(self._record)

    def to_json(self) -> dict:
        from desktop_app.formats.dataloop import to_dataloop_annotation
        d = to_dataloop_annotation(self.to_interchange())
        d.update({"id": self.id, "itemId": self.item_id, "datasetId": self.dataset_id, "label": self.label,
                  "metadata": self.metadata, "source": self.source, "creator": self.creator,
                  "createdAt": self.created_at, "updatedAt": self.updated_at})
        return d

    def update(self, label: str | None = None, coordinates: Any = None, who: str = "sdk") -> Annotation:
        """Save a new label (given, or assigned: ``ann.label = 'dog'; ann.update()``) and / or coordinates,
        kept in the item's change history with ``who``."""
        label = label if label is not None else self._new_label
        self._record = self._client.catalog.update_annotation(self.id, who=who, label=label,
                                                              coordinates=coordinates)
        self._new_label = None
        return self

    def delete(self, who: str = "sdk") -> bool:
        self._client.catalog.delete_annotation(self.id, who=who)
        return True


class Artifact(Entity):
    _record: ArtifactRecord

    filename = property(lambda self: self._record.filename)
    name = property(lambda self: self._record.filename)
    size = property(lambda self: self._record.size)
    sha256 = property(lambda self: self._record.sha256)

    def _fetch(self) -> ArtifactRecord:
        for rec in self._client.catalog.list_artifacts(self._record.model_id):
            if rec.id == self.id:
                return rec
        raise NotFoundError(f"no artifact with id {self.id!r}")

    @property
    def local_path(self) -> Path:
        return self._client.catalog.store.path(self.sha256)


class Execution(Entity):
    """A job (train, evaluate, predict, ...) and its status as last read: `refresh()` reads it again, `wait()`
    blocks until it ends."""
    _record: ExecutionRecord

    kind = property(lambda self: self._record.kind)
    model_id = property(lambda self: self._record.model_id)
    status = property(lambda self: self._record.status)
    progress = property(lambda self: self._record.progress)
    error = property(lambda self: self._record.error)
    message = property(lambda self: self._record.message)
    output = property(lambda self: self._record.output)
    record = property(lambda self: self._record)

    def _fetch(self) -> ExecutionRecord:
        """The job as read now; one whose worker and scheduler are both gone is reconciled (interrupted)."""
        from desktop_app.jobs.runner import read_job
        return read_job(self._client.catalog, self.id)

    @property
    def done(self) -> bool:
        return self.status in ExecutionStatus.FINAL

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> Execution:
        """Block until the job ends (success, failed, canceled, interrupted); TimeoutError after `timeout` s.

        A job whose worker died ends too: `status` then says failed or interrupted and `error` says why."""
        from desktop_app.jobs.runner import wait_for
        self._record = wait_for(self._client.catalog, self.id, show_progress=False, timeout=timeout, poll=poll,
                                cancel_on_interrupt=False)
        return self

    def cancel(self) -> None:
        self._client.catalog.request_cancel(self.id)
        self.refresh()

    def logs(self) -> str:
        """The job's log as written so far."""
        from desktop_app.jobs.scheduler import execution_log
        p = execution_log(self._client.catalog.home, self._client.catalog.get_execution(self.id))
        return p.read_text(errors="replace") if p.exists() else ""

    def resume(self, wait: bool = True) -> Execution:
        """Queue this interrupted, canceled or failed job again (training continues from its checkpoint)."""
        from desktop_app.jobs import runner
        self._record = runner.resume(self._client.catalog, self.id, wait=wait)
        return self


class Service(Entity):
    _record: ServiceRecord

    name = property(lambda self: self._record.name)
    model_id = property(lambda self: self._record.model_id)
    port = property(lambda self: self._record.port)
    pid = property(lambda self: self._record.pid)
    started_at = property(lambda self: self._record.started_at)
    url = property(lambda self: self._record.url)
    status = property(lambda self: self._record.status)

    def _fetch(self) -> ServiceRecord:
        return self._client.catalog.get_service(self.id)

    @property
    def model(self):
        return self._client.models.get(model_id=self.model_id)

    def stop(self, timeout: float = 10.0) -> Service:
        from desktop_app.serving import manager
        manager.stop_service(self._client.catalog, self.id, timeout=timeout)
        return self.refresh()

    def delete(self, timeout: float = 10.0) -> bool:
        """Dataloop's ``service.delete()``: the service stops (if it runs) and no longer serves its model, which
        gets its status back. Its record stays, stopped, as the model's history (the catalog deletes none)."""
        self.stop(timeout=timeout)
        return True


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
