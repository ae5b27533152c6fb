"""Detectors: `tinydet`, a small anchor-free detector that trains in minutes on a CPU, and a torchvision one.

tinydet is CenterNet/TTFNet-style: a patchify stem and 3 conv stages (stride 32) with a light top-down
neck back to stride 8, a per-class centre heat-map (Gaussian targets, penalty-reduced focal loss) and a box head that
regresses distances to the four sides (GIoU loss) at every location inside each object's Gaussian, which
gives many positives per object and so fast convergence. Decoding keeps 3x3 heat-map peaks: no anchors,
and NMS is only a light clean-up.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, generalized_box_iou_loss

from desktop_app.ml.taskmodel import TaskModel


def build_detector(arch: str, num_classes: int, image_size: int) -> TaskModel:
    if arch == "tinydet":
        return TinyDet(num_classes, image_size)
    if arch == "fasterrcnn_mobilenet_v3_large_320_fpn":
        return TorchvisionDetector(arch, num_classes, image_size)
    raise ValueError(arch)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyDet(TaskModel):
    task = "detection"
    stride = 8
    head_prefixes = ("heatmap.",)

    def __init__(self, num_classes: int, image_size: int = 128, width: int = 32, neck: int = 96):
        super().__init__("tinydet", num_classes, image_size)
        w = width
        # A 4x4/4 "patchify" stem: no full-resolution feature maps, whose batch-norm and ReLU passes
        # (memory-bound) would cost a CPU more than the convolutions do.
        self.stem = nn.Sequential(nn.Conv2d(3, w, 4, 4, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        self.stage2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))                # /8
        self.stage3 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))            # /16
        self.stage4 = nn.Sequential(_conv(4 * w, 6 * w, 2), _conv(6 * w, 6 * w))            # /32
        self.top = nn.Conv2d(6 * w, neck, 1)
        self.lat3 = nn.Conv2d(4 * w, neck, 1)
        self.lat2 = nn.Conv2d(2 * w, neck, 1)
        self.smooth3 = _conv(neck, neck)
        self.smooth2 = _conv(neck, neck)
        self.trunk = _conv(neck, 64)
        self.heatmap = nn.Conv2d(64, num_classes, 1)
        self.box = nn.Conv2d(64, 4, 1)
        nn.init.constant_(self.heatmap.bias, -math.log((1 - 0.01) / 0.01))  # start at p=0.01
        nn.init.constant_(self.box.bias, 0.0)

    def _heads(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.normalize(images)
        c2 = self.stage2(self.stem(x))
        c3 = self.stage3(c2)
        c4 = self.stage4(c3)
        p3 = self.smooth3(self.lat3(c3) + F.interpolate(self.top(c4), size=c3.shape[-2:], mode="nearest"))
        p2 = self.smooth2(self.lat2(c2) + F.interpolate(p3, size=c2.shape[-2:], mode="nearest"))
        t = self.trunk(p2)
        heat = self.heatmap(t).float()
        # side distances in input pixels, positive; scaled so that the initial boxes are ~32 px wide
        dist = F.softplus(self.box(t).float()) * (2.0 * self.stride)
        return heat, dist

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None):
        heat, dist = self._heads(images)
        if targets is None:
            return heat, dist
        return self._loss(heat, dist, targets)

    @torch.no_grad()
    def evaluate(self, images, targets):
        heat, dist = self._heads(images)
        return self._loss(heat, dist, targets), self._decode(heat, dist, 0.01, images.shape[-2:])

    @torch.no_grad()
    def predict(self, images, conf_threshold: float = 0.0):
        heat, dist = self._heads(images)
        return self._decode(heat, dist, conf_threshold, images.shape[-2:])

    @property
    def feature_size(self) -> int:
        return self.stage4[-1][0].out_channels

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map (stride 32), average-pooled over the image."""
        c4 = self.stage4(self.stage3(self.stage2(self.stem(self.normalize(images)))))
        return c4.float().mean(dim=(2, 3))

    # -- targets and loss ----------------------------------------------------------------------------

    def _locations(self, h: int, w: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * self.stride
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * self.stride
        return ys, xs

    def _targets(self, targets: list[dict], shape, device):
        b, c, h, w = shape
        heat_t = torch.zeros(shape, device=device)
        box_t = torch.zeros((b, h, w, 4), device=device)
        weight = torch.zeros((b, h, w), device=device)
        ys, xs = self._locations(h, w, device)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        alpha = 0.54
        for i, t in enumerate(targets):
            boxes = t["boxes"].to(device)
            labels = t["labels"].to(device)
            if len(boxes) == 0:
                continue
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            for k in torch.argsort(areas, descending=True).tolist():  # small boxes win overlaps
                l, tp, r, bt = boxes[k].tolist()
                cx, cy = (l + r) / 2, (tp + bt) / 2
                # centre cell, so that the peak of 1 sits exactly on a grid location
                ci = min(max(int(cx / self.stride), 0), w - 1)
                cj = min(max(int(cy / self.stride), 0), h - 1)
                px, py = (ci + 0.5) * self.stride, (cj + 0.5) * self.stride
                sx = max(alpha * (r - l) / 6, 0.8 * self.stride / 2)
                sy = max(alpha * (bt - tp) / 6, 0.8 * self.stride / 2)
                g = torch.exp(-((gx - px) ** 2 / (2 * sx * sx) + (gy - py) ** 2 / (2 * sy * sy)))
                cls = int(labels[k])
                heat_t[i, cls] = torch.maximum(heat_t[i, cls], g)
                region = (g > 0.05) & (gx > l) & (gx < r) & (gy > tp) & (gy < bt)
                region[cj, ci] = True
                gw = g * region
                box_t[i][region] = boxes[k]
                weight[i][region] = (gw / gw.sum())[region]
        return heat_t, box_t, weight

    def _loss(self, heat: torch.Tensor, dist: torch.Tensor, targets: list[dict]) -> torch.Tensor:
        heat_t, box_t, weight = self._targets(targets, heat.shape, heat.device)
        # penalty-reduced focal loss (CenterNet), from logits for stability
        pos = heat_t.eq(1.0).float()
        p = heat.sigmoid().clamp(1e-4, 1 - 1e-4)
        pos_loss = F.logsigmoid(heat) * (1 - p) ** 2 * pos
        neg_loss = F.logsigmoid(-heat) * p ** 2 * (1 - heat_t) ** 4 * (1 - pos)
        n_pos = pos.sum().clamp(min=1.0)
        heat_loss = -(pos_loss.sum() + neg_loss.sum()) / n_pos
        mask = weight > 0
        if not mask.any():
            return heat_loss + 0.0 * dist.sum()
        b, _, h, w = heat.shape
        ys, xs = self._locations(h, w, heat.device)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        d = dist.permute(0, 2, 3, 1)[mask]                                   # [P, 4] l, t, r, b
        loc_x = gx.expand(b, h, w)[mask]
        loc_y = gy.expand(b, h, w)[mask]
        pred = torch.stack([loc_x - d[:, 0], loc_y - d[:, 1], loc_x + d[:, 2], loc_y + d[:, 3]], dim=1)
        giou = generalized_box_iou_loss(pred, box_t[mask], reduction="none")
        box_loss = (giou * weight[mask]).sum() / n_pos
        return heat_loss + 5.0 * box_loss

    # -- decoding ---------------------------------------------------------------------------------------

    def _decode(self, heat: torch.Tensor, dist: torch.Tensor, conf_threshold: float, size, top_k: int = 100):
        b, c, h, w = heat.shape
        scores = heat.sigmoid()
        peaks = scores == F.max_pool2d(scores, 3, stride=1, padding=1)
        scores = (scores * peaks).flatten(1)
        k = min(top_k, scores.shape[1])
        top, idx = scores.topk(k, dim=1)
        cls = idx // (h * w)
        pix = idx % (h * w)
        yy = (pix // w).float() + 0.5
        xx = (pix % w).float() + 0.5
        d = dist.flatten(2).gather(2, pix[:, None, :].expand(b, 4, k))       # [B, 4, K]
        px, py = xx * self.stride, yy * self.stride
        boxes = torch.stack([px - d[:, 0], py - d[:, 1], px + d[:, 2], py + d[:, 3]], dim=2)
        boxes[..., 0::2] = boxes[..., 0::2].clamp(0, size[1])
        boxes[..., 1::2] = boxes[..., 1::2].clamp(0, size[0])
        out = []
        for i in range(b):
            keep = top[i] >= max(conf_threshold, 1e-3)
            bx, sc, lb = boxes[i][keep], top[i][keep], cls[i][keep]
            nms = batched_nms(bx, sc, lb, 0.7)
            out.append({"boxes": bx[nms], "scores": sc[nms], "labels": lb[nms]})
        return out


class TorchvisionDetector(TaskModel):
    """torchvision's Faster R-CNN (MobileNetV3-Large 320 FPN) with a head for our classes (+ background)."""

    task = "detection"
    head_prefixes = ("net.roi_heads.box_predictor.",)

    def __init__(self, arch: str, num_classes: int, image_size: int = 320):
        super().__init__(arch, num_classes, image_size)
        from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

        self.net = fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes + 1,
            min_size=image_size, max_size=image_size, box_score_thresh=0.01)

    def _inputs(self, images: torch.Tensor) -> list[torch.Tensor]:
        return list(images.float().div(255.0))

    def _target(self, t: dict) -> dict:
        """Our target as torchvision's: class 0 is its background."""
        return {"boxes": t["boxes"], "labels": t["labels"] + 1}

    def forward(self, images, targets=None):
        if targets is None:
            return self.net(self._inputs(images))
        losses = self.net(self._inputs(images), [self._target(t) for t in targets])
        return sum(losses.values())

    def _shift(self, outputs):
        return [{"boxes": o["boxes"], "scores": o["scores"], "labels": o["labels"] - 1} for o in outputs]

    @torch.no_grad()
    def evaluate(self, images, targets):
        was_training = self.training
        # the loss needs train mode; keep batch-norm statistics frozen while we measure it
        self.train()
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        loss = self.forward(images, targets)
        self.eval()
        preds = self._shift(self.net(self._inputs(images)))
        self.train(was_training)
        return loss, preds

    @torch.no_grad()
    def predict(self, images, conf_threshold: float = 0.0):
        outs = self._shift(self.net(self._inputs(images)))
        return [{k: v[o["scores"] >= conf_threshold] for k, v in o.items()} for o in outs]

    @property
    def feature_size(self) -> int:
        return [m for m in self.net.backbone.body.modules() if isinstance(m, nn.Conv2d)][-1].out_channels

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map (before the FPN), average-pooled, on the images as the detector sees
        them (its own resize and normalisation)."""
        batch, _ = self.net.transform(self._inputs(images))
        maps = self.net.backbone.body(batch.tensors)
        return list(maps.values())[-1].float().mean(dim=(2, 3))
