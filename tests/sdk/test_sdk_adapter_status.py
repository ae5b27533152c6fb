"""An adapter's train_model given an SDK dl.Model writes the model's status to the catalog (training, then
trained or failed), though assigning an SDK Model's `status` only changes its snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.ml.adapter import BaseModelAdapter


class Tiny(BaseModelAdapter):
    """Trains by writing one file; `fail` makes train raise; records the status the catalog read meanwhile."""

    fail = False

    def load(self, local_path, **kwargs):
        self.model = "loaded"

    def save(self, local_path, **kwargs):
        (Path(local_path) / "weights.bin").write_bytes(b"w")

    def convert_from_dtlpy(self, data_path, **kwargs):
        pass

    def train(self, data_path, output_path, **kwargs):
        self.seen = self.model_entity._client.catalog.get_model(self.model_entity.id).status
        if self.fail:
            raise RuntimeError("boom")

    def predict(self, batch, **kwargs):
        return [[] for _ in batch]


@pytest.fixture
def model(dl):
    ds = dl.datasets.list()[0]
    return dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="tiny", dataset=ds)


def test_train_model_on_an_sdk_model_stores_training_then_trained(model):
    cat = model._client.catalog
    adapter = Tiny()
    out = adapter.train_model(model)
    assert adapter.seen == "training"
    assert cat.get_model(model.id).status == "trained" and out.status == "trained"
    assert [a.filename for a in out.artifacts.list()] == ["weights.bin"]


def test_train_model_on_an_sdk_model_stores_a_failure(model):
    adapter = Tiny()
    adapter.fail = True
    with pytest.raises(RuntimeError, match="boom"):
        adapter.train_model(model)
    assert model._client.catalog.get_model(model.id).status == "failed"
