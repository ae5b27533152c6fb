"""Semantic segmenters: `tinyseg`, a small U-Net that learns in a minute on a CPU, and torchvision's LRASPP.

Both take uint8 [B,3,S,S] images and a [B,S,S] int64 class-index target (0 = background, 255 = ignored
pixels), train with pixel cross-entropy and predict softmax probabilities [B,C,S,S] at the input size.

tinyseg keeps TinyDet's CPU-friendly shape: a 2x2/2 patchify stem (no full-resolution feature map), three
BN/ReLU conv stages down to stride 16, a light top-down decoder with skip connections back to stride 2, and a
final bilinear upsample of the logits to S x S.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.ml.taskmodel import TaskModel

IGNORE_INDEX = 255


def build_semantic_segmenter(arch: str, num_classes: int, image_size: int) -> TaskModel:
    """`num_classes` counts the background (class 0): len(labels) + 1."""
    if arch == "tinyseg":
        return TinySeg(num_classes, image_size)
    if arch == "lraspp_mobilenet_v3_large":
        return TorchvisionSegmenter(arch, num_classes, image_size)
    raise ValueError(arch)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _SemanticBase(TaskModel):
    task = "semantic_segmentation"

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, images: torch.Tensor, targets: torch.Tensor | None = None):
        out = self.logits(images)
        if targets is None:
            return out
        return F.cross_entropy(out.float(), targets.long(), ignore_index=IGNORE_INDEX)

    @torch.no_grad()
    def evaluate(self, images, targets):
        out = self.logits(images).float()
        loss = F.cross_entropy(out, targets.long(), ignore_index=IGNORE_INDEX)
        return loss, out.softmax(dim=1)

    @torch.no_grad()
    def predict(self, images, conf_threshold: float = 0.0):
        return self.logits(images).float().softmax(dim=1)


class TinySeg(_SemanticBase):
    head_prefixes = ("classifier.",)

    def __init__(self, num_classes: int, image_size: int = 64, width: int = 16):
        super().__init__("tinyseg", num_classes, image_size)
        w = width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 2, 2, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                                  _conv(w, w))                                              # /2
        self.enc2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))                  # /4
        self.enc3 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))              # /8
        self.enc4 = nn.Sequential(_conv(4 * w, 6 * w, 2), _conv(6 * w, 6 * w))              # /16
        self.dec3 = _conv(6 * w + 4 * w, 4 * w)
        self.dec2 = _conv(4 * w + 2 * w, 3 * w)
        self.dec1 = _conv(3 * w + w, 2 * w)
        self.classifier = nn.Conv2d(2 * w, num_classes, 1)

    @staticmethod
    def _up(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1)

    def _encode(self, images: torch.Tensor):
        c1 = self.stem(self.normalize(images))
        c2 = self.enc2(c1)
        c3 = self.enc3(c2)
        return c1, c2, c3, self.enc4(c3)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        c1, c2, c3, c4 = self._encode(images)
        d = self.dec3(self._up(c4, c3))
        d = self.dec2(self._up(d, c2))
        d = self.dec1(self._up(d, c1))
        return F.interpolate(self.classifier(d), size=images.shape[-2:], mode="bilinear", align_corners=False)

    @property
    def feature_size(self) -> int:
        return self.enc4[-1][0].out_channels

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's deepest map (stride 16), average-pooled over the image."""
        return self._encode(images)[-1].float().mean(dim=(2, 3))


class TorchvisionSegmenter(_SemanticBase):
    """torchvision's LRASPP on MobileNetV3-Large with a head for our classes (background included)."""

    head_prefixes = ("net.classifier.low_classifier.", "net.classifier.high_classifier.")

    def __init__(self, arch: str, num_classes: int, image_size: int = 224):
        super().__init__(arch, num_classes, image_size)
        from torchvision.models.segmentation import lraspp_mobilenet_v3_large

        self.net = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(images))["out"]   # already at the input size

    @property
    def feature_size(self) -> int:
        return self.net.classifier.cbr[0].in_channels

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map (MobileNet V3's 'high'), average-pooled over the image."""
        return self.net.backbone(self.normalize(images))["high"].float().mean(dim=(2, 3))
