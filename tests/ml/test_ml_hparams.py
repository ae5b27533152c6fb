from __future__ import annotations

import sys
import subprocess

import pytest

from desktop_app.errors import ValidationError
from desktop_app.ml.hparams import default_config, parse_assignments, schema_for, validate_config


def test_defaults_filled_per_architecture():
    cfg = validate_config(schema_for("classification"), {})
    assert cfg["arch"] == "resnet18" and cfg["device"] == "auto" and cfg["num_workers"] == "auto"
    r50 = default_config("classification", "resnet50")
    assert r50["arch"] == "resnet50"
    det = default_config("detection")
    assert det["arch"] == "tinydet" and det["image_size"] == 128
    schema = schema_for("classification")
    assert {"epochs", "batch_size", "learning_rate", "optimizer", "scheduler", "weight_decay", "momentum",
            "image_size", "augment_flip", "augment_color_jitter", "augment_random_resized_crop", "seed",
            "mixed_precision", "channels_last", "device", "num_workers", "early_stopping_patience",
            "checkpoint_every", "pretrained"} <= set(schema.params)
    assert schema["weight_decay"].advanced and not schema["epochs"].advanced
    assert all(p["help"] for p in schema.to_list())


def test_cli_strings_are_coerced():
    cfg = validate_config(schema_for("classification"), parse_assignments([
        "epochs=3", "learning_rate=1e-3", "augment_flip=false", "optimizer=AdamW", "num_workers=auto",
        "device=cuda:1", "mixed_precision=none", "weight_decay=0"]))
    assert cfg["epochs"] == 3 and isinstance(cfg["epochs"], int)
    assert cfg["learning_rate"] == 1e-3 and cfg["augment_flip"] is False
    assert cfg["optimizer"] == "adamw" and cfg["num_workers"] == "auto" and cfg["device"] == "cuda:1"
    assert validate_config(schema_for("classification"), {"num_workers": "4"})["num_workers"] == 4
    assert validate_config(schema_for("classification"), {"learning_rate": 1})["learning_rate"] == 1.0


@pytest.mark.parametrize("key,value,words", [
    ("epochs", "three", "integer"),
    ("epochs", True, "integer"),
    ("epochs", 0, "minimum"),
    ("learning_rate", 50, "maximum"),
    ("learning_rate", "fast", "number"),
    ("optimizer", "rmsprop", "one of"),
    ("augment_flip", "maybe", "true or false"),
    ("device", "gpu", "not valid"),
    ("num_workers", "some", "integer or auto"),
    ("batch_size", 2.5, "integer"),
])
def test_bad_values_name_the_key(key, value, words):
    with pytest.raises(ValidationError) as info:
        validate_config(schema_for("classification"), {key: value})
    assert str(info.value).startswith(f"{key}:") and words in str(info.value)


def test_unknown_keys():
    with pytest.raises(ValidationError, match="epoch: unknown hyper-parameter.*'epochs'"):
        validate_config(schema_for("classification"), {"epoch": 3})
    assert validate_config(schema_for("classification"), {"extra": 1}, allow_unknown=True)["extra"] == 1
    with pytest.raises(ValidationError, match="arch"):
        schema_for("classification", "tinydet")
    with pytest.raises(ValidationError, match="key=value"):
        parse_assignments(["epochs"])


def test_engine_modules_import_without_torch():
    code = ("import sys; import desktop_app.ml, desktop_app.ml.hparams, desktop_app.ml.layout, "
            "desktop_app.ml.callbacks, desktop_app.ml.errors, desktop_app.ml.metrics, desktop_app.ml.sample_data, "
            "desktop_app.ml.handle; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
