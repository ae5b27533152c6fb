"""`desktop-app sample` makes the sample project once; a second call finds it and changes nothing."""

from __future__ import annotations

from desktop_app.cli.main import main


def test_sample_command_makes_the_sample_once(capsys):
    from desktop_app.sdk import default_client

    catalog = default_client().catalog  # DESKTOP_APP_HOME: a fresh folder (tests/conftest.py)
    assert catalog.list_datasets() == []
    assert main(["sample"]) == 0
    out = capsys.readouterr().out
    assert "generating the sample project" in out and "shapes (1,000 items)" in out
    datasets = {d.name: d for d in catalog.list_datasets()}
    assert {n: catalog.count_items(d.id) for n, d in datasets.items()} == {"shapes": 1000, "shapes-detection": 1000,
                                                                  "shapes-segmentation": 1000}
    builtins = {m.name: m.dataset_id for m in catalog.find_models()}
    assert builtins["pretrained-resnet"] == datasets["shapes"].id
    assert builtins["pretrained-tinydet"] == datasets["shapes-detection"].id

    assert main(["sample"]) == 0  # idempotent
    out = capsys.readouterr().out
    assert "generating" not in out and "already there" in out
    assert {d.name: d.id for d in catalog.list_datasets()} == {n: d.id for n, d in datasets.items()}
    assert sum(catalog.count_items(d.id) for d in catalog.list_datasets()) == 3000
