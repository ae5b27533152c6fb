"""The model handle and the SDK's dl.Model answer from one implementation: label maps, subsets, artifacts."""

from __future__ import annotations

import pytest

from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.ml.handle import ModelHandle


@pytest.fixture
def pair(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="m")
    return m, ModelHandle(dl.default_client().catalog, m.id)


def test_label_maps_and_subsets_agree(dl, pair):
    m, h = pair
    assert m.id_to_label_map == h.id_to_label_map and m.label_to_id_map == h.label_to_id_map
    assert m.subsets == h.subsets == {"train": {"subset": "train"}, "validation": {"subset": "validation"}}
    m.configuration["id_to_label_map"] = {"1": "b", "0": "a"}
    m.update()
    h.refresh()
    assert m.id_to_label_map == h.id_to_label_map == {1: "b", 0: "a"}
    assert m.label_to_id_map == h.label_to_id_map == {"b": 1, "a": 0}


def test_artifacts_upload_and_download_behave_alike(pair, tmp_path):
    m, h = pair
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "w.pt").write_bytes(b"w")
    uploaded = m.artifacts.upload(tmp_path / "src" / "w.pt", artifact_name="sub/w.pt")
    assert [a.filename for a in uploaded] == [a.filename for a in h.artifacts.list()] == ["sub/w.pt"]
    for artifacts in (m.artifacts, h.artifacts):
        with pytest.raises(ValidationError, match="artifact 'sub/w.pt' exists; pass overwrite=True"):
            artifacts.upload(tmp_path / "src" / "w.pt", overwrite=False, artifact_name="sub/w.pt")
        with pytest.raises(ValidationError, match="artifact name"):
            artifacts.upload(tmp_path / "src" / "w.pt", artifact_name="../x.pt")
        with pytest.raises(NotFoundError, match="nothing to upload at"):
            artifacts.upload(tmp_path / "missing" / "*.pt")
    assert (m.artifacts.download(tmp_path / "a") / "sub" / "w.pt").read_bytes() == b"w"
    assert (h.artifacts.download(tmp_path / "b") / "sub" / "w.pt").read_bytes() == b"w"
