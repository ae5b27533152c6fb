"""An unknown keyword argument to an SDK call is refused naming the call and the closest keyword it takes."""

from __future__ import annotations

import inspect

import pytest

from desktop_app.errors import UserError, ValidationError
from desktop_app.sdk import keywords
from desktop_app.sdk.keywords import UnexpectedKeywordError


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(UnexpectedKeywordError) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def resnet(dl):
    return dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet")


def test_the_error_is_a_user_error_and_a_type_error():
    assert issubclass(UnexpectedKeywordError, ValidationError) and issubclass(UnexpectedKeywordError, UserError)
    assert issubclass(UnexpectedKeywordError, TypeError)  # what Python users catch for a bad keyword


def test_clone_with_a_misspelt_keyword_is_refused_and_makes_nothing(dl, resnet):
    before = len(dl.models.list())
    msg = refused(resnet.clone, model_name="typo", labes=["circle"])
    assert msg == "Model.clone() got an unexpected keyword argument 'labes'; did you mean 'labels'?"
    assert "did you mean 'configuration'?" in refused(resnet.clone, model_name="typo", configuraton={})
    assert "did you mean 'model_name'?" in refused(dl.models.clone, resnet, model_nme="typo")
    assert len(dl.models.list()) == before
    with pytest.raises(TypeError):  # caught as Python's own error too
        resnet.clone(model_name="typo", labes=["circle"])


def test_clone_takes_dataloops_harmless_keywords_and_refuses_the_ones_that_would_change_training(dl, resnet):
    m = resnet.clone(model_name="waited", wait=True, scope="project")
    assert m.name == "waited" and m.parent_id == resnet.id
    msg = refused(resnet.clone, model_name="filtered", annotations_train_filter={"label": "circle"})
    assert "Model.clone() does not take 'annotations_train_filter'" in msg and "train_filter" in msg
    assert "filtered" not in {x.name for x in dl.models.list()}
    # the allow-lists are explicit and each entry says why (scope is a parameter: 'project' works, others refused)
    assert set(type(resnet).clone.ignored_keywords) == {"wait"}
    assert all(isinstance(why, str) and why for why in keywords.CLONE_IGNORED.values())


def test_train_evaluate_predict_deploy_refuse_before_starting_anything(dl, resnet):
    m = resnet.clone(model_name="no-jobs")
    msg = refused(m.train, wiat=False)
    assert msg == "Model.train() got an unexpected keyword argument 'wiat'; did you mean 'wait'?"
    assert "did you mean 'dataset'?" in refused(m.evaluate, datset=m.dataset)
    assert "did you mean 'iou_threshold'?" in refused(m.evaluate, iou_treshold=0.3)
    assert "did you mean 'item_ids'?" in refused(m.predict, item_id=[1])
    assert "did you mean 'service_config'?" in refused(m.deploy, service_conifg={})
    assert dl.executions.list(model_id=m.id) == [] and m.services == []
    assert m.refresh().status == "created"


def test_models_create_list_get(dl, resnet):
    pkg = dl.packages.get(package_name="resnet")
    project = dl.projects.get(project_name="Sample project")
    shapes = project.datasets.get("shapes")
    msg = refused(pkg.models.create, model_name="x", project_id=project.id, dataset_id=shapes.id, lables=["a"])
    assert msg == "Models.create() got an unexpected keyword argument 'lables'; did you mean 'labels'?"
    assert "package=" in refused(pkg.models.create, model_name="x", project_id=project.id, app=object())
    assert "labels=" in refused(pkg.models.create, model_name="x", project_id=project.id, ontology_id="o1")
    assert "artifacts.upload" in refused(pkg.models.create, model_name="x", project_id=project.id,
                                         model_artifacts=[])
    made = pkg.models.create(model_name="versioned", project_id=project.id, dataset_id=shapes.id, scope="project",
                             version="1.0.0")
    assert made.name == "versioned"
    assert "did you mean 'status'?" in refused(dl.models.list, statsu="created")
    assert "did you mean 'model_name'?" in refused(dl.models.get, modelname="versioned")
    assert dl.models.get(model_name="versioned") == made


