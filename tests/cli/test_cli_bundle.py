"""`desktop-app bundle export / import`: a model carried to another catalog, once; a hostile file refused."""

from __future__ import annotations

import json

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_then_import_into_another_catalog(dl, tmp_path, capsys):
    cat = dl.default_client().catalog
    model = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="carried")
    (tmp_path / "notes.txt").write_text("hello")
    model.artifacts.upload(tmp_path / "notes.txt")
    cat.add_metric_samples(model.id, [{"figure": "loss", "legend": "train", "x": 0, "y": 0.5}])

    code, out, err = run(capsys, "bundle", "export", "carried", str(tmp_path / "carried"))
    assert code == 0, err
    assert "exported model 'carried'" in out and (tmp_path / "carried.mdbundle").is_file()
    code, _, err = run(capsys, "bundle", "export", "carried", str(tmp_path / "carried.mdbundle"))
    assert code == 2 and "--force" in err

    dl.use_catalog(tmp_path / "other")
    code, out, err = run(capsys, "bundle", "import", str(tmp_path / "carried.mdbundle"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["created"] and report["model_id"] == model.id
    code, out, err = run(capsys, "bundle", "import", str(tmp_path / "carried.mdbundle"))
    assert code == 0 and "already in this catalog" in out
    code, out, err = run(capsys, "bundle", "import", str(tmp_path / "carried.mdbundle"), "--project", "Nowhere")
    assert code == 2 and "no project" in err
    other = dl.default_client().catalog
    assert [m.name for m in other.find_models(name="carried")] == ["carried"]
    assert [s.y for s in other.list_metrics(model.id)] == [0.5]

    (tmp_path / "broken.mdbundle").write_bytes(b"PK\x03\x04 not really")
    code, out, err = run(capsys, "bundle", "import", str(tmp_path / "broken.mdbundle"))
    assert code == 2 and err.startswith("error: ") and "not a Model Desk bundle" in err
