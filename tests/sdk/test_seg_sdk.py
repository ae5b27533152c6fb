"""The SDK path of a built-in semantic segmenter: clone tinyseg onto a small shapes-segmentation set, train, cancel
and resume, predict (binary RLE annotations at each image's size, stored on the items)."""

from __future__ import annotations

import pytest
from waiting import wait_for

from desktop_app.domain import masks


@pytest.fixture
def seg_dataset(dl, tmp_path):
    from desktop_app.ml.sample_segmentation import generate_shapes_segmentation

    client = dl.default_client()
    ds = client.sample_project.datasets.create("seg-tiny", labels=["circle", "square", "triangle", "star"])
    client.catalog.import_bundle(ds.id, generate_shapes_segmentation(tmp_path / "seg", n=24, size=48, seed=3))
    return dl.datasets.get("seg-tiny")


def test_the_sample_project_links_the_segmentation_builtins_to_shapes_segmentation(dl):
    seg = dl.datasets.get("shapes-segmentation")
    assert seg.labels == ["circle", "square", "triangle", "star"]
    for package, model in (("tinyseg", "pretrained-tinyseg"), ("lraspp", "pretrained-lraspp"),
                           ("tinyinst", "pretrained-tinyinst"), ("maskrcnn", "pretrained-maskrcnn")):
        m = dl.packages.get(package_name=package).models.get(model_name=model)
        assert m.dataset_id == seg.id and m.output_type in ("binary", "semantic")


def test_tinyseg_clone_trains_cancels_resumes_and_predicts_masks(dl, seg_dataset, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")   # the worker's torch: one thread beats two on a busy 2-core box
    base = dl.packages.get(package_name="tinyseg").models.get(model_name="pretrained-tinyseg")
    model = base.clone(model_name="x", dataset=seg_dataset,
                       configuration={"epochs": 200, "image_size": 32, "batch_size": 4, "num_workers": 0,
                                      "device": "cpu", "pretrained": False})
    assert model.output_type == "semantic"
    ex = model.train(wait=False)
    cat = dl.default_client().catalog

    def two_epochs():
        assert ex.refresh().status in ("created", "in-progress"), ex.logs()[-3000:]
        return len(cat.list_metrics(model.id, figure="miou", legend="validation")) >= 2

    wait_for(two_epochs, 240, poll=0.1, what="two validated epochs", details=lambda: ex.logs()[-3000:])
    ex.cancel()
    wait_for(lambda: ex.refresh().status == "canceled", 60, what="the cancel", details=lambda: ex.logs()[-3000:])
    stopped_at = len(cat.list_metrics(model.id, figure="miou", legend="validation"))
    assert 2 <= stopped_at < 200, "the cancel did not stop the run"
    total = stopped_at + 2                        # the resume has epochs left, however late the cancel landed
    model.configuration["epochs"] = total
    model.update()
    with pytest.warns(UserWarning, match="tinyseg starts from random initialisation"):   # pretrained is off
        again = model.train(resume=True)
    assert again.id == ex.id and again.status == "success", again.logs()[-3000:]
    assert "resumed from epoch" in again.logs()
    model = model.refresh()
    assert model.status == "trained"
    assert {a.filename for a in model.artifacts.list()} >= {"weights.pt"}
    miou = [s.y for s in cat.list_metrics(model.id, figure="miou", legend="validation")]
    assert len(miou) == total and all(0.0 <= v <= 1.0 for v in miou)

    items = list(seg_dataset.items.list())[:3]
    done = model.predict(item_ids=[it.id for it in items])
    assert done.status == "success", done.logs()[-3000:]
    for it in items:
        preds = cat.list_annotations(item_ids=[it.id], model_id=model.id)
        assert preds, f"no prediction stored on {it.name}"
        seen = None
        for a in preds:
            assert a.type == "binary" and a.label in seg_dataset.labels and 0.0 < a.score <= 1.0
            m = masks.decode(a.coordinates)
            assert m.shape == (48, 48) and m.any()
            assert seen is None or not (seen & m).any()      # one class a pixel: the masks do not overlap
            seen = m if seen is None else seen | m
