"""evaluate_coco_files: the function behind `desktop-app evaluate-coco`, and its handling of bad input."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from desktop_app.errors import FormatError
from desktop_app.evaluation.cocofiles import evaluate_coco_files
from evalgen import make_coco_set, pycocotools_eval

pytest.importorskip("pycocotools")


@pytest.fixture
def files(tmp_path):
    dataset, results = make_coco_set(21, n_images=30)

    def write(ds=dataset, rs=results, raw_gt=None, raw_dt=None):
        gt, dt = tmp_path / "gt.json", tmp_path / "dt.json"
        gt.write_text(raw_gt if raw_gt is not None else json.dumps(ds))
        dt.write_text(raw_dt if raw_dt is not None else json.dumps(rs))
        return gt, dt

    return dataset, results, write


def test_matches_pycocotools(files):
    dataset, results, write = files
    out = evaluate_coco_files(*write())
    ref = pycocotools_eval(dataset, results)
    np.testing.assert_allclose(out["stats"], ref.stats, rtol=0, atol=1e-9)
    assert out["stat_names"] == ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    names = {c["id"]: c["name"] for c in dataset["categories"]}
    k = 0
    s = ref.eval["precision"][:, :, k, 0, -1]
    assert out["per_class_ap"][names[sorted(names)[k]]] == pytest.approx(float(np.mean(s[s > -1])), abs=1e-12)
    assert any("unknown category" in w for w in out["warnings"])  # labels the dataset does not know
    json.dumps(out)  # the CLI prints it


def test_segm_files(files, tmp_path):
    dataset, results = make_coco_set(22, n_images=8, polygons=True, big_group=False)
    (tmp_path / "g.json").write_text(json.dumps(dataset))
    (tmp_path / "d.json").write_text(json.dumps(results))
    out = evaluate_coco_files(tmp_path / "g.json", tmp_path / "d.json", iou_type="segm")
    np.testing.assert_allclose(out["stats"], pycocotools_eval(dataset, results, "segm").stats, rtol=0, atol=1e-9)


def test_unknown_image_names_first_offender(files):
    dataset, results, write = files
    rs = copy.deepcopy(results)
    rs[4]["image_id"] = 123456
    rs[9]["image_id"] = 654321
    with pytest.raises(FormatError) as info:
        evaluate_coco_files(*write(rs=rs))
    assert info.value.entry == "result 4"
    assert info.value.file.endswith("dt.json")
    assert "123456" in str(info.value) and "not in the ground truth" in str(info.value)


@pytest.mark.parametrize("mutate, entry, text", [
    (lambda rs: rs[2].__setitem__("score", float("nan")), "result 2", "NaN"),
    (lambda rs: rs[3].__setitem__("score", "high"), "result 3", "not a number"),
    (lambda rs: rs[5]["bbox"].__setitem__(2, -4.0), "result 5", "negative width"),
    (lambda rs: rs[6].pop("category_id"), "result 6", "missing category_id"),
    (lambda rs: rs[7].__setitem__("bbox", [1, 2, 3]), "result 7", "4 numbers"),
])
def test_bad_results(files, mutate, entry, text):
    dataset, results, write = files
    rs = copy.deepcopy(results)
    mutate(rs)
    with pytest.raises(FormatError, match=text) as info:
        evaluate_coco_files(*write(rs=rs))
    assert info.value.entry == entry


def test_bad_ground_truth(files):
    dataset, results, write = files
    ds = copy.deepcopy(dataset)
    ds["annotations"][3]["bbox"][3] = -1.0
    with pytest.raises(FormatError, match="negative") as info:
        evaluate_coco_files(*write(ds=ds))
    assert info.value.entry == f"annotation id {ds['annotations'][3]['id']}"
    ds = copy.deepcopy(dataset)
    del ds["annotations"][2]["bbox"]
    with pytest.raises(FormatError, match="missing bbox") as info:
        evaluate_coco_files(*write(ds=ds))
    assert info.value.entry.startswith("annotation 2")
    with pytest.raises(FormatError, match="'categories' list"):
        evaluate_coco_files(*write(ds={"images": [], "annotations": []}))
    with pytest.raises(FormatError, match="no images"):
        evaluate_coco_files(*write(ds=dict(dataset, images=[])))


def test_malformed_json(files):
    _, _, write = files
    with pytest.raises(FormatError, match="not valid JSON") as info:
        evaluate_coco_files(*write(raw_dt="[{\"image_id\": 1,"))
    assert info.value.file.endswith("dt.json")
    with pytest.raises(FormatError, match="not valid JSON"):
        evaluate_coco_files(*write(raw_gt="nope"))
    with pytest.raises(FormatError, match="JSON list"):
        evaluate_coco_files(*write(raw_dt="{\"a\": 1}"))


def test_coco_behaviours(files):
    dataset, results, write = files
    # empty results: every class with ground truth scores 0 (pycocotools crashes here)
    out = evaluate_coco_files(*write(rs=[]))
    assert out["stats"] == [0.0] * 12 and "the results file is empty" in out["warnings"]
    # ground truth without annotations: COCO's -1 everywhere
    out = evaluate_coco_files(*write(ds=dict(dataset, annotations=[])))
    assert out["stats"] == [-1.0] * 12
    # two classes with one name keep apart
    ds = copy.deepcopy(dataset)
    ds["categories"][1]["name"] = ds["categories"][0]["name"]
    out = evaluate_coco_files(*write(ds=ds))
    assert len(out["per_class_ap"]) == len(ds["categories"])