def test_datasets_items_and_annotations(dl, tmp_path):
    project = dl.projects.get(project_name="Sample project")
    assert "did you mean 'dataset_name'?" in refused(project.datasets.get, datset_name="shapes")
    assert "did you mean 'labels'?" in refused(project.datasets.create, dataset_name="new", label=["a"])
    assert "new" not in {d.name for d in project.datasets.list()}
    shapes = project.datasets.get("shapes")
    assert "did you mean 'filters'?" in refused(shapes.items.list, filter={"subset": "train"})
    assert "did you mean 'percentages'?" in refused(shapes.split_ml_subsets, percentage={"train": 100})
    item = shapes.items.list(limit=1)[0]
    assert "did you mean 'subset'?" in refused(item.assign_subset, subst="train")
    assert "did you mean 'ground_truth'?" in refused(item.annotations.list, groundtruth=True)
    builder = item.annotations.builder()
    assert "did you mean 'model_info'?" in refused(builder.add, annotation_definition=dl.Box(0, 0, 4, 4, "circle"),
                                                   modelinfo={"name": "m", "confidence": 0.5})
    # Dataloop's video / tracking keywords mean nothing on an image and are dropped; nesting is refused
    builder.add(annotation_definition=dl.Box(0, 0, 4, 4, "circle"), object_id=1, frame_num=0)
    assert len(builder) == 1
    assert "nested" in refused(builder.add, annotation_definition=dl.Box(0, 0, 4, 4, "circle"), parent_id="p")
    assert "Box() got an unexpected keyword argument 'lable'; did you mean 'label'?" == refused(
        dl.Box, 0, 0, 4, 4, lable="circle")
    assert "Classification() got" in refused(dl.Classification, "circle", atributes={})


def test_an_import_or_export_option_is_checked_against_the_format(dl, tmp_path):
    project = dl.projects.get(project_name="Sample project")
    shapes = project.datasets.get("shapes")
    out = tmp_path / "out"
    msg = refused(shapes.export, out, "coco", filters={"subset": "test"}, copy_image="none")
    assert "for the coco format; did you mean 'copy_images'?" in msg and not out.exists()
    exported = shapes.export(out, "coco", filters={"subset": "test"}, copy_images="copy")
    msg = refused(project.datasets.create_from, "again", exported, "coco", image_dir=str(exported))
    assert "did you mean 'images_dir'?" in msg
    assert "again" not in {d.name for d in project.datasets.list()}


def test_packages_push_lists_dataloops_keywords(dl, tmp_path):
    src = tmp_path / "pkg"
    src.mkdir()
    msg = refused(dl.packages.push, package_name="p", src_path=src, entry_pont="adapter.py")
    assert msg == "Packages.push() got an unexpected keyword argument 'entry_pont'; did you mean 'entry_point'?"
    assert "entry_point=" in refused(dl.packages.push, package_name="p", src_path=src, modules=[])
    assert "default_configuration=" in refused(dl.packages.push, package_name="p", src_path=src, metadata={})
    assert "did you mean 'package_name'?" in refused(dl.packages.get, package_nam="resnet")
    assert "did you mean 'with_models'?" in refused(dl.packages.get("resnet").delete, with_model=True)
    assert set(keywords.PUSH_IGNORED).isdisjoint(keywords.PUSH_REFUSED)


def test_client_and_default_client(tmp_path):
    import desktop_app.sdk as dl
    assert "did you mean 'bootstrap'?" in refused(dl.Client, home=tmp_path / "h", bootstrp=False)
    assert "did you mean 'home'?" in refused(dl.use_catalog, hme=tmp_path / "h")


def _public_methods():
    from desktop_app.sdk import client, entities, model, repositories, sweep
    classes = [client.Client, model.RunLogger]
    for mod in (entities, model, repositories, sweep):
        classes += [c for c in vars(mod).values() if isinstance(c, type) and c.__module__ == mod.__name__]
    for cls in classes:
        for name, fn in vars(cls).items():
            if inspect.isfunction(fn) and (not name.startswith("_") or name == "__init__"):
                yield cls, name, fn


def test_every_public_sdk_method_is_checked_and_none_swallows_keywords():
    # A keyword may still pass on through **kwargs where it is checked where it lands (the format's options,
    # a pipeline's definition) or where any name is data (a logged metric, an entity's scope).
    open_ended = {("Datasets", "create_from"), ("Dataset", "import_from"), ("Dataset", "export"),
                  ("RunLogger", "log"), ("Pipelines", "create"), ("Client", "repository"), ("Repository", "__init__")}
    seen = 0
    for cls, name, fn in _public_methods():
        assert hasattr(fn, "ignored_keywords"), f"{cls.__name__}.{name} is not checked"
        takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn.__wrapped__).parameters.values())
        assert not takes_any or (cls.__name__, name) in open_ended, f"{cls.__name__}.{name} takes **kwargs"
        seen += 1
    assert seen > 80
