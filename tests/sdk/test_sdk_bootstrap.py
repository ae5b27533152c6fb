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
