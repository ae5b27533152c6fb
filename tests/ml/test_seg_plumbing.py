"""Segmentation plumbing: label maps and instance masks built from annotations (order, ignore, flips, sizes), the
collates, the tasks' hyper-parameter schemas, the built-in packages and the predictions' RLE encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.domain import masks
from desktop_app.errors import ValidationError
from desktop_app.formats.base import Annotation, ImageEntry
from desktop_app.ml import data as mldata
from desktop_app.ml.errors import TrainingError

LABELS = ["cat", "dog"]


def _entry(tmp_path, anns, w=40, h=20, metadata=None, name="a.png"):
    Image.new("RGB", (w, h), (30, 60, 90)).save(tmp_path / name)
    return ImageEntry(source=tmp_path / name, name=name, width=w, height=h, annotations=anns,
                      metadata=metadata or {})


def _rect(h, w, top, left, bottom, right):
    m = np.zeros((h, w), bool)
    m[top:bottom, left:right] = True
    return m


def test_the_label_map_paints_in_order_ignores_and_resizes_by_nearest(tmp_path):
    cat = _rect(20, 40, 0, 0, 10, 20)                        # top-left quarter
    dog = _rect(20, 40, 5, 10, 20, 30)                       # overlaps the cat: painted later, it wins
    ignore = _rect(20, 40, 0, 36, 20, 40)                    # a strip on the right
    poly = [[[30, 0], [36, 0], [36, 4], [30, 4]]]            # a cat polygon, beside the ignore strip
    anns = [Annotation("binary", "cat", masks.encode(cat)), Annotation("binary", "dog", masks.encode(dog)),
            Annotation("segment", "cat", poly), Annotation("binary", "bird", masks.encode(_rect(20, 40, 15, 0, 20, 4))),
            Annotation("box", "dog", [0, 0, 40, 20])]         # a box is no mask: left out
    e = _entry(tmp_path, anns, metadata={"ignore_mask": masks.encode(ignore)})
    ds = mldata.SemanticSegmentationDataset([e], LABELS, 40, train=False)
    img, target, name = ds[0]
    assert name == "a.png" and img.shape == (3, 40, 40) and img.dtype == torch.uint8
    expect = np.zeros((20, 40), np.uint8)
    expect[cat] = 1
    expect[dog] = 2
    expect[0:4, 30:36] = 1
    expect[15:20, 0:4] = 255                                 # an unknown label's pixels are not taught as background
    expect[ignore] = 255
    want = np.asarray(Image.fromarray(expect).resize((40, 40), Image.Resampling.NEAREST))
    assert target.dtype == torch.uint8 and np.array_equal(target.numpy(), want)
    batch = mldata.collate_semantic([ds[0], (None, None, "broken.png")])
    assert batch.targets.dtype == torch.int64 and batch.targets.shape == (1, 40, 40) and batch.skipped == ["broken.png"]


def test_flips_move_the_masks_with_the_image(tmp_path):
    h, w = 16, 16
    cat = _rect(h, w, 2, 0, 6, 4)                             # on the left edge
    Image.fromarray(np.where(cat[..., None], 255, 0).astype(np.uint8).repeat(3, 2)).save(tmp_path / "f.png")
    e = ImageEntry(source=tmp_path / "f.png", name="f.png", width=w, height=h,
                   annotations=[Annotation("binary", "cat", masks.encode(cat))])
    sem = mldata.SemanticSegmentationDataset([e], LABELS, 16, train=True, augment={"flip": True})
    inst = mldata.InstanceSegmentationDataset([e], LABELS, 16, train=True, augment={"flip": True})
    seen = set()
    for _ in range(40):
        img, t, _ = sem[0]
        white = img[0].numpy() == 255
        assert np.array_equal(white, t.numpy() == 1)          # the mask is where the drawn pixels are
        seen.add(bool(white[:, 0].any()))
        img, t, _ = inst[0]
        m = t["masks"][0].numpy().astype(bool)
        assert np.array_equal(img[0].numpy() == 255, m)
        assert t["boxes"][0].tolist() == masks.bbox(m)
    assert seen == {True, False}                              # both unflipped and flipped were drawn


def test_instances_are_masks_boxes_and_labels_at_the_input_size(tmp_path):
    dog = _rect(20, 40, 10, 20, 20, 40)                       # bottom-right quarter
    anns = [Annotation("binary", "dog", masks.encode(dog)),
            Annotation("segment", "cat", [[[0, 0], [20, 0], [20, 10], [0, 10]]]),
            Annotation("binary", "bird", masks.encode(dog)),               # unknown label: left out
            Annotation("binary", "cat", masks.encode(dog), iscrowd=True)]  # a crowd region is no instance
    ds = mldata.InstanceSegmentationDataset([_entry(tmp_path, anns)], LABELS, 20, train=False)
    _, t, _ = ds[0]
    assert t["labels"].tolist() == [1, 0]
    assert t["masks"].dtype == torch.uint8 and t["masks"].shape == (2, 20, 20)
    assert t["boxes"].tolist() == [[10.0, 10.0, 20.0, 20.0], [0.0, 0.0, 10.0, 10.0]]
    assert int(t["masks"][0].sum()) == 100 and int(t["masks"][1].sum()) == 100
    batch = mldata.collate_for("instance_segmentation")([ds[0], ds[0]])
    assert len(batch) == 2 and batch.targets[1]["masks"].shape == (2, 20, 20)
    empty = mldata.InstanceSegmentationDataset([_entry(tmp_path, [], name="e.png")], LABELS, 20, train=False)
    assert empty[0][1]["masks"].shape == (0, 20, 20) and empty[0][1]["boxes"].shape == (0, 4)


@pytest.mark.parametrize("cls", [mldata.SemanticSegmentationDataset, mldata.InstanceSegmentationDataset])
def test_a_mask_of_another_size_is_refused_naming_the_item(tmp_path, cls):
    wrong = Annotation("binary", "cat", masks.encode(np.ones((10, 10), bool)))
    with pytest.raises(TrainingError, match=r"item a.png: annotation 0 \(binary 'cat'\): mask size 10x10"):
        cls([_entry(tmp_path, [wrong])], LABELS, 16, train=False)
    bad_ignore = {"ignore_mask": {"size": [20, 40], "counts": "garbage!"}}
    with pytest.raises(TrainingError, match="item a.png: metadata ignore_mask"):
        cls([_entry(tmp_path, [], metadata=bad_ignore)], LABELS, 16, train=False)


def test_the_segmentation_schemas_validate():
    from desktop_app.ml.hparams import TASKS, default_config, schema_for, validate_config
    from desktop_app.ml.models import task_of

    assert {"instance_segmentation", "semantic_segmentation"} <= set(TASKS)
    for task, archs in {"semantic_segmentation": ("tinyseg", "lraspp_mobilenet_v3_large"),
                        "instance_segmentation": ("tinyinst", "maskrcnn_resnet50_fpn")}.items():
        assert schema_for(task)["arch"].choices == archs
        for arch in archs:
            assert task_of(arch) == task
            conf = default_config(task, arch)
            assert conf["arch"] == arch and conf["epochs"] >= 1 and conf["image_size"] >= 16
            assert validate_config(schema_for(task, arch), {"arch": arch, "epochs": "3"})["epochs"] == 3
    assert default_config("semantic_segmentation")["image_size"] == 48
    with pytest.raises(ValidationError, match="arch: 'tinydet' is not a semantic_segmentation architecture"):
        schema_for("semantic_segmentation", "tinydet")
    with pytest.raises(ValidationError, match="learning_rate"):
        validate_config(schema_for("semantic_segmentation"), {"learning_rate": "fast"})


def test_the_four_builtin_segmentation_packages():
    from desktop_app.ml.builtin import BUILTIN_PACKAGES, package_schema
    from desktop_app.ml.embedding import EMBEDDING_SIZES
    from desktop_app.ml.packages import torchvision_adapter as ta

    pkgs = {p.name: p for p in BUILTIN_PACKAGES}
    for name, task, out, model in (("tinyinst", "instance_segmentation", "binary", "pretrained-tinyinst"),
                                   ("maskrcnn", "instance_segmentation", "binary", "pretrained-maskrcnn"),
                                   ("tinyseg", "semantic_segmentation", "semantic", "pretrained-tinyseg"),
                                   ("lraspp", "semantic_segmentation", "semantic", "pretrained-lraspp")):
        p = pkgs[name]
        assert (p.task, p.output_type, p.sample_dataset) == (task, out, "shapes-segmentation")
        assert p.models[0].name == model and p.models[0].arch in EMBEDDING_SIZES
        assert getattr(ta, p.class_name).task == task
        assert package_schema(p, p.models[0].arch).defaults()["arch"] == p.models[0].arch


def test_semantic_predictions_are_one_rle_a_class_at_the_image_size():
    from desktop_app.ml.predict import _instance_annotations, _semantic_annotations

    probs = torch.zeros(3, 8, 8)
    probs[0] = 0.9
    probs[1, :, :4] = 0.95                                     # class 1 on the left half
    probs[2, 6:, 6:] = 0.99                                    # class 2 in a bottom-right corner
    anns = _semantic_annotations(probs, 16, 12, LABELS, "m")  # image of w=16, h=12
    assert [a.label for a in anns] == ["cat", "dog"] and all(a.type == "binary" for a in anns)
    cat, dog = (masks.decode(a.coordinates) for a in anns)
    assert cat.shape == (12, 16) and not (cat & dog).any()
    assert cat[:, :7].all() and not cat[:, 9:].any()
    assert anns[0].score == pytest.approx(0.95, abs=0.02) and anns[0].model_name == "m"
    pred = {"scores": torch.tensor([0.3, 0.8, 0.1]), "labels": torch.tensor([0, 1, 0]),
            "boxes": torch.zeros(3, 4), "masks": torch.stack([probs[1], probs[2], probs[1]])}
    inst = _instance_annotations(pred, 16, 12, LABELS, "m", conf_threshold=0.2)
    assert [(a.label, a.score) for a in inst] == [("dog", pytest.approx(0.8)), ("cat", pytest.approx(0.3))]
    assert masks.decode(inst[1].coordinates).shape == (12, 16)


def test_the_ignore_mask_travels_through_the_layout(tmp_path):
    from desktop_app.ml.layout import read_layout, write_layout

    ignore = _rect(20, 40, 0, 0, 20, 10)
    e = _entry(tmp_path, [Annotation("binary", "dog", masks.encode(_rect(20, 40, 0, 20, 20, 40)))],
               metadata={"ignore_mask": masks.encode(ignore)})
    e.subset = "train"
    write_layout(tmp_path / "data", {"train": [e]}, LABELS)
    (back,) = read_layout(tmp_path / "data", "train")
    _, target, _ = mldata.SemanticSegmentationDataset([back], LABELS, 40, train=False)[0]
    assert set(np.unique(target[:, :10].numpy())) == {255} and set(np.unique(target[:, 20:].numpy())) == {2}


def test_validation_mask_metrics_score_a_perfect_and_an_empty_prediction():
    from desktop_app.ml.metrics import instance_map, mask_rles, semantic_scores

    m = np.zeros((2, 16, 16), np.uint8)
    m[0, 2:8, 2:8] = 1
    m[1, 10:14, 9:15] = 1
    gt = {"boxes": np.array([[2, 2, 8, 8], [9, 10, 15, 14]], float), "labels": np.array([0, 1]),
          "rles": mask_rles(m)}
    perfect = {**gt, "scores": np.array([0.9, 0.8])}
    ones = {"mask_map50": 1.0, "mask_map": 1.0, "map50": 1.0}
    assert instance_map([perfect], [gt], 2, (16, 16)) == pytest.approx(ones)
    none = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64), "scores": np.zeros(0), "rles": []}
    assert instance_map([none], [gt], 2, (16, 16)) == {"mask_map50": 0.0, "mask_map": 0.0, "map50": 0.0}
    matrix = np.array([[8, 2], [0, 10]])
    got = semantic_scores(matrix)
    assert got["pixel_accuracy"] == pytest.approx(18 / 20)
    assert got["miou"] == pytest.approx((8 / 10 + 10 / 12) / 2)
