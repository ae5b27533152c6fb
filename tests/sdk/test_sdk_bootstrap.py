"""A fresh catalog: a client registers the built-ins and generates nothing; the sample is made only when asked."""

from __future__ import annotations


def _items(catalog) -> int:
    return sum(catalog.count_items(d.id) for d in catalog.list_datasets())


def test_a_fresh_client_registers_the_builtins_and_generates_no_sample(tmp_path):
    from desktop_app.sdk import Client

    client = Client(home=tmp_path / "fresh")
    try:
        assert _items(client.catalog) == 0 and client.catalog.list_datasets() == []
        # Dataloop's calls work at once: the built-in packages and their pretrained-* models are there,
        # labelled with the shapes they were declared with and tied to no dataset until the sample exists.
        model = client.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet50")
        assert model.status == "pre-trained" and model.dataset_id is None
        assert model.labels == ["circle", "square", "triangle", "star"]
        assert {p.name for p in client.packages.list()} >= {"resnet", "mobilenet", "tinydet", "fasterrcnn"}
        again = Client(home=tmp_path / "fresh")  # idempotent: a second client adds nothing
        assert len(again.catalog.find_models()) == len(client.catalog.find_models())
        again.catalog.close()
    finally:
        client.catalog.close()


def test_the_first_dl_call_on_a_fresh_catalog_makes_no_items():
    import desktop_app.sdk as dl  # DESKTOP_APP_HOME is a fresh, empty folder here (tests/conftest.py)

    assert [p.name for p in dl.projects.list()] == ["Sample project"]
    assert dl.datasets.list() == [] and _items(dl.default_client().catalog) == 0


def test_a_clone_of_a_builtin_on_a_fresh_catalog_names_its_dataset(tmp_path):
    from desktop_app.sdk import Client

    client = Client(home=tmp_path / "fresh")
    try:
        ds = client.sample_project.datasets.create("digits", labels=["0", "1"])
        model = client.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="mine", dataset=ds)
        assert model.dataset == ds and model.labels == ["0", "1"]
    finally:
        client.catalog.close()


def test_the_readme_sdk_example_clones_onto_the_dataset_it_chose(dl, tmp_path, monkeypatch):
    import re
    from pathlib import Path

    from PIL import Image

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"## The SDK\n.*?```python\n(.*?)```", readme, re.S).group(1)
    setup = block.split("execution = model.train()")[0]   # training and serving are tested elsewhere
    for label in ("0", "1"):
        for i in range(10):
            (tmp_path / "digits" / label).mkdir(parents=True, exist_ok=True)
            Image.new("L", (8, 8), 255 * int(label)).save(tmp_path / "digits" / label / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(setup, "README.md", "exec"), scope)
    model, dataset = scope["model"], scope["dataset"]
    assert model.dataset == dataset and sorted(model.labels) == ["0", "1"]
    assert set(dataset.subset_counts()) >= {"train", "validation", "test"}
