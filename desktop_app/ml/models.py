"""Model builders by architecture name, offline pretrained-weight look-up, and the task wrappers the loop drives.

Every model is a `TaskModel`: it takes uint8 image batches and normalises them itself, `forward(images,
targets)` returns the training loss (so DistributedDataParallel sees one forward), `evaluate` returns
(loss, predictions) for validation and `predict` returns predictions. Weights are never downloaded:
`find_pretrained_weights` looks in the torch hub cache and an explicit path only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.ml.errors import TrainingError
from desktop_app.ml.hparams import ARCHS
from desktop_app.ml.taskmodel import IMAGENET_MEAN, IMAGENET_STD, TaskModel  # re-exported

WEIGHTS_FORMAT = "model-desk-weights/1"

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "WEIGHTS_FORMAT", "TaskModel", "Classifier", "task_of", "build_model",
    "hub_checkpoint_dir", "torchvision_filenames", "find_pretrained_weights", "read_state_dict",
    "load_matching_weights", "weights_payload", "unwrap",
]


def task_of(arch: str) -> str:
    for task, archs in ARCHS.items():
        if arch in archs:
            return task
    raise TrainingError(f"arch: unknown architecture {arch!r}; choose from "
                        f"{', '.join(a for archs in ARCHS.values() for a in archs)}")


class Classifier(TaskModel):
    task = "classification"

    def __init__(self, arch: str, num_classes: int, image_size: int):
        super().__init__(arch, num_classes, image_size)
        import torchvision.models as tvm

        builders = {"resnet18": tvm.resnet18, "resnet50": tvm.resnet50,
                    "mobilenet_v3_small": tvm.mobilenet_v3_small}
        # resnet50 from scratch learns faster with zero-initialised residual branches; resnet18 does worse with it
        # (48% vs 98.7% validation accuracy on the sample set with its defaults), so only the deep net gets it.
        kw = {"zero_init_residual": True} if arch == "resnet50" else {}
        self.net = builders[arch](weights=None, num_classes=num_classes, **kw)
        self.head_prefixes = ("net.fc.",) if arch.startswith("resnet") else ("net.classifier.3.",)

    def forward(self, images: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.net(self.normalize(images))
        if targets is None:
            return logits
        return F.cross_entropy(logits.float(), targets)

    @torch.no_grad()
    def evaluate(self, images, targets):
        logits = self.net(self.normalize(images)).float()
        return F.cross_entropy(logits, targets), logits.softmax(dim=1)

    @torch.no_grad()
    def predict(self, images, conf_threshold: float = 0.0):
        return self.net(self.normalize(images)).float().softmax(dim=1)

    @property
    def head(self) -> nn.Linear:
        """The final linear layer (its input is the embedding)."""
        return self.net.fc if self.arch.startswith("resnet") else self.net.classifier[3]

    @property
    def feature_size(self) -> int:
        return self.head.in_features

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The pooled penultimate features: what the final linear layer takes, caught by a forward hook."""
        seen: list[torch.Tensor] = []
        hook = self.head.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
        try:
            self.net(self.normalize(images))
        finally:
            hook.remove()
        return seen[0].float().flatten(1)


