"""Open Inference Protocol v2 (REST): parse an infer request into images, turn predictions into named outputs.

Input: exactly one tensor, either BYTES [N] (each element an encoded JPEG/PNG/... as base64, as MLServer
and KServe clients send binary data in JSON) or UINT8 [N, H, W, 3] (row-major, flat or nested `data`).
Outputs, one row per kept annotation across the batch: `labels` BYTES [D], `scores` FP32 [D],
`batch_index` INT32 [D] (which image of the request), `boxes` FP32 [D, 4] (left, top, right, bottom,
pixels) when any annotation has an extent, `polygons` / `masks` BYTES [D] (JSON) for those types.

Masks (segmentation models, output type "binary" for instances, "semantic" for one mask a class present):
row d of `masks` is the JSON text of the mask as COCO RLE at the image's size, column-major, counts as
pycocotools' compressed string: ``{"size": [height, width], "counts": "..."}`` (pycocotools.mask.decode reads
it after ``counts.encode()``; desktop_app.domain.masks.decode as it is), "null" for a row without a mask;
`boxes` row d is the mask's bounds, `labels` / `scores` its class and confidence (an instance's score, or a
class's mean pixel confidence). Model metadata lists the outputs and says the output type in
parameters.output_type.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from desktop_app.formats.base import Annotation
from desktop_app.formats.images import bounds

from .errors import RequestError, TooLarge
from .images import check_array, check_request_pixels, decode_image, image_size
from .jsonbody import JsonString, TensorData

DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
             "FP16", "FP32", "FP64", "BYTES")
OUTPUTS = ("boxes", "scores", "labels", "batch_index", "polygons", "masks")
MASK_TYPES = ("binary", "semantic")      # output types whose predictions are masks


def parse_json(body: bytes | bytearray) -> Any:
    if not body:
        raise RequestError("the request body is empty; expected a JSON inference request")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RequestError(f"the request body is not valid JSON ({e})") from None


@dataclass
class InferRequest:
    """An inference request read and checked: its images' sizes are known (from their headers) and within
    the limits, none is decoded yet (UINT8 tensors are arrays already)."""

    arrays: list[np.ndarray]            # UINT8 tensors
    encoded: list[bytes]                # BYTES elements: the files' bytes
    sizes: list[tuple[int, int]]        # (width, height) of every image
    what: list[str]                     # how errors name each image
    meta: dict
    max_pixels: int

    @property
    def decode_bytes(self) -> int:
        """About the memory decoding the encoded images takes (Pillow holds 4 bytes a pixel, the RGB array
        3 more; a file in another mode, RGBA say, needs a conversion first), asked of the memory budget."""
        return sum(8 * w * h + len(raw) for raw, (w, h) in zip(self.encoded, self.sizes))

    def decode(self, decode: Callable[..., np.ndarray] = decode_image) -> list[np.ndarray]:
        if self.arrays:
            return self.arrays
        images = []
        for i, (raw, what) in enumerate(zip(self.encoded, self.what)):
            try:
                images.append(decode(raw, self.max_pixels, what=what))
            except RequestError as e:
                e.field = e.field or f"inputs[0].data[{i}]"
                raise
        return images


def parse_infer_request(doc: Any, *, max_pixels: int, max_images: int, max_request_pixels: int | None = None,
                        decode: Callable[..., np.ndarray] = decode_image) -> tuple[list[np.ndarray], dict]:
    """(RGB images, {"id", "outputs", "parameters"}) from an OIP request document; every size is checked
    (per image and for the request together) before any image is decoded."""
    req = read_infer_request(doc, max_pixels=max_pixels, max_images=max_images,
                             max_request_pixels=max_request_pixels)
    return req.decode(decode), req.meta


def read_infer_request(doc: Any, *, max_pixels: int, max_images: int,
                       max_request_pixels: int | None = None) -> InferRequest:
    """The request checked, its images' sizes read from their headers, nothing decoded."""
    if not isinstance(doc, dict):
        raise RequestError("the inference request must be a JSON object with 'inputs'", field="body")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError("'inputs' must be a non-empty list of tensors", field="inputs")
    if len(inputs) != 1:
        raise RequestError(f"expected exactly one input tensor (the image), got {len(inputs)}", field="inputs")
    t = inputs[0]
    if not isinstance(t, dict):
        raise RequestError("each input must be an object with name, shape, datatype and data", field="inputs[0]")
    name, datatype, shape, data = t.get("name"), t.get("datatype"), t.get("shape"), t.get("data")
    if not isinstance(name, str) or not name:
        raise RequestError("input tensor needs a 'name'", field="inputs[0].name")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise RequestError(f"input {name!r}: unknown datatype {datatype!r}; one of {', '.join(DATATYPES)}",
                           field="inputs[0].datatype")
    if not (isinstance(shape, list) and shape and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                          for d in shape)):
        raise RequestError(f"input {name!r}: 'shape' must be a non-empty list of non-negative integers",
                           field="inputs[0].shape")
    if data is None:
        raise RequestError(f"input {name!r} has no 'data'", field="inputs[0].data")
    if datatype == "BYTES":
        encoded, sizes = _bytes_images(name, shape, data, max_pixels, max_images, max_request_pixels)
        arrays: list[np.ndarray] = []
        what = [f"input {name!r} element {i}" for i in range(len(encoded))]
    elif datatype == "UINT8":
        arrays = _uint8_images(name, shape, data, max_pixels, max_images, max_request_pixels)
        encoded, sizes = [], [(a.shape[1], a.shape[0]) for a in arrays]
        what = [f"input {name!r} image {i}" for i in range(len(arrays))]
    else:
        raise RequestError(f"input {name!r}: datatype {datatype} is not an image; send BYTES (encoded files, "
                           f"base64) or UINT8 with shape [N, H, W, 3]", field="inputs[0].datatype")
    outputs = doc.get("outputs")
    wanted = None
    if outputs is not None:
        if not (isinstance(outputs, list) and all(isinstance(o, dict) and isinstance(o.get("name"), str)
                                                  for o in outputs)):
            raise RequestError("'outputs' must be a list of {'name': ...}", field="outputs")
        wanted = [o["name"] for o in outputs]
        unknown = [n for n in wanted if n not in OUTPUTS]
        if unknown:
            raise RequestError(f"unknown output(s) {', '.join(map(repr, unknown))}; one of {', '.join(OUTPUTS)}",
                               field="outputs")
    rid = doc.get("id")
    if rid is not None and not isinstance(rid, str):
        raise RequestError("'id' must be a string", field="id")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        raise RequestError("'parameters' must be an object", field="parameters")
    return InferRequest(arrays, encoded, sizes, what, {"id": rid, "outputs": wanted, "parameters": params},
                        max_pixels)


