"""Every built-in family embeds: one vector per image, of the size it declares (CPU, random weights); the
classifiers' vectors are what their final linear layer takes; the example package shows a user's own embed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from desktop_app.ml.embedding import EMBEDDING_SIZES
from desktop_app.ml.models import build_model, weights_payload
from desktop_app.ml.packages.torchvision_adapter import ClassificationAdapter, DetectionAdapter

LABELS = ["a", "b", "c"]
EXAMPLE = Path(__file__).parents[2] / "resources" / "example_package" / "adapter.py"
FAMILIES = [("resnet18", ClassificationAdapter, 32), ("resnet50", ClassificationAdapter, 32),
            ("mobilenet_v3_small", ClassificationAdapter, 32), ("tinydet", DetectionAdapter, 64),
            ("fasterrcnn_mobilenet_v3_large_320_fpn", DetectionAdapter, 64)]


def _images(n: int = 2) -> list[np.ndarray]:
    return [np.random.RandomState(i).randint(0, 255, (40 + 8 * i, 50, 3), np.uint8) for i in range(n)]


@pytest.mark.parametrize("arch,adapter_class,image_size", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_each_built_in_family_embeds_images_into_vectors_of_its_declared_size(tmp_path, arch, adapter_class,
                                                                             image_size):
    torch.manual_seed(0)
    net, _ = build_model(arch, len(LABELS), image_size=image_size, pretrained=False)
    torch.save(weights_payload(net, LABELS, {"arch": arch}), tmp_path / "weights.pt")
    adapter = adapter_class()
    adapter.model_entity = SimpleNamespace(name="m", labels=LABELS, configuration={"device": "cpu", "arch": arch})
    assert adapter.embeddings_size == EMBEDDING_SIZES[arch]           # known before the weights are read
    adapter.load(str(tmp_path))
    out = adapter.embed(_images())
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (2, EMBEDDING_SIZES[arch]) == (2, net.feature_size) == (2, adapter.embeddings_size)
    assert np.isfinite(out).all() and not np.allclose(out[0], out[1], rtol=1e-3, atol=0)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small"])
def test_a_classifier_embedding_is_the_input_of_its_final_linear_layer(arch):
    torch.manual_seed(0)
    net, _ = build_model(arch, len(LABELS), image_size=32, pretrained=False)
    net.eval()
    images = torch.from_numpy(np.stack([np.asarray(i[:40, :40]) for i in _images()])).permute(0, 3, 1, 2)
    with torch.no_grad():
        logits = net.net(net.normalize(images))
        assert torch.allclose(net.head(net.features(images)), logits, atol=1e-5)


def test_the_example_package_embeds_with_its_pooled_features():
    spec = importlib.util.spec_from_file_location("example_adapter_for_embed", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    adapter = module.SmallCNNAdapter()
    adapter.model_entity = SimpleNamespace(name="small", id="x", labels=LABELS, configuration={"image_size": 32})
    adapter.load("/nonexistent")             # no weights file: a fresh network
    out = np.asarray(adapter.embed(_images()))
    assert out.shape == (2, 64) and np.isfinite(out).all()