def build_model(arch: str, num_classes: int, *, image_size: int = 64, pretrained: bool = True,
                pretrained_path: str | Path | None = None, labels: list[str] | None = None) -> tuple[TaskModel, str]:
    """(model, a plain message about where its starting weights came from: for the execution log).

    `num_classes` is the number of labels; a semantic segmenter gets one more output, the background (class 0).
    """
    if num_classes < 1:
        raise TrainingError("the dataset has no labels: at least one class is needed to train")
    task = task_of(arch)
    if task == "classification":
        model: TaskModel = Classifier(arch, num_classes, image_size)
    elif task == "detection":
        from desktop_app.ml.detection import build_detector

        model = build_detector(arch, num_classes, image_size)
    elif task == "semantic_segmentation":
        from desktop_app.ml.segmentation import build_semantic_segmenter

        model = build_semantic_segmenter(arch, num_classes + 1, image_size)
    else:
        from desktop_app.ml.instance_seg import build_instance_segmenter

        model = build_instance_segmenter(arch, num_classes, image_size)
    if not pretrained and not pretrained_path:
        return model, f"{arch} starts from random initialisation (pretrained is off)."
    path = find_pretrained_weights(arch, pretrained_path)
    if path is None:
        names = torchvision_filenames(arch)
        if not names:
            return model, f"{arch} has no published pretrained weights, so it starts from random initialisation."
        return model, (f"No pretrained weights for {arch} on this computer (looked for {', '.join(names)} in "
                       f"{hub_checkpoint_dir()}); Model Desk never downloads, so {arch} starts from random "
                       f"initialisation.")
    loaded, total, skipped_head = load_matching_weights(model, path, labels)
    if loaded == 0:
        return model, (f"The weights in {path} do not fit {arch} (no tensor matched); "
                       f"{arch} starts from random initialisation.")
    head = " (the classification head starts fresh for these labels)" if skipped_head else ""
    return model, f"{arch} starts from pretrained weights {path}: {loaded} of {total} tensors{head}."


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def torchvision_filenames(arch: str) -> list[str]:
    """The file names torchvision would download for `arch` (looked up, never fetched)."""
    import torchvision.models as tvm
    import torchvision.models.detection as tvd
    import torchvision.models.segmentation as tvs

    enums = {
        "resnet18": [tvm.ResNet18_Weights.IMAGENET1K_V1],
        "resnet50": [tvm.ResNet50_Weights.IMAGENET1K_V2, tvm.ResNet50_Weights.IMAGENET1K_V1],
        "mobilenet_v3_small": [tvm.MobileNet_V3_Small_Weights.IMAGENET1K_V1],
        "fasterrcnn_mobilenet_v3_large_320_fpn": [tvd.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1],
        "maskrcnn_resnet50_fpn": [tvd.MaskRCNN_ResNet50_FPN_Weights.COCO_V1],
        "lraspp_mobilenet_v3_large": [tvs.LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1],
    }
    return [w.url.rsplit("/", 1)[-1] for w in enums.get(arch, [])]


def find_pretrained_weights(arch: str, explicit: str | Path | None = None) -> Path | None:
    """An explicit file if given (it must exist), else torchvision's file in the hub cache, else None."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise TrainingError(f"pretrained_path: {p} does not exist")
        return p
    for name in torchvision_filenames(arch):
        p = hub_checkpoint_dir() / name
        if p.is_file():
            return p
    return None


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict, metadata) from a Model Desk weights file or a plain / torchvision state dict."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - many causes (truncated, pickle, not torch): say which file
        raise TrainingError(f"cannot read weights {path}: {exc}") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        meta = {k: v for k, v in obj.items() if k != "state_dict"}
        return obj["state_dict"], meta
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):  # a training checkpoint
        meta = {k: obj.get(k) for k in ("task", "arch", "labels", "image_size", "config")}
        return obj["model"], meta
    if isinstance(obj, dict):
        return obj, {}
    raise TrainingError(f"cannot read weights {path}: not a state dict")


def load_matching_weights(model: TaskModel, path: str | Path, labels: list[str] | None = None) -> tuple[int, int, bool]:
    """Load every tensor whose name and shape match; returns (loaded, total, head skipped).

    torchvision files lack our `net.` prefix, which is added. The label-dependent head is skipped when the
    file's labels differ from `labels`, even if the class counts happen to match.
    """
    state, meta = read_state_dict(path)
    own = model.state_dict()
    if not any(k in own for k in state) and hasattr(model, "net"):
        state = {f"net.{k}": v for k, v in state.items()}
    file_labels = meta.get("labels")
    drop_head = labels is not None and file_labels is not None and list(file_labels) != list(labels)
    fit = {}
    skipped_head = False
    for k, v in state.items():
        if k not in own:
            continue
        is_head = any(k.startswith(p) for p in model.head_prefixes)
        if (is_head and drop_head) or own[k].shape != v.shape:
            skipped_head = skipped_head or is_head
            continue
        fit[k] = v
    model.load_state_dict(fit, strict=False)
    return len(fit), len(own), skipped_head


def weights_payload(model: TaskModel, labels: list[str], config: dict[str, Any], extra: dict[str, Any] | None = None):
    """What weights.pt holds: enough to rebuild and run the model with no catalog at hand."""
    state = {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}
    return {
        "format": WEIGHTS_FORMAT,
        "task": unwrap(model).task,
        "arch": unwrap(model).arch,
        "labels": list(labels),
        "image_size": unwrap(model).image_size,
        "config": dict(config),
        "state_dict": state,
        **(extra or {}),
    }


def unwrap(model: nn.Module) -> TaskModel:
    return model.module if hasattr(model, "module") else model  # DistributedDataParallel
