"""Dataloop's builders: annotation definitions (dl.Box, dl.Classification, dl.Polygon, dl.Segmentation, dl.Point), the
AnnotationCollection a predict() returns, dl.Filters, dl.PlotSample, and the type / subset names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from desktop_app.domain.annotations import Annotation
from desktop_app.domain.keywords import check_public_methods, checked_keywords
from desktop_app.errors import ValidationError

# AnnotationCollection.add's Dataloop keywords for video and object tracking: accepted, nothing to do on an image.
ADD_IGNORED = {
    "object_id": "an object's track id across video frames",
    "frame_num": "a video frame", "end_frame_num": "a video frame", "end_object_id": "a track across frames",
    "object_visible": "a tracked object's visibility in a video frame", "fixed": "a video key frame",
    "automated": "Dataloop's own flag; a prediction is marked by model_info here",
}
ADD_REFUSED = {
    "parent_id": "annotations are not nested here; add the child annotation on its own",
    "prompt_id": "there are no prompt items here (images only)",
}


class AnnotationType:
    CLASSIFICATION = "class"
    BOX = "box"
    POLYGON = "segment"
    SEGMENTATION = "binary"
    POINT = "point"


class DatasetSubsetType:
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


@check_public_methods
class BaseDefinition:
    type: str = ""

    def __init__(self, label: str, attributes: dict | list | None = None, description: str | None = None):
        if not isinstance(label, str) or not label:
            raise ValidationError(f"{type(self).__name__} needs a non-empty label")
        self.label = label
        if isinstance(attributes, list):  # Dataloop v1 attributes are a list of names
            attributes = {a: True for a in attributes}
        self.attributes = dict(attributes or {})
        self.description = description

    def compact(self) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(label={self.label!r}, coordinates={self.compact()!r})"


@check_public_methods
class Box(BaseDefinition):
    type = AnnotationType.BOX

    def __init__(self, left: float, top: float, right: float, bottom: float, label: str,
                 attributes: dict | list | None = None, description: str | None = None, angle: float | None = None):
        super().__init__(label, attributes, description)
        self.left, self.top, self.right, self.bottom = float(left), float(top), float(right), float(bottom)
        if self.right < self.left or self.bottom < self.top:
            raise ValidationError(f"Box({left}, {top}, {right}, {bottom}) has negative size")
        self.angle = angle

    def compact(self) -> list[float]:
        return [self.left, self.top, self.right, self.bottom]


@check_public_methods
class Classification(BaseDefinition):
    type = AnnotationType.CLASSIFICATION

    def compact(self) -> None:
        return None


@check_public_methods
class Polygon(BaseDefinition):
    type = AnnotationType.POLYGON

    def __init__(self, geo: Sequence[Sequence[float]], label: str, attributes: dict | list | None = None,
                 description: str | None = None):
        super().__init__(label, attributes, description)
        pts = [[float(p[0]), float(p[1])] for p in geo]
        if len(pts) < 3:
            raise ValidationError(f"Polygon for {label!r} needs at least 3 points, got {len(pts)}")
        self.geo = pts

    def compact(self) -> list:
        return [self.geo]

    @classmethod
    def from_segmentation(cls, mask: Any, label: str, attributes: dict | list | None = None,
                          epsilon: float | None = None, max_instances: int | None = 1,
                          min_area: float = 0) -> Polygon | list[Polygon]:
        """The outline(s) of a binary mask, traced along pixel edges (dtlpy's call; no OpenCV): the largest
        one, or a list of up to ``max_instances`` (None: all); ``epsilon`` simplifies by that many pixels."""
        from desktop_app.domain import masks

        m = masks.as_mask(mask, what=f"Polygon.from_segmentation mask for {label!r}")
        rings = masks.mask_to_polygons(m, tolerance=epsilon or 0.0, min_area=min_area, max_instances=max_instances)
        polygons = [cls(ring, label, attributes) for ring in rings]
        return polygons[0] if max_instances == 1 else polygons


@check_public_methods
class Segmentation(BaseDefinition):
    """A binary mask (dtlpy's dl.Segmentation): ``geo`` a (height, width) array of 0 / 1 or booleans, the image's
    size. Stored as the ``binary`` type in COCO RLE; ``to_json()`` gives Dataloop's form (an RGBA PNG)."""

    type = AnnotationType.SEGMENTATION

    def __init__(self, geo: Any, label: str, attributes: dict | list | None = None,
                 description: str | None = None, color: Sequence[int] | None = None):
        super().__init__(label, attributes, description)
        from desktop_app.domain import masks

        self.geo = masks.as_mask(geo, what=f"Segmentation mask for {label!r}")
        self.color = list(color)[:3] if color is not None else None

    @classmethod
    def from_polygon(cls, geo: Sequence[Sequence[float]], label: str, shape: Any,
                     attributes: dict | list | None = None) -> Segmentation:
        """The mask a polygon ``geo`` ([[x, y], ...]) covers in an image of ``shape`` ((height, width), or an
        array of that size)."""
        from desktop_app.domain import masks

        h, w = (shape.shape[:2] if hasattr(shape, "shape") else tuple(shape)[:2])
        problem = masks.polygon_problem([[list(p) for p in geo]], int(w), int(h))
        if problem:
            raise ValidationError(f"Segmentation.from_polygon for {label!r}: {problem}")
        return cls(masks.polygon_to_mask([geo], int(h), int(w)), label, attributes)

    @classmethod
    def from_rle(cls, rle: dict, label: str, attributes: dict | list | None = None) -> Segmentation:
        """A stored mask (COCO RLE ``{'size': [h, w], 'counts': ...}``); an empty one is read as it is (a model
        may have predicted no pixel), though a new Segmentation refuses one."""
        from desktop_app.domain import masks

        problem = masks.rle_problem(rle, allow_empty=True)
        if problem:
            raise ValidationError(f"Segmentation for {label!r}: {problem}")
        seg = cls.__new__(cls)
        BaseDefinition.__init__(seg, label, attributes)
        seg.geo, seg.color = masks.decode(rle), None
        return seg

    def compact(self) -> dict:
        from desktop_app.domain import masks

        return masks.encode(self.geo)

    def to_box(self) -> Box:
        from desktop_app.domain import masks

        return Box(*masks.bbox(self.geo), label=self.label, attributes=dict(self.attributes))

    def to_polygons(self, epsilon: float | None = None) -> list[Polygon]:
        """The mask's outlines as polygons, largest first (holes are not kept)."""
        from desktop_app.domain import masks

        return [Polygon(r, self.label, dict(self.attributes))
                for r in masks.mask_to_polygons(self.geo, tolerance=epsilon or 0.0)]

    def to_json(self) -> dict:
        """Dataloop's annotation JSON: type 'binary', the mask as a base64 RGBA PNG in 'coordinates'."""
        from desktop_app.domain import masks

        attrs: Any = self.attributes
        if attrs and all(v is True for v in attrs.values()):
            attrs = list(attrs)
        d = {"type": self.type, "label": self.label, "coordinates": masks.png_data_uri(self.geo, self.color),
             "attributes": attrs or []}
        if self.description:
            d["description"] = self.description
        return d

    def __repr__(self) -> str:
        h, w = self.geo.shape
        return f"Segmentation(label={self.label!r}, size={h}x{w}, pixels={int(self.geo.sum())})"


@check_public_methods
class Point(BaseDefinition):
    type = AnnotationType.POINT

    def __init__(self, x: float, y: float, label: str, attributes: dict | list | None = None,
                 description: str | None = None):
        super().__init__(label, attributes, description)
        self.x, self.y = float(x), float(y)

    def compact(self) -> list[float]:
        return [self.x, self.y]


def definition_from(ann_type: str, label: str, coords: Any, attributes: dict | None = None) -> BaseDefinition:
    if ann_type == "box":
        return Box(*coords, label=label, attributes=attributes)
    if ann_type == "class":
        return Classification(label, attributes)
    if ann_type == "segment":
        return Polygon(coords[0], label, attributes)
    if ann_type == "point":
        return Point(coords[0], coords[1], label, attributes)
    if ann_type == "binary":
        return Segmentation.from_rle(coords, label, attributes)
    raise ValidationError(f"no definition for annotation type {ann_type!r}")


def check_model_info(model_info: dict | None) -> dict | None:
    if model_info is None:
        return None
    if not isinstance(model_info, dict) or "name" not in model_info:
        raise ValidationError("model_info needs at least {'name', 'confidence'}")
    conf = model_info.get("confidence")
    if conf is None:
        raise ValidationError("model_info needs a 'confidence' between 0 and 1")
    try:   # a number, a numpy or torch scalar; never a string or a bool
        if isinstance(conf, (str, bytes, bool)) or not hasattr(conf, "__float__"):
            raise TypeError
        conf = float(conf)
    except (TypeError, ValueError, RuntimeError):
        raise ValidationError(f"model_info 'confidence' must be a number between 0 and 1, got {conf!r}") from None
    if not (0.0 <= conf <= 1.0) or conf != conf:
        raise ValidationError(f"model_info 'confidence' {conf} is not within 0..1")
    return {"name": str(model_info["name"]), "model_id": model_info.get("model_id"), "confidence": conf}


@dataclass
class PendingAnnotation:
    definition: BaseDefinition
    model_info: dict | None = None
    metadata: dict = field(default_factory=dict)

    def to_interchange(self) -> Annotation:
        d = self.definition
        mi = self.model_info
        meta = dict(self.metadata)
        if mi and mi.get("model_id"):
            meta["model_id"] = mi["model_id"]
        return Annotation(type=d.type, label=d.label, coordinates=d.compact(), attributes=dict(d.attributes),
                    score=mi["confidence"] if mi else None, model_name=mi["name"] if mi else None,
                    metadata=meta)


def _check_mask_size(seg: Segmentation, item: Any) -> None:
    """A mask must be its item's size (when the item's size is known)."""
    w, h = getattr(item, "width", None), getattr(item, "height", None)
    if w and h and seg.geo.shape != (h, w):
        name = getattr(item, "name", None) or "the item"
        raise ValidationError(f"Segmentation mask for {seg.label!r} is {seg.geo.shape[0]}x{seg.geo.shape[1]} (h x w) "
                              f"but {name} is {h}x{w}")


@check_public_methods
class AnnotationCollection:
    """Annotations being built for one item (`item.annotations.builder()`), or a model's predictions."""

    def __init__(self, item: Any = None):
        self.item = item
        self.annotations: list[PendingAnnotation] = []

    @checked_keywords(ignored=ADD_IGNORED, refused=ADD_REFUSED)
    def add(self, annotation_definition: BaseDefinition, model_info: dict | None = None,
            metadata: dict | None = None) -> AnnotationCollection:
        """Add one definition (dl.Box, ...) with, for a prediction, ``model_info={'name', 'confidence'}``.
        Dataloop's video and tracking keywords (ADD_IGNORED) are accepted and do nothing on a still image;
        ``parent_id`` and ``prompt_id`` (ADD_REFUSED) are refused; any other unknown keyword too."""
        if not isinstance(annotation_definition, BaseDefinition):
            raise ValidationError("annotation_definition must be dl.Box, dl.Classification, dl.Polygon, "
                                  "dl.Segmentation or dl.Point")
        if isinstance(annotation_definition, Segmentation):
            _check_mask_size(annotation_definition, self.item)
        self.annotations.append(PendingAnnotation(annotation_definition, check_model_info(model_info),
                                                  dict(metadata or {})))
        return self

    def __len__(self) -> int:
        return len(self.annotations)

    def __iter__(self) -> Iterator[PendingAnnotation]:
        return iter(self.annotations)

    def __getitem__(self, i: int) -> PendingAnnotation:
        return self.annotations[i]

    def upload(self) -> list:
        if self.item is None:
            raise ValidationError("this collection is not attached to an item; use item.annotations.upload(collection)")
        return self.item.annotations.upload(self)

    def to_interchange(self) -> list[Annotation]:
        return [a.to_interchange() for a in self.annotations]


@check_public_methods
class PlotSample:
    """One point on a named curve: figure (plot) / legend (line) / x / y."""

    def __init__(self, figure: str, legend: str, x: float, y: float):
        self.figure, self.legend, self.x, self.y = figure, legend, x, y

    def to_json(self) -> dict:
        return {"figure": self.figure, "legend": self.legend, "data": {"x": self.x, "y": self.y}}

    def as_row(self) -> dict:
        return {"figure": self.figure, "legend": self.legend, "x": self.x, "y": self.y}

    def __repr__(self) -> str:
        return f"PlotSample({self.figure!r}, {self.legend!r}, x={self.x}, y={self.y})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlotSample) and self.to_json() == other.to_json()


@check_public_methods
class Filters:
    """A small Dataloop-style item filter: Filters(field='metadata.system.tags.train', values=True)."""

    def __init__(self, field: str | None = None, values: Any = None, **kwargs: Any):
        self.conditions: dict[str, Any] = {}
        if field is not None:
            self.add(field, values)
        self.conditions.update(kwargs)

    def add(self, field: str, values: Any) -> Filters:
        if field.startswith("metadata.system.tags."):
            self.conditions["subset"] = field.rsplit(".", 1)[-1]
        elif field == "dir":
            self.conditions["dir"] = str(values)
        elif field in ("subset", "label", "ann_type", "text", "reviewed", "has_annotations", "dir"):
            self.conditions[field] = values
        elif field in ("id", "ids"):
            self.conditions["item_ids"] = values if isinstance(values, (list, tuple)) else [values]
        elif field in ("name", "filename"):
            self.conditions["text"] = str(values).lstrip("/")
        else:
            raise ValidationError(f"unsupported filter field {field!r}")
        return self

    def to_dict(self) -> dict:
        return dict(self.conditions)


def filter_dict(filters: Filters | dict | None) -> dict:
    if filters is None:
        return {}
    if isinstance(filters, Filters):
        return filters.to_dict()
    if isinstance(filters, dict):
        f = Filters()
        for k, v in filters.items():
            f.add(k, v)
        return f.to_dict()
    raise ValidationError(f"filters must be dl.Filters or a dict, got {type(filters).__name__}")
