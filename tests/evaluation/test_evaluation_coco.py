"""COCO detection metrics against pycocotools itself: every stat and the full precision/recall tables."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation import masks
from desktop_app.evaluation.coco import COCOEvaluator, auto_iou_type
from desktop_app.evaluation.inputs import Detections, EntryError, GroundTruth
from evalgen import make_coco_set, make_dense_set, pycocotools_eval

pytest.importorskip("pycocotools")
TOL = dict(rtol=0, atol=1e-9)


def ours(dataset, results, iou_type="bbox"):
    return COCOEvaluator(iou_type).evaluate_dicts(dataset["images"], dataset["categories"],
                                                  dataset["annotations"], copy.deepcopy(results))


def assert_same(res, ref):
    np.testing.assert_allclose(res.stats, ref.stats, **TOL)
    np.testing.assert_allclose(res.precision, ref.eval["precision"], **TOL)
    np.testing.assert_allclose(res.recall, ref.eval["recall"], **TOL)
    np.testing.assert_allclose(res.scores, ref.eval["scores"], **TOL)


@pytest.mark.parametrize("seed", range(5))
def test_bbox_equals_pycocotools(seed):
    dataset, results = make_coco_set(seed, n_images=60, zero_id=seed == 4)
    if seed == 3:  # list order of images and categories must not matter (pycocotools sorts ids)
        dataset["images"].reverse()
        dataset["categories"].reverse()
    res, ref = ours(dataset, results), pycocotools_eval(dataset, results)
    assert_same(res, ref)
    # the set really has what it is meant to exercise
    p = res.precision
    assert (p[:, :, :, 1:, :] > -1).any(axis=(0, 1, 2, 4)).all()  # small, medium and large objects
    assert (p == -1).all(axis=(0, 1, 3, 4)).any()  # a class without ground truth
    assert any(a["iscrowd"] for a in dataset["annotations"])
    assert res.warnings and "unknown category" in res.warnings[0]


@pytest.mark.parametrize("seed", range(3))
def test_crowded_scenes_with_ties_equal_pycocotools(seed):
    dataset, results = make_dense_set(seed)
    assert_same(ours(dataset, results), pycocotools_eval(dataset, results))


@pytest.mark.parametrize("numpy_backend", [False, True])
def test_segm_equals_pycocotools(numpy_backend):
    from pycocotools import mask as mu

    dataset, results = make_coco_set(11, n_images=12, polygons=True, big_group=False)
    for r in results[::2]:  # half the results as compressed RLE, as Mask R-CNN writes them
        rle = mu.merge(mu.frPyObjects(r["segmentation"], 240, 320))
        rle["counts"] = rle["counts"].decode()
        r["segmentation"] = rle
    ref = pycocotools_eval(dataset, results, "segm")
    masks.use_numpy(numpy_backend)
    try:
        assert_same(ours(dataset, results, "segm"), ref)
    finally:
        masks.use_numpy(False)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' decode on numpy 2
def test_numpy_polygon_raster_equals_pycocotools():
    from pycocotools import mask as mu

    rng = np.random.default_rng(0)
    for _ in range(150):
        h, w = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        poly = rng.uniform(-5, 70, 2 * int(rng.integers(3, 9))).round(int(rng.integers(0, 3))).tolist()
        rle = mu.frPyObjects([poly], h, w)[0]
        want = mu.decode(rle).flatten(order="F").astype(bool)
        got = masks.poly_to_mask(poly, h, w)
        assert np.array_equal(got, want)
        assert np.array_equal(masks.to_dense(rle, h, w), want)  # compressed string decoding
        assert masks.dense_bbox(got, h) == mu.toBbox(rle).tolist()


def test_per_class_ap_and_curves():
    dataset, results = make_coco_set(1, n_images=40)
    res, ref = ours(dataset, results), pycocotools_eval(dataset, results)
    for k, cid in enumerate(sorted(c["id"] for c in dataset["categories"])):
        s = ref.eval["precision"][:, :, k, 0, -1]
        want = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
        assert res.per_class_ap[cid] == pytest.approx(want, abs=1e-12)
        curve = res.pr_curve(cid, 0.75)
        np.testing.assert_array_equal(curve["precision"], ref.eval["precision"][5, :, k, 0, -1])
        assert curve["recall"].shape == (101,)
    out = json.loads(res.to_json())
    assert out["stats"] == res.stats.tolist() and len(out["per_class"]) == len(dataset["categories"])
    assert set(out["pr_curves"]) == {"0.50", "0.75"}
    rows = res.to_csv().splitlines()
    assert rows[1].startswith("overall,,,AP,") and len(rows) == 1 + 12 + 3 * len(dataset["categories"])


def test_coco_matches_equal_pycocotools_eval_imgs():
    dataset, results = make_coco_set(2, n_images=30)
    res, ref = ours(dataset, results), pycocotools_eval(dataset, results)
    for t, iou in ((0, 0.5), (5, 0.75)):
        m = res.matches(iou)
        want = np.full(len(results), -1)
        for e in ref.evalImgs:
            if e is not None and e["aRng"] == [0, 1e10]:
                for did, gid in zip(e["dtIds"], e["dtMatches"][t]):
                    want[did - 1] = gid if gid else -1
        # pycocotools only lists each image/category's 100 best; ours marks the rest unmatched too
        assert m["dt_match"].tolist() == want.tolist()


def test_columnar_input_equals_dicts():
    dataset, results = make_coco_set(3, n_images=30, big_group=False)
    gt = GroundTruth.from_coco(dataset["images"], dataset["categories"], dataset["annotations"])
    dt = Detections.from_coco(results, gt)
    # shuffle the images' order in the columns: the evaluator sorts ids itself, as pycocotools does
    perm = np.random.default_rng(0).permutation(gt.image_ids.shape[0])
    inv = np.argsort(perm)
    gt2 = GroundTruth(gt.image_ids[perm], gt.category_ids, inv[gt.image_idx], gt.cat_idx, gt.boxes, gt.area,
                      gt.iscrowd, gt.ids)
    dt2 = Detections(inv[dt.image_idx], dt.cat_idx, dt.boxes, dt.scores)
    a, b = COCOEvaluator().evaluate(gt, dt), COCOEvaluator().evaluate(gt2, dt2)
    np.testing.assert_array_equal(a.precision, b.precision)
    np.testing.assert_array_equal(a.stats, ours(dataset, results).stats)


def test_empty_sides():
    dataset, results = make_coco_set(5, n_images=20)
    # no detections at all: AP 0 wherever there is ground truth (pycocotools itself crashes on [])
    res = ours(dataset, [])
    assert res.stats.tolist() == [0.0] * 12
    # no annotations: every stat -1, as pycocotools
    no_gt = dict(dataset, annotations=[])
    assert_same(ours(no_gt, results), pycocotools_eval(no_gt, results))
    assert (ours(no_gt, results).stats == -1).all()
    # no images at all
    res = COCOEvaluator().evaluate(GroundTruth([], [1], [], [], np.zeros((0, 4))),
                                   Detections([], [], np.zeros((0, 4)), []))
    assert (res.stats == -1).all()
    # only labels the dataset does not know: nothing to match
    odd = [dict(r, category_id=12345) for r in results]
    assert ours(dataset, odd).stats.tolist() == [0.0] * 12


def test_bad_detections_refused():
    dataset, results = make_coco_set(6, n_images=10)
    results = copy.deepcopy(results)
    results[3]["image_id"] = 99999
    results[7]["image_id"] = 88888
    with pytest.raises(EntryError, match="99999") as info:
        ours(dataset, results)
    assert info.value.entry == "result 3"
    with pytest.raises(ValidationError, match="NaN"):
        Detections([0], [0], [[0, 0, 1, 1]], [np.nan])
    gt = GroundTruth([1], [1], [0], [0], [[0, 0, 5, 5]])
    with pytest.raises(ValidationError, match="not in the ground truth"):
        COCOEvaluator().evaluate(gt, Detections([3], [0], [[0, 0, 1, 1]], [0.5]))


def test_a_polygon_result_without_a_bbox_is_refused_naming_it():
    dataset = {"images": [{"id": 1, "width": 20, "height": 10}], "categories": [{"id": 1, "name": "a"}],
               "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                                "iscrowd": 0, "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]]}]}
    from desktop_app.domain.masks import encode
    mask = np.zeros((10, 20), bool)
    mask[1:6, 1:6] = True
    results = [{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": encode(mask)},
               {"image_id": 1, "category_id": 1, "score": 0.8, "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]]}]
    with pytest.raises(EntryError, match="must be a COCO RLE") as info:    # was a TypeError from pycocotools
        COCOEvaluator("segm").evaluate_dicts(dataset["images"], dataset["categories"], dataset["annotations"],
                                             results)
    assert info.value.entry == "result 1"


def test_negative_boxes_behave_as_coco():
    # the engine itself follows COCO here (the file loader refuses them instead)
    dataset, results = make_coco_set(7, n_images=20)
    results = copy.deepcopy(results)
    for r in results[::5]:
        r["bbox"][2] = -r["bbox"][2]
    for r in results[1::7]:
        r["bbox"][2], r["bbox"][3] = -r["bbox"][2], -r["bbox"][3]
    assert_same(ours(dataset, results), pycocotools_eval(dataset, results))


def test_annotation_id_zero_quirk():
    # pycocotools stores the matched gt id and reads 0 as "no match": a detection on a gt with id 0
    # counts as a false positive and the gt as missed. We reproduce it so numbers agree.
    dataset = {"images": [{"id": 1, "width": 50, "height": 50}], "categories": [{"id": 1}],
               "annotations": [{"id": 0, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
                                "iscrowd": 0},
                               {"id": 5, "image_id": 1, "category_id": 1, "bbox": [20, 20, 10, 10], "area": 100,
                                "iscrowd": 0}]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
               {"image_id": 1, "category_id": 1, "bbox": [20, 20, 10, 10], "score": 0.8}]
    res, ref = ours(dataset, results), pycocotools_eval(dataset, results)
    assert_same(res, ref)
    assert res.stats[8] == 0.5


def test_auto_iou_type():
    dataset, results = make_coco_set(8, n_images=6, polygons=True, big_group=False)
    gt = GroundTruth.from_coco(dataset["images"], dataset["categories"], dataset["annotations"],
                               need_segmentation=True)
    assert auto_iou_type(gt, Detections.from_coco(results, gt, iou_type="segm")) == "segm"
    assert auto_iou_type(gt, Detections.from_coco(results, gt)) == "bbox"  # no masks kept on the results


def test_areas_of_many_rle_masks_at_once():
    # pycocotools' area() fails under numpy 2 past 255 masks in one call (a uint8 array of the count)
    from desktop_app.domain.masks import encode
    rng = np.random.default_rng(0)
    segs, want = [], []
    for _ in range(300):
        m = rng.random((12, 9)) < 0.4
        segs.append(encode(m))
        want.append(float(m.sum()))
    assert masks.area(segs).tolist() == want
    masks.use_numpy(True)
    try:
        assert masks.area(segs).tolist() == want
    finally:
        masks.use_numpy(False)
