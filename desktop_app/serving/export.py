"""TorchScript and ONNX files of a trained built-in model's network, each checked by running the file.

The exported network takes float32 RGB pixels 0..255, NCHW, any batch size (and any height / width):
normalisation is inside it. What it answers, by architecture:

- classifiers: `probabilities` [N, classes] (softmax).
- semantic segmenters (tinyseg, lraspp_mobilenet_v3_large): `probabilities` [N, 1 + labels, H, W] (softmax over
  the classes, index 0 = background, k + 1 = labels[k]); argmax is the label map.
- tinydet: its raw heads `heatmap` [N, classes, H/8, W/8] (logits) and `box_distances` [N, 4, H/8, W/8]
  (pixels from each cell's centre to the box's left, top, right, bottom sides).
- tinyinst: tinydet's two heads plus `mask_coefficients` [N, P, H/8, W/8] (one coefficient a prototype, at every
  cell) and `prototypes` [N, P, H/4, W/4]: the instance found at a heat-map peak has the mask
  sigmoid(sum_p coefficients[p] * prototypes[p]), upsampled bilinearly to H x W and cut to its box (P = 12).
- maskrcnn_resnet50_fpn (TorchScript only, scripted: its detections' count depends on the image): the decoded
  detections of the whole batch, concatenated: `boxes` [K, 4] (xyxy pixels), `scores` [K], `labels` [K]
  (index into labels), `masks` [K, H, W] (probabilities 0..1) and `image_index` [K] (which image each is of).
  ONNX is refused for it: see `why_no_onnx`.

Labels, architecture and input size travel inside the file (ONNX metadata / a TorchScript extra file).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.errors import ValidationError

FORMATS = ("onnx", "torchscript")
EXTENSIONS = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 17
META_FILE = "model_desk.json"
EXPORTABLE = ("resnet18", "resnet50", "mobilenet_v3_small", "tinydet", "tinyinst", "tinyseg",
              "lraspp_mobilenet_v3_large", "maskrcnn_resnet50_fpn")
SCRIPTED = ("maskrcnn_resnet50_fpn",)     # torch.jit.script, not trace: data-dependent control flow
TINYINST_OUTPUTS = ["heatmap", "box_distances", "mask_coefficients", "prototypes"]
MASKRCNN_OUTPUTS = ["boxes", "scores", "labels", "masks", "image_index"]


@dataclass
class ExportResult:
    path: Path
    format: str
    arch: str
    outputs: list[str]
    input_shape: list[int]
    max_abs_diff: float
    tolerance: float
    seconds: float
    per_output: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def check(self) -> str:
        verdict = "OK" if self.ok else f"TOO FAR (tolerance {self.tolerance:.1e})"
        return f"checked on {self.input_shape}: max abs diff vs torch = {self.max_abs_diff:.3e} {verdict}"

    def summary(self) -> str:
        return f"exported {self.arch} as {self.format} to {self.path} in {self.seconds:.1f} s; {self.check()}"


def why_not_exportable(model: Any) -> str | None:
    """None when the model has trained weights to export, else why not (a model record or entity)."""
    from desktop_app.catalog.records import why_no_weights
    return why_no_weights(model, "export")


def default_filename(model_name: str, fmt: str) -> str:
    """'resnet-small.onnx' / 'resnet-small.pt': where an export goes when no file is named."""
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name).strip("._") or "model"
    return safe + EXTENSIONS[fmt]


def why_no_onnx(arch: str) -> str | None:
    """None when `arch` can be exported to ONNX, else why not."""
    if arch in SCRIPTED:
        return (f"{arch} cannot be exported to ONNX with a dynamic batch: torchvision's Mask R-CNN splits the "
                f"batch into a python list of images, so a traced ONNX graph holds a fixed number of images and "
                f"the data-dependent loops over detections are unrolled for the example it saw; export it as "
                f"torchscript (scripted, checked the same way)")
    return None


def _wrapper(model: Any):
    import torch
    from torch import nn

    if model.arch in SCRIPTED:
        return _scriptable_rcnn(model)

    class Exportable(nn.Module):
        """The network alone, with plain tensor outputs (no python-side decoding)."""

        def __init__(self, inner: nn.Module):
            super().__init__()
            self.inner = inner
            self.task = inner.task

        def forward(self, images: torch.Tensor):
            if self.task == "classification":
                return self.inner(images).float().softmax(dim=1)
            if self.task == "semantic_segmentation":
                return self.inner.logits(images).float().softmax(dim=1)
            return tuple(self.inner(images))

    return Exportable(model).eval()


def _scriptable_rcnn(model: Any):
    """Mask R-CNN as a scriptable module: uint8-range float images in, the batch's detections concatenated out."""
    from typing import Dict, List, Tuple

    import torch
    from torch import Tensor, nn

    class ScriptableRCNN(nn.Module):
        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net

        @torch.jit.unused
        def _eager(self, images: List[Tensor]) -> List[Dict[str, Tensor]]:
            return self.net(images)

        def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
            batch = [im / 255.0 for im in images.unbind(0)]
            if torch.jit.is_scripting():
                dets = self.net(batch)[1]   # scripted torchvision detectors answer (losses, detections)
            else:
                dets = self._eager(batch)
            boxes, scores, labels, masks, index = [], [], [], [], []
            for i, d in enumerate(dets):
                boxes.append(d["boxes"])
                scores.append(d["scores"])
                labels.append(d["labels"] - 1)          # 0 is Mask R-CNN's background
                masks.append(d["masks"][:, 0])
                index.append(torch.full_like(d["labels"], i))
            return torch.cat(boxes), torch.cat(scores), torch.cat(labels), torch.cat(masks), torch.cat(index)

    return ScriptableRCNN(model.net).eval()