def _bytes_images(name: str, shape: list[int], data: Any, max_pixels: int, max_images: int,
                  max_request_pixels: int | None = None) -> tuple[list[bytes], list[tuple[int, int]]]:
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise RequestError(f"input {name!r}: BYTES images need shape [N] (or [N, 1]), got {shape}",
                           field="inputs[0].shape")
    if isinstance(data, TensorData):
        raise RequestError(f"input {name!r}: BYTES data must be base64 strings, got a list of numbers",
                           field="inputs[0].data")
    flat = _flatten(data)
    n = shape[0]
    if n == 0:
        raise RequestError(f"input {name!r} holds no image", field="inputs[0].shape")
    if n > max_images:
        raise TooLarge(f"input {name!r} holds {n} images, over the limit of {max_images} per request",
                       field="inputs[0].shape")
    if len(flat) != n:
        raise RequestError(f"input {name!r}: shape {shape} says {n} element(s) but 'data' holds {len(flat)}",
                           field="inputs[0].data")
    raws = []
    for i, s in enumerate(flat):
        if not isinstance(s, (str, JsonString)):
            kind = "a list of numbers" if isinstance(s, TensorData) else type(s).__name__
            raise RequestError(f"input {name!r} element {i}: expected a base64 string, got {kind}",
                               field=f"inputs[0].data[{i}]")
        raws.append(_b64decode(s, f"input {name!r} element {i}", f"inputs[0].data[{i}]"))
    # Headers only, before decoding any of them: each within the per-image limit, all within the request's.
    sizes = []
    for i, raw in enumerate(raws):
        what = f"input {name!r} element {i}"
        try:
            w, h = image_size(raw, what=what)
        except RequestError as e:
            e.field = f"inputs[0].data[{i}]"
            raise
        if w * h > max_pixels:
            raise TooLarge(f"{what} is {w}x{h} = {w * h:,} pixels, over the service's limit of {max_pixels:,}; "
                           f"it was not decoded", field=f"inputs[0].data[{i}]")
        sizes.append((w, h))
    if max_request_pixels is not None and n > 1:
        check_request_pixels(sizes, max_request_pixels, what=f"input {name!r}", field="inputs[0].data")
    return raws, sizes


