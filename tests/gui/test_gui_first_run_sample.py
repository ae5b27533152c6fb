"""The window's first run makes the sample project, which a script's client on the same fresh catalog did not."""

from __future__ import annotations


def test_the_first_run_of_the_window_makes_the_sample_a_script_did_not(qtbot, tmp_path):
    from desktop_app.gui.workers import CatalogLoader
    from desktop_app.sdk import Client

    home = tmp_path / "fresh"
    script = Client(home=home)  # a script came first: built-ins only, nothing generated
    assert script.sample_project.datasets.list() == []
    loader = CatalogLoader(home)
    with qtbot.waitSignal(loader.loaded, timeout=180_000) as blocker:
        loader.start()
    loader.wait()
    client, first_start = blocker.args
    try:
        assert first_start
        shapes = client.sample_project.datasets.get("shapes")
        assert shapes.items_count == 1000
        assert client.sample_project.datasets.get("shapes-detection").items_count == 1000
        assert client.packages.get("resnet").models.get("pretrained-resnet").dataset == shapes
    finally:
        client.catalog.close()
        script.catalog.close()
