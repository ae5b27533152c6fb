"""dl.BaseModelAdapter: the user implements load / save / train / predict; the base class runs one model's
train / predict / evaluate over a model handle (ml.handle) or an SDK Model a user passes (duck-typed)."""

from __future__ import annotations

import abc
import hashlib
import importlib
import importlib.util
import inspect
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from desktop_app.catalog.names import check_name, name_problem
from desktop_app.domain.status import ModelStatus
from desktop_app.errors import AlreadyExistsError, Cancelled, ValidationError

from .handle import catalog_of
from .system_metrics import training_sampler

if TYPE_CHECKING:
    from desktop_app.catalog import Catalog, PackageRecord

# A model handle (ml.handle.ModelHandle) or an SDK dl.Model: whatever the adapter is given reads the same.
Model = Any

log = logging.getLogger(__name__)


class BaseModelAdapter(abc.ABC):
    """Subclass it and implement load, save, predict (and train to make the model trainable).

    The base class moves weights between the catalog and disk (`load_from_model`, `save_to_model`),
    lays the model's subsets out on disk (`prepare_data`), and runs whole workflows
    (`train_model`, `predict_items`, `evaluate_model`), as Dataloop's adapter does.
    """

    def __init__(self, model_entity: Model | None = None):
        self.model_entity: Model | None = None
        self.model: Any = None
        self._loaded_id: str | None = None   # the model whose weights load() last read
        self.logger = logging.getLogger(type(self).__module__)
        # Set by the job runner: metric logging, cancel checks, the execution's log.
        self.context: dict[str, Any] = {}
        if model_entity is not None:
            self.load_from_model(model_entity)

    # -- what the user implements ---------------------------------------------------------
    @abc.abstractmethod
    def load(self, local_path: str, **kwargs: Any) -> None:
        """Build the runnable model into self.model from the files in local_path."""

    @abc.abstractmethod
    def save(self, local_path: str, **kwargs: Any) -> None:
        """Write weights (and whatever else load() needs) into local_path."""

    @abc.abstractmethod
    def predict(self, batch: Sequence[Any], **kwargs: Any) -> list:
        """Return one dl.AnnotationCollection per item of the batch."""

    def train(self, data_path: str, output_path: str, **kwargs: Any) -> None:
        """Train on the files prepare_data laid out; kwargs carry on_epoch_end_callback(i_epoch, n_epoch)."""
        raise NotImplementedError(f"the adapter {type(self).__name__} does not implement train()")

    def convert_from_dtlpy(self, data_path: str, **kwargs: Any) -> None:
        """Turn the prepared layout into the model's own format (optional)."""

    def embed(self, batch: Sequence[Any], **kwargs: Any) -> Any:
        """Return one vector per item of the batch (a 1-D array or list of floats each, or one 2-D array), all of
        the length `embeddings_size` declares (optional: embed_items stores what embed returns)."""
        raise NotImplementedError(f"the adapter {type(self).__name__} does not implement embed()")

    def prepare_item_func(self, item: Any) -> Any:
        """Item -> batch element; images become an RGB numpy array by default."""
        from PIL import Image
        with Image.open(item.local_path) as im:
            return np.asarray(im.convert("RGB"))

    # -- configuration --------------------------------------------------------------------
    @property
    def configuration(self) -> dict[str, Any]:
        return self.model_entity.configuration if self.model_entity is not None else {}

    @property
    def embeddings_size(self) -> int | None:
        """The length of embed()'s vectors: Dataloop's `embeddings_size` configuration key; None when the model
        does not declare it (then the first vectors fix it). A vector of another length is refused."""
        size = self.configuration.get("embeddings_size")
        if size in (None, ""):
            return None
        if isinstance(size, bool) or not isinstance(size, (int, float, str)) or not str(size).isdigit() \
                or int(size) < 1:
            raise ValidationError(f"embeddings_size must be a whole number of at least 1, got {size!r}")
        return int(size)

    def log_metrics(self, step: float, epoch: float | None = None, **metrics: float) -> None:
        """Log metric points from train(); 'train/loss' keys split into figure 'loss', legend 'train'."""
        rows = []
        for key, value in metrics.items():
            legend, _, figure = key.rpartition("/")
            rows.append({"figure": figure, "legend": legend or "value", "x": float(step), "y": float(value),
                         "epoch": epoch})
        sink = self.context.get("log_metrics")
        if sink is not None:
            sink(rows)
        elif self.model_entity is not None:
            catalog_of(self.model_entity).add_metric_samples(self.model_entity.id, rows)

    def resumed_from(self, step: float) -> None:
        """Call from train() when a resumed job continues from a checkpoint taken at `step`: the points an
        earlier attempt of the job logged after it are dropped, so each series goes on without duplicates.
        (An adapter that does not call it: its first point of a resumed job marks where it restarted.)"""
        hook = self.context.get("resumed_from")
        if hook is not None:
            hook(float(step))

    def should_stop(self) -> bool:
        check = self.context.get("should_stop")
        return bool(check and check())

    # -- orchestration --------------------------------------------------------------------
    def _catalog(self) -> Catalog:
        if self.model_entity is None:
            raise ValidationError("this adapter has no model; call load_from_model(model) first")
        return catalog_of(self.model_entity)

    def load_from_model(self, model_entity: Model | None = None, local_path: str | None = None,
                        overwrite: bool = True, **kwargs: Any) -> None:
        if model_entity is not None:
            self.model_entity = model_entity
        catalog = self._catalog()
        local = Path(local_path) if local_path else catalog.work_dir / "models" / self.model_entity.id
        if overwrite and local.exists():
            shutil.rmtree(local)
        self.model_entity.artifacts.download(local, overwrite=overwrite)
        self.load(str(local), **kwargs)
        self._loaded_id = self.model_entity.id

    def save_to_model(self, local_path: str | None = None, cleanup: bool = False, replace: bool = True,
                      **kwargs: Any) -> None:
        catalog = self._catalog()
        tmp = None
        if local_path is None:
            tmp = tempfile.mkdtemp(dir=catalog.work_dir)
            local_path = tmp
        try:
            self.save(local_path, **kwargs)
            root = Path(local_path)
            files = [f for f in root.rglob("*") if f.is_file() and "checkpoints" not in f.relative_to(root).parts]
            if not files:
                raise ValidationError(f"{type(self).__name__}.save() wrote no files into {local_path}")
            for f in files:  # every artifact name is checked before anything is stored
                check_name(f.relative_to(root).as_posix(), f"{type(self).__name__}.save() wrote an artifact name")
            with catalog.transaction():
                if replace:
                    for a in catalog.list_artifacts(self.model_entity.id):
                        catalog.delete_artifact(self.model_entity.id, a.filename)
                for f in files:
                    sha, size = catalog.store.put_file(f)
                    catalog.add_artifact(self.model_entity.id, f.relative_to(root).as_posix(), sha, size)
        finally:
            if tmp or cleanup:
                shutil.rmtree(local_path, ignore_errors=True)

    def prepare_data(self, dataset: Any = None, root_path: str | None = None, data_path: str | None = None,
                     output_path: str | None = None, overwrite: bool = False,
                     subsets: Sequence[str] = ("train", "validation"), **kwargs: Any) -> tuple[str, str, str]:
        """Lay the model's subsets out as <data_path>/<subset>/{items,json} and run convert_from_dtlpy."""
        from desktop_app.formats.io import dataset_bundle

        from .layout import write_layout

        catalog = self._catalog()
        model = self.model_entity
        ds = dataset if dataset is not None else model.dataset
        root = Path(root_path) if root_path else catalog.work_dir / "data" / model.id
        data = Path(data_path) if data_path else root / "datasets" / ds.id
        out = Path(output_path) if output_path else root / "output"
        if overwrite and data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True, exist_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        labels = list(model.labels) or ds.labels
        subset_entries = {}
        for name in subsets:
            f = model.subsets.get(name) or {"subset": name}
            bundle = dataset_bundle(catalog, ds.id, filters=f)
            if not bundle.items:
                raise ValidationError(f"the {name} subset of dataset {ds.name!r} is empty (filter {f}); "
                                      f"split the dataset first (dataset.split_ml_subsets) or change the "
                                      f"model's {name} filter")
            # Train on ground truth of the model's output type only (as Dataloop does).
            wanted = _wanted_types(model.output_type)
            for it in bundle.items:
                it.annotations = [a for a in it.annotations if a.type in wanted]
            subset_entries[name] = bundle.items
        write_layout(data, subset_entries, labels)
        self.convert_from_dtlpy(str(data), **kwargs)
        return str(root), str(data), str(out)

    def train_model(self, model: Model | None = None, cleanup: bool = False,
                    progress: Callable[[float, str], None] | None = None, context: dict | None = None,
                    output_path: str | None = None, resume: bool = False) -> Model:
        """load_from_model -> prepare_data -> train -> save_to_model; status training -> trained (written through
        the catalog's owner of transitions: an SDK Model's `status =` only changes its snapshot)."""
        if model is not None:
            self.model_entity = model
        if context:
            self.context.update(context)
        m = self.model_entity
        catalog = catalog_of(m)
        catalog.set_model_status(m.id, ModelStatus.TRAINING)
        self.load_from_model(m)
        root, data, out = self.prepare_data(output_path=output_path)

        def on_epoch_end(i_epoch: int, n_epoch: int) -> None:
            if progress:
                progress(100.0 * (i_epoch + 1) / max(n_epoch, 1), f"epoch {i_epoch + 1}/{n_epoch}")

        # CPU, memory and GPU use logged as "system/..." metrics while train() runs, stopped with it (cancel too)
        sampler = training_sampler(catalog, m.id, execution_id=self.context.get("execution_id"),
                                   configuration=self.configuration, resume=resume)
        try:
            with sampler:
                self.train(data, out, on_epoch_end_callback=on_epoch_end, resume=resume)
        except BaseException:
            catalog.set_model_status(m.id, ModelStatus.FAILED)
            raise
        self.save_to_model(out)
        catalog.set_model_status(m.id, ModelStatus.TRAINED)
        if cleanup:
            shutil.rmtree(root, ignore_errors=True)
        return m.refresh()

    def predict_items(self, items: Sequence[Any], batch_size: int | None = None,
                      upload_annotations: bool = True, **kwargs: Any) -> tuple[list, list]:
        """Predict in batches; store each item's predictions, replacing this model's earlier ones."""
        from desktop_app.domain.dataloop import AnnotationCollection

        catalog = self._catalog()
        m = self.model_entity
        bs = int(batch_size or m.configuration.get("batch_size", 4))
        all_anns: list = []
        errors: list[str] = []
        for i in range(0, len(items), bs):
            batch_items = list(items[i:i + bs])
            batch = [self.prepare_item_func(it) for it in batch_items]
            try:
                out = self.predict(batch, **kwargs)
            except ValidationError as e:   # e.g. coll.add(model_info={'confidence': nan}) in the user's code
                raise self._name_the_item(batch_items, batch, e, kwargs) from e
            if not isinstance(out, (list, tuple)) or len(out) != len(batch_items):
                got = f"{len(out)} results" if isinstance(out, (list, tuple)) else type(out).__name__
                raise ValidationError(f"{type(self).__name__}.predict returned {got} for a batch "
                                      f"of {len(batch_items)}")
            for it, coll in zip(batch_items, out):
                if isinstance(coll, AnnotationCollection):
                    anns = coll.to_interchange()
                elif isinstance(coll, list):
                    anns = coll  # interchange Annotations (built-ins) or a plain list (Dataloop warns too)
                else:
                    errors.append(f"item {it.id} ({it.name}): predict returned {type(coll).__name__}, not a "
                                  f"dl.AnnotationCollection")
                    continue
                check_predictions(it, anns, list(m.labels))
                for a in anns:
                    if a.score is None:
                        a.score = 1.0
                all_anns.append(anns)
        if errors:
            raise ValidationError("; ".join(errors))
        if upload_annotations:
            by_ds: dict[str, dict[int, list]] = {}
            for it, anns in zip(items, all_anns):
                by_ds.setdefault(it.dataset_id, {})[it.id] = anns
            for ds_id, preds in by_ds.items():
                catalog.replace_predictions(m.id, m.name, preds, ds_id)
        return list(items), all_anns

    def _name_the_item(self, items: list, batch: list, error: ValidationError, kwargs: dict) -> ValidationError:
        """predict() refused its own output for a batch: run its items one at a time to name the one at fault."""
        for it, x in zip(items, batch) if len(items) > 1 else ():
            try:
                self.predict([x], **kwargs)
            except ValidationError as e:
                return ValidationError(f"item {it.id} ({it.name}): {type(self).__name__}.predict: {e}")
        names = ", ".join(f"{it.id} ({it.name})" for it in items)
        return ValidationError(f"item {names}: {type(self).__name__}.predict: {error}")

    def evaluate(self, model: Model, dataset: Any, filters: dict | None = None, **kwargs: Any) -> Any:
        """Score the model's stored predictions on the filtered items against the ground truth and keep the
        evaluation: returns {'evaluation_id', 'name', 'method', 'summary'}. kwargs: name, iou_threshold,
        conf_threshold, execution_id. Override it to score your own way and return either that dict (from
        super().evaluate(...)) or your own figures, {'summary': {...}, ...} or a flat {name: number}: the
        evaluation keeps what it returns."""
        from desktop_app.evaluation.run import score_model
        return score_model(self._catalog(), model.id, dataset.id, filters=filters, **kwargs)

    def evaluate_model(self, model: Model, dataset: Any, filters: dict | None = None, *, batch_size: int = 64,
                       **kwargs: Any) -> Any:
        """load_from_model (unless loaded) -> predict the filtered items of the dataset -> store the predictions
        -> self.evaluate(model, dataset, filters, **kwargs), as Dataloop's does; returns what evaluate returns.
        The predictions are stored once every item is predicted: a refused prediction or a cancel leaves the
        model's earlier ones whole."""
        if model is not None and (self.model_entity is None or self._loaded_id != model.id):
            self.load_from_model(model)
        model = self.model_entity
        progress = self.context.get("progress")
        items = list(dataset.items.list(filters=filters or None))
        t0 = time.monotonic()
        predicted: dict[int, list] = {}
        for k in range(0, len(items), batch_size):
            if self.should_stop():
                raise Cancelled("canceled by the user")
            batch = items[k:k + batch_size]
            _, anns = self.predict_items(batch, batch_size=batch_size, upload_annotations=False)
            predicted.update((it.id, a) for it, a in zip(batch, anns))
            if progress:
                done = min(k + batch_size, len(items))
                progress(90.0 * done / len(items), f"predicted {done}/{len(items)} items")
        self._catalog().replace_predictions(model.id, model.name, predicted, dataset.id)
        predict_s = time.monotonic() - t0
        if progress:
            progress(95.0, "scoring")
        out = self.evaluate(model, dataset, filters, **kwargs)
        if isinstance(out, dict) and "evaluation_id" in out:
            out = {**out, "predict_seconds": round(predict_s, 2),
                   "items_per_second": round(len(items) / predict_s, 1) if predict_s > 0 else None}
        return out

    # Vectors are stored once this many are pending, or as many as the set holds (so a big set is rewritten a
    # logarithmic number of times), and when the embedding ends or is canceled.
    EMBED_FLUSH = 1000

    def embed_items(self, items: Sequence[Any], upload_features: bool | None = None, batch_size: int | None = None,
                    *, skip_embedded: bool = False, progress: Callable[[float, str], None] | None = None,
                    **kwargs: Any) -> tuple[list, np.ndarray]:
        """Embed items in batches (prepare_item_func -> embed) into the model's feature set (named after the
        model; made on the first vectors), each vector checked (one per item, finite, all of one length:
        embeddings_size when declared). An item the set holds already gets its new vector; ``skip_embedded``:
        items the set holds vectors of from the same weights are left out (an incremental run). A set made by
        other weights is replaced. ``upload_features=False``: only return them. Checks cancel between batches
        (what is done by then is stored). Returns (the items embedded, their vectors [n, size] float32)."""
        from desktop_app.catalog.feature_sets import queries

        catalog = self._catalog()
        m = self.model_entity
        store = upload_features is not False
        fs = queries(catalog)
        weights = fs.weights_sha(m.id)
        items = list(items)
        if skip_embedded:
            done_ids = fs.embedded_ids(m.id, weights)
            items = [it for it in items if int(it.id) not in done_ids]
        current = fs.of_model(m.id)
        stored = current.count if current is not None and current.weights_sha == weights else 0
        bs = int(batch_size or self.configuration.get("batch_size", 4) or 4)
        progress = progress or self.context.get("progress")
        size = self.embeddings_size
        out_vecs: list[np.ndarray] = []
        pending: list[tuple[list, np.ndarray]] = []

        def flush() -> None:
            nonlocal stored
            if store and pending:
                ids = [int(it.id) for batch_items, _ in pending for it in batch_items]
                rec = fs.add(m.id, ids, np.concatenate([v for _, v in pending]), weights_sha=weights)
                stored = rec.count
            pending.clear()

        try:
            for k in range(0, len(items), bs):
                if self.should_stop():
                    raise Cancelled("canceled by the user")
                batch_items = items[k:k + bs]
                vecs = _checked_vectors(type(self).__name__, batch_items,
                                        self.embed([self.prepare_item_func(it) for it in batch_items], **kwargs), size)
                size = vecs.shape[1]
                out_vecs.append(vecs)
                pending.append((batch_items, vecs))
                if sum(len(b) for b, _ in pending) >= max(self.EMBED_FLUSH, stored):
                    flush()
                if progress:
                    done = min(k + bs, len(items))
                    progress(100.0 * done / max(len(items), 1), f"embedded {done}/{len(items)} items")
        except Cancelled:
            flush()
            raise
        flush()
        vectors = np.concatenate(out_vecs) if out_vecs else np.zeros((0, size or 0), np.float32)
        return items, vectors

    def embed_dataset(self, dataset: Any, filters: dict | None = None, batch_size: int | None = None,
                      progress: Callable[[float, str], None] | None = None, *, skip_embedded: bool = True,
                      **kwargs: Any) -> dict:
        """Embed the dataset's items that `filters` selects (all without one) into the model's feature set;
        items embedded before with the same weights are skipped unless ``skip_embedded=False``. Returns
        {'items': selected, 'embedded': embedded now, 'skipped': skipped}."""
        items = list(dataset.items.list(filters=filters or None))
        done, _ = self.embed_items(items, batch_size=batch_size, skip_embedded=skip_embedded, progress=progress,
                                   **kwargs)
        return {"items": len(items), "embedded": len(done), "skipped": len(items) - len(done)}


