"""The OpenAPI 3.1 document of the service (GET /openapi.json): OIP v2, TorchServe-style predictions, metrics."""

from __future__ import annotations

from typing import Any

from desktop_app import __version__


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Bad request: not an image, empty body, wrong tensor shape or datatype"),
    "401": _json(_ref("Error"), "Missing or wrong bearer token"),
    "404": _json(_ref("Error"), "Unknown model name or version"),
    "408": _json(_ref("Error"), "The request body did not arrive within the service's body timeout"),
    "413": _json(_ref("Error"), "Request body (declared or sent), an image or the request's images together "
                                "(pixels) over the service's limits; a declared body is refused before it is read"),
    "415": _json(_ref("Error"), "A Content-Type this route does not read (multipart or an image to the JSON "
                                "route; JSON or multipart to /predictions)"),
    "421": _json(_ref("Error"), "A Host this service does not answer to (a tokenless loopback service answers "
                                "localhost, 127.0.0.1, [::1] and its bound address only)"),
    "500": _json(_ref("Error"), "The model failed inside predict (the service keeps serving)"),
    "503": _json(_ref("Error"), "Busy: more requests in flight than max_concurrency, or no room in the memory "
                                "budget in time; retry after Retry-After s"),
}

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "field": {"type": "string", "description": "the part of the request at fault, where one is: a header "
                                                   "('Content-Length', 'Host') or a place in the JSON "
                                                   "('inputs[0].shape')"}}},
    "Tensor": {
        "type": "object", "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                                     "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]},
            "parameters": {"type": "object"},
            "data": {"type": "array", "description": "row-major, flat or nested; BYTES elements are base64"},
        },
    },
    "InferenceRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": _ref("Tensor"),
                       "description": "one image tensor: BYTES [N] of base64 encoded files, or UINT8 [N, H, W, 3]"},
            "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        },
    },
    "InferenceResponse": {
        "type": "object", "required": ["model_name", "outputs"],
        "properties": {
            "model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
            "parameters": {"type": "object"},
            "outputs": {"type": "array", "items": _ref("Tensor"),
                        "description": "boxes FP32 [D, 4], scores FP32 [D], labels BYTES [D], batch_index INT32 [D]"},
        },
    },
    "ModelMetadata": {
        "type": "object", "required": ["name", "platform", "inputs", "outputs"],
        "properties": {"name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
                       "platform": {"type": "string"}, "inputs": {"type": "array"}, "outputs": {"type": "array"}},
    },
    "DataloopAnnotation": {
        "type": "object", "required": ["type", "label", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["class", "box", "segment", "point", "binary"]},
            "label": {"type": "string"},
            "coordinates": {"description": "box: [{x, y, z}, {x, y, z}]; segment: [[{x, y, z}, ...]]"},
            "attributes": {},
            "metadata": {"type": "object", "description": "metadata.user.model: {name, model_id, confidence}"},
        },
    },
}


def _op(summary: str, responses: dict, *, body: dict | None = None, tags: tuple[str, ...] = (),
        params: tuple[str, ...] = ()) -> dict:
    op: dict[str, Any] = {"summary": summary, "tags": list(tags), "responses": responses}
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                            for p in params]
    if body is not None:
        op["requestBody"] = body
    return op


def openapi_document(model_name: str, *, auth: bool) -> dict[str, Any]:
    flag = {"type": "object", "properties": {"live": {"type": "boolean"}, "ready": {"type": "boolean"}}}
    infer_body = {"required": True, "content": {"application/json": {"schema": _ref("InferenceRequest")}}}
    raw_body = {"required": True, "description": "the encoded image file itself (curl -T image.jpg)",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                            "image/*": {"schema": {"type": "string", "format": "binary"}}}}
    infer = _op("Run the model (Open Inference Protocol v2)",
                {"200": _json(_ref("InferenceResponse"), "Predictions as named tensors"), **_ERRORS},
                body=infer_body, tags=("inference",), params=("model_name",))
    predictions = _op("Run the model on a raw image body (TorchServe style); Dataloop annotation JSON back",
                      {"200": _json({"type": "array", "items": _ref("DataloopAnnotation")}, "Annotations"),
                       **_ERRORS}, body=raw_body, tags=("inference",), params=("model_name",))
    meta = _op("Model metadata", {"200": _json(_ref("ModelMetadata"), "Metadata"), "404": _ERRORS["404"]},
               tags=("metadata",), params=("model_name",))
    ready = _op("Is the model ready", {"200": _json({"type": "object"}, "{name, ready}"), "404": _ERRORS["404"]},
                tags=("health",), params=("model_name",))
    versioned = {k: {**v, "parameters": v.get("parameters", []) + [
        {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}]}
        for k, v in (("infer", infer), ("meta", meta), ("ready", ready), ("predictions", predictions))}
    paths = {
        "/v2/health/live": {"get": _op("Liveness", {"200": _json(flag, "{live: true}")}, tags=("health",))},
        "/v2/health/ready": {"get": _op("Readiness", {"200": _json(flag, "{ready: bool}")}, tags=("health",))},
        "/v2": {"get": _op("Server metadata", {"200": _json({"type": "object"}, "{name, version, extensions}")},
                           tags=("metadata",))},
        "/v2/models/{model_name}": {"get": meta},
        "/v2/models/{model_name}/versions/{model_version}": {"get": versioned["meta"]},
        "/v2/models/{model_name}/ready": {"get": ready},
        "/v2/models/{model_name}/versions/{model_version}/ready": {"get": versioned["ready"]},
        "/v2/models/{model_name}/infer": {"post": infer},
        "/v2/models/{model_name}/versions/{model_version}/infer": {"post": versioned["infer"]},
        "/predictions/{model_name}": {"post": predictions},
        "/predictions/{model_name}/{model_version}": {"post": versioned["predictions"]},
        "/ping": {"get": _op("Health (TorchServe style)", {"200": _json({"type": "object"}, "{status}")},
                             tags=("health",))},
        "/metrics": {"get": _op("Requests served, errors, latency percentiles, batches (JSON; "
                                "?format=prometheus for text)", {"200": _json({"type": "object"}, "Counters")},
                                tags=("metrics",))},
        "/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")})},
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": f"Model Desk service: {model_name}", "version": __version__,
                 "description": "Open Inference Protocol v2 with TorchServe-style /predictions."},
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc
