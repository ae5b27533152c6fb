"""Hostile model bundles: each is refused with Model Desk's own error naming what is wrong, and nothing is written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from desktop_app.catalog import bundle as bundle_mod
from desktop_app.catalog.bundle import MANIFEST, import_bundle
from desktop_app.errors import UserError, ValidationError

from hostile.conftest import snapshot


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A sound bundle: a trained clone of pretrained-resnet with real torch weights and an evaluation."""
    import torch

    from desktop_app.catalog import Catalog
    from desktop_app.evaluation.cache import encode_cache
    from desktop_app.evaluation.run import keep_evaluation
    from desktop_app.sdk.bootstrap import ensure_builtins

    root = tmp_path_factory.mktemp("bundle-source")
    cat = Catalog(root / "source")
    try:
        ensure_builtins(cat)
        parent = cat.find_models(name="pretrained-resnet")[0]
        ds = cat.create_dataset(parent.project_id, "shapes", labels=["circle", "square"])
        model = cat.create_model("tuned", project_id=parent.project_id, package_id=parent.package_id,
                                 parent_id=parent.id, status="trained", labels=["circle", "square"])
        weights = root / "weights.pt"
        torch.save({"state_dict": torch.nn.Linear(2, 2).state_dict(), "labels": ["circle", "square"]}, weights)
        sha, size = cat.store.put_file(weights)
        cat.add_artifact(model.id, "weights.pt", sha, size)
        cat.add_metric_samples(model.id, [{"figure": "loss", "legend": "train", "x": 0, "y": 1.0}])
        keep_evaluation(cat, model.id, ds.id, "shapes", method="classification",
                        results={"summary": {"accuracy": 1.0}}, cache=encode_cache(scores=[0.5]))
        return bundle_mod.export_bundle(cat, model.id, root / "good.mdbundle")
    finally:
        cat.close()


@pytest.fixture
def target(tmp_path):
    from desktop_app.catalog import Catalog
    from desktop_app.sdk.bootstrap import ensure_builtins
    cat = Catalog(tmp_path / "target")
    ensure_builtins(cat)
    yield cat
    cat.close()


