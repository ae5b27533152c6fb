"""Built-in packages on torchvision and the pretrained models every new catalog holds (declarations only)."""

from __future__ import annotations

from dataclasses import dataclass, field

ADAPTERS = "desktop_app.ml.packages.torchvision_adapter"
# What a model of each task predicts (its annotations' type; a semantic model's are "binary" masks, one a class)
OUTPUT_TYPES = {"classification": "class", "detection": "box", "instance_segmentation": "binary",
                "semantic_segmentation": "semantic"}
SAMPLE_DATASET_OF_TASK = {"classification": "shapes", "detection": "shapes-detection",
                          "instance_segmentation": "shapes-segmentation",
                          "semantic_segmentation": "shapes-segmentation"}


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    arch: str
    description: str


@dataclass(frozen=True)
class BuiltinPackage:
    name: str
    task: str                      # classification | detection | instance_segmentation | semantic_segmentation
    class_name: str
    description: str
    models: tuple[BuiltinModel, ...] = field(default_factory=tuple)

    @property
    def output_type(self) -> str:
        return OUTPUT_TYPES[self.task]

    @property
    def entry_point(self) -> str:
        return ADAPTERS

    @property
    def sample_dataset(self) -> str:
        return SAMPLE_DATASET_OF_TASK[self.task]


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
    BuiltinPackage("tinyinst", "instance_segmentation", "InstanceSegmentationAdapter",
                   "A small instance segmenter (a mask per object) that trains in minutes on a CPU.",
                   (BuiltinModel("pretrained-tinyinst", "tinyinst", "Tiny instance segmenter"),)),
    BuiltinPackage("maskrcnn", "instance_segmentation", "InstanceSegmentationAdapter",
                   "Mask R-CNN with a ResNet-50 FPN backbone (torchvision): a box and a mask per object.",
                   (BuiltinModel("pretrained-maskrcnn", "maskrcnn_resnet50_fpn", "Mask R-CNN ResNet-50 FPN"),)),
    BuiltinPackage("tinyseg", "semantic_segmentation", "SemanticSegmentationAdapter",
                   "A small U-Net semantic segmenter (a class for every pixel) that trains in a minute on a CPU.",
                   (BuiltinModel("pretrained-tinyseg", "tinyseg", "Tiny U-Net semantic segmenter"),)),
    BuiltinPackage("lraspp", "semantic_segmentation", "SemanticSegmentationAdapter",
                   "LR-ASPP with a MobileNet V3 Large backbone (torchvision): fast semantic segmentation.",
                   (BuiltinModel("pretrained-lraspp", "lraspp_mobilenet_v3_large", "LR-ASPP MobileNet V3 Large"),)),
)


def package_schema(pkg: BuiltinPackage, arch: str):
    from .hparams import schema_for
    return schema_for(pkg.task, arch)