def _b64decode(s: str | JsonString, what: str, field: str) -> bytes:
    try:
        if isinstance(s, JsonString):      # straight from the body's bytes (b64decode would copy them first)
            return binascii.a2b_base64(s.raw, strict_mode=True)
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        pass
    if isinstance(s, JsonString):
        s = s.text()
    joined = "".join(s.split())
    if len(joined) < len(s):
        try:
            return base64.b64decode(joined, validate=True)    # MIME line breaks are fine
        except (binascii.Error, ValueError):
            pass
    raise RequestError(f"{what} is not valid base64", field=field)


def _uint8_images(name: str, shape: list[int], data: Any, max_pixels: int, max_images: int,
                  max_request_pixels: int | None = None) -> list[np.ndarray]:
    if len(shape) == 3:
        shape = [1, *shape]  # one [H, W, 3] image
    if len(shape) != 4 or shape[3] != 3:
        raise RequestError(f"input {name!r}: UINT8 images need shape [N, H, W, 3], got {shape}",
                           field="inputs[0].shape")
    n, h, w, _ = shape
    if n == 0 or h == 0 or w == 0:
        raise RequestError(f"input {name!r} has an empty shape {shape}", field="inputs[0].shape")
    if n > max_images:
        raise TooLarge(f"input {name!r} holds {n} images, over the limit of {max_images} per request",
                       field="inputs[0].shape")
    if h * w > max_pixels:
        raise TooLarge(f"input {name!r}: {w}x{h} = {w * h:,} pixels, over the service's limit of {max_pixels:,}",
                       field="inputs[0].shape")
    check_request_pixels([(w, h)] * n, max_request_pixels, what=f"input {name!r}", field="inputs[0].shape")
    expected = math.prod(shape)
    if isinstance(data, TensorData):       # a long list, read by numpy (serving/jsonbody.py)
        if data.size != expected:
            raise RequestError(f"input {name!r}: shape {shape} needs {expected} values, 'data' holds {data.size}",
                               field="inputs[0].data")
        if data.size and data.values.max() > 255:
            raise RequestError(f"input {name!r}: UINT8 values must be within 0..255", field="inputs[0].data")
        arr = data.values.astype(np.uint8).reshape(shape)
    else:
        if not isinstance(data, list):
            raise RequestError(f"input {name!r}: 'data' must be a list of integers 0..255", field="inputs[0].data")
        try:
            arr = np.asarray(data)
        except (ValueError, OverflowError):
            raise RequestError(f"input {name!r}: 'data' is ragged; give a flat list or a full nested array",
                               field="inputs[0].data") from None
        if arr.dtype.kind not in "iu":
            raise RequestError(f"input {name!r}: UINT8 data must be integers 0..255 (got {arr.dtype.name} values)",
                               field="inputs[0].data")
        if arr.size != expected:
            raise RequestError(f"input {name!r}: shape {shape} needs {expected} values, 'data' holds {arr.size}",
                               field="inputs[0].data")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise RequestError(f"input {name!r}: UINT8 values must be within 0..255", field="inputs[0].data")
        arr = arr.reshape(shape).astype(np.uint8)
    return [check_array(np.ascontiguousarray(a), max_pixels, what=f"input {name!r} image {i}")
            for i, a in enumerate(arr)]


