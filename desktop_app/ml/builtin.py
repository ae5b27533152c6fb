"""Built-in packages on torchvision and the pretrained models every new catalog holds (declarations only)."""

from __future__ import annotations

from dataclasses import dataclass, field

ADAPTERS = "desktop_app.ml.packages.torchvision_adapter"


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    arch: str
    description: str


@dataclass(frozen=True)
class BuiltinPackage:
    name: str
    task: str                      # classification | detection
    class_name: str
    description: str
    models: tuple[BuiltinModel, ...] = field(default_factory=tuple)

    @property
    def output_type(self) -> str:
        return "class" if self.task == "classification" else "box"

    @property
    def entry_point(self) -> str:
        return ADAPTERS

    @property
    def sample_dataset(self) -> str:
        return "shapes" if self.task == "classification" else "shapes-detection"


BUILTIN_PACKAGES: tuple[BuiltinPackage, ...] = (
    BuiltinPackage("resnet", "classification", "ClassificationAdapter",
                   "ResNet image classifiers (torchvision); the head is resized to the dataset's labels.",
                   (BuiltinModel("pretrained-resnet", "resnet18", "ResNet-18"),
                    BuiltinModel("pretrained-resnet50", "resnet50", "ResNet-50"))),
    BuiltinPackage("mobilenet", "classification", "ClassificationAdapter",
                   "MobileNet V3 small classifier (torchvision): fast on CPUs.",
                   (BuiltinModel("pretrained-mobilenet", "mobilenet_v3_small", "MobileNet V3 small"),)),
    BuiltinPackage("tinydet", "detection", "DetectionAdapter",
                   "A small anchor-free box detector that trains in minutes on a CPU.",
                   (BuiltinModel("pretrained-tinydet", "tinydet", "Tiny anchor-free detector"),)),
    BuiltinPackage("fasterrcnn", "detection", "DetectionAdapter",
                   "Faster R-CNN with a MobileNet V3 FPN backbone (torchvision), 320 px.",
                   (BuiltinModel("pretrained-fasterrcnn", "fasterrcnn_mobilenet_v3_large_320_fpn",
                                 "Faster R-CNN MobileNet V3 320 FPN"),)),
)


def package_schema(pkg: BuiltinPackage, arch: str):
    from .hparams import schema_for
    return schema_for(pkg.task, arch)
