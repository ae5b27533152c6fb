"""The base of every built-in model: uint8 image batches in, normalisation on the device, loss or predictions out."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class TaskModel(nn.Module):
    """Base of the wrappers: uint8 in, normalisation on the device, loss / predictions out."""

    task = ""
    head_prefixes: tuple[str, ...] = ()   # parameters that depend on the label set

    def __init__(self, arch: str, num_classes: int, image_size: int):
        super().__init__()
        self.arch = arch
        self.num_classes = num_classes
        self.image_size = image_size
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_inv_std", 1.0 / std, persistent=False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.pixel_mean) * self.pixel_inv_std

    def evaluate(self, images: torch.Tensor, targets: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def predict(self, images: torch.Tensor, conf_threshold: float = 0.0) -> Any:
        raise NotImplementedError

    @property
    def feature_size(self) -> int:
        """The length of `features`' vectors."""
        raise NotImplementedError

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """One pooled feature vector per image ([B, feature_size], float): the model's embedding."""
        raise NotImplementedError
