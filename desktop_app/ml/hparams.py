"""Declared training hyper-parameters: the GUI builds its form from them, the CLI coerces `--set k=v` with them."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from desktop_app.errors import ValidationError

KINDS = ("int", "float", "bool", "str", "choice")
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f"}
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter. `allow_auto` lets the value also be the string 'auto' (num_workers)."""

    name: str
    kind: str                                 # one of KINDS
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    advanced: bool = False
    allow_auto: bool = False
    log_scale: bool = False                   # a hint for the GUI's slider / spin box
    pattern: str | None = None                # str kind: the value must match this regex

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the GUI / CLI help / a JSON API."""
        return {
            "name": self.name, "kind": self.kind, "default": self.default, "help": self.help,
            "minimum": self.minimum, "maximum": self.maximum, "choices": list(self.choices),
            "advanced": self.advanced, "allow_auto": self.allow_auto, "log_scale": self.log_scale,
            "pattern": self.pattern,
        }


@dataclass(frozen=True)
class Schema:
    """An ordered set of HParams; `params[name]` for look-up, iteration in form order."""

    params: dict[str, HParam] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.params.values())

    def __getitem__(self, name: str) -> HParam:
        return self.params[name]

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self}

    def with_defaults(self, **defaults: Any) -> "Schema":
        """A copy whose defaults are replaced (per-architecture defaults)."""
        unknown = set(defaults) - set(self.params)
        if unknown:
            raise KeyError(f"unknown hyper-parameter(s): {', '.join(sorted(unknown))}")
        params = {n: (replace(p, default=defaults[n]) if n in defaults else p) for n, p in self.params.items()}
        return Schema(params)

    def to_list(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self]


CLASSIFICATION_ARCHS = ("resnet18", "resnet50", "mobilenet_v3_small")
DETECTION_ARCHS = ("tinydet", "fasterrcnn_mobilenet_v3_large_320_fpn")
INSTANCE_ARCHS = ("tinyinst", "maskrcnn_resnet50_fpn")
SEMANTIC_ARCHS = ("tinyseg", "lraspp_mobilenet_v3_large")
ARCHS = {"classification": CLASSIFICATION_ARCHS, "detection": DETECTION_ARCHS,
         "instance_segmentation": INSTANCE_ARCHS, "semantic_segmentation": SEMANTIC_ARCHS}
TASKS = tuple(ARCHS)


def _common(task: str) -> list[HParam]:
    archs = ARCHS[task]
    return [
        HParam("arch", "choice", archs[0], "Network architecture.", choices=archs),
        HParam("epochs", "int", 10, "Passes over the training set.", 1, 10_000),
        HParam("batch_size", "int", 32, "Images per optimisation step.", 1, 65_536),
        HParam("learning_rate", "float", 1e-3, "Peak learning rate.", 1e-7, 10.0, log_scale=True),
        HParam("optimizer", "choice", "adamw", "Optimiser.", choices=("sgd", "adam", "adamw")),
        HParam("scheduler", "choice", "onecycle", "Learning-rate schedule over the whole run.",
               choices=("none", "cosine", "step", "onecycle")),
        HParam("weight_decay", "float", 1e-4, "L2 penalty / decoupled weight decay.", 0.0, 1.0, advanced=True),
        HParam("momentum", "float", 0.9, "SGD momentum (beta1 for Adam/AdamW).", 0.0, 0.999, advanced=True),
        HParam("image_size", "int", 64, "Images are resized to this square size (pixels).", 16, 2048),
        HParam("augment_flip", "bool", True, "Random horizontal flips."),
        HParam("augment_color_jitter", "bool", True, "Random brightness / contrast / saturation."),
        HParam("augment_random_resized_crop", "bool", False,
               "Random resized crops: worth turning on for photos (classification only; ignored for detection and "
               "segmentation)."),
        HParam("seed", "int", 0, "Random seed: the same seed on CPU gives the same run.", 0, 2**31 - 1,
               advanced=True),
        HParam("mixed_precision", "choice", "bf16", "Autocast precision on CUDA (ignored on CPU).",
               choices=("none", "bf16", "fp16"), advanced=True),
        HParam("channels_last", "bool", True, "channels-last memory format on CUDA (ignored on CPU).",
               advanced=True),
        HParam("compile", "bool", False,
               "torch.compile the model on CUDA: faster steps after a slower first minute (classification; "
               "ignored on CPU and for other tasks).", advanced=True),
        HParam("device", "str", "auto", "'auto', 'cpu', 'cuda' or 'cuda:N'.", pattern=_DEVICE_RE.pattern,
               advanced=True),
        HParam("num_workers", "int", "auto", "Data-loading worker processes ('auto': from the cores available).",
               0, 256, allow_auto=True, advanced=True),
        HParam("early_stopping_patience", "int", 0,
               "Stop after this many epochs without a better validation metric (0: never).", 0, 10_000,
               advanced=True),
        HParam("checkpoint_every", "int", 1, "Write a resumable checkpoint every N epochs.", 1, 10_000,
               advanced=True),
        HParam("pretrained", "bool", True,
               "Start from pretrained weights when they are on disk (never downloaded).", advanced=False),
        HParam("pretrained_path", "str", "", "Explicit weights file to start from (overrides the hub cache).",
               advanced=True),
        HParam("cache_images", "choice", "auto", "Keep decoded images in memory ('auto': when they fit).",
               choices=("auto", "yes", "no"), advanced=True),
    ]


# Per-architecture defaults, measured on the built-in sample project (1,000 shapes, 2-core CPU, random init):
# see tests/ml/test_ml_learning.py. mobilenet_v3_small and the Faster R-CNN are set by analogy, not measured.
ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    # Measured: 95.4% validation accuracy after 7 epochs (10 epochs: 98.7%, 5 epochs: 82.9%).
    "resnet18": {"epochs": 7, "batch_size": 16, "learning_rate": 3e-3, "image_size": 64},
    # Measured: 84% validation accuracy after 14 epochs at 32 px from random init (no ImageNet weights offline).
    "resnet50": {"epochs": 14, "batch_size": 16, "learning_rate": 2e-3, "image_size": 32},
    "mobilenet_v3_small": {"epochs": 12, "batch_size": 16, "learning_rate": 3e-3, "image_size": 64},
    "tinydet": {"epochs": 12, "batch_size": 16, "learning_rate": 3e-3, "image_size": 128},
    "fasterrcnn_mobilenet_v3_large_320_fpn": {"epochs": 20, "batch_size": 8, "learning_rate": 1e-2,
                                              "optimizer": "sgd", "scheduler": "cosine",
                                              "image_size": 320},
    # tinyseg: 0.68 validation mIoU from random init after ~1,040 steps of 8 images at 48 px (600 shapes-segmentation
    # images, 20 epochs, colour jitter off, 43 s on 2 cores: tests/ml/test_semantic_seg.py); 12 epochs of the 700
    # sample training images are as many steps. LRASPP and the instance models are set by analogy, not measured.
    "tinyseg": {"epochs": 12, "batch_size": 8, "learning_rate": 1e-2, "image_size": 48},
    "lraspp_mobilenet_v3_large": {"epochs": 20, "batch_size": 8, "learning_rate": 1e-3, "image_size": 224},
    "tinyinst": {"epochs": 15, "batch_size": 8, "learning_rate": 3e-3, "image_size": 96},
    "maskrcnn_resnet50_fpn": {"epochs": 20, "batch_size": 4, "learning_rate": 1e-2, "optimizer": "sgd",
                              "scheduler": "cosine", "image_size": 320},
}


def schema_for(task: str, arch: str | None = None) -> Schema:
    """The schema of `task`, with `arch`'s defaults (the task's first architecture if None)."""
    if task not in TASKS:
        raise ValidationError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    schema = Schema({p.name: p for p in _common(task)})
    arch = arch or schema["arch"].default
    if arch not in schema["arch"].choices:
        raise ValidationError(f"arch: {arch!r} is not a {task} architecture; choose from "
                              f"{', '.join(schema['arch'].choices)}")
    return schema.with_defaults(arch=arch, **ARCH_DEFAULTS.get(arch, {}))


def default_config(task: str, arch: str | None = None) -> dict[str, Any]:
    return schema_for(task, arch).defaults()


# Configuration keys every model may hold whatever its package declares: those Dataloop's BaseModelAdapter
# reads or writes itself (see dtlpy's AdapterDefaults and base_model_adapter.py), and those Model Desk keeps on
# a model (review's thresholds, multi-GPU training).
RESERVED_KEYS = frozenset({
    "id_to_label_map", "label_to_id_map", "batch_size", "embeddings_size", "include_model_annotations",
    "include_background", "predict_embed_subset_limit", "predict_embed_timeout", "column",
    "upload_annotations", "clean_annotations", "overwrite_annotations", "upload_features",
    "root_path", "data_path", "output_path",
    "conf_threshold", "class_thresholds", "distributed", "system_metrics_interval",
})


def unknown_key_error(key: Any, known: list[str], owner: str = "") -> ValidationError:
    """The refusal of a configuration key nobody declared, with the closest known name (difflib)."""
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
    where = f" of {owner}" if owner else ""
    return ValidationError(f"{key}: unknown hyper-parameter{where}{hint} (a misspelt key would be stored and "
                           f"ignored)")


def validate_config(schema: Schema, config: dict[str, Any] | None, *, allow_unknown: bool = False,
                    owner: str = "") -> dict[str, Any]:
    """Fill defaults, coerce CLI strings ("3" -> 3, "false" -> False), refuse bad values naming the key.

    Unknown keys are refused (with the closest declared name) unless `allow_unknown`, when they pass through
    as given; RESERVED_KEYS always pass. `owner` names the package in the message.
    """
    config = dict(config or {})
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key not in schema:
            if allow_unknown or key in RESERVED_KEYS:
                out[key] = value
                continue
            raise unknown_key_error(key, list(schema.params), owner)
        out[key] = coerce(schema[key], value)
    for p in schema:
        out.setdefault(p.name, p.default)
    return out


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`['epochs=3', 'device=cuda:0']` -> {'epochs': '3', ...} for the CLI's repeated --set."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"{pair!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def coerce(p: HParam, value: Any) -> Any:
    """One value to the parameter's type, or ValidationError naming the key."""
    key = p.name
    if p.allow_auto and isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if p.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationError(f"{key}: expected true or false, got {value!r}")
    if p.kind == "int":
        if isinstance(value, bool):
            raise ValidationError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValidationError(f"{key}: expected an integer{' or auto' if p.allow_auto else ''}, "
                                      f"got {value!r}") from None
        if not isinstance(value, int):
            raise ValidationError(f"{key}: expected an integer, got {value!r}")
        return _check_range(p, value)
    if p.kind == "float":
        if isinstance(value, bool):
            raise ValidationError(f"{key}: expected a number, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValidationError(f"{key}: expected a number, got {value!r}") from None
        if not isinstance(value, (int, float)):
            raise ValidationError(f"{key}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValidationError(f"{key}: expected a finite number, got {value!r}")
        return _check_range(p, value)
    if p.kind == "choice":
        if not isinstance(value, str):
            raise ValidationError(f"{key}: expected one of {', '.join(p.choices)}, got {value!r}")
        v = value.strip()
        for c in p.choices:
            if v.lower() == c.lower():
                return c
        raise ValidationError(f"{key}: expected one of {', '.join(p.choices)}, got {value!r}")
    if p.kind == "str":
        if not isinstance(value, str):
            raise ValidationError(f"{key}: expected text, got {value!r}")
        v = value.strip()
        if p.pattern and not re.fullmatch(p.pattern, v):
            raise ValidationError(f"{key}: {value!r} is not valid here ({p.help})")
        return v
    raise ValidationError(f"{key}: unsupported kind {p.kind!r}")  # pragma: no cover


def _check_range(p: HParam, value):
    if p.minimum is not None and value < p.minimum:
        raise ValidationError(f"{p.name}: {value!r} is below the minimum {p.minimum:g}")
    if p.maximum is not None and value > p.maximum:
        raise ValidationError(f"{p.name}: {value!r} is above the maximum {p.maximum:g}")
    return value
