"""Repositories (dl.projects, dl.packages, dl.models, dl.datasets, ...), each scoped by its parent."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from desktop_app.catalog.bulk_reads import gc_paused
from desktop_app.catalog.names import check_name
from desktop_app.domain.status import ModelStatus
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError
from desktop_app.ml import handle

from .definitions import AnnotationCollection, PlotSample, filter_dict
from .entities import (Annotation, Artifact, Dataset, Entity, Execution, Item, Package, Project, Service,
                       as_list, package_service_config)
from .filters import Filters, FiltersResource, PagedEntities, checked
from .keywords import (CLONE_IGNORED, CLONE_REFUSED, CREATE_IGNORED, CREATE_REFUSED, MODEL_SCOPE, PACKAGE_TYPE,
                       PUSH_IGNORED, PUSH_REFUSED, SCOPE_REFUSED, checked_keywords)
from .model import Model
from .repository_base import Repository



def _pick(positional: Any, name: Any, id_: Any) -> tuple[str | None, str | None]:
    """get('x') means name or id; get(x_name=..) and get(x_id=..) are explicit."""
    if positional is not None:
        return positional, positional
    return name, id_


class Projects(Repository):
    def create(self, project_name: str, description: str = "") -> Project:
        return Project(self._client, self.catalog.create_project(project_name, description))

    def get(self, name_or_id: str | None = None, *, project_name: str | None = None,
            project_id: str | None = None) -> Project:
        key = name_or_id or project_id or project_name
        if key is None:
            raise ValidationError("projects.get needs project_name or project_id")
        return Project(self._client, self.catalog.get_project(key))

    def list(self) -> list[Project]:
        return [Project(self._client, r) for r in self.catalog.list_projects()]

    def delete(self, project_name: str | None = None, project_id: str | None = None) -> bool:
        return self.get(project_name=project_name, project_id=project_id).delete()


class Packages(Repository):
    def get(self, name_or_id: str | None = None, *, package_name: str | None = None,
            package_id: str | None = None) -> Package:
        key = name_or_id or package_id or package_name
        if key is None:
            raise ValidationError("packages.get needs package_name or package_id")
        return Package(self._client, self.catalog.get_package(key))

    def list(self) -> list[Package]:
        project = self._scope.get("project")
        return [Package(self._client, r) for r in self.catalog.list_packages(project.id if project else None)]

    @checked_keywords(ignored=PUSH_IGNORED, refused=PUSH_REFUSED)
    def push(self, package_name: str, src_path: str | Path, entry_point: str = "model_adapter.py",
             class_name: str | None = None, default_configuration: dict | None = None,
             output_type: str | None = None, input_type: str | None = None, description: str | None = None,
             hyperparameters: list | None = None, project_id: str | None = None,
             extra_configuration: bool | None = None, package_type: str = PACKAGE_TYPE,
             service_config: dict | None = None, version: str | None = None,
             revision_increment: str | None = None) -> Package:
        """Register a folder holding a BaseModelAdapter subclass; its code is copied into the store.

        Pushing runs the package's Python code with your permissions: its entry point is imported now, in this
        process, to check it, and again whenever one of its models trains, evaluates, predicts or serves. Only
        push code you trust (ml.adapter.PUSH_WARNING, said too by the window and `desktop-app packages push`).

        Pushing the name of a package pushed before makes a new version of its code, as Dataloop does: 1.0.1,
        then 1.0.2, ... (``revision_increment='minor'`` / ``'major'``: 1.1.0 / 2.0.0; ``version='1.2.0'`` names
        it), which becomes the package's current version (``package.version``). Its models stay on the version
        they are on (``model.package_version``) and keep loading that code; move one with
        ``model.package_version = '1.0.1'; model.update()``. Settings not given (description, configuration,
        hyper-parameters, types, service_config) are the package's current ones. A built-in package's code is
        never replaced (AlreadyExistsError).

        Refused with a ValidationError naming the field or file, nothing stored: a package name holding path
        characters, a ``src_path`` that is not a folder, an ``entry_point`` outside it ('..', absolute, a link
        leading out) or missing, one that fails to import or defines no dl.BaseModelAdapter subclass.

        Once ``hyperparameters`` are declared, a model's configuration key that none of them names is refused
        as a misspelling (Dataloop's own keys such as ``id_to_label_map`` always pass); pass
        ``extra_configuration=True`` if the adapter reads keys it does not declare.

        ``package_type``: 'ml' (a model adapter, the only kind here); any other is refused. ``service_config``:
        the default settings of its models' services (``model.deploy()`` starts with them; the keys
        model.deploy(service_config=...) takes, checked now; a token is never stored). Dataloop's push keywords
        that change nothing here (sdk.keywords.PUSH_IGNORED: ``requirements``, ``checkout``, ...) are accepted
        and dropped; ``codebase``, ``modules``, ``metadata`` and ``project`` are refused naming what to give
        instead; any other unknown keyword too."""
        from desktop_app.ml.adapter import push_package
        if package_type != PACKAGE_TYPE:
            raise ValidationError(f"package_type {package_type!r}: every package here is a model adapter, "
                                  f"Dataloop's {PACKAGE_TYPE!r} (leave package_type out, or give {PACKAGE_TYPE!r})")
        project = self._scope.get("project")
        rec = push_package(self.catalog, package_name=package_name, src_path=src_path,
                           entry_point=entry_point, class_name=class_name,
                           default_configuration=default_configuration, output_type=output_type,
                           input_type=input_type, description=description, hyperparameters=hyperparameters,
                           project_id=project_id or (project.id if project else None),
                           extra_configuration=extra_configuration, version=version,
                           revision_increment=revision_increment,
                           service_config=package_service_config(service_config))
        return Package(self._client, rec)

    def revisions(self, package: Package | None = None, *, package_name: str | None = None,
                  package_id: str | None = None) -> list[Package]:
        """Every version of a package, oldest first (Dataloop's ``packages.revisions(package)``): see
        Package.revisions."""
        pkg = package if package is not None else self.get(package_name=package_name, package_id=package_id)
        return pkg.revisions

    def delete(self, package_name: str | None = None, package_id: str | None = None, *,
               with_models: bool = False) -> dict:
        """Delete a package; see Package.delete (refused while it has models unless ``with_models=True``)."""
        return self.get(package_name=package_name, package_id=package_id).delete(with_models=with_models)


class Datasets(Repository):
    def _project_id(self, project_id: str | None = None) -> str | None:
        project = self._scope.get("project")
        return project_id or (project.id if project else None)

    def create(self, dataset_name: str, labels: Sequence[str] = (), description: str = "",
               project_id: str | None = None) -> Dataset:
        pid = self._project_id(project_id)
        if pid is None:
            raise ValidationError("datasets.create needs a project: project.datasets.create(...) or project_id=")
        return Dataset(self._client, self.catalog.create_dataset(pid, dataset_name, labels=list(labels),
                                                                 description=description))

    def create_from(self, dataset_name: str, path: str | Path, format: str | None = None, *,
                    description: str = "", project_id: str | None = None, **kwargs: Any) -> Dataset:
        """A new dataset holding an imported COCO / YOLO / VOC / ImageFolder / Dataloop set, created in the
        import's transaction: an import that fails, is cancelled or is killed leaves no empty dataset."""
        from desktop_app.catalog.stamps import new_id
        from desktop_app.formats import io as fio
        pid = self._project_id(project_id)
        if pid is None:
            raise ValidationError("datasets.create_from needs a project: project.datasets.create_from(...)")
        if not isinstance(dataset_name, str) or not dataset_name.strip():
            raise ValidationError("a dataset needs a non-empty name")
        if any(d.name == dataset_name for d in self.catalog.list_datasets(pid)):
            raise AlreadyExistsError(f"a dataset named {dataset_name!r} already exists in this project")
        dataset_id = new_id()
        fio.import_dataset(self.catalog, dataset_id, path, format,
                           new_dataset={"project_id": pid, "name": dataset_name, "description": description},
                           **kwargs)
        return Dataset(self._client, self.catalog.get_dataset(dataset_id))

    def get(self, name_or_id: str | None = None, *, dataset_name: str | None = None,
            dataset_id: str | None = None) -> Dataset:
        key = name_or_id or dataset_id or dataset_name
        if key is None:
            raise ValidationError("datasets.get needs dataset_name or dataset_id")
        return Dataset(self._client, self.catalog.get_dataset(key, self._project_id()))

    def list(self) -> list[Dataset]:
        return [Dataset(self._client, r) for r in self.catalog.list_datasets(self._project_id())]

    def delete(self, dataset_name: str | None = None, dataset_id: str | None = None) -> bool:
        return self.get(dataset_name=dataset_name, dataset_id=dataset_id).delete()


class Items(Repository):
    @property
    def dataset(self) -> Dataset:
        return self._scope["dataset"]

    def get(self, item_id: int | str | None = None, filepath: str | None = None) -> Item:
        if item_id is not None:
            rec = self.catalog.get_item(int(item_id))
            if rec.dataset_id != self.dataset.id:
                raise NotFoundError(f"item {item_id} is not in dataset {self.dataset.name!r}")
            return Item(self._client, rec)
        if filepath is not None:
            return Item(self._client, self.catalog.find_item(self.dataset.id, filepath))
        raise ValidationError("items.get needs item_id or filepath")

    def list(self, filters: Any = None, *, offset: int = 0, limit: int | None = None,
             page_size: int | None = None) -> PagedEntities:
        """The items (all, or those ``filters`` selects: a dict or a dl.Filters with any operator, add_join,
        sort_by) as pages: a list of Items with Dataloop's ``items_count``, ``all()``, ``pages()``."""
        f = checked(filters, FiltersResource.ITEM)
        if f is None:
            recs = self.catalog.list_items(self.dataset.id, offset=offset, limit=limit, **filter_dict(filters))
            return PagedEntities([Item(self._client, r) for r in recs], page_size or 1000)
        return PagedEntities([Item(self._client, r) for r in self._select(f, offset, limit)],
                             page_size or f.page_size)

    def _select(self, f: Filters, offset: int = 0, limit: int | None = None) -> list:
        """The item records a dl.Filters selects: equality conditions in SQL, the rest checked here."""
        where, rest = f.split()
        if f.joins:
            anns = self.catalog.list_annotations(dataset_id=self.dataset.id, ground_truth=True)
            ids = {a.item_id for a in anns if all(
                (getattr(a, fld) in _as_values(v)) for fld, v, _ in f.joins)}
            if "item_ids" in where:
                ids &= {int(i) for i in where["item_ids"]}
            where["item_ids"] = sorted(ids)
        if not rest and not f.sort:
            return self.catalog.list_items(self.dataset.id, offset=offset, limit=limit, **where)
        recs = self.catalog.list_items(self.dataset.id, **where)
        fields = {c[0] for c in rest} | {s[0] for s in f.sort}
        annotated = (set(self.catalog.item_ids(self.dataset.id, has_annotations=True))
                     if "annotated" in fields else set())
        pairs = [(d, r) for r in recs if f.matches(d := _item_doc(r, annotated), rest)]
        out = f.ordered(pairs)
        return out[offset:offset + limit if limit is not None else None]

    def count(self, filters: Any = None) -> int:
        f = checked(filters, FiltersResource.ITEM)
        if f is not None:
            return len(self._select(f))
        return self.catalog.count_items(self.dataset.id, **filter_dict(filters))

    def upload(self, local_path: Any, remote_path: str | None = None, remote_name: str | None = None, *,
               subset: str | None = None, item_metadata: dict | None = None) -> Item | list[Item]:
        """Copy an image (or every image in a folder) into the dataset. ``local_path`` may also be an image in
        memory, as Dataloop takes it: bytes, a file-like buffer (io.BytesIO; its ``name`` is used when there is
        no ``remote_name``) or a numpy array (written as PNG). ``remote_path`` is the folder in the dataset
        ('/' its root), ``remote_name`` the item's file name."""
        if not isinstance(local_path, (str, Path)):
            return self._upload_memory(local_path, remote_path, remote_name, subset, item_metadata)
        p = Path(local_path)
        if p.is_dir():
            from desktop_app.formats.images import IMAGE_EXTENSIONS
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
            from desktop_app.domain.annotations import DatasetBundle, ImageEntry
            from desktop_app.domain.images import read_size as read_image_size
            prefix = (remote_path or "").strip("/")
            entries = []
            for f in files:
                w, h = read_image_size(f)
                name = f.relative_to(p).as_posix()
                entries.append(ImageEntry(source=f, name=f"{prefix}/{name}" if prefix else name, width=w,
                                          height=h, subset=subset))
            for e in entries:
                check_name(e.name, "item name")
            ids = self.catalog.import_bundle(self.dataset.id, DatasetBundle(items=entries))
            return [Item(self._client, self.catalog.get_item(i)) for i in ids]
        return self._add(p, remote_path, remote_name or p.name, subset, item_metadata)

    def _add(self, source: Path, remote_path: str | None, file_name: str, subset: str | None,
             item_metadata: dict | None) -> Item:
        # remote_path is Dataloop's folder in the dataset: '/' is its root
        folder = (remote_path or "").strip("/")
        name = f"{folder}/{file_name}" if folder else file_name
        check_name(name, "item name")
        return Item(self._client, self.catalog.add_item(self.dataset.id, source, name, subset=subset,
                                                        metadata=item_metadata))

    def _upload_memory(self, data: Any, remote_path: str | None, remote_name: str | None, subset: str | None,
                       item_metadata: dict | None) -> Item:
        import tempfile
        name = remote_name or getattr(data, "name", None)
        if hasattr(data, "__array_interface__"):
            import io

            from PIL import Image
            try:
                im = Image.fromarray(data)
            except TypeError as e:
                raise ValidationError(f"items.upload: this array is not an image ({e})") from None
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            payload = buf.getvalue()
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
        elif hasattr(data, "read"):
            if hasattr(data, "seek"):
                data.seek(0)
            payload = data.read()
        else:
            raise ValidationError(f"items.upload takes a file or folder path, bytes, a buffer (io.BytesIO) or a "
                                  f"numpy array, got {type(data).__name__}")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("items.upload of an image in memory needs remote_name= (the item's file name, "
                                  "e.g. 'cat.png')")
        name = Path(name).name
        with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
            src = Path(tmp) / "image"
            src.write_bytes(payload)
            from desktop_app.errors import FormatError
            try:
                return self._add(src, remote_path, name, subset, item_metadata)
            except FormatError as e:
                raise FormatError(f"{name!r} (uploaded from memory) is not a readable image") from e

    def delete(self, item_id: int | None = None, filters: Any = None) -> int:
        if item_id is not None:
            return self.catalog.delete_items([int(item_id)])
        f = checked(filters, FiltersResource.ITEM)
        if f is not None:
            return self.catalog.delete_items([r.id for r in self._select(f)])
        return self.catalog.delete_items(self.catalog.item_ids(self.dataset.id, **filter_dict(filters)))


class Annotations(Repository):
    @property
    def item(self) -> Item:
        return self._scope["item"]

    def builder(self) -> AnnotationCollection:
        return AnnotationCollection(item=self.item)

    def list(self, filters: Any = None, *, ground_truth: bool | None = None,
             model_id: str | None = None) -> PagedEntities:
        """The item's annotations (ground truth, one model's, or those a dl.Filters(resource=ANNOTATION) selects
        by their JSON fields: 'label', 'type', 'creator', 'metadata.system.model.name', ...) as pages."""
        f = checked(filters, FiltersResource.ANNOTATION)
        if filters is not None and f is None:
            raise ValidationError("annotations.list takes dl.Filters(resource=dl.FiltersResource.ANNOTATION)")
        recs = self.catalog.list_annotations(item_ids=[self.item.id], ground_truth=ground_truth,
                                             model_id=model_id)
        anns = [Annotation(self._client, r) for r in recs]
        if f is None:
            return PagedEntities(anns)
        pairs = [(d, a) for a in anns if f.matches(d := a.to_json())]
        return PagedEntities(f.ordered(pairs), f.page_size)

    def get(self, annotation_id: int) -> Annotation:
        rec = self.catalog.get_annotation(int(annotation_id))
        if rec.item_id != self.item.id:
            raise NotFoundError(f"annotation {annotation_id} does not belong to item {self.item.id}")
        return Annotation(self._client, rec)

    def upload(self, annotations: AnnotationCollection | Sequence[Any], *, creator: str = "sdk") -> list[Annotation]:
        if isinstance(annotations, AnnotationCollection):
            anns = annotations.to_interchange()
        else:
            coll = AnnotationCollection(self.item)
            for a in annotations:
                coll.add(annotation_definition=a)
            anns = coll.to_interchange()
        # A prediction is linked to its model by id when model_info names one we know.
        by_model: dict[str | None, list] = {}
        for a in anns:
            mid = a.metadata.pop("model_id", None) if a.model_name else None
            by_model.setdefault(mid, []).append(a)
        ids: list[int] = []
        for mid, group in by_model.items():
            ids += self.catalog.add_annotations(self.item.id, group, creator=creator, model_id=mid)
        return [Annotation(self._client, self.catalog.get_annotation(i)) for i in ids]

    def delete(self, annotation_id: int | None = None, *, who: str = "sdk") -> bool:
        if annotation_id is None:
            raise ValidationError("annotations.delete needs annotation_id")
        self.get(annotation_id).delete(who=who)
        return True


class Models(Repository):
    def _filters(self) -> dict[str, Any]:
        f: dict[str, Any] = {}
        if "project" in self._scope:
            f["project_id"] = self._scope["project"].id
        if "package" in self._scope:
            f["package_id"] = self._scope["package"].id
        return f

    def get(self, name_or_id: str | None = None, *, model_name: str | None = None,
            model_id: str | None = None, alias: str | None = None, package_name: str | None = None) -> Model:
        """A model by name or id, or the one a package's alias points at: ``get(alias='production',
        package_name='resnet')`` (package.models.get(alias=...) knows its package)."""
        if alias is not None:
            return self._by_alias(alias, package_name)
        if name_or_id is not None or model_id is not None:
            key = name_or_id or model_id
            try:
                rec = self.catalog.get_model(key)
                return Model(self._client, rec)
            except NotFoundError:
                if model_id is not None and name_or_id is None:
                    raise
                model_name = key
        if model_name is None:
            raise ValidationError("models.get needs model_name or model_id")
        found = self.catalog.find_models(name=model_name, **self._filters())
        if not found:
            where = ", ".join(f"{k}={v}" for k, v in self._filters().items()) or "the catalog"
            raise NotFoundError(f"no model named {model_name!r} in {where}")
        if len(found) > 1:
            raise ValidationError(f"{len(found)} models are named {model_name!r}; give project or model_id")
        return Model(self._client, found[0])

    def _by_alias(self, alias: str, package_name: str | None) -> Model:
        pkg = self._scope.get("package")
        if package_name is not None:
            pkg = self._client.packages.get(package_name=package_name)
        if pkg is None:
            raise ValidationError(f"models.get(alias={alias!r}) needs the package the alias belongs to: "
                                  f"package_name=, or package.models.get(alias=...)")
        found = self.catalog.get_alias(pkg.id, alias)
        if found is None:
            have = [a.alias for a in self.catalog.package_aliases(pkg.id)]
            raise NotFoundError(f"package {pkg.name!r} has no alias {alias!r}"
                                + (f" (its aliases: {', '.join(have)})" if have else " (it has none)"))
        return Model(self._client, self.catalog.get_model(found.model_id))

    def search(self, filter_string: str | None = None, order_by: str | Sequence[str] | None = None,
               max_results: int | None = None, project_id: str | None = None) -> PagedEntities:
        """Models found and sorted by MLflow's search grammar (of this project / package when reached through
        one): ``dl.models.search("metrics.`validation/accuracy` > 0.9 and params.learning_rate < 0.01 and
        tags.stage = 'candidate'", order_by=["metrics.`validation/accuracy` DESC"], max_results=10)``. Metric
        keys as the jobs panel shows them ('<legend>/<figure>'): the latest value, max(...) / min(...) the best;
        params.<name> (configuration), tags.<key> ('key=value' tags), name, status, package, dataset, alias,
        sweep, data.version, created, updated, notes. A malformed query raises catalog.model_search's
        SearchQueryError (a ValidationError) naming the column, with a caret under it."""
        scope = self._filters()
        recs = self.catalog.model_search.search(filter_string, order_by=order_by, max_results=max_results,
                                                project_id=project_id or scope.get("project_id"),
                                                package_id=scope.get("package_id"))
        return PagedEntities([Model(self._client, r) for r in recs])

    def list(self, filters: Any = None, *, status: str | None = None,
             dataset_id: str | None = None) -> PagedEntities:
        """The models (of this project / package when reached through one) as pages; ``filters``: a
        dl.Filters(resource=dl.FiltersResource.MODEL) on their JSON fields ('name', 'status', 'datasetId',
        'packageId', 'projectId', 'tags', 'createdAt', 'metadata.*', 'configuration.*'), sort_by too."""
        f = checked(filters, FiltersResource.MODEL)
        if filters is not None and f is None:
            raise ValidationError("models.list takes dl.Filters(resource=dl.FiltersResource.MODEL)")
        recs = self.catalog.find_models(status=status, dataset_id=dataset_id, **self._filters())
        if f is None:
            return PagedEntities([Model(self._client, r) for r in recs])
        pairs = [(d, r) for r in recs if f.matches(d := _model_doc(r))]
        return PagedEntities([Model(self._client, r) for r in f.ordered(pairs)], f.page_size)

    @checked_keywords(ignored=CREATE_IGNORED, refused=CREATE_REFUSED)
    def create(self, model_name: str, dataset_id: str | None = None, labels: Sequence[str] | None = None,
               description: str = "", project_id: str | None = None, tags: Sequence[str] | None = None,
               configuration: dict | None = None, status: str | None = None, input_type: str | None = None,
               output_type: str | None = None, train_filter: Any = None, validation_filter: Any = None,
               package: Package | None = None, package_id: str | None = None, scope: str | None = None) -> Model:
        """A new model of a package (``package=``, ``package_id=`` or package.models.create(...)). ``scope``:
        'project' (what a model's scope is here), any other of Dataloop's scopes is refused as clone refuses it
        (sdk.keywords.SCOPE_REFUSED). Dataloop's ``version`` is accepted and dropped (CREATE_IGNORED);
        ``ontology_id``, ``model_artifacts``, ``app``, ``dpk_model_name`` and the annotation filters are refused
        saying what to give instead (CREATE_REFUSED); any other unknown keyword too, naming the closest one."""
        check_scope(scope, "create")
        pkg = package or self._scope.get("package") or (
            self._client.packages.get(package_id=package_id) if package_id else None)
        if pkg is None:
            raise ValidationError("models.create needs a package (package.models.create(...) or package=)")
        project = self._scope.get("project")
        pid = project_id or (project.id if project else None)
        if pid is None:
            raise ValidationError("models.create needs project_id")
        self.catalog.get_project(pid)
        if labels is None and dataset_id:
            labels = self.catalog.get_dataset(dataset_id).labels
        from desktop_app.ml.adapter import checked_configuration
        config = dict(pkg.default_configuration)
        config.update(configuration or {})
        config = checked_configuration(self.catalog, pkg.id, config)   # a misspelt key is refused, not stored
        rec = self.catalog.create_model(
            model_name, project_id=pid, package_id=pkg.id, description=description, tags=list(tags or []),
            status=status or ModelStatus.CREATED, configuration=config, labels=list(labels or []),
            input_type=input_type or pkg.input_type, output_type=output_type or pkg.output_type,
            dataset_id=dataset_id,
            train_filter=filter_dict(train_filter) if train_filter is not None else {"subset": "train"},
            validation_filter=(filter_dict(validation_filter) if validation_filter is not None
                               else {"subset": "validation"}))
        return Model(self._client, rec)

    @checked_keywords(ignored=CLONE_IGNORED, refused=CLONE_REFUSED)
    def clone(self, from_model: Model, model_name: str, description: str | None = None,
              project_id: str | None = None, dataset: Dataset | None = None, dataset_id: str | None = None,
              configuration: dict | None = None, labels: Sequence[str] | None = None,
              tags: Sequence[str] | None = None, train_filter: Any = None, validation_filter: Any = None,
              status: str | None = None, scope: str | None = None) -> Model:
        """A new version: same package (and the same version of its code as the parent), a copy of the
        configuration (merged with yours), parent's weights. ``scope``: 'project' (what a model's scope is
        here), any other of Dataloop's scopes is refused (sdk.keywords.SCOPE_REFUSED)."""
        from desktop_app.workflows.models import clone_model
        check_scope(scope, "clone")
        rec = clone_model(
            self.catalog, from_model.id, model_name, description=description, project_id=project_id,
            dataset_id=dataset.id if dataset is not None else dataset_id, configuration=configuration,
            labels=labels, tags=tags, status=status,
            train_filter=filter_dict(train_filter) if train_filter is not None else None,
            validation_filter=filter_dict(validation_filter) if validation_filter is not None else None)
        return Model(self._client, rec)

    def delete(self, model: Model | None = None, model_id: str | None = None) -> bool:
        mid = model.id if model is not None else model_id
        if mid is None:
            raise ValidationError("models.delete needs model or model_id")
        self.catalog.delete_model(mid)
        return True

    def import_bundle(self, path: str | Path, project_id: str | None = None) -> Model:
        """The model of a bundle file (model.export_bundle), checked whole and added in one go; one this catalog
        has already (same id, same weights) comes back as it is. ``model.bundle_report``: created (bool),
        message and notes (what was made: a project, a package version, stand-in datasets)."""
        from desktop_app.catalog.bundle import import_bundle
        project = self._scope.get("project")
        report = import_bundle(self.catalog, path, project=project_id or (project.id if project else None))
        model = Model(self._client, report.model)
        model.bundle_report = report
        return model


class Artifacts(Repository):
    @property
    def model(self) -> Model:
        return self._scope["model"]

    def list(self) -> list[Artifact]:
        return [Artifact(self._client, r) for r in self.catalog.list_artifacts(self.model.id)]

    def get(self, filename: str | None = None, *, artifact_name: str | None = None,
            artifact_id: str | None = None) -> Artifact:
        """One artifact by its name (``get('weights.pt')`` or Dataloop's ``get(artifact_name=...)``) or id; the
        name is checked as upload checks it (ValidationError for '..', an absolute path, ...)."""
        name = self._name(filename, artifact_name, artifact_id)
        for a in self.list():
            if a.filename == name or (artifact_id is not None and a.id == artifact_id):
                return a
        raise NotFoundError(f"model {self.model.name!r} has no artifact "
                            f"{name if name is not None else artifact_id!r}")

    def _name(self, filename: str | None, artifact_name: str | None, artifact_id: str | None) -> str | None:
        """The name asked for, checked as upload checks a name; a stored name that fails the check (a row of an
        old catalog or a restored backup) is still found, so that it can be deleted."""
        if filename is not None and artifact_name is not None and filename != artifact_name:
            raise ValidationError("give the artifact's name once: filename or artifact_name")
        name = filename if filename is not None else artifact_name
        if name is None and artifact_id is None:
            raise ValidationError("give the artifact's name (artifact_name=) or its id (artifact_id=)")
        if name is not None and not any(a.filename == name for a in self.catalog.list_artifacts(self.model.id)):
            check_name(name, "artifact name")
        return name

    def upload(self, filepath: str | Path, overwrite: bool = True, artifact_name: str | None = None) -> list[Artifact]:
        """Upload a file, a folder (recursively) or a glob into the model's artifacts."""
        return [Artifact(self._client, r) for r in self._store().upload(filepath, overwrite, artifact_name)]

    def download(self, local_path: str | Path, overwrite: bool = True) -> Path:
        return self._store().download(local_path, overwrite)

    def _store(self) -> handle.Artifacts:
        return handle.Artifacts(self.catalog, self.model.id, self.model.name)

    def delete(self, filename: str | None = None, *, artifact_name: str | None = None,
               artifact_id: str | None = None) -> bool:
        """Delete one artifact by name (``delete('weights.pt')``, ``delete(artifact_name=...)``) or id; False
        when the model has no such artifact. The name is checked as upload checks it."""
        name = self._name(filename, artifact_name, artifact_id)
        if name is None:
            name = self.get(artifact_id=artifact_id).filename
        return self.catalog.delete_artifact(self.model.id, name)


class Metrics(Repository):
    @property
    def model(self) -> Model:
        return self._scope["model"]

    def create(self, samples: PlotSample | Sequence[PlotSample] | dict, dataset_id: str | None = None) -> int:
        rows = []
        for s in as_list(samples):
            if isinstance(s, PlotSample):
                rows.append(s.as_row())
            elif isinstance(s, dict):
                data = s.get("data", s)
                rows.append({"figure": s.get("figure"), "legend": s.get("legend"), "x": data.get("x"),
                             "y": data.get("y")})
            else:
                raise ValidationError(f"metrics.create takes dl.PlotSample objects, got {type(s).__name__}")
        return self.catalog.add_metric_samples(self.model.id, rows, dataset_id=dataset_id)

    def list(self, filters: Any = None, figure: str | None = None, legend: str | None = None) -> PagedEntities:
        """The model's metric points as PlotSamples, in pages (``.to_df()`` with pandas): those of a figure /
        legend, or those a dl.Filters(resource=dl.FiltersResource.METRICS) selects ('figure', 'legend',
        'datasetId', 'data.x', 'data.y'). ``list('loss')`` still means the figure."""
        if isinstance(filters, str):
            filters, figure = None, filters
        f = checked(filters, FiltersResource.METRICS)
        if filters is not None and f is None:
            raise ValidationError("metrics.list takes dl.Filters(resource=dl.FiltersResource.METRICS)")
        if f is None:   # the common read: plain tuples in, PlotSamples out, no record per point in between
            points = self.catalog.metric_points(self.model.id, figure=figure, legend=legend)
            with gc_paused():
                return PagedEntities([PlotSample(fig, leg, x, y) for _, fig, leg, x, y in points])
        recs = self.catalog.list_metrics(self.model.id, figure=figure, legend=legend)
        pairs = [(d, PlotSample(m.figure, m.legend, m.x, m.y)) for m in recs if f.matches(d := _metric_doc(m))]
        return PagedEntities(f.ordered(pairs), f.page_size)

    def series(self, figure: str, legend: str):
        """One curve as two numpy float64 arrays (xs, ys) in the order logged: the fast read for charts and
        analysis (no object per point)."""
        return self.catalog.metric_series(self.model.id, figure, legend)

    def records(self, *, figure: str | None = None, legend: str | None = None, after_id: int = 0):
        """The stored points as catalog records (with ids and wall times), those after ``after_id`` only."""
        return self.catalog.list_metrics(self.model.id, figure=figure, legend=legend, after_id=after_id)


class Executions(Repository):
    def _wrap(self, rec) -> Execution:
        return Execution(self._client, rec)

    def get(self, execution_id: str) -> Execution:
        from desktop_app.jobs.runner import read_job
        return Execution(self._client, read_job(self.catalog, execution_id))

    def list(self, *, status: str | None = None, model_id: str | None = None) -> list[Execution]:
        from desktop_app.jobs.scheduler import mark_interrupted
        mark_interrupted(self.catalog)  # a job whose worker and scheduler are gone is not listed as running
        return [Execution(self._client, r) for r in self.catalog.list_executions(status=status, model_id=model_id)]


class Services(Repository):
    def get(self, service_id: str) -> Service:
        return Service(self._client, self.catalog.get_service(service_id))

    def list(self, *, status: str | None = None) -> list[Service]:
        from desktop_app.serving import manager
        manager.cleanup_stale(self.catalog)  # a service whose process died is not 'running'
        return [Service(self._client, r) for r in self.catalog.list_services(status=status)]


class Evaluations(Repository):
    @property
    def model(self) -> Model:
        return self._scope["model"]

    def list(self):
        from desktop_app.evaluation.store import EvaluationView
        return [EvaluationView(self.catalog, r) for r in self.catalog.list_evaluations(model_id=self.model.id)]

    def get(self, name: str):
        from desktop_app.evaluation.store import EvaluationView
        try:
            return EvaluationView(self.catalog, self.catalog.find_evaluation(self.model.id, name))
        except NotFoundError:
            have = [e.name for e in self.catalog.list_evaluations(model_id=self.model.id)]
            raise NotFoundError(f"model {self.model.name!r} has no evaluation named {name!r} (it has: "
                                f"{', '.join(map(repr, have)) or 'none yet'})") from None


class Pipelines(Repository):
    def list(self) -> list[Entity]:
        from desktop_app.sdk.pipeline import Pipeline
        project = self._scope.get("project")
        return [Pipeline(self._client, r) for r in self.catalog.list_pipelines(project.id if project else None)]

    def get(self, name_or_id: str):
        from desktop_app.sdk.pipeline import Pipeline
        return Pipeline(self._client, self.catalog.get_pipeline(name_or_id))

    def create(self, *args: Any, **kwargs: Any):
        from desktop_app.sdk.pipeline import create_pipeline
        project = self._scope.get("project")
        if project is not None:
            kwargs.setdefault("project_id", project.id)
        return create_pipeline(self._client, *args, **kwargs)


def check_scope(scope: Any, call: str) -> None:
    """Dataloop's ``scope=``: only the scope a model has here passes."""
    if scope is not None and scope != MODEL_SCOPE:
        raise ValidationError(f"{call}(scope={scope!r}): {SCOPE_REFUSED}")


def _as_values(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple, set)) else [v]


