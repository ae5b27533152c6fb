"""Misspelt hyper-parameters are refused where configuration is set, with the closest declared name; Dataloop's
own keys and a package's declared extra keys pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.errors import ValidationError

CENTROID = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"
DECLARED = [{"name": "epochs", "kind": "int", "default": 2, "help": "passes", "minimum": 1, "maximum": 100},
            {"name": "image_size", "kind": "int", "default": 32, "help": "pixels", "minimum": 8, "maximum": 512}]


def _models(dl) -> int:
    return len(dl.models.list())


def test_clone_refuses_a_misspelt_key_and_suggests_the_declared_one(dl):
    src = dl.models.get("pretrained-resnet")
    before = _models(dl)
    with pytest.raises(ValidationError) as info:
        src.clone(model_name="typo", configuration={"image_siz": 32})
    msg = str(info.value)
    assert msg.startswith("image_siz:") and "'image_size'" in msg and "'resnet'" in msg
    assert _models(dl) == before
    # The right name goes through, typed.
    m = src.clone(model_name="fine", configuration={"image_size": "32"})
    assert m.configuration["image_size"] == 32


def test_models_create_and_update_refuse_unknown_keys(dl):
    pkg = dl.packages.get("resnet")
    project = dl.projects.get("Sample project")
    before = _models(dl)
    with pytest.raises(ValidationError, match=r"learning_rat: unknown hyper-parameter.*'learning_rate'"):
        pkg.models.create(model_name="new", project_id=project.id, configuration={"learning_rat": 0.1})
    assert _models(dl) == before
    m = pkg.models.create(model_name="new", project_id=project.id, configuration={"learning_rate": 0.1})
    m.configuration["epoch"] = 3
    with pytest.raises(ValidationError, match=r"epoch: unknown hyper-parameter.*'epochs'"):
        m.update()
    assert "epoch" not in dl.models.get(model_id=m.id).configuration
    # Renaming a model does not re-check a configuration nobody touched.
    fresh = dl.models.get(model_id=m.id)
    fresh.name = "renamed"
    assert fresh.update().name == "renamed"


def test_dataloop_and_app_keys_always_pass(dl):
    src = dl.models.get("pretrained-resnet")
    cfg = {"id_to_label_map": {"0": "circle"}, "label_to_id_map": {"circle": 0}, "include_background": False,
           "conf_threshold": 0.4, "class_thresholds": {"circle": 0.5}, "output_path": "out"}
    m = src.clone(model_name="dtlpy-keys", configuration=cfg)
    assert {k: m.configuration[k] for k in cfg} == cfg


def test_a_package_that_declares_its_keys_refuses_others_unless_it_takes_extra_keys(dl, tmp_path):
    project = dl.projects.get("Sample project")
    strict = dl.packages.push(package_name="strict", src_path=CENTROID, entry_point="adapter.py",
                              class_name="CentroidAdapter", hyperparameters=DECLARED,
                              default_configuration={"epochs": 2})
    with pytest.raises(ValidationError, match=r"image_siz: unknown hyper-parameter of package 'strict'.*'image_size'"):
        strict.models.create(model_name="s1", project_id=project.id, configuration={"image_siz": 16})
    loose = dl.packages.push(package_name="loose", src_path=CENTROID, entry_point="adapter.py",
                             class_name="CentroidAdapter", hyperparameters=DECLARED, extra_configuration=True)
    m = loose.models.create(model_name="l1", project_id=project.id, configuration={"my_own_knob": 3, "epochs": "4"})
    assert m.configuration["my_own_knob"] == 3 and m.configuration["epochs"] == 4
    # A push whose default configuration misspells its own declaration is refused too.
    with pytest.raises(ValidationError, match=r"epoch: unknown hyper-parameter.*'epochs'"):
        dl.packages.push(package_name="strict2", src_path=CENTROID, entry_point="adapter.py",
                         class_name="CentroidAdapter", hyperparameters=DECLARED, default_configuration={"epoch": 2})
    # A package that declares nothing takes any configuration (nothing to check against).
    free = dl.packages.push(package_name="free", src_path=CENTROID, entry_point="adapter.py",
                            class_name="CentroidAdapter")
    assert free.models.create(model_name="f1", project_id=project.id,
                              configuration={"sleep": 0.5}).configuration["sleep"] == 0.5


def test_pipelines_refuse_a_misspelt_training_override(dl):
    champion = dl.models.get("pretrained-resnet")
    with pytest.raises(ValidationError, match=r"epocs: unknown hyper-parameter.*'epochs'"):
        dl.pipelines.create("typo-pipe", champion=champion, training={"epocs": 2})
    assert not [p for p in dl.pipelines.list() if p.name == "typo-pipe"]
