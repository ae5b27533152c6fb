"""``model.predictions``: a model's stored predictions; import those it made elsewhere (formats.predictions)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_app.errors import ValidationError

from .entities import Dataset
from .keywords import check_public_methods

if TYPE_CHECKING:
    from .model import Model


@check_public_methods
class Predictions:
    """The model's predictions in the catalog (annotations with its id, name and score; never ground truth)."""

    def __init__(self, model: Model):
        self.model = model

    @property
    def _catalog(self):
        return self.model._client.catalog

    def _dataset_id(self, dataset: Dataset | str | None) -> str:
        if dataset is None:
            if not self.model.dataset_id:
                raise ValidationError(f"model {self.model.name!r} has no dataset: give dataset=")
            return self.model.dataset_id
        if isinstance(dataset, Dataset):
            return dataset.id
        if isinstance(dataset, str):
            return self.model._client.datasets.get(dataset).id
        raise ValidationError(f"dataset= takes a Dataset, its id or its name, not {type(dataset).__name__}")

    def import_from(self, path: str | Path, dataset: Dataset | str | None = None, format: str | None = None, *,
                    images: str | Path | None = None, label_map: dict | None = None) -> dict:
        """Store predictions made elsewhere as this model's on ``dataset`` (a Dataset, its id or name; default: the
        model's): a COCO results file (``images=``: the COCO ground-truth file whose ids it uses), YOLO prediction
        txt files or Dataloop JSON (``format`` 'coco', 'yolo', 'dataloop'; guessed when left out). Labels the model
        does not know are refused unless ``label_map`` maps them ({'source': 'label'}, a COCO category id or YOLO
        class index as the source too). Replaces the model's earlier predictions on the items the file covers, all
        or nothing. Returns counts: items, predictions, replaced, skipped (ground truth beside them), labels."""
        from desktop_app.formats.predictions import import_predictions
        return import_predictions(self._catalog, self.model.id, path, dataset_id=self._dataset_id(dataset),
                                  fmt=format, images=images, label_map=label_map)

    def count(self, dataset: Dataset | str | None = None) -> int:
        """How many predictions of the model the catalog holds on ``dataset`` (default: the model's)."""
        return len(self._catalog.list_annotations(dataset_id=self._dataset_id(dataset), model_id=self.model.id))

    def list(self, dataset: Dataset | str | None = None) -> list[Any]:
        """The model's predictions on ``dataset`` (default: the model's) as catalog annotation records."""
        return self._catalog.list_annotations(dataset_id=self._dataset_id(dataset), model_id=self.model.id)
