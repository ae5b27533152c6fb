"""dataset.rank_for_labeling / near_duplicates / leakage over a model's stored predictions and feature set."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.domain.annotations import Annotation
from desktop_app.errors import ValidationError
from labeling_pool import make_pool, store_predictions, store_vectors



@pytest.fixture
def setup(dl, tmp_path):
    """8 items (ids in order): 0-1 labelled train, 2-5 unlabelled, 6 validation, 7 test; a classifier model."""
    return make_pool(dl, tmp_path, model_name="m")


def test_rank_by_entropy_and_margin_from_stored_probabilities(setup):
    ds, model, catalog, ids = setup
    store_predictions(catalog, model, ds, {ids[0]: [0.34, 0.33, 0.33],          # labelled: never in the queue
                                  ids[2]: [0.9, 0.05, 0.05], ids[3]: [0.5, 0.45, 0.05],
                                  ids[4]: [0.4, 0.3, 0.3]})              # ids[5]: no prediction
    queue = ds.rank_for_labeling(model, strategy="entropy", k=2)
    assert [(it.id, round(s, 4)) for it, s in queue] == [(ids[4], 0.9912), (ids[3], 0.7789)]
    assert queue.strategy == "entropy" and not queue.note
    assert ids[5] in queue.unscored and ids[0] not in queue.unscored
    margin = ds.rank_for_labeling(model.id, strategy="margin", k=10)
    assert [it.id for it, _ in margin] == [ids[3], ids[4], ids[2]]      # 0.95, 0.9, 0.15
    everything = ds.rank_for_labeling(model, strategy="least_confidence", k=1, unlabeled_only=False)
    assert everything[0][0].id == ids[0] and everything[0][1] == pytest.approx(0.66)


def test_top1_only_predictions_fall_back_to_least_confidence(setup):
    ds, model, catalog, ids = setup
    store_predictions(catalog, model, ds, {ids[2]: [0.9, 0.05, 0.05], ids[3]: [0.5, 0.45, 0.05]}, keep_vectors=False)
    queue = ds.rank_for_labeling(model, strategy="entropy", k=5)
    assert queue.strategy == "least_confidence" and "top-1" in queue.note
    assert [(it.id, round(s, 2)) for it, s in queue] == [(ids[3], 0.5), (ids[2], 0.1)]


def test_detection_ranks_images_by_their_boxes(setup):
    ds, model, catalog, ids = setup
    box = dict(type="box", label="a", coordinates=[0, 0, 4, 4])
    catalog.replace_predictions(model.id, model.name, {
        ids[2]: [Annotation(score=0.95, **box), Annotation(score=0.9, **box)],
        ids[3]: [Annotation(score=0.5, **box)], ids[4]: []}, ds.id)
    queue = ds.rank_for_labeling(model, strategy="detection", k=3)
    assert [it.id for it, _ in queue] == [ids[3], ids[2]] and queue[0][1] == pytest.approx(1.0)
    assert {ids[4], ids[5]} <= set(queue.unscored)
    with pytest.raises(ValidationError, match="strategy"):
        ds.rank_for_labeling(model, strategy="random", k=3)
    empty = ds.rank_for_labeling(model, strategy="margin", k=3)
    assert list(empty) == [] and "predict them first" in empty.note


def test_near_duplicates_leakage_and_diversity_read_the_models_feature_set(setup):
    ds, model, catalog, ids = setup
    rng = np.random.default_rng(0)
    base = rng.normal(size=(8, 16))
    base[7] = base[0] + 0.01 * rng.normal(size=16)      # the test item is a near copy of a train item
    base[3] = base[2] + 0.01 * rng.normal(size=16)      # two unlabelled items are near copies of each other
    base[4:6] = base[0:2] + 0.5 * rng.normal(size=(2, 16))   # two more near (~0.1), not under 0.05, the labelled
    with pytest.raises(Exception, match="embed"):
        ds.near_duplicates(model)                       # nothing embedded yet: says how to make the vectors
    store_vectors(catalog, model, ids, base)
    groups = ds.near_duplicates(model)
    assert sorted(g.items for g in groups) == sorted([sorted([ids[0], ids[7]]), sorted([ids[2], ids[3]])])
    leaks = ds.leakage(model)
    assert [(x.item, x.subset, x.twin) for x in leaks] == [(ids[7], "test", ids[0])]
    assert ds.leakage(model, threshold=0.0) == []
    # diversity: of the two most uncertain (near copies 2 and 3), k-center keeps one and goes elsewhere (4 or 5,
    # nearer the labelled items than 2 and 3 are, but not copies of anything)
    store_predictions(catalog, model, ds, {ids[2]: [0.34, 0.33, 0.33], ids[3]: [0.35, 0.33, 0.32],
                                  ids[4]: [0.8, 0.1, 0.1], ids[5]: [0.9, 0.05, 0.05]})
    plain = ds.rank_for_labeling(model, k=2)
    assert [it.id for it, _ in plain] == [ids[2], ids[3]]
    mixed = ds.rank_for_labeling(model, k=2, diversity=1.0)
    picked = {it.id for it, _ in mixed}
    assert len(mixed) == 2 and len({ids[2], ids[3]} & picked) == 1 and len({ids[4], ids[5]} & picked) == 1
    assert mixed.diversity == 1.0 and {ids[6], ids[7]} <= set(mixed.unscored)   # no prediction