def _checked_vectors(adapter: str, items: list, out: Any, size: int | None) -> np.ndarray:
    """embed()'s answer for a batch as a [len(items), size] float32 array, or ValidationError naming the item."""
    if isinstance(out, np.ndarray) and out.ndim == 2:
        rows = list(out)
    elif isinstance(out, (list, tuple)) or (hasattr(out, "detach") and getattr(out, "ndim", 0) == 2):
        rows = list(out)
    else:
        raise ValidationError(f"{adapter}.embed returned {type(out).__name__}; it returns one vector per item")
    if len(rows) != len(items):
        raise ValidationError(f"{adapter}.embed returned {len(rows)} vectors for a batch of {len(items)}")
    checked = []
    for it, v in zip(items, rows):
        where = f"item {it.id} ({it.name}): {adapter}.embed"
        if hasattr(v, "detach"):           # a torch tensor
            v = v.detach().cpu().numpy()
        try:
            a = np.asarray(v, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValidationError(f"{where} returned a vector that is not numbers: {e}") from None
        if a.ndim != 1 or a.size == 0:
            raise ValidationError(f"{where} returned a value of shape {a.shape}; a vector is 1-D")
        if size is not None and a.size != size:
            raise ValidationError(f"{where} returned a vector of {a.size} numbers; the model's vectors have {size} "
                                  f"(embeddings_size)")
        if not np.isfinite(a).all():
            raise ValidationError(f"{where} returned a vector holding NaN or infinity")
        size = a.size
        checked.append(a)
    return np.stack(checked) if checked else np.zeros((0, size or 0), np.float32)


def check_predictions(item: Any, anns: list, labels: list[str]) -> None:
    """Refuse a malformed prediction before anything is stored, naming the item and the field: not an
    annotation, a label the model does not have, a confidence that is not a number within [0, 1], a
    per-class score vector (metadata['scores']) that is not finite numbers."""
    from desktop_app.domain.annotations import Annotation

    where = f"item {item.id} ({item.name})"
    for a in anns:
        if not isinstance(a, Annotation):
            raise ValidationError(f"{where}: a prediction is a {type(a).__name__}, not an annotation "
                                  f"(build them with dl.AnnotationCollection().add(...))")
        if not isinstance(a.label, str) or (labels and a.label not in labels):
            raise ValidationError(f"{where}: prediction label {a.label!r} is not one of the model's labels "
                                  f"({', '.join(labels[:20])}{', ...' if len(labels) > 20 else ''})")
        s = a.score
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float, np.number))
                              or not 0.0 <= float(s) <= 1.0):
            raise ValidationError(f"{where}: prediction {a.label!r} has confidence {s!r}; model_info "
                                  f"'confidence' must be a number within [0, 1]")
        vec = (a.metadata or {}).get("scores")
        if vec is not None and not (isinstance(vec, (list, tuple)) and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v) for v in vec)):
            raise ValidationError(f"{where}: prediction {a.label!r} has metadata['scores'] {str(vec)[:60]}; it must "
                                  f"be a list of finite numbers, one per class")


