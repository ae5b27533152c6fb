"""The instance segmenters: tinyinst learns the sample masks from random initialisation (COCO segm AP50 on
held-out images, by Model Desk's own evaluator); Mask R-CNN builds, trains a step and predicts the contract's dicts."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.domain import masks as mask_codec
from desktop_app.evaluation.coco import COCOEvaluator
from desktop_app.ml.instance_seg import build_instance_segmenter
from desktop_app.ml.sample_segmentation import generate_shapes_segmentation

SIZE = 64


def _tensors(items, labels, size):
    """uint8 images [N, 3, S, S] and the contract's targets (boxes xyxy in S-pixels, labels, masks [n, S, S])."""
    images, targets = [], []
    for item in items:
        img = Image.open(item.source).convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        images.append(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1))
        ms, boxes, cls = [], [], []
        for a in item.annotations:
            m = mask_codec.decode(a.coordinates)
            if m.shape != (size, size):
                m = np.asarray(Image.fromarray(m.astype(np.uint8)).resize((size, size), Image.NEAREST), bool)
            if not m.any():
                continue
            ys, xs = np.nonzero(m)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            ms.append(m)
            cls.append(labels.index(a.label))
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        "labels": torch.tensor(cls, dtype=torch.int64),
                        "masks": torch.from_numpy(np.stack(ms).astype(np.uint8)) if ms
                        else torch.zeros((0, size, size), dtype=torch.uint8)})
    return torch.stack(images), targets


def _mask_ap(preds, targets, labels) -> dict:
    """COCO segm stats (AP, AP50, ...) of predictions against targets, by desktop_app.evaluation's COCO core."""
    h, w = targets[0]["masks"].shape[-2:]
    images = [{"id": i + 1, "width": int(w), "height": int(h)} for i in range(len(targets))]
    categories = [{"id": k + 1, "name": n} for k, n in enumerate(labels)]
    anns, results = [], []
    for i, t in enumerate(targets):
        for m, lab in zip(t["masks"].numpy().astype(bool), t["labels"].tolist()):
            ys, xs = np.nonzero(m)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": lab + 1, "iscrowd": 0,
                         "area": float(m.sum()), "segmentation": mask_codec.encode(m),
                         "bbox": [float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1)]})
    for i, p in enumerate(preds):
        for m, s, lab in zip(p["masks"].numpy() >= 0.5, p["scores"].tolist(), p["labels"].tolist()):
            results.append({"image_id": i + 1, "category_id": int(lab) + 1, "score": float(s),
                            "segmentation": mask_codec.encode(m)})
    return COCOEvaluator("segm").evaluate_dicts(images, categories, anns, results).stats_dict


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    bundle = generate_shapes_segmentation(tmp_path_factory.mktemp("segshapes"), n=360, size=SIZE, form="mask")
    train = [it for it in bundle.items if it.subset == "train"]
    held_out = [it for it in bundle.items if it.subset != "train"]
    return bundle.labels, _tensors(train, bundle.labels, SIZE), _tensors(held_out, bundle.labels, SIZE)


def test_tinyinst_learns_the_sample_masks_from_random_init(shapes):
    labels, (x, y), (vx, vy) = shapes
    torch.manual_seed(0)
    model = build_instance_segmenter("tinyinst", len(labels), SIZE)
    assert model.task == "instance_segmentation" and model.arch == "tinyinst"
    model.eval()
    before = _mask_ap(model.predict(vx, 0.05), vy, labels)["AP50"]
    t0 = time.perf_counter()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    epochs, batch = 12, 16
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            loss = model(x[idx], [y[i] for i in idx.tolist()])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - t0
    model.eval()
    preds = model.predict(vx, 0.05)
    stats = _mask_ap(preds, vy, labels)
    print(f"tinyinst: {len(x)} train / {len(vx)} held-out images at {SIZE} px, {epochs} epochs in {seconds:.1f} s; "
          f"mask AP50 {before:.3f} -> {stats['AP50']:.3f}, mask AP {stats['AP']:.3f}")
    p = preds[0]
    assert p["masks"].dtype == torch.float32 and p["masks"].shape[1:] == (SIZE, SIZE)
    assert float(p["masks"].min()) >= 0.0 and float(p["masks"].max()) <= 1.0
    assert p["labels"].dtype == torch.int64 and len(p["boxes"]) == len(p["scores"]) == len(p["masks"])
    # measured 0.40 (AP 0.28) in ~15 s on two idle cores; an untrained model scores 0.00
    assert stats["AP50"] > 0.3 and stats["AP50"] > before + 0.25
    loss, eval_preds = model.evaluate(vx[:4], vy[:4])
    assert torch.isfinite(loss) and len(eval_preds) == 4
    feats = model.features(vx[:3])
    assert feats.shape == (3, model.feature_size)


MRCNN_SIZE = 128


def test_maskrcnn_trains_a_step_and_predicts_the_contract(shapes):
    labels = shapes[0]
    torch.manual_seed(0)
    model = build_instance_segmenter("maskrcnn_resnet50_fpn", len(labels), MRCNN_SIZE)
    assert model.task == "instance_segmentation" and model.arch == "maskrcnn_resnet50_fpn"
    x, y = shapes[1]
    x = torch.nn.functional.interpolate(x[:2].float(), size=(MRCNN_SIZE, MRCNN_SIZE)).to(torch.uint8)
    scale = MRCNN_SIZE / SIZE
    y = [{"boxes": t["boxes"] * scale, "labels": t["labels"],
          "masks": torch.nn.functional.interpolate(t["masks"][None].float(), size=(MRCNN_SIZE, MRCNN_SIZE))[0]
          .to(torch.uint8)} for t in y[:2]]
    head = model.net.roi_heads.mask_predictor.mask_fcn_logits.weight
    before = head.detach().clone()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = model(x, y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert not torch.equal(before, head.detach())
    model.eval()
    preds = model.predict(x, 0.0)
    assert len(preds) == 2
    for p in preds:
        k = len(p["scores"])
        assert p["boxes"].shape == (k, 4) and p["labels"].dtype == torch.int64 and p["masks"].dtype == torch.float32
        assert p["masks"].shape == (k, MRCNN_SIZE, MRCNN_SIZE)
        if k:
            assert 0 <= int(p["labels"].min()) and int(p["labels"].max()) < len(labels)
            assert 0.0 <= float(p["masks"].min()) and float(p["masks"].max()) <= 1.0
    loss, preds = model.evaluate(x, y)
    assert torch.isfinite(loss) and len(preds) == 2
    assert model.features(x).shape == (2, model.feature_size) == (2, 2048)
