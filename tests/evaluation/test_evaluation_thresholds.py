"""Live thresholds: every recompute equals a from-scratch computation at the new thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.evaluation.matching import FP, TP, InstanceMatcher, match_detections
from desktop_app.evaluation.thresholds import ThresholdSession
from evalgen import make_coco_set, random_set, reference


def same(a, b):
    for name in ("dt_tag", "dt_match", "gt_tag", "gt_match", "class_tp", "class_fp", "class_fn", "image_tp",
                 "image_fp", "image_fn", "confusion"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.dt_iou, b.dt_iou)
    assert a.per_class() == b.per_class() and a.summary() == b.summary()


@pytest.mark.parametrize("seed", range(3))
def test_session_recompute_equals_from_scratch(seed):
    gt, dt = random_set(seed + 10, n_img=15)
    session = ThresholdSession(gt, dt)
    rng = np.random.default_rng(seed)
    steps = [dict(score_threshold=0.4), dict(iou_threshold=0.7), dict(score_threshold=0.0),
             dict(iou_threshold=0.3, score_threshold=rng.uniform(0, 1, 3).round(1)), dict(iou_threshold=0.5),
             dict(score_threshold={5: 0.6, 2: 0.0, 9: 0.2})]
    for step in steps:
        got = session.update(**step)
        fresh = match_detections(gt, dt, iou_threshold=session.iou_threshold,
                                 score_threshold=session.score_threshold)
        same(got, fresh)
        # and the cached "filter the full match" path equals a literal greedy rerun
        dref, _ = reference(gt, dt, session.iou_threshold, session.matcher.score_thresholds(session.score_threshold))
        assert {int(i) for i in np.flatnonzero(got.dt_match >= 0)} == set(dref)


def test_class_threshold_and_sweep():
    dataset, results = make_coco_set(4, n_images=30)
    session = ThresholdSession.from_coco(dataset["images"], dataset["categories"], dataset["annotations"], results)
    base = session.update(iou_threshold=0.5, score_threshold=0.3)
    cid = int(session.matcher.gt.category_ids[0])
    changed = session.set_class_threshold(cid, 0.9)
    k = 0
    assert changed.class_tp[k] <= base.class_tp[k] and changed.class_fp[k] <= base.class_fp[k]
    np.testing.assert_array_equal(changed.class_tp[1:], base.class_tp[1:])
    same(changed, match_detections(session.matcher.gt, session.matcher.dt, iou_threshold=0.5,
                                   score_threshold=session.score_threshold))
    # the sweep row for a score equals an update at that score
    session.update(score_threshold=0.0)
    sweep = session.score_sweep()
    for i in (0, len(sweep["score"]) // 2, len(sweep["score"]) - 1):
        m = session.matcher.match(0.5, float(sweep["score"][i]))
        assert (sweep["tp"][i], sweep["fp"][i], sweep["fn"][i]) == (m.class_tp.sum(), m.class_fp.sum(),
                                                                  m.class_fn.sum())
    one = session.score_sweep(cid)
    m = session.matcher.match(0.5, float(one["score"][-1]))
    assert one["tp"][-1] == m.class_tp[0] and one["fp"][-1] == m.class_fp[0]


def test_iou_cache_is_bounded_and_reused():
    gt, dt = random_set(3)
    matcher = InstanceMatcher(gt, dt)
    for t in np.linspace(0.1, 0.95, 12):
        matcher.match(float(t), 0.2)
    assert len(matcher._cache) <= 8
    a = matcher.match(0.5, 0.2)
    b = InstanceMatcher(gt, dt).match(0.5, 0.2)
    same(a, b)
    assert set(np.unique(a.dt_tag)) <= {0, TP, FP, 4}
