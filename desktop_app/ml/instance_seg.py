"""Instance segmenters: `tinyinst`, a small one that trains in minutes on a CPU, and torchvision's Mask R-CNN.

tinyinst is tinydet (ml/detection.py: its backbone, neck, centre heat-map and box head, unchanged) with
YOLACT-style masks: a prototype branch turns the neck's stride-8 map and the stem's stride-4 map into
`PROTOTYPES` prototype maps at stride 4, and a coefficient head gives every stride-8 location one coefficient per
prototype. An instance found at a location has the mask sigmoid(coefficients . prototypes), upsampled
(bilinear) to the input size and cut to its box. Training adds to tinydet's losses a binary cross-entropy
and a dice loss on the masks of tinydet's positive locations (each object's centre and the cells of its
Gaussian around it), inside the object's ground-truth box, weighted as the box loss weights them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms

from desktop_app.ml.detection import TinyDet, TorchvisionDetector, _conv
from desktop_app.ml.taskmodel import TaskModel

ARCHS = ("tinyinst", "maskrcnn_resnet50_fpn")
PROTOTYPES = 12
PROTO_STRIDE = 4


def build_instance_segmenter(arch: str, num_classes: int, image_size: int) -> TaskModel:
    if arch == "tinyinst":
        return TinyInst(num_classes, image_size)
    if arch == "maskrcnn_resnet50_fpn":
        return TorchvisionInstanceSegmenter(arch, num_classes, image_size)
    raise ValueError(arch)


def _box_crop(boxes: torch.Tensor, h: int, w: int, stride: float = 1.0) -> torch.Tensor:
    """[K, h, w] bool: the cells (of a grid of `stride`-pixel cells) whose centres lie inside each box."""
    ys = (torch.arange(h, device=boxes.device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(w, device=boxes.device, dtype=torch.float32) + 0.5) * stride
    b = boxes[:, :, None, None]
    inside_x = (xs[None, None, :] >= b[:, 0]) & (xs[None, None, :] <= b[:, 2])      # [K, 1, w]
    inside_y = (ys[None, :, None] >= b[:, 1]) & (ys[None, :, None] <= b[:, 3])      # [K, h, 1]
    return inside_x & inside_y


class TinyInst(TinyDet):
    task = "instance_segmentation"
    head_prefixes = ("heatmap.",)

    def __init__(self, num_classes: int, image_size: int = 96, width: int = 32, neck: int = 96,
                 prototypes: int = PROTOTYPES):
        super().__init__(num_classes, image_size, width, neck)
        self.arch = "tinyinst"
        self.proto_top = nn.Conv2d(neck, 64, 1)
        self.proto_lat = nn.Conv2d(width, 64, 1)
        self.proto = nn.Sequential(_conv(64, 64), _conv(64, 64), nn.Conv2d(64, prototypes, 1))
        self.coef = nn.Conv2d(64, prototypes, 1)

    def heads(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(heatmap logits [B, C, H/8, W/8], box distances [B, 4, H/8, W/8] in pixels, mask coefficients
        [B, P, H/8, W/8], prototypes [B, P, H/4, W/4])."""
        x = self.normalize(images)
        c1 = self.stem(x)
        c2 = self.stage2(c1)
        c3 = self.stage3(c2)
        c4 = self.stage4(c3)
        p3 = self.smooth3(self.lat3(c3) + F.interpolate(self.top(c4), size=c3.shape[-2:], mode="nearest"))
        p2 = self.smooth2(self.lat2(c2) + F.interpolate(p3, size=c2.shape[-2:], mode="nearest"))
        t = self.trunk(p2)
        heat = self.heatmap(t).float()
        dist = F.softplus(self.box(t).float()) * (2.0 * self.stride)
        coef = self.coef(t).float()
        up = F.interpolate(self.proto_top(p2), size=c1.shape[-2:], mode="bilinear", align_corners=False)
        protos = self.proto(up + self.proto_lat(c1)).float()
        return heat, dist, coef, protos

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None):
        out = self.heads(images)
        if targets is None:
            return out
        return self._mask_loss(out, targets, images.shape[-2:])

    @torch.no_grad()
    def evaluate(self, images, targets):
        out = self.heads(images)
        return self._mask_loss(out, targets, images.shape[-2:]), self._decode_masks(out, 0.01, images.shape[-2:])

    @torch.no_grad()
    def predict(self, images, conf_threshold: float = 0.0):
        return self._decode_masks(self.heads(images), conf_threshold, images.shape[-2:])

    # -- loss -------------------------------------------------------------------------------------------

    def _mask_loss(self, out, targets: list[dict], size) -> torch.Tensor:
        heat, dist, coef, protos = out
        loss = self._loss(heat, dist, targets)
        heat_t, box_t, weight = self._targets(targets, heat.shape, heat.device)
        n_obj = sum(len(t["boxes"]) for t in targets)
        terms = []
        for i, t in enumerate(targets):
            pos = weight[i] > 0
            if not pos.any():
                continue
            boxes = t["boxes"].to(heat.device).float()
            # the object each positive location regresses (tinydet's targets give its box)
            which = (box_t[i][pos][:, None, :] - boxes[None]).abs().sum(-1).argmin(1)
            c = coef[i].permute(1, 2, 0)[pos]                                    # [P_i, prototypes]
            logits = torch.einsum("kp,phw->khw", c, protos[i])[:, None]
            logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
            gt = t["masks"].to(heat.device)[which].float()
            crop = _box_crop(boxes[which], size[0], size[1]).float()
            area = crop.sum((1, 2)).clamp(min=1.0)
            bce = (F.binary_cross_entropy_with_logits(logits, gt, reduction="none") * crop).sum((1, 2)) / area
            p = logits.sigmoid() * crop
            dice = 1 - (2 * (p * gt).sum((1, 2)) + 1) / (p.sum((1, 2)) + gt.sum((1, 2)) + 1)
            terms.append(((bce + dice) * weight[i][pos]).sum())
        if not terms:
            return loss + 0.0 * (coef.sum() + protos.sum())
        return loss + 2.0 * torch.stack(terms).sum() / max(n_obj, 1)

    # -- decoding ---------------------------------------------------------------------------------------

    def _decode_masks(self, out, conf_threshold: float, size, top_k: int = 100) -> list[dict]:
        heat, dist, coef, protos = out
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
        d = dist.flatten(2).gather(2, pix[:, None, :].expand(b, 4, k))
        px, py = xx * self.stride, yy * self.stride
        boxes = torch.stack([px - d[:, 0], py - d[:, 1], px + d[:, 2], py + d[:, 3]], dim=2)
        boxes[..., 0::2] = boxes[..., 0::2].clamp(0, size[1])
        boxes[..., 1::2] = boxes[..., 1::2].clamp(0, size[0])
        out = []
        for i in range(b):
            keep = top[i] >= max(conf_threshold, 1e-3)
            bx, sc, lb, pp = boxes[i][keep], top[i][keep], cls[i][keep], pix[i][keep]
            nms = batched_nms(bx, sc, lb, 0.7)
            bx, sc, lb, pp = bx[nms], sc[nms], lb[nms], pp[nms]
            cf = coef[i].flatten(1)[:, pp].t()                                   # [K, prototypes]
            logits = torch.einsum("kp,phw->khw", cf, protos[i])[:, None]
            logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
            masks = logits.sigmoid() * _box_crop(bx, size[0], size[1])
            out.append({"boxes": bx, "scores": sc, "labels": lb, "masks": masks.float()})
        return out


class TorchvisionInstanceSegmenter(TorchvisionDetector):
    """torchvision's Mask R-CNN (ResNet-50 FPN) with box and mask heads for our classes (+ background); the loss,
    evaluate, predict and features of the Faster R-CNN wrapper, with masks in the targets and predictions."""

    task = "instance_segmentation"
    head_prefixes = ("net.roi_heads.box_predictor.", "net.roi_heads.mask_predictor.mask_fcn_logits.")

    def __init__(self, arch: str, num_classes: int, image_size: int = 512):
        TaskModel.__init__(self, arch, num_classes, image_size)
        from torchvision.models.detection import maskrcnn_resnet50_fpn

        # torchvision's GeneralizedRCNNTransform normalises (ImageNet statistics) and resizes itself
        self.net = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=num_classes + 1,
                                         min_size=image_size, max_size=image_size, box_score_thresh=0.01)

    def _target(self, t: dict) -> dict:
        return {"boxes": t["boxes"].float(), "labels": t["labels"] + 1, "masks": t["masks"]}

    def _shift(self, outputs) -> list[dict]:
        return [{"boxes": o["boxes"], "scores": o["scores"], "labels": o["labels"] - 1,
                 "masks": o["masks"][:, 0].float()} for o in outputs]
