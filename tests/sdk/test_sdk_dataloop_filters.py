"""Dataloop's filters and paged lists as scripts use them (issue 18): dl.Filters(resource=, field=, values=,
operator=), add / add_join / sort_by / page_size, and pages from items, annotations, models and metrics."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from desktop_app.errors import ValidationError


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def dataset(dl):
    ds = dl.projects.create(project_name="p").datasets.create(dataset_name="d", labels=["cat", "dog"])
    for n in range(6):
        item = ds.items.upload(local_path=_png(), remote_name=f"{n}.png", remote_path="/a" if n < 3 else "/b",
                               item_metadata={"user": {"score": n / 10}})
        item.assign_subset("train" if n % 2 else "test")
        if n < 4:
            b = item.annotations.builder()
            b.add(annotation_definition=dl.Classification(label="cat" if n < 2 else "dog"))
            b.upload()
    return ds


def test_filters_resource_and_operators_select_items(dl, dataset):
    f = dl.Filters(resource=dl.FiltersResource.ITEM, field="metadata.user.score", values=0.25,
                   operator=dl.FiltersOperations.GREATER_THAN)
    assert sorted(i.name for i in dataset.items.list(filters=f)) == ["b/3.png", "b/4.png", "b/5.png"]
    f.add(field="metadata.system.tags.train", values=True)
    assert [i.name for i in dataset.items.list(filters=f)] == ["b/3.png", "b/5.png"]
    f.add("filename", ["/b/3.png", "/a/0.png"], operator=dl.FiltersOperations.IN)
    assert dataset.items.count(filters=f) == 1
    ann = dl.Filters(field="annotated", values=False)
    assert [i.name for i in dataset.items.list(filters=ann)] == ["b/4.png", "b/5.png"]


def test_add_join_sort_by_and_pages(dl, dataset):
    f = dl.Filters()
    f.add_join(field="label", values="cat")
    assert [i.name for i in dataset.items.list(filters=f)] == ["a/0.png", "a/1.png"]
    f = dl.Filters()
    f.add_join(field="label", values=["cat", "dog"], operator=dl.FiltersOperations.IN)
    f.sort_by(field="metadata.user.score", value=dl.FiltersOrderByDirection.DESCENDING)
    f.page_size = 3
    pages = dataset.items.list(filters=f)
    assert pages.items_count == 4 and pages.total_pages_count == 2
    assert [i.name for i in pages.all()] == ["b/3.png", "a/2.png", "a/1.png", "a/0.png"]
    assert [[i.name for i in page] for page in pages.pages()] == [["b/3.png", "a/2.png", "a/1.png"], ["a/0.png"]]
    assert pages[0].name == "b/3.png" and len(pages) == 4   # still a list of the items


def test_a_filter_for_another_resource_or_a_call_that_cannot_answer_it_is_refused(dl, dataset):
    with pytest.raises(ValidationError, match="this filter is for models"):
        dataset.items.list(filters=dl.Filters(resource=dl.FiltersResource.MODEL, field="name", values="x"))
    with pytest.raises(ValidationError, match="unknown filter resource"):
        dl.Filters(resource="ontologies")
    gt = dl.Filters(field="metadata.user.score", values=0.1, operator="gt")
    with pytest.raises(ValidationError, match="equality conditions"):
        dataset.split_ml_subsets(items_query=gt)
    plain = dl.Filters(resource=dl.FiltersResource.ITEM, field="metadata.system.tags.test", values=True)
    assert dataset.assign_subset_to_items("validation", items_query=plain) == 3   # was a TypeError


def test_models_list_with_filters_and_pages(dl):
    f = dl.Filters(resource=dl.FiltersResource.MODEL, field="name", values="pretrained-resnet*",
                   operator=dl.FiltersOperations.GLOB)
    f.sort_by("name", dl.FiltersOrderByDirection.DESCENDING)
    pages = dl.models.list(filters=f)
    assert [m.name for m in pages] == ["pretrained-resnet50", "pretrained-resnet"]
    assert pages.items_count == 2
    f2 = dl.Filters(resource=dl.FiltersResource.MODEL, field="status", values="pre-trained")
    assert all(m.status == "pre-trained" for m in dl.models.list(filters=f2)) and dl.models.list(filters=f2)


def test_annotations_list_with_filters(dl, dataset):
    item = dataset.items.get(filepath="/a/0.png")
    b = item.annotations.builder()
    b.add(annotation_definition=dl.Classification(label="dog"),
          model_info={"name": "m", "model_id": None, "confidence": 0.9})
    b.upload()
    f = dl.Filters(resource=dl.FiltersResource.ANNOTATION, field="label", values="dog")
    pages = item.annotations.list(filters=f)
    assert [a.label for a in pages] == ["dog"] and pages.items_count == 1


def test_metrics_list_with_filters_and_to_df(dl):
    model = dl.models.get(model_name="pretrained-resnet")
    model.metrics.create([dl.PlotSample("loss", "train", x, 1 / (x + 1)) for x in range(5)]
                         + [dl.PlotSample("acc", "val", 1, 0.5)])
    f = dl.Filters(resource=dl.FiltersResource.METRICS, field="figure", values="loss")
    f.add("data.x", 2, operator=dl.FiltersOperations.GREATER_THAN)
    pages = model.metrics.list(filters=f)
    assert [s.x for s in pages] == [3, 4]
    assert [s.y for s in model.metrics.list("acc")] == [0.5]
    pd = pytest.importorskip("pandas")
    df = pages.to_df()
    assert isinstance(df, pd.DataFrame) and list(df["x"]) == [3, 4] and set(df["figure"]) == {"loss"}


def test_to_df_without_pandas_says_so(dl, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pandas", None)
    model = dl.models.get(model_name="pretrained-resnet")
    model.metrics.create(dl.PlotSample("loss", "train", 0, 1.0))
    with pytest.raises(ValidationError, match="needs pandas"):
        model.metrics.list().to_df()
