"""Per-instance matching: a hand-worked example and a brute-force FiftyOne-style reference on random sets."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.evaluation.inputs import Detections, GroundTruth
from desktop_app.evaluation.matching import FN, FP, IGNORED, NONE, TP, InstanceMatcher, match_detections
from evalgen import random_set, reference

CAT, DOG = 1, 2


def hand_example():
    """One image, classes cat (1) and dog (2).

    ground truth                      predictions (score)
    g101 cat [0,0,10,10]              p1 cat [0,0,10,10]   .90
    g102 cat [20,0,10,10]             p2 cat [1,0,10,10]   .80
    g103 dog [0,20,10,10]             p3 cat [20,0,10,8]   .70
    g104 cat [40,0,20,20] crowd       p4 cat [40,0,10,10]  .60
    g105 dog [60,40,10,10]            p5 cat [45,5,10,10]  .50
                                      p6 cat [0,20,10,10]  .40
                                      p7 dog [0,25,10,10]  .30
                                      p8 cat [0,0,10,10]   .05
    """
    gt = GroundTruth(
        image_ids=[7], category_ids=[CAT, DOG], image_idx=[0] * 5, cat_idx=[0, 0, 1, 0, 1],
        boxes=[[0, 0, 10, 10], [20, 0, 10, 10], [0, 20, 10, 10], [40, 0, 20, 20], [60, 40, 10, 10]],
        iscrowd=[0, 0, 0, 1, 0], ids=[101, 102, 103, 104, 105],
    )
    dt = Detections(
        image_idx=[0] * 8, cat_idx=[0, 0, 0, 0, 0, 0, 1, 0],
        boxes=[[0, 0, 10, 10], [1, 0, 10, 10], [20, 0, 10, 8], [40, 0, 10, 10], [45, 5, 10, 10],
               [0, 20, 10, 10], [0, 25, 10, 10], [0, 0, 10, 10]],
        scores=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.05], ids=[1, 2, 3, 4, 5, 6, 7, 8],
    )
    return gt, dt


def test_hand_worked_tags():
    gt, dt = hand_example()
    m = match_detections(gt, dt, iou_threshold=0.5, score_threshold=0.1)
    # p1: IoU 1 with g101 -> TP.  p2: IoU 90/110=.818 with g101, but p1 took it -> FP (duplicate).
    # p3: 80/(100+80-80)=.8 with g102 -> TP.  p4, p5: inside the crowd g104, crowd IoU = inter/area(pred)
    # = 1 -> matched, not counted ("ignored"); a crowd absorbs any number.  p6: a cat prediction on the
    # dog g103; class-wise there is no cat there -> FP.  p7: dog vs g103, overlap 10x5: 50/150=.333 < .5
    # -> FP.  p8: score .05 < threshold .1 -> not evaluated ("none").
    assert m.dt_tag.tolist() == [TP, FP, TP, IGNORED, IGNORED, FP, FP, NONE]
    assert m.dt_match.tolist() == [101, -1, 102, 104, 104, -1, -1, -1]
    np.testing.assert_allclose(m.dt_iou[[0, 2, 3, 4]], [1.0, 0.8, 1.0, 1.0])
    assert np.isnan(m.dt_iou[[1, 5, 6, 7]]).all()
    # g103 (dog, only a cat and a weak dog on it) and g105 (nothing near) are FN; the crowd is ignored
    # and reports its first (highest-scoring) prediction p4.
    assert m.gt_tag.tolist() == [TP, TP, FN, IGNORED, FN]
    assert m.gt_match.tolist() == [1, 3, -1, 4, -1]
    assert m.per_image() == {7: (2, 3, 2)}
    pc = m.per_class()
    assert (pc[CAT]["tp"], pc[CAT]["fp"], pc[CAT]["fn"]) == (2, 2, 0)
    assert (pc[DOG]["tp"], pc[DOG]["fp"], pc[DOG]["fn"]) == (0, 1, 2)
    assert pc[CAT]["precision"] == 0.5 and pc[CAT]["recall"] == 1.0
    assert pc[CAT]["f1"] == pytest.approx(2 / 3)
    s = m.summary()
    assert (s["tp"], s["fp"], s["fn"]) == (2, 3, 2)
    assert s["precision"] == pytest.approx(2 / 5) and s["recall"] == pytest.approx(2 / 4)
    assert s["macro"]["f1"] == pytest.approx((2 / 3 + 0) / 2)


def test_hand_worked_confusion_matrix():
    gt, dt = hand_example()
    m = match_detections(gt, dt, iou_threshold=0.5, score_threshold=0.1)
    # across classes: p1->g101 and p3->g102 (cat, cat); p2 finds g101 taken -> background row;
    # p6 (cat) takes the dog g103 (IoU 1) -> row dog, column cat; p7 (dog) finds g103 taken -> background;
    # g105 unmatched -> column background; crowd and its predictions stay out.
    #              pred: cat dog background
    expected = [[2, 0, 0],   # gt cat
                [1, 0, 1],   # gt dog
                [1, 1, 0]]   # background
    assert m.confusion.tolist() == expected
    assert m.confusion_labels == [CAT, DOG, "background"]


def test_hand_worked_threshold_changes():
    gt, dt = hand_example()
    matcher = InstanceMatcher(gt, dt)
    # IoU .85: p3 (.8) no longer reaches g102 -> FP and g102 FN; p2 (.818) still FP.
    m = matcher.match(0.85, 0.1)
    assert m.dt_tag.tolist() == [TP, FP, FP, IGNORED, IGNORED, FP, FP, NONE]
    assert m.gt_tag.tolist() == [TP, FN, FN, IGNORED, FN]
    # IoU .3: p7 (.333) now matches the dog g103 -> TP.
    m = matcher.match(0.3, 0.1)
    assert m.dt_tag[6] == TP and m.gt_tag[2] == TP and m.gt_match[2] == 7
    # per-class thresholds: cats need .65, dogs anything -> p4, p5, p6 drop out.
    m = matcher.match(0.5, {CAT: 0.65, DOG: 0.0})
    assert m.dt_tag.tolist() == [TP, FP, TP, NONE, NONE, NONE, FP, NONE]
    assert m.gt_match[3] == -1  # the crowd has no prediction left
    # in the confusion matrix the dog g103 is now free: p7 (dog, IoU .333 < .5) still misses it
    assert m.confusion.tolist() == [[2, 0, 0], [0, 0, 2], [1, 1, 0]]


@pytest.mark.parametrize("seed", range(6))
def test_matches_equal_brute_force(seed):
    gt, dt = random_set(seed)
    matcher = InstanceMatcher(gt, dt)
    rng = np.random.default_rng(seed)
    for iou_thr, score_thr in ((0.5, 0.0), (0.3, 0.4), (0.75, 0.2), (0.1, rng.uniform(0, 1, 3).round(1))):
        m = matcher.match(iou_thr, score_thr)
        dref, gref = reference(gt, dt, iou_thr, score_thr)
        got = {int(i): (int(np.flatnonzero(gt.ids == m.dt_match[i])[0]), m.dt_iou[i])
               for i in np.flatnonzero(m.dt_match >= 0)}
        assert got == {int(k): (int(v[0]), v[1]) for k, v in dref.items()}
        crowd_first = {int(g): int(dt.ids[p]) for g, p in gref.items()}
        assert {int(i): int(m.gt_match[i]) for i in np.flatnonzero(m.gt_match >= 0)} == crowd_first
        # confusion matrix against the class-agnostic reference
        dA, gA = reference(gt, dt, iou_thr, score_thr, classwise=False)
        K = len(gt.category_ids)
        cm = np.zeros((K + 1, K + 1), int)
        thr = np.broadcast_to(np.asarray(score_thr, float), (K,))
        for p in range(len(dt)):
            c = dt.cat_idx[p]
            if c < 0 or dt.scores[p] < thr[c]:
                continue
            if p in dA:
                g = dA[p][0]
                if not gt.iscrowd[g]:
                    cm[gt.cat_idx[g], c] += 1
            else:
                cm[K, c] += 1
        for g in range(len(gt)):
            if not gt.iscrowd[g] and g not in {v[0] for v in dA.values()}:
                cm[gt.cat_idx[g], K] += 1
        assert m.confusion.tolist() == cm.tolist()


def test_unknown_labels_and_empty_sides():
    gt, dt = hand_example()
    dt.cat_idx[1] = -1  # a label the dataset does not know: left out, tagged none
    m = match_detections(gt, dt, score_threshold=0.1)
    assert m.dt_tag[1] == NONE
    empty_dt = Detections(np.zeros(0), np.zeros(0), np.zeros((0, 4)), np.zeros(0))
    m = match_detections(gt, empty_dt)
    assert m.gt_tag.tolist() == [FN, FN, FN, IGNORED, FN]
    assert m.confusion[:, -1].tolist() == [2, 2, 0]
    empty_gt = GroundTruth([7], [CAT, DOG], np.zeros(0), np.zeros(0), np.zeros((0, 4)))
    m = match_detections(empty_gt, dt, score_threshold=0.1)
    assert set(m.dt_tag.tolist()) == {FP, NONE}
    assert m.summary()["precision"] == 0.0


def test_exports():
    gt, dt = hand_example()
    m = match_detections(gt, dt, score_threshold=0.1)
    rows = m.to_csv().splitlines()
    assert rows[0] == "kind,id,image_id,category_id,score,tag,match_id,iou"
    assert rows[1].startswith("prediction,1,7,1,0.9,tp,101,1.0")
    assert len(rows) == 1 + 8 + 5
    import json

    out = json.loads(m.to_json())
    assert out["summary"]["tp"] == 2 and out["confusion"]["labels"][-1] == "background"


@pytest.mark.parametrize("seed", range(4))
def test_counts_by_subtraction_equal_counts_of_tags(seed):
    """Class, image and confusion counts are derived from the chosen pairs and per-class totals; they
    must equal plain counts of the per-instance tags (crowds, unknown labels, per-class thresholds).
    The confusion matrix is checked against a brute-force reference in test_matches_equal_brute_force."""
    gt, dt = random_set(seed)
    matcher = InstanceMatcher(gt, dt)
    K, n_img = len(gt.category_ids), len(gt.image_ids)
    for iou_thr, score_thr in ((0.5, 0.0), (0.3, 0.45), (0.1, np.linspace(0.1, 0.7, K).round(2))):
        m = matcher.match(iou_thr, score_thr)
        cat = np.maximum(dt.cat_idx, 0)
        assert m.class_tp.tolist() == np.bincount(cat[m.dt_tag == TP], minlength=K).tolist()
        assert m.class_fp.tolist() == np.bincount(cat[m.dt_tag == FP], minlength=K).tolist()
        assert m.class_fn.tolist() == np.bincount(gt.cat_idx[m.gt_tag == FN], minlength=K).tolist()
        assert m.image_tp.tolist() == np.bincount(dt.image_idx[m.dt_tag == TP], minlength=n_img).tolist()
        assert m.image_fp.tolist() == np.bincount(dt.image_idx[m.dt_tag == FP], minlength=n_img).tolist()
        assert m.image_fn.tolist() == np.bincount(gt.image_idx[m.gt_tag == FN], minlength=n_img).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_greedy_shortcut_equals_a_sequential_greedy(seed):
    """Conflict-heavy random candidates (many detections per ground truth, reusable ones too): the
    vectorised greedy, shortcut for uncontested pairs included, equals the one-detection-at-a-time loop."""
    from desktop_app.evaluation.greedy import greedy_match

    rng = np.random.default_rng(seed)
    n_det, n_gt = 300, 120
    pairs = {(int(d), int(g)) for d, g in zip(rng.integers(0, n_det, 700), rng.integers(0, n_gt, 700))}
    det = np.array(sorted(d for d, _ in pairs))
    gts = np.array([g for _, g in sorted(pairs)])
    pref = rng.random(det.shape[0])
    order = np.lexsort((pref, det))                  # per detection, the preferred pair last
    det, gts = det[order], gts[order]
    reusable = np.isin(gts, rng.choice(n_gt, 10, replace=False))
    got = greedy_match(det, gts, reusable, n_gt).tolist()
    taken, want, k = set(), [], 0
    while k < det.shape[0]:
        j = k
        while j < det.shape[0] and det[j] == det[k]:
            j += 1
        for i in range(j - 1, k - 1, -1):             # most preferred first
            if reusable[i] or gts[i] not in taken:
                if not reusable[i]:
                    taken.add(int(gts[i]))
                want.append(i)
                break
        k = j
    assert got == sorted(want)
    # and a set where every pair is uncontested takes the shortcut whole
    assert greedy_match(np.arange(5), np.array([4, 3, 2, 1, 0]), np.zeros(5, bool), 5).tolist() == [0, 1, 2, 3, 4]
