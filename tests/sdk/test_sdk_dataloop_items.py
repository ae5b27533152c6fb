"""Dataloop's item and dataset calls a script makes with only the import changed (issue 18): download to memory,
upload from memory, add_label with a colour."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from desktop_app.errors import ValidationError


@pytest.fixture
def dataset(dl):
    project = dl.projects.create(project_name="p")
    return project.datasets.create(dataset_name="d", labels=["cat"])


def _png(color=(255, 0, 0), size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_download_without_saving_returns_the_bytes_in_memory(dataset, tmp_path):
    item = dataset.items.upload(local_path=io.BytesIO(_png()), remote_name="red.png")
    buf = item.download(save_locally=False)
    assert isinstance(buf, io.BytesIO) and buf.name == "red.png"
    assert buf.getvalue() == _png()
    arr = item.download(save_locally=False, to_array=True)
    assert arr.shape == (6, 8, 3) and tuple(arr[0, 0]) == (255, 0, 0)
    assert not list(tmp_path.glob("*.png"))


def test_upload_bytes_buffer_and_numpy_array(dataset):
    a = dataset.items.upload(local_path=_png(), remote_name="a.png", remote_path="/folder")
    assert a.name == "folder/a.png" and (a.width, a.height) == (8, 6)
    named = io.BytesIO(_png((0, 255, 0)))
    named.name = "green.png"
    b = dataset.items.upload(local_path=named)
    assert b.name == "green.png"
    arr = np.zeros((5, 7, 3), dtype=np.uint8)
    c = dataset.items.upload(local_path=arr, remote_name="zeros.png")
    assert (c.width, c.height) == (7, 5)
    assert dataset.items.count() == 3
    with pytest.raises(ValidationError, match="remote_name"):
        dataset.items.upload(local_path=_png())
    with pytest.raises(ValidationError, match="item name"):
        dataset.items.upload(local_path=_png(), remote_name="x.png", remote_path="/../up")
    with pytest.raises(ValidationError, match="numpy array"):
        dataset.items.upload(local_path=3.5)


def test_upload_a_file_under_another_name(dataset, tmp_path):
    f = tmp_path / "img.png"
    f.write_bytes(_png())
    assert dataset.items.upload(local_path=str(f), remote_name="renamed.png").name == "renamed.png"


def test_add_label_keeps_its_colour(dataset):
    assert dataset.add_label("dog", color=(0, 128, 255)) == ["cat", "dog"]
    dataset.add_label("bird", color="#FF0000")
    dataset.add_label("fish")
    assert dataset.labels == ["cat", "dog", "bird", "fish"]
    assert dataset.refresh().label_colors == {"dog": "#0080ff", "bird": "#ff0000"}
    with pytest.raises(ValidationError, match="colour"):
        dataset.add_label("x", color=(300, 0, 0))
    assert "x" not in dataset.refresh().labels


def test_upload_of_bytes_that_are_no_image_names_the_item(dataset):
    from desktop_app.errors import FormatError
    with pytest.raises(FormatError, match="'g.png' \\(uploaded from memory\\) is not a readable image"):
        dataset.items.upload(local_path=b"garbage", remote_name="g.png")
