"""Uncertainty scores against hand-computed values, the top-1 fallback, and the ranking with diversity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation.uncertainty import (box_entropy, classification_scores, detection_scores, entropy,
                                                least_confidence, margin, rank_items)

P = [[0.7, 0.2, 0.1],
     [1 / 3, 1 / 3, 1 / 3],
     [1.0, 0.0, 0.0],
     [0.5, 0.5, 0.0]]


def test_classification_scores_by_hand():
    h0 = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)) / math.log(3)   # 0.7298
    np.testing.assert_allclose(entropy(P), [h0, 1.0, 0.0, math.log(2) / math.log(3)], atol=1e-9)
    np.testing.assert_allclose(margin(P), [1 - 0.5, 1.0, 0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(least_confidence(P), [0.3, 2 / 3, 0.0, 0.5], atol=1e-9)
    np.testing.assert_allclose(least_confidence([0.9, 0.25]), [0.1, 0.75])
    # stored probabilities are rounded: rows are renormalised before scoring
    np.testing.assert_allclose(least_confidence([[0.699999, 0.2, 0.1]]), [0.3], atol=1e-6)
    assert entropy([[1.0]]).tolist() == [0.0]


def test_detection_score_is_the_mean_binary_entropy_of_the_boxes():
    assert box_entropy([0.5, 1.0, 0.0]).tolist() == [1.0, 0.0, 0.0]
    h9 = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))                                      # 0.469
    got = detection_scores([[0.5, 0.9], [0.9], []])
    np.testing.assert_allclose(got[:2], [(1 + h9) / 2, h9])
    assert math.isnan(got[2])                                   # no box stored: unknown, not certain
    np.testing.assert_allclose(detection_scores([[0.5, 0.9]], aggregate="max"), [1.0])
    with pytest.raises(ValidationError):
        detection_scores([[0.5]], aggregate="sum")


def test_top1_only_falls_back_to_least_confidence_and_says_so():
    full = classification_scores("margin", probs=P)
    assert full.strategy == "margin" and not full.note
    top1 = classification_scores("entropy", top1=[0.7, 0.4])
    assert top1.strategy == "least_confidence" and "top-1" in top1.note
    np.testing.assert_allclose(top1.scores, [0.3, 0.6])
    assert classification_scores("least_confidence", top1=[0.7]).note == ""
    with pytest.raises(ValidationError, match="strategy"):
        classification_scores("bald", probs=P)


def test_ranking_by_uncertainty_alone():
    r = rank_items([10, 11, 12, 13, 14], [0.2, np.nan, 0.9, 0.2, 0.5], k=3, strategy="entropy")
    assert r.pairs() == [(12, 0.9), (14, 0.5), (10, 0.2)]       # ties by item id
    assert r.unscored == [11] and r.strategy == "entropy"
    assert rank_items([1, 2], [0.1, 0.2], k=10).items == [2, 1]


def test_diversity_spreads_the_picks_over_the_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)) * 5
    label = np.repeat(np.arange(4), 50)
    vectors = centres[label] + rng.normal(size=(200, 8)) * 0.2
    scores = np.where(label == 0, 0.9, 0.5) + rng.uniform(0, 0.05, 200)   # cluster 0 is the most uncertain
    ids = np.arange(200) + 1
    plain = rank_items(ids, scores, k=4)
    assert set(label[np.array(plain.items) - 1].tolist()) == {0}
    mixed = rank_items(ids, scores, k=4, vectors=vectors, diversity=1.0)
    assert sorted(label[np.array(mixed.items) - 1].tolist()) == [0, 1, 2, 3]
    assert mixed.items[0] == plain.items[0]                      # k-center starts at the most uncertain
    assert mixed.scores == [float(scores[i - 1]) for i in mixed.items]
    # a small mix keeps to the most uncertain pool: 4 + 0.01 * 196 = 6 candidates, all in cluster 0
    small = rank_items(ids, scores, k=4, vectors=vectors, diversity=0.01)
    assert set(label[np.array(small.items) - 1].tolist()) == {0}
    with pytest.raises(ValidationError, match="vectors"):
        rank_items(ids, scores, k=4, diversity=0.5)
    with pytest.raises(ValidationError, match="diversity"):
        rank_items(ids, scores, k=4, vectors=vectors, diversity=1.5)