def _wanted_types(output_type: str) -> set[str]:
    if output_type in ("segment", "binary", "semantic"):
        return {"segment", "binary"}
    if output_type == "box":
        return {"box", "segment"}  # a polygon's bounds are a box too
    return {output_type}


# -- packages of user code ------------------------------------------------------------------
def push_package(catalog: Catalog, *, package_name: str, src_path: Path, entry_point: str,
                 class_name: str | None, default_configuration: dict | None, output_type: str | None,
                 input_type: str | None, description: str | None, hyperparameters: list | None,
                 project_id: str | None, extra_configuration: bool | None = None, version: str | None = None,
                 revision_increment: str | None = None, service_config: dict | None = None) -> PackageRecord:
    """Zip the folder into the store (so a model stays reproducible) after checking the adapter loads.

    A name that is new makes the package (version ``version`` or 1.0.0). The name of a package pushed before
    makes a new version of its code (``version``, else 1.0.1, 1.0.2, ... or as ``revision_increment`` says),
    made current: its models stay on the version they are on (catalog.set_model_package_version moves one).
    A setting given as None is the package's current one for a new version, the default for a new package.
    A built-in package's code is never replaced.

    ``extra_configuration``: the package's models may hold configuration keys its ``hyperparameters`` do not
    declare (otherwise such keys are refused as misspellings once it declares any). ``service_config``: the
    checked default settings of its models' services (stored in its metadata)."""
    check_package_name(package_name)
    current = catalog.get_package(package_name) if catalog.package_exists(package_name) else None
    if current is not None:
        if current.kind != "user":
            raise AlreadyExistsError(f"a package named {package_name!r} is built in: its code cannot be replaced; "
                                     f"push yours under another name")
        if project_id is not None and current.project_id != project_id:
            raise ValidationError(f"package {package_name!r} belongs to "
                                  f"{'no project' if current.project_id is None else 'another project'}: a new "
                                  f"version stays where the package is (leave project_id out)")
        meta = current.metadata or {}
        default_configuration = (current.default_configuration if default_configuration is None
                                 else default_configuration)
        hyperparameters = current.hyperparameters if hyperparameters is None else hyperparameters
        output_type = output_type or current.output_type
        input_type = input_type or current.input_type
        description = current.description if description is None else description
        extra_configuration = (bool(meta.get(EXTRA_CONFIGURATION)) if extra_configuration is None
                               else extra_configuration)
        service_config = meta.get(SERVICE_CONFIG) if service_config is None else service_config
    elif version is not None:
        from desktop_app.catalog.package_versions import parse_version
        parse_version(version)
    default_configuration = default_configuration or {}
    src, entry = check_package_source(src_path, entry_point)
    check_default_configuration(package_name, default_configuration, hyperparameters, bool(extra_configuration))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.rglob("*")):
            rel = f.relative_to(src)
            if f.is_file() and "__pycache__" not in rel.parts and not rel.name.endswith(".pyc"):
                zf.write(f, rel.as_posix())
    code = buf.getvalue()
    # A new version's code is loaded under its own module name: the current version's stays as it was.
    cls = _load_class_from_folder(src, entry_point, class_name,
                                  tag=f"check_{hashlib.sha256(code).hexdigest()[:12]}")
    class_name = cls.__name__
    supported = {m: _overrides(cls, m) for m in ("load", "save", "train", "predict")}
    metadata = {"supported_methods": supported, "source": str(src),
                **({EXTRA_CONFIGURATION: True} if extra_configuration else {}),
                **({SERVICE_CONFIG: dict(service_config)} if service_config else {})}
    fields = dict(description=description or "", entry_point=entry_point, class_name=class_name,
                  default_configuration=default_configuration, hyperparameters=hyperparameters or [],
                  input_type=input_type or "image", output_type=output_type or "class", metadata=metadata)
    with catalog.store.writing():   # the code's file is not referenced until the package row is committed
        new_file = not catalog.store.exists(hashlib.sha256(code).hexdigest())
        sha = catalog.store.put_bytes(code)
        try:
            if current is not None:
                return catalog.add_package_revision(current.id, version=version, increment=revision_increment,
                                                    codebase_sha=sha, **fields)
            return catalog.create_package(package_name, project_id=project_id, kind="user", codebase_sha=sha,
                                          version=version or "1.0.0", **fields)
        except BaseException:
            if new_file:
                catalog.store.delete(sha)   # refused: nothing of the push stays behind
            raise


