"""Embeddings of the built-in models: one pooled feature vector per image, in batches (TaskModel.features)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from desktop_app.ml.predict import ModelBundle, _to_pil, image_batch

# The length of each architecture's vectors, known without building the network (TaskModel.feature_size says
# the same once built): the classifiers' penultimate features, the detectors' and segmenters' pooled last
# backbone map.
EMBEDDING_SIZES = {
    "resnet18": 512,
    "resnet50": 2048,
    "mobilenet_v3_small": 1024,
    "tinydet": 192,
    "fasterrcnn_mobilenet_v3_large_320_fpn": 960,
    "tinyinst": 192,
    "maskrcnn_resnet50_fpn": 2048,
    "tinyseg": 96,
    "lraspp_mobilenet_v3_large": 960,
}


@torch.no_grad()
def embed_images(bundle: ModelBundle, images: Sequence[Any], batch_size: int = 32) -> np.ndarray:
    """[len(images), feature_size] float32: each image resized to the model's input size, as predict does."""
    s = bundle.image_size
    out: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        pils = [_to_pil(im) for im in images[start:start + batch_size]]
        batch = image_batch(pils, s, bundle.device)
        out.append(bundle.model.features(batch).float().cpu().numpy())
    if not out:
        return np.zeros((0, bundle.model.feature_size), np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)
