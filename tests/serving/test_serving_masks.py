"""A segmentation model served: OIP v2 answers carry each mask as COCO RLE JSON (with its box, label and score),
the Dataloop JSON route answers 'binary' annotations (Dataloop's PNG, the RLE beside it), model metadata says the
output type; a mask of the wrong size from the model is a 500 naming it, and the service keeps serving."""

from __future__ import annotations

import json
import shutil
import textwrap

import httpx
import numpy as np
import pytest

from desktop_app.domain import masks as dm
from desktop_app.formats.dataloop import from_dataloop_annotation
from desktop_app.serving.protocol import model_metadata

from servehelpers import Facade, infer_body, outputs, png_bytes

ADAPTER = textwrap.dedent('''
    """brightmask: the brightest pixels as one mask (score from its artifact), the rest as a 'dim' mask (0.6)."""
    import json
    from pathlib import Path

    import numpy as np

    import desktop_app.sdk as dl


    class BrightMask(dl.BaseModelAdapter):
        def load(self, local_path, **kwargs):
            self.score = float(json.loads((Path(local_path) / "brightmask.json").read_text())["score"])

        def save(self, local_path, **kwargs):
            Path(local_path).mkdir(parents=True, exist_ok=True)
            (Path(local_path) / "brightmask.json").write_text(json.dumps({"score": self.score}))

        def predict(self, batch, **kwargs):
            out = []
            for img in batch:
                coll = dl.AnnotationCollection()
                if img.max() == 0:        # a black image: a mask of the wrong size (a broken model, on purpose)
                    coll.add(dl.Segmentation(np.ones((2, 2), bool), label="bright"),
                             model_info={"name": "brightmask", "confidence": 0.5})
                    out.append(coll)
                    continue
                gray = img.astype(np.int32).sum(axis=2)
                bright = gray == gray.max()
                coll.add(dl.Segmentation(bright, label="bright"),
                         model_info={"name": "brightmask", "confidence": self.score})
                if (~bright).any():
                    coll.add(dl.Segmentation(~bright, label="dim"),
                             model_info={"name": "brightmask", "confidence": 0.6})
                out.append(coll)
            return out
''')


@pytest.fixture(scope="module")
def served(template_home, tmp_path_factory):
    from desktop_app.sdk import Client

    base = tmp_path_factory.mktemp("masks")
    home = base / "catalog"
    shutil.copytree(template_home, home)
    client = Client(home=home)
    dl = Facade(client)
    src = base / "src"
    src.mkdir()
    (src / "adapter.py").write_text(ADAPTER)
    pkg = dl.packages.push(package_name="brightmask", src_path=src, entry_point="adapter.py",
                           class_name="BrightMask", output_type="binary")
    project = dl.projects.get(project_name="Sample project")
    model = pkg.models.create(model_name="mask-v1", project_id=project.id, labels=["bright", "dim"],
                              status="trained", configuration={"conf_threshold": 0.1})
    (base / "brightmask.json").write_text(json.dumps({"score": 0.9}))
    model.artifacts.upload(base / "brightmask.json")
    try:
        service = model.deploy()
        with httpx.Client(base_url=service.url, timeout=30.0) as http:
            yield {"http": http, "model": model}
    finally:
        for s in client.services.list():
            s.stop()
        client.catalog.close()


def _image():
    img = np.full((24, 32, 3), 30, np.uint8)
    img[5:9, 10:17] = 250
    img[12, 3] = 250
    return img


def test_oip_infer_answers_masks_as_rle_json_with_boxes_labels_and_scores(served):
    http, name = served["http"], served["model"].name
    img = _image()
    r = http.post(f"/v2/models/{name}/infer", json=infer_body(png_bytes(img), png_bytes(img[:, ::-1].copy())))
    assert r.status_code == 200, r.text
    out = outputs(r.json())
    assert out["masks"]["datatype"] == "BYTES" and out["masks"]["shape"] == [4]
    assert out["labels"]["data"] == ["bright", "dim", "bright", "dim"]
    assert out["scores"]["data"] == pytest.approx([0.9, 0.6, 0.9, 0.6])
    assert out["batch_index"]["data"] == [0, 0, 1, 1]
    bright = img.sum(axis=2) == img.sum(axis=2).max()
    rles = [json.loads(s) for s in out["masks"]["data"]]
    assert all(set(m) == {"size", "counts"} and isinstance(m["counts"], str) and m["size"] == [24, 32]
               for m in rles)
    assert np.array_equal(dm.decode(rles[0]), bright) and np.array_equal(dm.decode(rles[1]), ~bright)
    assert np.array_equal(dm.decode(rles[2]), bright[:, ::-1])
    from pycocotools import mask as mu
    theirs = {"size": rles[0]["size"], "counts": rles[0]["counts"].encode()}          # pycocotools reads it
    assert int(mu.area([theirs])[0]) == bright.sum() and mu.toBbox([theirs])[0].tolist() == [3, 5, 14, 8]
    assert out["boxes"]["data"][:4] == [3, 5, 17, 13]           # the mask's bounds, pixel corners
    meta = http.get(f"/v2/models/{name}").json()
    assert meta["parameters"]["output_type"] == "binary"
    assert "masks" in [o["name"] for o in meta["outputs"]]


def test_dataloop_json_answers_binary_annotations_and_a_bad_mask_is_a_500(served):
    http, model = served["http"], served["model"]
    img = _image()
    r = http.post(f"/predictions/{model.name}", content=png_bytes(img), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    anns = r.json()
    assert [a["type"] for a in anns] == ["binary", "binary"] and [a["label"] for a in anns] == ["bright", "dim"]
    a = anns[0]
    assert a["coordinates"].startswith("data:image/png;base64,")
    assert a["metadata"]["user"]["model"] == {"name": model.name, "model_id": model.id, "confidence": 0.9}
    bright = img.sum(axis=2) == img.sum(axis=2).max()
    parsed = from_dataloop_annotation(a)            # what item.annotations.upload reads back
    assert np.array_equal(dm.decode(parsed.coordinates), bright)
    assert np.array_equal(dm.decode(a["metadata"]["user"]["rle"]), bright)
    # a model answering a mask of another size than the image: the request fails naming it, the service stays
    r = http.post(f"/v2/models/{model.name}/infer", json=infer_body(png_bytes(np.zeros((24, 32, 3), np.uint8))))
    assert r.status_code == 500 and "bad mask for 'bright' on image 0" in r.json()["error"]
    assert "does not match the 24x32 image" in r.json()["error"]
    r = http.post(f"/v2/models/{model.name}/infer", json=infer_body(png_bytes(img)))
    assert r.status_code == 200


def test_metadata_of_a_semantic_model_lists_masks_and_boxes():
    meta = model_metadata("seg", "1", "pytorch", "semantic", ["road", "car"])
    names = [o["name"] for o in meta["outputs"]]
    assert names[0] == "boxes" and "masks" in names and meta["parameters"]["output_type"] == "semantic"
    assert "polygons" not in names