SERVICE_CONFIG = "service_config"   # package metadata: the default settings of its models' services


def check_default_configuration(package_name: str, default_configuration: dict, hyperparameters: list | None,
                                extra_configuration: bool) -> None:
    """Once a package declares hyper-parameters, a default configuration key none of them names is refused as a
    misspelling (unless it takes extra keys); hparams.RESERVED_KEYS always pass."""
    if not isinstance(default_configuration, dict):
        raise ValidationError(f"default_configuration must be a dict, got {type(default_configuration).__name__}")
    if hyperparameters and not extra_configuration:
        from .hparams import RESERVED_KEYS, unknown_key_error
        declared = [d.get("name") for d in hyperparameters if isinstance(d, dict)]
        for key in default_configuration:
            if key not in declared and key not in RESERVED_KEYS:
                raise unknown_key_error(key, [str(n) for n in declared], f"package {package_name!r}")


# Said wherever a user adds a package: the window's dialog, `desktop-app packages push`, the SDK, the README.
PUSH_WARNING = ("Adding a package runs its Python code with your permissions (now, to check it, and whenever "
                "one of its models trains, evaluates, predicts or serves): only add code you trust.")

_PACKAGE_NAME = re.compile(r"[^\W_][\w.+-]*(?: [\w.+-]+)*")