def _flatten(data: Any) -> list:
    if not isinstance(data, list):
        return [data]
    out: list = []
    stack = [iter(data)]
    while stack:                    # iteratively: a hostile document may nest deeply
        for d in stack[-1]:
            if isinstance(d, list):
                stack.append(iter(d))
                break
            out.append(d)
        else:
            stack.pop()
    return out


def infer_response(model_name: str, model_version: str, per_image: Sequence[Sequence[Annotation]],
                   meta: dict) -> dict[str, Any]:
    labels: list[str] = []
    scores: list[float] = []
    index: list[int] = []
    boxes: list[list[float]] = []
    polygons: list[str] = []
    masks: list[str] = []
    any_box = any_poly = any_mask = False
    for i, anns in enumerate(per_image):
        for a in anns:
            labels.append(a.label)
            scores.append(float(a.score if a.score is not None else 1.0))
            index.append(i)
            b = bounds(a)
            any_box |= b is not None
            boxes.append([float(v) for v in b] if b is not None else [0.0, 0.0, 0.0, 0.0])
            any_poly |= a.type == "segment"
            polygons.append(json.dumps(a.coordinates if a.type == "segment" else None))
            any_mask |= a.type == "binary"
            masks.append(json.dumps(a.coordinates if a.type == "binary" else None))
    d = len(labels)
    outputs = []
    if any_box:
        outputs.append(_tensor("boxes", "FP32", [d, 4], [v for row in boxes for v in row]))
    outputs += [_tensor("scores", "FP32", [d], scores), _tensor("labels", "BYTES", [d], labels),
                _tensor("batch_index", "INT32", [d], index)]
    if any_poly:
        outputs.append(_tensor("polygons", "BYTES", [d], polygons))
    if any_mask:
        outputs.append(_tensor("masks", "BYTES", [d], masks))
    wanted = meta.get("outputs")
    if wanted is not None:
        by_name = {o["name"]: o for o in outputs}
        # An asked-for output the model has nothing for (boxes of a classifier) comes back empty.
        outputs = [by_name.get(n) or _empty(n) for n in wanted]
    doc: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": outputs}
    doc["id"] = meta.get("id") or ""
    return doc


def _tensor(name: str, datatype: str, shape: list[int], data: list) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def _empty(name: str) -> dict[str, Any]:
    if name == "boxes":
        return _tensor(name, "FP32", [0, 4], [])
    datatype = {"scores": "FP32", "batch_index": "INT32"}.get(name, "BYTES")
    return _tensor(name, datatype, [0], [])


def model_metadata(name: str, version: str, platform: str, output_type: str, labels: Sequence[str]) -> dict:
    outputs = [{"name": "scores", "datatype": "FP32", "shape": [-1]},
               {"name": "labels", "datatype": "BYTES", "shape": [-1]},
               {"name": "batch_index", "datatype": "INT32", "shape": [-1]}]
    if output_type in ("box", "segment") + MASK_TYPES:
        outputs.insert(0, {"name": "boxes", "datatype": "FP32", "shape": [-1, 4]})
    if output_type == "segment":
        outputs.append({"name": "polygons", "datatype": "BYTES", "shape": [-1]})
    if output_type in MASK_TYPES:
        outputs.append({"name": "masks", "datatype": "BYTES", "shape": [-1],
                        "parameters": {"content_type": "application/json",
                                       "description": 'COCO RLE per row: {"size": [h, w], "counts": "..."}'}})
    return {
        "name": name, "versions": [version], "platform": platform,
        "inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [-1],
             "parameters": {"content_type": "base64", "description": "encoded JPEG / PNG / WebP / BMP / GIF / TIFF"}},
            {"name": "image", "datatype": "UINT8", "shape": [-1, -1, -1, 3],
             "parameters": {"description": "RGB pixels, row-major [N, H, W, 3]"}},
        ],
        "outputs": outputs,
        "parameters": {"output_type": output_type, "labels": list(labels)},
    }