def _item_doc(r: Any, annotated: set[int]) -> dict:
    """An item record as the JSON Dataloop's item filters query (id, name, filename, dir, metadata.system.tags...)."""
    meta = dict(r.metadata or {})
    system = dict(meta.get("system") or {})
    system["tags"] = {r.subset: True} if r.subset else {}
    folder = r.name.rsplit("/", 1)[0] if "/" in r.name else ""
    return {"id": r.id, "name": r.name.rsplit("/", 1)[-1], "filename": "/" + r.name, "dir": "/" + folder,
            "subset": r.subset, "reviewed": bool(r.reviewed), "annotated": r.id in annotated,
            "createdAt": r.created_at, "updatedAt": r.updated_at, "width": r.width, "height": r.height,
            "mimetype": r.mimetype, "metadata": meta | {"system": system}}


def _model_doc(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "status": r.status, "datasetId": r.dataset_id, "packageId": r.package_id,
            "projectId": r.project_id, "tags": list(r.tags), "labels": list(r.labels), "description": r.description,
            "createdAt": r.created_at, "updatedAt": r.updated_at, "parentId": r.parent_id,
            "inputType": r.input_type, "outputType": r.output_type, "metadata": dict(r.metadata),
            "configuration": dict(r.configuration)}


def _metric_doc(m: Any) -> dict:
    return {"figure": m.figure, "legend": m.legend, "data": {"x": m.x, "y": m.y}, "datasetId": m.dataset_id,
            "modelId": m.model_id, "executionId": m.execution_id}
