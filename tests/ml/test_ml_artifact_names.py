"""Training's weight load and save keep artifact names inside the model's folder (load_from_model,
save_to_model, train_model), whatever a catalog holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.errors import ValidationError
from desktop_app.ml.adapter import BaseModelAdapter


class Files(BaseModelAdapter):
    """Loads and saves whatever files it is given; `extra` names one more file save() writes."""

    extra: str | None = None

    def load(self, local_path, **kwargs):
        self.model = sorted(p.relative_to(local_path).as_posix() for p in Path(local_path).rglob("*") if p.is_file())

    def save(self, local_path, **kwargs):
        (Path(local_path) / "weights.bin").write_bytes(b"w")
        if self.extra:
            (Path(local_path) / self.extra).write_bytes(b"x")

    def predict(self, batch, **kwargs):
        return [[] for _ in batch]


@pytest.fixture
def model(dl, tmp_path):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="files")
    (tmp_path / "weights.bin").write_bytes(b"w")
    m.artifacts.upload(tmp_path / "weights.bin")
    return m


def _escape_row(model, name):
    cat = model._client.catalog
    cat._db.conn.execute("INSERT INTO artifacts (id, model_id, filename, sha256, size, created_at) "
                        "VALUES ('evil', ?, ?, ?, 1, '')", (model.id, name, model.artifacts.get("weights.bin").sha256))
    cat._db.conn.commit()


def test_load_from_model_refuses_a_stored_name_that_leads_out(model, tmp_path):
    _escape_row(model, "../../escaped.bin")
    local = tmp_path / "x" / "y" / "local"
    with pytest.raises(ValidationError, match=r"artifact name '\.\./\.\./escaped\.bin'"):
        Files().load_from_model(model, local_path=str(local))
    assert list(tmp_path.rglob("escaped.bin")) == []
    with pytest.raises(ValidationError, match="escaped.bin"):
        Files().train_model(model)   # training loads the weights first: refused before anything runs
    assert list(model._client.catalog.work_dir.rglob("escaped.bin")) == []


def test_save_to_model_refuses_a_file_name_the_catalog_cannot_hold(model, tmp_path):
    cat = model._client.catalog
    before = (sorted(a.filename for a in model.artifacts.list()), set(cat.store.iter_shas()))
    adapter = Files()
    adapter.model_entity = model
    adapter.extra = "back\\slash.bin"
    with pytest.raises(ValidationError, match=r"'back\\\\slash\.bin' holds a backslash"):
        adapter.save_to_model()
    assert (sorted(a.filename for a in model.artifacts.list()), set(cat.store.iter_shas())) == before
    adapter.extra = "sub.bin"
    adapter.save_to_model()
    assert sorted(a.filename for a in model.artifacts.list()) == ["sub.bin", "weights.bin"]
