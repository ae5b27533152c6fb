"""The served model: an adapter (built by workflows.host.load_host), predictions normalised and thresholded."""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from desktop_app.domain.annotations import Annotation
from desktop_app.errors import ValidationError
from desktop_app.formats.dataloop import to_dataloop_annotation

from .errors import ModelFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    """A prediction is kept when its score reaches its class's threshold, else `conf`."""

    conf: float = 0.0
    per_class: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> Thresholds:
        conf = _threshold("conf_threshold", configuration.get("conf_threshold", 0.0) or 0.0)
        raw = configuration.get("class_thresholds") or {}
        if not isinstance(raw, dict):
            raise ValidationError("class_thresholds must be a {label: threshold} mapping")
        per_class = {str(k): _threshold(f"class_thresholds[{k!r}]", v) for k, v in raw.items()}
        return cls(conf, per_class)

    def keep(self, a: Annotation) -> bool:
        score = 1.0 if a.score is None else a.score
        return score >= self.per_class.get(a.label, self.conf)


def _mask_of(a: Annotation, height: int, width: int, image: int) -> dict[str, Any]:
    """A predicted mask as compressed COCO RLE of the image's size; ModelFailed naming it otherwise."""
    from desktop_app.domain import masks

    problem = masks.rle_problem(a.coordinates, width, height, allow_empty=True)
    if problem:
        raise ModelFailed(f"predict returned a bad mask for {a.label!r} on image {image}: {problem}")
    counts = a.coordinates["counts"]
    if not isinstance(counts, str):
        counts = masks.counts_string(masks.counts_of(a.coordinates))
    return {"size": [height, width], "counts": counts}


def _threshold(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise ValidationError(f"{name} must be a number within 0..1, got {value!r}")
    return float(value)


class ModelHost:
    """Wraps an adapter: predict(list of RGB arrays) -> one list of interchange Annotations per image."""

    def __init__(self, adapter: Any, *, name: str, model_id: str, package: str, output_type: str,
                 labels: Sequence[str], thresholds: Thresholds, work_dir: Path | None = None,
                 aliases: Sequence[str] = ()):
        self.adapter = adapter
        self.name = name
        self.model_id = model_id
        self.package = package
        self.output_type = output_type
        self.labels = list(labels)
        self.thresholds = thresholds
        self.work_dir = work_dir
        self.aliases = list(aliases)  # the package's aliases on this model when it was loaded ('champion')

    def predict(self, images: Sequence[np.ndarray]) -> list[list[Annotation]]:
        try:
            out = self.adapter.predict(list(images))
        except Exception as e:  # noqa: BLE001 - any model failure is one request's 500, not the service's end
            log.exception("predict failed on a batch of %d", len(images))
            raise ModelFailed(f"the model failed in predict: {type(e).__name__}: {e}") from e
        if not isinstance(out, (list, tuple)) or len(out) != len(images):
            got = len(out) if isinstance(out, (list, tuple)) else type(out).__name__
            raise ModelFailed(f"{type(self.adapter).__name__}.predict returned {got} results for "
                              f"{len(images)} images")
        results = [self._normalise(o) for o in out]
        for k, (anns, img) in enumerate(zip(results, images)):
            for a in anns:
                if a.type == "binary":
                    a.coordinates = _mask_of(a, img.shape[0], img.shape[1], k)
        return results

    def _normalise(self, result: Any) -> list[Annotation]:
        from desktop_app.domain.dataloop import AnnotationCollection, BaseDefinition

        if isinstance(result, AnnotationCollection):
            anns = result.to_interchange()
        elif isinstance(result, (list, tuple)):
            anns = []
            for a in result:
                if isinstance(a, Annotation):
                    anns.append(a)
                elif isinstance(a, BaseDefinition):
                    anns.extend(AnnotationCollection().add(a).to_interchange())
                else:
                    raise ModelFailed(f"predict returned a {type(a).__name__} in an image's results; expected "
                                      f"annotations (dl.AnnotationCollection)")
        else:
            raise ModelFailed(f"predict returned {type(result).__name__} for an image; expected a "
                              f"dl.AnnotationCollection")
        kept = []
        for a in anns:
            if a.score is None:
                a.score = 1.0
            elif not isinstance(a.score, (int, float)) or not math.isfinite(a.score):
                raise ModelFailed(f"predict returned a non-finite score {a.score!r}")
            a.model_name = self.name
            a.metadata = {**a.metadata, "model_id": self.model_id}
            if self.thresholds.keep(a):
                kept.append(a)
        return kept

    def dataloop_json(self, anns: Sequence[Annotation]) -> list[dict[str, Any]]:
        """Dataloop annotation JSON (a mask: type 'binary', its coordinates the PNG data URI Dataloop stores);
        a mask's COCO RLE rides along in metadata.user.rle, for a client that would rather not decode a PNG."""
        out = []
        for a in anns:
            d = to_dataloop_annotation(a)
            if a.type == "binary":
                d.setdefault("metadata", {}).setdefault("user", {})["rle"] = a.coordinates
            out.append(d)
        return out

    def close(self) -> None:
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
