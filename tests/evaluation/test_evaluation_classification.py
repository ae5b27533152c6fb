"""Classification metrics against values worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation.classification import evaluate_classification

# 7 items, 3 classes.       true  scores (cat, dog, bird)   argmax
Y_TRUE = [0, 0, 1, 1, 2, 2, 1]
SCORES = [[0.70, 0.20, 0.10],  # 0 -> 0 right
          [0.30, 0.60, 0.10],  # 0 -> 1 wrong
          [0.20, 0.50, 0.30],  # 1 -> 1 right
          [0.10, 0.60, 0.30],  # 1 -> 1 right
          [0.10, 0.10, 0.80],  # 2 -> 2 right
          [0.50, 0.45, 0.05],  # 2 -> 0 wrong (true class only third)
          [0.20, 0.70, 0.10]]  # 1 -> 1 right
LABELS = ["cat", "dog", "bird"]


@pytest.fixture
def result():
    return evaluate_classification(Y_TRUE, scores=SCORES, labels=LABELS, top_k=(1, 2, 3))


def test_accuracy_and_top_k(result):
    assert result.accuracy == pytest.approx(5 / 7)
    # top-2 misses only item 5 (bird scored .05, behind .50 and .45)
    assert result.top_k == {1: pytest.approx(5 / 7), 2: pytest.approx(6 / 7), 3: 1.0}


def test_confusion_and_per_class(result):
    # rows true, columns predicted
    assert result.confusion.tolist() == [[1, 1, 0], [0, 3, 0], [1, 0, 1]]
    # cat: predicted twice (items 0, 5), right once -> P 1/2; 2 true cats, 1 found -> R 1/2
    # dog: predicted 4 times (1, 2, 3, 6), right 3 -> P 3/4; 3 true dogs all found -> R 1; F1 2*.75/1.75 = 6/7
    # bird: predicted once (4), right -> P 1; 2 true birds, 1 found -> R 1/2; F1 2/3
    np.testing.assert_allclose(result.precision, [1 / 2, 3 / 4, 1])
    np.testing.assert_allclose(result.recall, [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(result.f1, [1 / 2, 6 / 7, 2 / 3])
    assert result.support.tolist() == [2, 3, 2]
    assert result.macro == pytest.approx({"precision": 0.75, "recall": 2 / 3, "f1": (1 / 2 + 6 / 7 + 2 / 3) / 3})
    assert result.weighted == pytest.approx({"precision": (2 * .5 + 3 * .75 + 2 * 1) / 7, "recall": 5 / 7,
                                             "f1": (2 * .5 + 3 * 6 / 7 + 2 * 2 / 3) / 7})


def test_per_item(result):
    assert result.item_correct.tolist() == [True, False, True, True, True, False, True]
    assert result.item_pred.tolist() == [0, 1, 1, 1, 2, 0, 1]
    np.testing.assert_allclose(result.item_score, [0.7, 0.6, 0.5, 0.6, 0.8, 0.5, 0.7])
    assert result.wrong_items().tolist() == [1, 5]


def test_curves_cat(result):
    c = result.curves[0]
    # cat scores, descending: .7 (cat) .5 (bird) .3 (cat) .2 .2 .1 .1 (others); thresholds at distinct scores
    np.testing.assert_allclose(c["threshold"], [0.7, 0.5, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(c["precision"], [1, 1 / 2, 2 / 3, 2 / 5, 2 / 7])
    np.testing.assert_allclose(c["recall"], [1 / 2, 1 / 2, 1, 1, 1])
    # AP = sum of recall steps x precision: .5*1 + 0*.5 + .5*(2/3)
    assert c["ap"] == pytest.approx(0.5 + 1 / 3)
    # ROC AUC = P(cat score > other score): .7 beats all 5 others, .3 beats 4 of 5 -> 9/10
    assert c["roc_auc"] == pytest.approx(0.9)
    np.testing.assert_allclose(c["fpr"], [0, 0, 1 / 5, 1 / 5, 3 / 5, 1])
    np.testing.assert_allclose(c["tpr"], [0, 1 / 2, 1 / 2, 1, 1, 1])


def test_predictions_without_scores_and_exports():
    r = evaluate_classification([0, 1, 1], [0, 0, 1], labels=["a", "b"])
    assert r.accuracy == pytest.approx(2 / 3)
    assert r.top_k == {} and r.curves is None
    assert r.confusion.tolist() == [[1, 0], [1, 1]]
    d = json.loads(r.to_json())
    assert d["per_class"]["a"]["precision"] == 0.5
    rows = r.to_csv().splitlines()
    assert rows[0].startswith("class,precision") and rows[-1].startswith("[accuracy]")


def test_class_absent_everywhere_is_left_out_of_macro():
    r = evaluate_classification([0, 0], [0, 0], labels=["a", "b", "c"])
    assert r.macro["precision"] == 1.0 and r.precision.tolist() == [1.0, 0.0, 0.0]


def test_bad_input():
    with pytest.raises(ValidationError, match="not a class index"):
        evaluate_classification([0, 3], [0, 1], labels=["a", "b"])
    with pytest.raises(ValidationError, match="NaN"):
        evaluate_classification([0, 1], scores=[[0.1, np.nan], [0.2, 0.3]])
    with pytest.raises(ValidationError, match="2 true labels but 1"):
        evaluate_classification([0, 1], [0])
