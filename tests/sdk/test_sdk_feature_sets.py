"""Dataloop-style calls: model.embed / embed_datasets run as jobs into a FeatureSet named after the model;
dl.feature_sets.list / get, feature_set.features.list / create, feature_set.search."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.sdk.keywords import UnexpectedKeywordError
from desktop_app.workflows.embed import embed
from embedding_models import resnet_with_weights


def test_model_embed_runs_a_job_into_a_feature_set_named_after_the_model(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    ids = dl.default_client().catalog.item_ids(ds.id)[:6]
    ex = model.embed(item_ids=ids)
    assert ex.kind == "embed" and ex.status == "success", ex.error
    assert (ex.output["embedded"], ex.output["count"], ex.output["size"]) == (6, 6, 512)
    [fs] = dl.feature_sets.list()
    assert isinstance(fs, dl.FeatureSet) and fs.name == model.name and (fs.size, fs.count) == (512, 6)
    assert dl.feature_sets.get(feature_set_name=model.name).id == fs.id == model.feature_set.id
    assert dl.feature_sets.get(feature_set_id=fs.id).model.id == model.id
    # (embed_datasets runs the same job: tests/cli/test_cli_embed.py)


def test_features_list_create_and_search(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    cat = dl.default_client().catalog
    ids = cat.item_ids(ds.id)[:8]
    embed(cat, model.id, item_ids=ids[:7])                       # in-process: the job's body
    fs = dl.feature_sets.get(model.name)
    features = fs.features.list()
    assert sorted(f.item_id for f in features) == ids[:7] and {len(f.value) for f in features} == {512}
    assert features[0].entity_id == features[0].item_id

    item = ds.items.get(item_id=ids[7])
    vector = np.linspace(-1, 1, 512)
    fs.features.create(value=vector, entity=item)
    assert fs.refresh().count == 8
    [(found, dist)] = fs.search(vector * 3, k=1)                   # cosine: the scale does not matter
    assert isinstance(found, dl.Item) and found.id == item.id and abs(dist) < 1e-5

    hits = fs.search(ds.items.get(item_id=ids[2]), k=3)
    assert hits[0][0].id == ids[2] and abs(hits[0][1]) < 1e-5 and len(hits) == 3
    assert hits[0][1] <= hits[1][1] <= hits[2][1]
    assert fs.search(ids[2], k=3)[0][0].id == ids[2]              # an item id works too

    with pytest.raises(ValidationError, match="512"):
        fs.features.create(value=[1.0, 2.0], entity=item)
    with pytest.raises(UnexpectedKeywordError, match="'k'"):
        fs.search(item, kk=3)
    with pytest.raises(NotFoundError, match="no vector"):
        dl.feature_sets.get(model.name).search(ids[7] + 10_000, k=1)


def test_refusals_come_before_any_job(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    with pytest.raises(NotFoundError, match="no item"):
        model.embed(item_ids=[10_000_000])
    with pytest.raises(ValidationError, match="trigger"):
        model.embed_datasets([ds.id], attach_trigger=True)
    with pytest.raises(NotFoundError, match="no feature set"):
        dl.feature_sets.get(feature_set_name=model.name)
    with pytest.raises(NotFoundError, match="embed"):
        model.feature_set
    assert dl.default_client().catalog.list_executions(model_id=model.id) == []