def output_names(model: Any) -> list[str]:
    if model.task in ("classification", "semantic_segmentation"):
        return ["probabilities"]
    if model.arch in SCRIPTED:
        return list(MASKRCNN_OUTPUTS)
    if model.task == "instance_segmentation":
        return list(TINYINST_OUTPUTS)
    return ["heatmap", "box_distances"]


def _dynamic_axes(names: list[str], task: str) -> dict:
    axes: dict = {"images": {0: "batch", 2: "height", 3: "width"}}
    for n in names:
        if n == "probabilities":
            axes[n] = {0: "batch", 2: "height", 3: "width"} if task == "semantic_segmentation" else {0: "batch"}
        elif n == "prototypes":
            axes[n] = {0: "batch", 2: "proto_h", 3: "proto_w"}
        else:
            axes[n] = {0: "batch", 2: "grid_h", 3: "grid_w"}
    return axes


def load_network(weights_path: str | Path):
    """(TaskModel in eval mode, metadata) from a Model Desk weights file, read with weights_only=True."""
    from desktop_app.ml.models import build_model, read_state_dict

    state, meta = read_state_dict(weights_path)  # torch.load(..., weights_only=True)
    arch, labels = meta.get("arch"), meta.get("labels")
    if not arch or not labels:
        raise ValidationError(f"{weights_path} is not a Model Desk weights file (no arch / labels inside)")
    if arch not in EXPORTABLE:
        raise ValidationError(f"exporting {arch} is not supported ({', '.join(EXPORTABLE)} are); torchvision's "
                              f"Faster R-CNN returns python lists that neither format holds")
    model, _ = build_model(arch, len(labels), image_size=int(meta.get("image_size") or 64), pretrained=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValidationError(f"{weights_path} does not fit {arch}: missing {list(missing)[:3]}, "
                              f"unexpected {list(unexpected)[:3]}")
    return model.eval(), meta


def weights_file(catalog: Any, model_id: str) -> Path:
    from desktop_app.ml.packages.torchvision_adapter import WEIGHTS

    model = catalog.get_model(model_id)
    for a in catalog.list_artifacts(model_id):
        if a.filename == WEIGHTS:
            return catalog.store.path(a.sha256)
    package = catalog.get_package(model.package_id)
    if package.kind != "builtin":  # its own code decides what it saves: training again would not help
        raise ValidationError(f"model {model.name!r} comes from the user package {package.name!r}, which saves "
                              f"no {WEIGHTS} in Model Desk's format: only built-in models can be exported")
    raise ValidationError(f"model {model.name!r} has no {WEIGHTS}: train it before exporting")


def export_model(catalog: Any, model_id: str, fmt: str, out: str | Path, *, check_batch: int = 3) -> ExportResult:
    """Export the model's network to `out` and compare the file's outputs with torch's on random images."""
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    rec = catalog.get_model(model_id)
    model, meta = load_network(weights_file(catalog, model_id))
    return export_network(model, meta, fmt, out, check_batch=check_batch, name=rec.name)


def export_network(model: Any, meta: dict, fmt: str, out: str | Path, *, check_batch: int = 3,
                   name: str = "") -> ExportResult:
    import torch

    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "onnx" and why_no_onnx(model.arch):
        raise ValidationError(why_no_onnx(model.arch))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    size = int(meta.get("image_size") or model.image_size)
    names = output_names(model)
    net = _wrapper(model)
    info = {"format": "model-desk-export/1", "name": name, "arch": model.arch, "task": model.task,
            "labels": list(meta.get("labels") or []), "image_size": size, "input": "images",
            "input_layout": "float32 RGB 0..255, [N, 3, H, W]", "outputs": names}
    gen = torch.Generator().manual_seed(0)
    example = torch.randint(0, 256, (2, 3, size, size), generator=gen).float()
    t0 = time.perf_counter()
    tmp = out.with_name(out.name + ".part")
    with warnings.catch_warnings():
        # torch marks the TorchScript-based ONNX exporter and torch.jit as deprecated in favour of
        # torch.export; the dynamo exporter needs the extra onnxscript package, so we stay on these.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        with torch.no_grad():
            if fmt == "onnx":
                _to_onnx(net, example, tmp, names, info, _dynamic_axes(names, model.task))
            elif model.arch in SCRIPTED:
                torch.jit.save(torch.jit.script(net), str(tmp), _extra_files={META_FILE: json.dumps(info)})
            else:
                traced = torch.jit.trace(net, example)
                torch.jit.save(traced, str(tmp), _extra_files={META_FILE: json.dumps(info)})
    os.replace(tmp, out)
    seconds = time.perf_counter() - t0
    # Check on a batch size (and height) the export never saw: the axes must really be dynamic.
    check = torch.randint(0, 256, (check_batch, 3, size + 16, size), generator=gen).float()
    with torch.no_grad():
        ref = net(check)
    ref = [r.numpy() for r in (ref if isinstance(ref, tuple) else (ref,))]
    got = run_exported(out, fmt, check.numpy())
    per = {n: _max_diff(a, b) for n, a, b in zip(names, got, ref)}
    scale = max([1.0] + [float(abs(r).max()) for r in ref if r.size])
    return ExportResult(path=out, format=fmt, arch=model.arch, outputs=names, input_shape=list(check.shape),
                        max_abs_diff=max(per.values()), tolerance=1e-4 * scale, seconds=seconds, per_output=per)


def _max_diff(a: Any, b: Any) -> float:
    """Largest absolute difference of two arrays; infinite when their shapes differ (e.g. another detection count)."""
    if a.shape != b.shape:
        return float("inf")
    return float(abs(a.astype("float64") - b.astype("float64")).max()) if a.size else 0.0


def _to_onnx(net: Any, example: Any, path: Path, names: list[str], info: dict, axes: dict) -> None:
    import onnx
    import torch

    torch.onnx.export(net, (example,), str(path), dynamo=False, input_names=["images"], output_names=names,
                      dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    proto = onnx.load(str(path))
    for k, v in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v if isinstance(v, str) else json.dumps(v)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def run_exported(path: str | Path, fmt: str, images: Any) -> list[Any]:
    """Run an exported file on float32 NCHW images (onnxruntime for ONNX, torch.jit for TorchScript)."""
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {"images": images})
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated (see above)
        module = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad(), warnings.catch_warnings():
        # a scripted torchvision detector says, each call, that it answers (losses, detections): we know
        warnings.filterwarnings("ignore", message="RCNN always returns", category=UserWarning)
        out = module(torch.from_numpy(images))
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def read_export_metadata(path: str | Path, fmt: str) -> dict:
    if fmt == "onnx":
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        return {p.key: p.value for p in proto.metadata_props}
    import torch

    extra = {META_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[META_FILE])