def check_package_name(name: Any) -> str:
    """A package name is one or a few words: letters, digits, '-', '_', '.', '+' and single spaces, starting
    with a letter or digit (it is shown in lists and written as 'package/model' on the command line)."""
    if not isinstance(name, str) or not name:
        raise ValidationError("package name: required")
    if len(name) > 100:
        raise ValidationError(f"package name {name[:40]!r}...: {len(name)} characters, over the limit of 100")
    if not _PACKAGE_NAME.fullmatch(name):
        bad = next((c for c in name if c in "/\\" or not c.isprintable()), None)
        why = (f"holds {bad!r}, a path character" if bad in ("/", "\\") else
               f"holds the control character {bad!r}" if bad else
               "must start with a letter or digit and hold only letters, digits, '-', '_', '.', '+' and single "
               "spaces")
        raise ValidationError(f"package name {name!r} {why}")
    return name


def check_package_source(src_path: Any, entry_point: Any, *,
                         fields: tuple[str, str] = ("src_path", "entry point")) -> tuple[Path, Path]:
    """(folder, entry point file) of a package to push, checked without running anything: the folder exists,
    the entry point is a .py file inside it (a relative path, no '..', no link leading out). `fields`: what
    the caller calls the two (the command line says --src and --entry-point)."""
    src_field, entry_field = fields
    if src_path is None or str(src_path) == "":
        raise ValidationError(f"{src_field}: required (the folder holding the adapter)")
    src = Path(src_path).expanduser()
    if not src.exists():
        raise ValidationError(f"{src_field} {src}: no such folder")
    if not src.is_dir():
        raise ValidationError(f"{src_field} {src}: a file, not a folder (give the folder holding {src.name})")
    if not isinstance(entry_point, str) or not entry_point:
        raise ValidationError(f"{entry_field}: required (the .py file defining the adapter, e.g. adapter.py)")
    problem = name_problem(entry_point)
    if problem:
        raise ValidationError(f"{entry_field} {entry_point!r} {problem}; it is a .py file inside {src}")
    if not entry_point.endswith(".py"):
        raise ValidationError(f"{entry_field} {entry_point!r} is not a .py file")
    entry = src / entry_point
    real, base = os.path.realpath(entry), os.path.realpath(src)
    if os.path.commonpath([base, real]) != base:
        raise ValidationError(f"{entry_field} {entry_point!r} is a link leading out of {src} (to {real}); refused")
    if not entry.is_file():
        raise ValidationError(f"{entry_field} {entry_point!r} not found in {src}")
    return src, entry


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name, None) is not getattr(BaseModelAdapter, name, None)


