"""The catalog's named queries for the rooms above (scoring, data versions, look-ups) and the one ground-truth rule."""

from __future__ import annotations

import pytest
from PIL import Image

from desktop_app.catalog.ground_truth import is_ground_truth
from desktop_app.catalog.stamps import now_iso
from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry


@pytest.fixture
def scene(catalog, tmp_path):
    """Three items (train, test, no subset), each with a ground-truth box and class; a model's predictions on
    two of them; an imported prediction that names a model but has no model id."""
    project = catalog.create_project("p")
    ds = catalog.create_dataset(project.id, "d", labels=["cat", "dog"])
    entries = []
    for i, subset in enumerate(("train", "test", None)):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (20, 20)).save(p)
        entries.append(ImageEntry(source=p, name=p.name, width=20, height=20, subset=subset, annotations=[
            Annotation("box", "cat", [1, 1, 11, 6]), Annotation("class", "dog" if i else "cat")]))
    ids = catalog.import_bundle(ds.id, DatasetBundle(labels=["cat", "dog"], items=entries))
    pkg = catalog.create_package("pk", project_id=project.id)
    model = catalog.create_model("m", project_id=project.id, package_id=pkg.id, dataset_id=ds.id)
    catalog.replace_predictions(model.id, model.name, {
        ids[0]: [Annotation("box", "cat", [2, 2, 12, 7], score=0.9), Annotation("class", "cat", score=0.4),
                 Annotation("class", "dog", score=0.6, metadata={"scores": [0.4, 0.6]})],
        ids[1]: [Annotation("box", "dog", [0, 0, 5, 5], score=0.3)]}, ds.id)
    imported = catalog.add_annotations(ids[2], [Annotation("box", "cat", [1, 1, 4, 4], score=0.5, model_name="old")])
    return catalog, ds, model, ids, imported[0]


def test_the_ground_truth_rule_is_one_rule(scene):
    catalog, ds, model, ids, imported = scene
    every = catalog.list_annotations(dataset_id=ds.id)
    gt = {a.id for a in catalog.list_annotations(dataset_id=ds.id, ground_truth=True)}
    predictions = {a.id for a in catalog.list_annotations(dataset_id=ds.id, ground_truth=False)}
    assert gt | predictions == {a.id for a in every} and not gt & predictions
    assert {a.id for a in every if a.is_ground_truth} == gt and len(gt) == 6
    assert all(a.is_prediction != a.is_ground_truth for a in every)
    assert imported in predictions                       # a model name alone makes a prediction
    assert is_ground_truth(None, None) and not is_ground_truth("m1", None) and not is_ground_truth(None, "old")


def test_scoring_reads(scene):
    catalog, ds, model, ids, imported = scene
    q = catalog.scoring
    assert sorted(q.ground_truth_item_counts(ds.id)) == sorted(
        (subset, kind, 1) for subset in ("train", "test", "none") for kind in ("box", "class"))
    assert sorted(q.ground_truth_item_types(ds.id)) == sorted((i, k) for i in ids for k in ("box", "class"))

    boxes = q.ground_truth_geometry(ds.id, "box")
    assert [b.id for b in boxes] == [a.id for a in catalog.list_annotations(dataset_id=ds.id, ground_truth=True,
                                                                           types=["box"])]
    assert boxes[0].left == 1 and boxes[0].bottom == 6 and boxes[0].area == 50 and boxes[0].score is None
    assert q.ground_truth_geometry(ds.id, "segment") == []
    predicted = q.prediction_geometry(model.id)
    assert sorted((p.item_id, p.label, p.score) for p in predicted) == [(ids[0], "cat", 0.9), (ids[1], "dog", 0.3)]
    assert imported not in {p.id for p in predicted}     # another model's (by name only)

    classes = q.ground_truth_classes(ds.id)
    assert [(c.item_id, c.label) for c in classes] == [(ids[0], "cat"), (ids[1], "dog"), (ids[2], "dog")]
    assert [c.id for c in classes] == sorted(c.id for c in classes)
    preds = q.class_predictions(model.id)
    assert [(p.item_id, p.label, p.score) for p in preds] == [(ids[0], "dog", 0.6), (ids[0], "cat", 0.4)]
    assert '"scores"' in preds[0].metadata_json

    assert q.last_training_step(model.id) is None
    catalog.add_metric_samples(model.id, [{"figure": "train", "legend": "loss", "x": x, "y": 1.0} for x in (1, 5)]
                               + [{"figure": "eval/map", "legend": "d", "x": 99, "y": 0.5}])
    assert q.last_training_step(model.id) == 5