def _rewrite(src: Path, dest: Path, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
             manifest: Callable[[dict], None] | None = None, declare: bool = True) -> Path:
    """A copy of the bundle with entries replaced or added; `declare`: the manifest lists them with their true
    sha256 and size (so only the check under test can refuse the bundle)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin:
        m = json.loads(zin.read(MANIFEST))
        entries = {i.filename: zin.read(i) for i in zin.infolist() if i.filename != MANIFEST}
    entries.update(replace)
    entries.update(add)
    if declare:
        for name in {**replace, **add}:
            m["members"][name] = {"sha256": hashlib.sha256(entries[name]).hexdigest(), "size": len(entries[name])}
            if name.startswith("artifacts/"):
                for a in m["artifacts"]:
                    if a["member"] == name:
                        a["sha256"] = m["members"][name]["sha256"]
    if manifest is not None:
        manifest(m)
    with zipfile.ZipFile(dest, "w") as zout:
        for name, data in entries.items():
            zout.writestr(name, data)
        zout.writestr(MANIFEST, json.dumps(m))
    return dest


def _refused(target, bundle: Path, match: str) -> None:
    before = snapshot(target)
    with pytest.raises(ValidationError, match=match):
        import_bundle(target, bundle)
    assert snapshot(target) == before
    assert not list((Path(target.home) / "work").glob("bundle-*")), "the unpacked entries were left behind"


def _torch_zip_with(pkl: bytes) -> bytes:
    """A torch.save zip whose data.pkl is `pkl`."""
    import torch
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, pkl if info.filename.endswith("data.pkl") else zin.read(info))
    return out.getvalue()


def test_the_sound_bundle_imports(good, target):
    report = import_bundle(target, good)
    assert report.created and report.model.name == "tuned"


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil", "artifacts/../../evil", "C:/evil", "a\\..\\evil"])
def test_a_path_leaving_the_bundle_is_refused(good, target, tmp_path, name):
    bad = _rewrite(good, tmp_path / "bad.mdbundle", add={name: b"print('pwned')"})
    _refused(target, bad, "holds the path")


def test_a_symbolic_link_is_refused(good, target, tmp_path):
    bad = tmp_path / "link.mdbundle"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        link = zipfile.ZipInfo("artifacts/link")
        link.external_attr = 0o120777 << 16
        zout.writestr(link, "/etc/passwd")
    _refused(target, bad, "symbolic link")


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_pickle_for_weights_is_refused(good, target, tmp_path, protocol):
    bad = _rewrite(good, tmp_path / "pickle.mdbundle",
                   replace={"artifacts/weights.pt": pickle.dumps(_RunsCode(), protocol=protocol)})
    _refused(target, bad, "is a pickle")


@pytest.mark.parametrize("protocol", [2, 4])
def test_torch_weights_whose_pickle_calls_a_function_are_refused(good, target, tmp_path, protocol):
    evil = _torch_zip_with(pickle.dumps({"w": _RunsCode()}, protocol=protocol))
    bad = _rewrite(good, tmp_path / "torch.mdbundle", replace={"artifacts/weights.pt": evil})
    _refused(target, bad, r"names (posix|os|nt)\.system")


def test_an_evaluation_cache_holding_objects_is_refused(good, target, tmp_path):
    with zipfile.ZipFile(good) as z:
        cache = next(n for n in z.namelist() if n.startswith("caches/"))
    buf = io.BytesIO()
    np.savez(buf, scores=np.array([_RunsCode()], dtype=object))
    data = buf.getvalue()

    def point(m):
        sha = hashlib.sha256(data).hexdigest()
        m["members"][f"caches/{sha}.npz"] = m["members"].pop(cache) | {"sha256": sha, "size": len(data)}
    bad = _rewrite(good, tmp_path / "cache.mdbundle", add={cache: data}, declare=False, manifest=point)
    # the entry keeps its name but the manifest lists it under its new sha: refused either way
    _refused(target, bad, "manifest")
    bad = _rewrite(good, tmp_path / "cache2.mdbundle", replace={cache: data})
    _refused(target, bad, "object array")


def test_a_tampered_entry_is_refused(good, target, tmp_path):
    with zipfile.ZipFile(good) as z:
        weights = bytearray(z.read("artifacts/weights.pt"))
    weights[-100] ^= 0xFF
    bad = _rewrite(good, tmp_path / "tampered.mdbundle", replace={"artifacts/weights.pt": bytes(weights)},
                   declare=False)
    _refused(target, bad, "sha256 differs")


def test_an_entry_the_manifest_does_not_list_is_refused(good, target, tmp_path):
    bad = _rewrite(good, tmp_path / "extra.mdbundle", add={"artifacts/extra.bin": b"x"}, declare=False)
    _refused(target, bad, "does not list")


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(format="something-else"), "format 'model-desk-bundle'"),
    (lambda m: m.update(format_version=99), "format version 99"),
    (lambda m: m.update(format_version="1"), "no format_version"),
    (lambda m: m.pop("members"), "no members"),
    (lambda m: m["model"].update(status="training"), "status 'training'"),
    (lambda m: m["package"].update(kind="evil"), "names no package"),
])
def test_a_wrong_schema_is_refused(good, target, tmp_path, change, match):
    _refused(target, _rewrite(good, tmp_path / "schema.mdbundle", manifest=change), match)


def test_a_truncated_bundle_is_refused(good, target, tmp_path):
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10):
        bad = tmp_path / f"cut{cut}.mdbundle"
        bad.write_bytes(data[:cut])
        _refused(target, bad, "not a Model Desk bundle")


def test_not_a_zip_is_refused(target, tmp_path):
    bad = tmp_path / "text.mdbundle"
    bad.write_text("hello")
    _refused(target, bad, "not a Model Desk bundle")


def test_a_huge_declared_size_is_refused(good, target, tmp_path, monkeypatch):
    # In the manifest
    bad = _rewrite(good, tmp_path / "huge.mdbundle",
                   manifest=lambda m: m["members"]["metrics.json"].update(size=10 ** 15))
    _refused(target, bad, "size over")
    # In the zip's own directory: an entry claiming 4 GB
    data = bytearray(good.read_bytes())
    at = data.rfind(b"PK\x01\x02")                  # the last entry's central directory header
    struct.pack_into("<I", data, at + 24, 0xFFFFFFF0)
    bad = tmp_path / "huge-zip.mdbundle"
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(bundle_mod, "MAX_MEMBER_BYTES", 1 << 30)
    _refused(target, bad, "declares 4294967280 bytes, over the limit")
    # All entries together over the bundle limit
    monkeypatch.setattr(bundle_mod, "MAX_BUNDLE_BYTES", 1000)
    _refused(target, good, "bytes unpacked, over the limit of 1000")


def test_a_broken_safetensors_file_is_refused(good, target, tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 10 ** 9]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16

    def add_artifact(m):
        m["artifacts"].append({"filename": "w.safetensors", "member": "artifacts/w.safetensors",
                               "sha256": hashlib.sha256(data).hexdigest()})
    bad = _rewrite(good, tmp_path / "st.mdbundle", add={"artifacts/w.safetensors": data}, manifest=add_artifact)
    _refused(target, bad, "lies outside the file")


def test_a_failure_while_writing_leaves_nothing(good, target, monkeypatch):
    """Atomic: a failure after the files reached the store takes them and every row back."""
    def boom(*a, **k):
        raise RuntimeError("disk gone")
    monkeypatch.setattr(type(target), "add_metric_samples", boom)
    before = snapshot(target)
    with pytest.raises(RuntimeError, match="disk gone"):
        import_bundle(target, good)
    after = snapshot(target)
    after["store"].remove("writers.lock")          # the store's lock file, made by its first write
    assert after == before


def test_rows_that_clash_are_refused_with_nothing_written(good, target, tmp_path):
    with zipfile.ZipFile(good) as z:
        evaluations = json.loads(z.read("evaluations.json"))
    twice = json.dumps(evaluations * 2).encode()       # the same evaluation id twice
    bad = _rewrite(good, tmp_path / "twice.mdbundle", replace={"evaluations.json": twice})
    before = snapshot(target)
    with pytest.raises(ValidationError, match="clash with this catalog"):
        import_bundle(target, bad)
    after = snapshot(target)
    after["store"].remove("writers.lock")
    assert after == before


def test_metric_points_of_the_wrong_kind_are_refused(good, target, tmp_path):
    bad = _rewrite(good, tmp_path / "points.mdbundle",
                   replace={"metrics.json": json.dumps([{"figure": "loss", "legend": "t", "x": "0", "y": 1}]).encode()})
    _refused(target, bad, "point 0 needs figure, legend and numeric x, y")


def test_a_bundle_larger_than_the_free_disk_is_refused_before_unpacking(good, target, monkeypatch):
    import shutil
    from collections import namedtuple
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 ** 6, 10 ** 6 - 100, 100))
    before = snapshot(target)
    with pytest.raises(UserError, match="bytes free on the catalog's disk"):
        import_bundle(target, good)
    assert snapshot(target) == before