def _load_class_from_folder(folder: Path, entry_point: str, class_name: str | None, tag: str) -> type:
    module_name = f"desktop_app_user_{tag}_{abs(hash(str(folder))) % 10**8}"
    spec = importlib.util.spec_from_file_location(module_name, folder / entry_point,
                                                  submodule_search_locations=None)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot load {entry_point} from {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # the user's code at import: any failure, sys.exit() included
        sys.modules.pop(module_name, None)
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        raise ValidationError(f"entry point {folder / entry_point} failed to import{where}: "
                              f"{type(e).__name__}: {e}") from e
    finally:
        sys.path.remove(str(folder))
    if class_name:
        cls = getattr(module, class_name, None)
        if cls is None:
            raise ValidationError(f"{entry_point} has no class {class_name!r}")
    else:
        found = [c for _, c in inspect.getmembers(module, inspect.isclass)
                 if issubclass(c, BaseModelAdapter) and c is not BaseModelAdapter and c.__module__ == module_name]
        if len(found) != 1:
            sys.modules.pop(module_name, None)
            which = f": {', '.join(c.__name__ for c in found)}; name one with class_name=" if found else ""
            raise ValidationError(f"entry point {folder / entry_point} must define exactly one "
                                  f"dl.BaseModelAdapter subclass (found {len(found)}{which})")
        cls = found[0]
    if not (isinstance(cls, type) and issubclass(cls, BaseModelAdapter)):
        raise ValidationError(f"{class_name} in {entry_point} is not a dl.BaseModelAdapter subclass")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ValidationError(f"{cls.__name__} does not implement {missing}")
    return cls


def load_adapter_class(catalog: Catalog, package: PackageRecord) -> type:
    """The adapter class of a package: a built-in module, or user code unpacked from the store."""
    if package.kind == "builtin":
        module = importlib.import_module(package.entry_point)
        return getattr(module, package.class_name)
    if not package.codebase_sha:
        raise ValidationError(f"package {package.name!r} has no code")
    folder = catalog.work_dir / "packages" / package.codebase_sha[:16]
    if not (folder / package.entry_point).exists():
        tmp = Path(tempfile.mkdtemp(dir=catalog.work_dir))
        with zipfile.ZipFile(catalog.store.path(package.codebase_sha)) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ValidationError(f"package {package.name!r} holds an unsafe path {name!r}")
            zf.extractall(tmp)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(folder)
        except OSError:  # another process unpacked it first
            shutil.rmtree(tmp, ignore_errors=True)
    return _load_class_from_folder(folder, package.entry_point, package.class_name, tag=package.codebase_sha[:12])


EXTRA_CONFIGURATION = "extra_configuration"   # package metadata flag: it takes keys it does not declare


def validate_model_configuration(catalog: Catalog, package_id: str, configuration: dict, *,
                                 version: str | None = None) -> dict:
    """Check hyper-parameters against the package's declared schema before any job starts.

    A key the package does not declare is refused, with the closest declared name, unless the package was
    pushed with ``extra_configuration=True``; hparams.RESERVED_KEYS (Dataloop's own keys such as
    ``id_to_label_map``, and the thresholds review keeps) always pass. A package that declares no
    hyper-parameters at all takes any configuration.

    ``version``: check against that version of the package's code only. Without it, the current version's
    declarations, and a key only an older version declares passes as that version declared it (a model on an
    older version keeps its configuration)."""
    from .hparams import HParam, Schema, validate_config

    pkg = catalog.get_package_revision(package_id, version)
    if not isinstance(configuration, dict):
        raise ValidationError(f"configuration must be a dict of hyper-parameters, got {type(configuration).__name__}")
    bad = next((k for k in configuration if not isinstance(k, str)), None)
    if bad is not None:
        raise ValidationError(f"{bad!r}: hyper-parameter names must be strings")
    if not pkg.hyperparameters:
        return dict(configuration)
    declared = list(pkg.hyperparameters)
    if version is None:
        names = {d["name"] for d in declared}
        for older in reversed(catalog.list_package_revisions(package_id)[:-1]):
            for d in older.hyperparameters:
                if d["name"] in configuration and d["name"] not in names:
                    declared.append(d)
                    names.add(d["name"])
    params = {}
    for d in declared:
        params[d["name"]] = HParam(name=d["name"], kind=d["kind"], default=d["default"], help=d.get("help", ""),
                                   minimum=d.get("minimum"), maximum=d.get("maximum"),
                                   choices=tuple(d.get("choices") or ()), advanced=d.get("advanced", False),
                                   allow_auto=d.get("allow_auto", False), pattern=d.get("pattern"))
    return validate_config(Schema(params), configuration, owner=f"package {pkg.name!r}",
                           allow_unknown=bool((pkg.metadata or {}).get(EXTRA_CONFIGURATION)))


def checked_configuration(catalog: Catalog, package_id: str, configuration: dict, *,
                          version: str | None = None) -> dict:
    """``configuration`` checked as validate_model_configuration checks it, declared values typed; only the
    keys given come back (no defaults filled in), ready to be stored on a model."""
    full = validate_model_configuration(catalog, package_id, configuration, version=version)
    return {k: full.get(k, v) for k, v in configuration.items()}


def coerce_overrides(catalog: Catalog, package_id: str, overrides: dict[str, str]) -> dict[str, Any]:
    """`--set key=value` strings to typed values: by the package's schema, else as JSON (3, 0.1, true)."""
    import json

    declared = {d["name"] for d in catalog.get_package(package_id).hyperparameters}
    out: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key in declared or not isinstance(raw, str):
            out[key] = raw  # validate_model_configuration coerces declared keys and names bad ones
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out
