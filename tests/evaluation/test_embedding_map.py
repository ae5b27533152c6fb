"""What the embedding map shows of a dataset: each colour mode's categories (label, subset, prediction, right /
wrong from the latest evaluation), the feature sets listed for a dataset, and a map built from a stored set."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop_app.catalog import Catalog
from desktop_app.catalog.feature_sets import queries
from desktop_app.domain.annotations import Annotation
from desktop_app.errors import NotFoundError
from desktop_app.evaluation import embedding_map as em
from desktop_app.evaluation.projection import ProjectionCache

LABELS = ["cat", "dog", "fox"]


@pytest.fixture
def setup(tmp_path):
    """8 items: classes cat x3, dog x3, none x1, and one with only boxes (2 fox, 1 dog); subsets train x4,
    validation x2, test x1, none x1; a model predicting 6 of them (two wrong)."""
    cat = Catalog(tmp_path / "cat")
    project = cat.create_project("p")
    ds = cat.create_dataset(project.id, "pets", labels=LABELS)
    ids = []
    for n in range(8):
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (8, 8), (n * 30, 0, 0)).save(path)
        subset = ["train", "train", "train", "train", "validation", "validation", "test", None][n]
        ids.append(cat.add_item(ds.id, path, subset=subset).id)
    for i, label in zip(ids[:6], ["cat", "cat", "cat", "dog", "dog", "dog"]):
        cat.add_annotations(i, [Annotation(type="class", label=label)])
    box = {"type": "box", "coordinates": [0, 0, 4, 4]}
    cat.add_annotations(ids[7], [Annotation(label="fox", **box), Annotation(label="dog", **box),
                                 Annotation(label="fox", **box)])
    package = cat.create_package("pkg", project_id=project.id, output_type="class")
    model = cat.create_model("m", project_id=project.id, package_id=package.id, labels=LABELS)
    preds = {i: [Annotation(type="class", label=lb, score=0.9)] for i, lb in
             zip(ids[:6], ["cat", "cat", "dog", "dog", "dog", "cat"])}          # ids[2] and ids[5] wrong
    preds[ids[0]].append(Annotation(type="class", label="fox", score=0.2))       # a less sure second guess
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    yield cat, ds, model, ids
    cat.close()


def _named(c: em.Categories, ids) -> dict[int, str]:
    return {i: c.names[k] for i, k in zip(ids, c.codes.tolist())}


def test_colour_modes_assign_each_item_its_category(setup):
    catalog, ds, model, ids = setup
    cats = em.item_categories(catalog, ds.id, ids, model.id, ds.labels)
    assert list(cats) == list(em.MODES)
    label = cats["label"]
    assert label.names == ["cat", "dog", "fox", em.NO_LABEL]                # the dataset's order, missing last
    assert _named(label, ids) == {ids[0]: "cat", ids[1]: "cat", ids[2]: "cat", ids[3]: "dog", ids[4]: "dog",
                                  ids[5]: "dog", ids[6]: em.NO_LABEL, ids[7]: "fox"}   # boxes: the most frequent
    assert label.counts() == [3, 3, 1, 1]
    subset = cats["subset"]
    assert subset.names == ["train", "validation", "test", em.NO_SUBSET]
    assert [subset.names[k] for k in subset.codes] == ["train"] * 4 + ["validation"] * 2 + ["test", em.NO_SUBSET]
    pred = cats["prediction"]
    assert _named(pred, ids) == {ids[0]: "cat", ids[1]: "cat", ids[2]: "dog", ids[3]: "dog", ids[4]: "dog",
                                 ids[5]: "cat", ids[6]: em.NO_PREDICTION, ids[7]: em.NO_PREDICTION}
    right = cats["correct"]                                                 # no evaluation yet
    assert right.names == [em.NOT_EVALUATED] and "evaluate" in right.note


def test_right_and_wrong_come_from_the_latest_evaluation(setup):
    from desktop_app.workflows.score_stored import score_stored
    catalog, ds, model, ids = setup
    score_stored(catalog, model.id, ds.id, filters={"subset": "train"}, name="train only")
    right = em.item_categories(catalog, ds.id, ids, model.id, ds.labels)["correct"]
    assert right.names == [em.RIGHT, em.WRONG, em.NOT_EVALUATED] and "train only" in right.note
    named = _named(right, ids)
    assert [named[i] for i in ids[:4]] == ["right", "right", "wrong", "right"]
    assert {named[i] for i in ids[4:]} == {em.NOT_EVALUATED}
    score_stored(catalog, model.id, ds.id, name="all")                    # the latest one counts
    right = em.item_categories(catalog, ds.id, ids, model.id, ds.labels)["correct"]
    assert _named(right, ids)[ids[5]] == em.WRONG and _named(right, ids)[ids[4]] == em.RIGHT


def test_detection_predictions_take_the_most_confident_box(setup):
    catalog, ds, model, ids = setup
    box = {"type": "box", "coordinates": [0, 0, 4, 4]}
    catalog.replace_predictions(model.id, model.name, {ids[7]: [Annotation(label="dog", score=0.4, **box),
                                                                Annotation(label="fox", score=0.8, **box)]}, ds.id)
    assert em.predicted_labels(catalog, model.id)[ids[7]] == "fox"


def test_a_stored_feature_set_maps_the_datasets_items(setup):
    catalog, ds, model, ids = setup
    q = queries(catalog)
    assert em.feature_sets_for(catalog, ds.id) == []
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(7, 16)).astype(np.float32)
    q.add(model.id, ids[:7], vectors, weights_sha=q.weights_sha(model.id))     # ids[7] not embedded
    [choice] = em.feature_sets_for(catalog, ds.id)
    assert (choice.model_id, choice.in_dataset, choice.size) == (model.id, 7, 16) and "7 items" in choice.title
    cache = ProjectionCache()
    data = em.build_map(catalog, ds.id, choice.id, "pca", cache)
    assert len(data) == 7 and data.item_ids.tolist() == ids[:7] and data.xy.shape == (7, 2)
    assert (data.dataset_items, data.embedded) == (8, 7) and len(cache) == 1
    assert data.categories["label"].counts() == [3, 3, 1]                  # cat, dog, (no label)
    again = em.build_map(catalog, ds.id, choice.id, "pca", cache)
    assert np.array_equal(again.xy, data.xy) and len(cache) == 1            # from memory
    q.add(model.id, [ids[7]], rng.normal(size=(1, 16)).astype(np.float32), weights_sha=q.weights_sha(model.id))
    grown = em.build_map(catalog, ds.id, choice.id, "pca", cache)
    assert len(grown) == 8 and len(cache) == 2                              # a new version: projected again
    sample = em.build_map(catalog, ds.id, choice.id, "pca", cache, max_points=5)
    assert len(sample) == 5 and sample.embedded == 8 and set(sample.item_ids.tolist()) <= set(ids)
    q.drop(model.id)
    with pytest.raises(NotFoundError):
        em.build_map(catalog, ds.id, choice.id, "pca", cache)
