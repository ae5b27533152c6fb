"""A cluster job's request and data staging, without Ray: what is refused before any job, and what workers read."""

from __future__ import annotations

import pytest

from desktop_app.errors import ValidationError
from desktop_app.settings import Settings, coerce
from desktop_app.workflows import cluster


@pytest.mark.parametrize("address", ["local", "ray://head.lab:10001", "10.0.0.5:6379", "[::1]:6379"])
def test_the_cluster_address_setting_takes_the_forms_ray_knows(address):
    assert coerce("cluster_address", address) == address


@pytest.mark.parametrize("address", ["http://head:8265", "head", "ray://head", "local host"])
def test_a_cluster_address_ray_cannot_reach_is_refused_naming_the_forms(address):
    with pytest.raises(ValidationError, match="expected local, ray://host:port"):
        coerce("cluster_address", address)


def test_the_request_is_checked_before_any_job(tmp_path):
    settings = Settings(tmp_path)
    assert cluster.cluster_request(None, settings=settings) is None          # the default: train here
    with pytest.raises(ValidationError, match="no cluster address is set"):
        cluster.cluster_request(True, settings=settings)
    with pytest.raises(ValidationError, match="expected local, ray://host:port"):
        cluster.cluster_request("https://head", settings=settings)
    with pytest.raises(ValidationError, match="workers: expected a whole number >= 1, got 0"):
        cluster.cluster_request("local", workers=0, settings=settings)


def test_without_a_shared_folder_the_workers_read_this_machines_paths(catalog, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    staged = cluster.stage(data, "ex1", shared="", catalog=catalog, weights=tmp_path / "w.pt", checkpoint=None)
    assert (staged.data, staged.weights, staged.checkpoint, staged.scratch) == (data, tmp_path / "w.pt", None, None)
    assert staged.storage == catalog.work_dir / "executions" / "ex1" / "ray"


def test_a_shared_folder_gets_a_copy_of_the_snapshot_with_links_followed(catalog, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "blob").write_bytes(b"image bytes")
    data = tmp_path / "data"
    (data / "train" / "items").mkdir(parents=True)
    (data / "labels.json").write_text('{"labels": ["a"]}')
    (data / "train" / "items" / "x.png").symlink_to(store / "blob")   # the layout links into the store
    weights = tmp_path / "parent.pt"
    weights.write_bytes(b"parent")
    output = tmp_path / "output"                                       # a canceled job's output, resumed
    (output / "checkpoints").mkdir(parents=True)
    (output / "checkpoints" / "last.pt").write_bytes(b"last")
    (output / "weights.pt").write_bytes(b"best")
    shared = tmp_path / "nfs"

    staged = cluster.stage(data, "ex1", shared=str(shared), catalog=catalog, weights=weights, checkpoint=output)
    item = staged.data / "train" / "items" / "x.png"
    assert not item.is_symlink() and item.read_bytes() == b"image bytes"
    assert (staged.data / "labels.json").is_file() and staged.data.is_relative_to(shared)
    assert staged.weights.read_bytes() == b"parent" and staged.weights.is_relative_to(shared)
    assert (staged.checkpoint / "checkpoints" / "last.pt").read_bytes() == b"last"
    assert (staged.checkpoint / "weights.pt").read_bytes() == b"best"
    assert staged.storage.is_relative_to(shared)                      # Ray's checkpoints: every node reads them
    staged.cleanup()
    assert not (shared / "model-desk" / "ex1").exists()