def test_data_versions_and_ground_truth_changes(scene):
    catalog, ds, model, ids, imported = scene
    v = catalog.data_versions
    assert [x.id for x in v.items([ids[2], ids[0], 10**9])] == [ids[0], ids[2]]
    gt = v.ground_truth(ids)
    assert len(gt) == 6 and {a.item_id for a in gt} == set(ids)
    assert imported not in {a.id for a in gt}

    since = now_iso()
    assert v.ground_truth_changes(ds.id, since) == 0
    box = catalog.list_annotations(item_ids=[ids[0]], ground_truth=True, types=["box"])[0]
    catalog.update_annotation(box.id, who="me", label="dog")    # an edit marks its item reviewed
    catalog.update_annotation(box.id, who="me", label="cat")
    assert v.ground_truth_changes(ds.id, since) == 1        # one annotation changed twice counts once
    catalog.update_item(ids[0], reviewed=0)
    assert v.ground_truth_changes(ds.id, since) == 0        # only reviewed items count
    catalog.update_item(ids[0], reviewed=1)
    catalog.delete_annotation(imported, who="me")           # a prediction removed: no ground truth changed
    assert v.ground_truth_changes(ds.id, since) == 1
    gt_class = catalog.list_annotations(item_ids=[ids[2]], ground_truth=True, types=["class"])[0]
    catalog.delete_annotation(gt_class.id, who="me")        # ground truth removed
    assert v.ground_truth_changes(ds.id, since) == 2


def test_look_ups(scene):
    catalog, ds, model, ids, imported = scene
    assert catalog.package_exists("pk") and not catalog.package_exists("nope")
    assert catalog.model_aliases(model.package_id, model.id) == []
    catalog.set_alias(model.package_id, "champion", model.id)
    catalog.set_alias(model.package_id, "best", model.id)
    assert catalog.model_aliases(model.package_id, model.id) == ["best", "champion"]


def test_transaction_rolls_every_call_back_together(catalog):
    project = catalog.create_project("p")
    with pytest.raises(RuntimeError):
        with catalog.transaction():
            catalog.create_dataset(project.id, "a")
            with catalog.transaction():                      # nested: a savepoint of the outer one
                catalog.create_dataset(project.id, "b")
            raise RuntimeError("undo")
    assert catalog.list_datasets(project.id) == []


def test_item_filters_count_only_ground_truth_as_labels(catalog, tmp_path):
    """A prediction imported with only its model's name (no model id) is not a label: "unlabelled" items keep it."""
    from PIL import Image

    from desktop_app.domain.annotations import Annotation, DatasetBundle, ImageEntry
    project = catalog.create_project("p")
    ds = catalog.create_dataset(project.id, "d", labels=["cat"])
    entries = []
    for i, anns in enumerate([[Annotation(type="class", label="cat")],
                              [Annotation(type="class", label="cat", model_name="external", score=0.4)]]):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (4, 4)).save(path)
        entries.append(ImageEntry(source=path, name=f"{i}.png", width=4, height=4, annotations=anns))
    catalog.import_bundle(ds.id, DatasetBundle(labels=["cat"], items=entries))
    names = {i.id: i.name for i in catalog.list_items(ds.id)}
    assert [names[i] for i in catalog.item_ids(ds.id, has_annotations=True)] == ["0.png"]
    assert [names[i] for i in catalog.item_ids(ds.id, has_annotations=False)] == ["1.png"]
    assert [names[i] for i in catalog.item_ids(ds.id, label="cat")] == ["0.png"]
    assert [names[i] for i in catalog.item_ids(ds.id, ann_type="class")] == ["0.png"]
