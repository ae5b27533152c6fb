"""`desktop-app datasets snapshot | versions | diff | delete-version`: the SDK's dataset versions from the command
line, a taken name refused with our own error."""

from __future__ import annotations

import json

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_snapshot_list_diff_and_delete(client, capsys):
    code, out, err = run(capsys, "datasets", "snapshot", "shapes", "v1", "--description", "first")
    assert code == 0, err
    assert out.startswith("dataset shapes: version v1 (") and "1000 items" in out
    assert run(capsys, "datasets", "snapshot", "shapes", "v1")[2].startswith(
        "error: dataset 'shapes' already has a version named 'v1'")
    cat = client.catalog
    ds = client.datasets.get("shapes")
    a = cat.list_annotations(dataset_id=ds.id, ground_truth=True, types=["class"])[0]
    new = next(x for x in ds.labels if x != a.label)
    cat.update_annotation(a.id, label=new)
    assert run(capsys, "datasets", "snapshot", "shapes", "v2")[0] == 0

    code, out, _ = run(capsys, "datasets", "versions", "shapes")
    header, *lines = out.splitlines()
    assert header.split()[:4] == ["NAME", "SHA", "ITEMS", "ANNOTATIONS"]
    assert [x.split()[0] for x in lines] == ["v2", "v1"]
    code, out, _ = run(capsys, "datasets", "versions", "shapes", "--json")
    assert [v["name"] for v in json.loads(out)] == ["v2", "v1"] and json.loads(out)[1]["description"] == "first"

    code, out, _ = run(capsys, "datasets", "diff", "shapes", "v1", "v2")
    assert code == 0
    assert out.splitlines()[0] == "v1 -> v2: items +0 -0 ~0; annotations +0 -0 ~1"
    assert f"~ annotation {a.id} on item {a.item_id}: class {a.label} -> {new} (label)" in out
    assert run(capsys, "datasets", "diff", "shapes", "v2")[1].startswith("v2 and now: the same data")
    code, out, _ = run(capsys, "datasets", "diff", "shapes", "v1", "--json")
    assert json.loads(out)["annotations_changed"][0]["before"] == a.label

    assert run(capsys, "datasets", "delete-version", "shapes", "v1")[0] == 0
    assert [v.name for v in ds.versions()] == ["v2"]
    code, _, err = run(capsys, "datasets", "diff", "shapes", "v1")
    assert code == 2 and "no version named 'v1'" in err


def test_train_refuses_a_data_version_the_dataset_lacks_before_any_job(client, capsys):
    code, _, err = run(capsys, "train", "pretrained-resnet", "--data-version", "nope")
    assert code == 2 and "dataset 'shapes' has no version named 'nope'" in err
    assert client.catalog.list_executions() == []


def test_train_live_data_unpins_the_model_and_refuses_both_flags(client, capsys, monkeypatch):
    ds = client.datasets.get("shapes")
    ds.snapshot("v1")
    model = client.models.get(model_name="pretrained-resnet")
    from desktop_app.catalog.dataset_versions import DatasetVersions
    DatasetVersions(client.catalog).record_model(model.id, "v1")       # pinned, as train(data_version='v1') leaves it
    code, _, err = run(capsys, "train", "pretrained-resnet", "--live-data", "--data-version", "v1")
    assert code == 2 and "give one of them" in err
    assert client.catalog.get_model(model.id).data_version == "v1"    # a refused command changed nothing

    from desktop_app.sdk.model import Model
    seen = []

    def train(self, **kw):                                              # what the job would be given, without one
        seen.append((client.catalog.get_model(self.id).data_version, kw["data_version"]))
        return type("Ex", (), {"id": "x", "status": "success", "error": None})()
    monkeypatch.setattr(Model, "train", train)
    code, out, err = run(capsys, "train", "pretrained-resnet", "--live-data")
    assert code == 0, err
    assert seen == [(None, None)]                                       # unpinned before the training was asked
