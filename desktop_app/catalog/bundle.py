"""Model bundles: one model with its weights, settings, metrics, evaluations, package code and lineage in one
checked file (.mdbundle), to carry it from one catalog to another.

A bundle is a zip: `manifest.json` (format, format_version, the model's fields, its package, lineage, and the
sha256 and size of every other entry), `metrics.json` (every point), `evaluations.json` (each evaluation as
stored, scores included), `artifacts/<name>` (the model's files, weights among them), `caches/<sha>.npz` (the
evaluations' cached predictions) and `package/<sha>.zip` (the code of the package version the model is on; a
built-in package travels by name only: every catalog has it).

Importing checks the bundle as `housekeeping.restore` checks a backup, before anything is written: only the
entries the manifest lists, no path leaving its folder, no links, sizes under the limits below, each entry's
sha256 as declared, no pickle but torch's weights (bundle_checks), a format version this Model Desk reads.
Then it lands in one transaction: the model keeps its id, so importing it again (or into the catalog it came
from) finds it and adds nothing; a package of the same name with other code gets the bundle's code as a new
version (add_package_revision); ancestors the catalog has stay linked (parent_id), the others are recorded
by id and name in the model's metadata['bundle']['lineage']. An evaluation's dataset the catalog lacks is
recorded as an empty stand-in dataset of the same id and name (metadata['bundle_reference']), so the scores
and cached predictions stay readable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app import __version__
from desktop_app.domain.status import ModelStatus
from desktop_app.errors import AlreadyExistsError, NotFoundError, UserError, ValidationError

from . import schema
from .bundle_checks import check_weights_file, zip_entry_problem
from .catalog import Catalog
from .db import now_iso
from .entities import REVISION_FIELDS
from .names import check_name
from .records import ModelRecord, PackageRecord
from .store import is_sha256

log = logging.getLogger(__name__)

FORMAT = "model-desk-bundle"
FORMAT_VERSION = 1
SUFFIX = ".mdbundle"
MANIFEST, METRICS, EVALUATIONS = "manifest.json", "metrics.json", "evaluations.json"
MAX_MEMBERS = 10_000
MAX_JSON_BYTES = 256 << 20          # manifest, metrics or evaluations: far above a long training's points
MAX_MEMBER_BYTES = 32 << 30         # one file (weights of a large model)
MAX_BUNDLE_BYTES = 64 << 30         # all files together, unpacked
_CHUNK = 1 << 20
_BUSY = (ModelStatus.PENDING.value, ModelStatus.TRAINING.value)
_MODEL_KEYS = ("id", "name", "description", "tags", "status", "configuration", "labels", "input_type",
               "output_type", "train_filter", "validation_filter", "scope", "created_at", "updated_at", "metadata")
_EVALUATION_KEYS = ("id", "name", "method", "filter", "iou_thresholds", "conf_threshold", "iou_threshold",
                    "weights_sha", "results", "cache_sha", "created_at")

_EVALUATION_TYPES: dict[str, Any] = {"method": str, "filter": dict, "iou_thresholds": list,
                                     "conf_threshold": (int, float), "iou_threshold": (int, float),
                                     "weights_sha": str, "cache_sha": str, "created_at": str}


@dataclass
class BundleImport:
    """What an import did: the model (new, or the one the catalog had), and what to tell the person."""
    model: ModelRecord
    created: bool
    message: str
    notes: list[str] = field(default_factory=list)


# -- export ---------------------------------------------------------------------------------------------------
def export_bundle(catalog: Catalog, model_id: str, path: Path | str) -> Path:
    """Write the model as one bundle file at `path` (written whole under a temporary name, then renamed)."""
    model = catalog.get_model(model_id)
    if model.status in _BUSY:
        raise UserError(f"model {model.name!r} is {model.status}: export it once its training has ended")
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder: give the bundle's file name (e.g. {model.name}{SUFFIX})")
    project = catalog.get_project(model.project_id)
    version = catalog.model_package_version(model.id)
    pkg = catalog.model_package(model.id)
    files: dict[str, tuple[str, Path]] = {}           # member -> (sha256 the store names it by, store file)

    def carry(member: str, sha: str, what: str) -> None:
        src = catalog.store.path(sha)
        if not src.is_file():
            raise UserError(f"model {model.name!r}: {what} (store file {sha}) is missing; run `desktop-app doctor`")
        files[member] = (sha, src)

    artifacts = []
    for a in catalog.list_artifacts(model.id):
        member = f"artifacts/{a.filename}"
        carry(member, a.sha256, f"its file {a.filename!r}")
        artifacts.append({"filename": a.filename, "member": member, "sha256": a.sha256})
    package: dict[str, Any] = {"name": pkg.name, "kind": pkg.kind, "version": version,
                               **{f: getattr(pkg, f) for f in REVISION_FIELDS}, "code": None}
    if pkg.kind != "builtin" and pkg.codebase_sha:
        member = f"package/{pkg.codebase_sha}.zip"
        carry(member, pkg.codebase_sha, f"the code of package {pkg.name!r} {version}")
        package["code"] = member
    metrics = [{"figure": s.figure, "legend": s.legend, "x": s.x, "y": s.y, "wall_time": s.wall_time,
                "epoch": s.epoch, "dataset_id": s.dataset_id} for s in catalog.list_metrics(model.id)]
    evaluations, datasets = [], {}
    for e in catalog.list_evaluations(model_id=model.id):
        ev = {k: getattr(e, k) for k in _EVALUATION_KEYS} | {"dataset_id": e.dataset_id, "cache": None}
        if e.cache_sha:
            ev["cache"] = f"caches/{e.cache_sha}.npz"
            carry(ev["cache"], e.cache_sha, f"the cached predictions of evaluation {e.name!r}")
        evaluations.append(ev)
        datasets[e.dataset_id] = _dataset_ref(catalog, e.dataset_id)
    if model.dataset_id:
        datasets[model.dataset_id] = _dataset_ref(catalog, model.dataset_id)
    record = {k: getattr(model, k) for k in _MODEL_KEYS}
    if record["status"] == ModelStatus.DEPLOYED.value:
        record["status"] = ModelStatus.TRAINED.value          # its services stay behind
    record["metadata"] = {k: v for k, v in (model.metadata or {}).items() if k != "system"}
    record["data_version"], record["data_version_sha"] = model.data_version, _version_sha(catalog, model)
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "catalog_schema": schema.SCHEMA_VERSION,
        "app_version": __version__, "created_at": now_iso(),
        "project": {"id": project.id, "name": project.name},
        "model": record | {"dataset_id": model.dataset_id, "parent_id": model.parent_id},
        "package": package, "lineage": ancestors(catalog, model), "datasets": list(datasets.values()),
        "artifacts": artifacts, "evaluations": EVALUATIONS, "metrics": METRICS, "members": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for member, data in ((METRICS, _json_bytes(metrics)), (EVALUATIONS, _json_bytes(evaluations))):
                zf.writestr(member, data)
                manifest["members"][member] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for member, (sha, src) in files.items():
                # weights and npz caches barely compress: store them as they are
                got, size = _copy_in(zf, member, src)
                if got != sha:
                    raise UserError(f"model {model.name!r}: store file {sha} ({member}) does not hold what its "
                                    f"name says; run `desktop-app doctor`")
                manifest["members"][member] = {"sha256": sha, "size": size}
            zf.writestr(MANIFEST, _json_bytes(manifest))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    log.info("exported model %s (%s) to %s", model.name, model.id, path)
    return path


def ancestors(catalog: Catalog, model: ModelRecord) -> list[dict[str, Any]]:
    """The model's ancestors as references, parent first: those this catalog has, then those an earlier import
    recorded for the first one it lacks. A built-in pretrained model also names its package: every catalog has
    it, under its own id, so an import links to that one."""
    out: list[dict[str, Any]] = []
    seen = {model.id}
    current = model
    while current.parent_id and current.parent_id not in seen:
        try:
            parent = catalog.get_model(current.parent_id)
        except NotFoundError:
            break
        ref: dict[str, Any] = {"id": parent.id, "name": parent.name}
        if (parent.metadata or {}).get("builtin"):
            ref |= {"builtin": True, "package": catalog.get_package(parent.package_id).name}
        out.append(ref)
        seen.add(parent.id)
        current = parent
    recorded = ((current.metadata or {}).get("bundle") or {}).get("lineage") or []
    out += [r for r in recorded if isinstance(r, dict) and r.get("id") not in seen]
    return out


def _dataset_ref(catalog: Catalog, dataset_id: str) -> dict[str, Any]:
    try:
        ds = catalog.get_dataset(dataset_id)
    except NotFoundError:
        return {"id": dataset_id, "name": dataset_id, "labels": []}
    return {"id": ds.id, "name": ds.name, "labels": list(ds.labels)}


def _copy_in(zf: zipfile.ZipFile, member: str, src: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with open(src, "rb") as inp, zf.open(info, "w", force_zip64=True) as out:
        while chunk := inp.read(_CHUNK):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=1, sort_keys=True, allow_nan=True).encode("utf-8")


# -- import: the checks ---------------------------------------------------------------------------------------
def read_manifest(path: Path | str) -> dict[str, Any]:
    """The bundle's manifest, after the checks that need no unpacking (entries, sizes, format version)."""
    path = Path(path)
    with _open(path) as zf:
        return _check_archive(zf, path)[0]


def _open(path: Path) -> zipfile.ZipFile:
    if path.is_dir():
        raise ValidationError(f"{path} is a folder, not a Model Desk bundle ({SUFFIX} file)")
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NotFoundError(f"no bundle file {path}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValidationError(f"{path} is not a Model Desk bundle, or it is truncated ({e}); refused") from None


def _check_archive(zf: zipfile.ZipFile, path: Path) -> tuple[dict[str, Any], dict[str, zipfile.ZipInfo]]:
    infos: dict[str, zipfile.ZipInfo] = {}
    members = zf.infolist()
    if len(members) > MAX_MEMBERS:
        raise ValidationError(f"{path} holds {len(members)} entries, over the limit of {MAX_MEMBERS}; refused")
    total = 0
    for info in members:
        problem = zip_entry_problem(info)
        if problem:
            raise ValidationError(f"{path} {problem}; refused")
        if info.is_dir():
            continue
        if info.filename in infos:
            raise ValidationError(f"{path} holds {info.filename!r} twice; refused")
        if info.file_size > MAX_MEMBER_BYTES:
            raise ValidationError(f"{path}: entry {info.filename!r} declares {info.file_size} bytes, over the limit "
                                  f"of {MAX_MEMBER_BYTES}; refused")
        total += info.file_size
        infos[info.filename] = info
    if total > MAX_BUNDLE_BYTES:
        raise ValidationError(f"{path} declares {total} bytes unpacked, over the limit of {MAX_BUNDLE_BYTES}; "
                              f"refused")
    if MANIFEST not in infos:
        raise ValidationError(f"{path} holds no {MANIFEST}: not a Model Desk bundle; refused")
    manifest = _read_json(zf, infos[MANIFEST], path)
    _check_manifest(manifest, path)
    declared = manifest["members"]
    listed = set(infos) - {MANIFEST}
    extra = sorted(listed - set(declared))
    if extra:
        raise ValidationError(f"{path} holds {extra[0]!r}, which its manifest does not list; refused")
    missing = sorted(set(declared) - listed)
    if missing:
        raise ValidationError(f"{path} lacks {missing[0]!r}, which its manifest lists: incomplete; refused")
    for member, d in declared.items():
        if infos[member].file_size != d["size"]:
            raise ValidationError(f"{path}: entry {member!r} holds {infos[member].file_size} bytes, its manifest "
                                  f"says {d['size']}; refused")
    return manifest, infos


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> Any:
    if info.file_size > MAX_JSON_BYTES:
        raise ValidationError(f"{path}: {info.filename} declares {info.file_size} bytes, over the limit of "
                              f"{MAX_JSON_BYTES}; refused")
    try:
        with zf.open(info) as f:
            data = f.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            raise ValidationError(f"{path}: {info.filename} is over {MAX_JSON_BYTES} bytes; refused")
        return json.loads(data)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise ValidationError(f"{path}: {info.filename} cannot be read ({e}); the bundle is damaged") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValidationError(f"{path}: {info.filename} is not JSON ({e}); refused") from None


def _need(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise ValidationError(f"{path}: its manifest {what}; refused")


def _check_manifest(m: Any, path: Path) -> None:
    _need(isinstance(m, dict) and m.get("format") == FORMAT, path, f"does not say format {FORMAT!r} (not a "
                                                                   f"Model Desk bundle)")
    version = m.get("format_version")
    _need(isinstance(version, int) and not isinstance(version, bool) and version >= 1, path,
          f"has no format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise ValidationError(f"{path} has bundle format version {version}, newer than this Model Desk reads "
                              f"({FORMAT_VERSION}); update Model Desk to import it")
    for key, kind in (("model", dict), ("package", dict), ("project", dict), ("members", dict),
                      ("lineage", list), ("artifacts", list), ("datasets", list)):
        _need(isinstance(m.get(key), kind), path, f"has no {key} {kind.__name__}")
    for member, d in m["members"].items():
        problem = zip_entry_problem(zipfile.ZipInfo(member)) if isinstance(member, str) else "is not a name"
        _need(problem is None, path, f"lists an entry that {problem}")
        _need(isinstance(d, dict) and is_sha256(d.get("sha256")) and isinstance(d.get("size"), int)
              and 0 <= d["size"] <= MAX_MEMBER_BYTES, path,
              f"declares entry {member!r} without a sha256, or with a size over {MAX_MEMBER_BYTES} bytes")
    model = m["model"]
    for key in ("id", "name", "status"):
        _need(isinstance(model.get(key), str) and model[key], path, f"gives the model no {key}")
    _need(len(model["name"]) <= 200, path, "gives the model a name over 200 characters")
    for key, kind in (("configuration", dict), ("labels", list), ("tags", list), ("metadata", dict)):
        _need(isinstance(model.get(key, kind()), kind), path, f"gives the model a {key} that is no {kind.__name__}")
    for key in ("train_filter", "validation_filter"):
        _need(model.get(key) is None or isinstance(model[key], dict), path, f"gives the model a {key} that is no dict")
    for key in ("description", "input_type", "output_type", "scope", "created_at", "dataset_id", "parent_id",
                "data_version", "data_version_sha"):
        _need(model.get(key) is None or isinstance(model[key], str), path, f"gives the model a {key} that is no text")
    if model.get("data_version"):
        check_name(model["data_version"], f"{path}: the model's data version")
    _need(model["status"] in {s.value for s in ModelStatus} and model["status"] not in _BUSY, path,
          f"gives the model the status {model['status']!r}")
    pkg = m["package"]
    _need(isinstance(pkg.get("name"), str) and pkg.get("kind") in ("builtin", "user"), path,
          "names no package (name, kind builtin or user)")
    _need(isinstance(pkg.get("version"), str), path, "gives the package no version")
    code = pkg.get("code")
    _need(code is None or (code in m["members"] and code.startswith("package/")), path,
          "names package code it does not carry")
    _need(pkg["kind"] == "builtin" or code is not None, path, f"carries no code for package {pkg['name']!r}")
    if pkg["kind"] == "user":
        _need(isinstance(pkg.get("entry_point"), str) and isinstance(pkg.get("class_name"), (str, type(None))),
              path, f"gives package {pkg['name']!r} no entry point")
        check_name(pkg["entry_point"], f"{path}: package entry point")
    for key in ("input_type", "output_type", "description"):
        _need(pkg.get(key) is None or isinstance(pkg[key], str), path, f"gives the package a {key} that is no text")
    for a in m["artifacts"]:
        _need(isinstance(a, dict) and isinstance(a.get("filename"), str) and a.get("member") in m["members"]
              and a["member"] == f"artifacts/{a['filename']}" and a.get("sha256") == m["members"][a["member"]]
              ["sha256"], path, f"lists an artifact it does not carry as declared ({a!r:.80})")
        check_name(a["filename"], f"{path}: artifact name")
    for ref in m["lineage"] + m["datasets"]:
        _need(isinstance(ref, dict) and isinstance(ref.get("id"), str) and isinstance(ref.get("name"), str),
              path, f"holds a reference without id and name ({ref!r:.80})")
    for member in (METRICS, EVALUATIONS):
        _need(m.get(member.split(".")[0]) == member and member in m["members"], path, f"does not list {member}")


def _extract(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], manifest: dict, staging: Path,
             path: Path) -> dict[str, Path]:
    """Unpack every entry into `staging` (entries named by number, never by their path), checking each one's
    sha256 and size against the manifest as it is read."""
    out: dict[str, Path] = {}
    for k, (member, d) in enumerate(sorted(manifest["members"].items())):
        dest = staging / str(k)
        h, size = hashlib.sha256(), 0
        try:
            with zf.open(infos[member]) as src, open(dest, "wb") as f:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    if size > d["size"]:
                        raise ValidationError(f"{path}: entry {member!r} holds more than the {d['size']} bytes "
                                              f"declared; refused")
                    h.update(chunk)
                    f.write(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
            raise ValidationError(f"{path}: entry {member!r} cannot be read ({e}); the bundle is damaged or "
                                  f"truncated; refused") from None
        if h.hexdigest() != d["sha256"]:
            raise ValidationError(f"{path}: entry {member!r} does not hold what its manifest says (its sha256 "
                                  f"differs): damaged or altered; refused")
        out[member] = dest
    return out


def _load_staged_json(files: dict[str, Path], member: str, path: Path) -> Any:
    try:
        return json.loads(files[member].read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValidationError(f"{path}: {member} is not JSON ({e}); refused") from None


def _check_content(manifest: dict, files: dict[str, Path], path: Path) -> tuple[list[dict], list[dict]]:
    """The unpacked files: no pickles, safe package code, well-formed metrics and evaluations."""
    for member, staged in files.items():
        if member.startswith(("artifacts/", "caches/")):
            check_weights_file(staged, f"{path}: entry {member!r}", member)
        elif member.startswith("package/"):
            _check_code_zip(staged, f"{path}: entry {member!r}")
    metrics = _load_staged_json(files, METRICS, path)
    if not isinstance(metrics, list):
        raise ValidationError(f"{path}: {METRICS} is not a list of points; refused")
    for k, s in enumerate(metrics):
        ok = (isinstance(s, dict) and isinstance(s.get("figure"), str) and isinstance(s.get("legend"), str)
              and all(isinstance(s.get(v), (int, float)) and not isinstance(s.get(v), bool) for v in ("x", "y")))
        if not ok:
            raise ValidationError(f"{path}: {METRICS} point {k} needs figure, legend and numeric x, y; refused")
    evaluations = _load_staged_json(files, EVALUATIONS, path)
    if not isinstance(evaluations, list):
        raise ValidationError(f"{path}: {EVALUATIONS} is not a list; refused")
    refs = {d["id"] for d in manifest["datasets"]}
    for e in evaluations:
        ok = (isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] and isinstance(e.get("id"), str)
              and e.get("dataset_id") in refs and isinstance(e.get("results"), dict))
        if not ok:
            raise ValidationError(f"{path}: {EVALUATIONS} holds an evaluation without name, id, results or a "
                                  f"dataset the manifest names ({e!r:.80}); refused")
        bad = next((k for k, kinds in _EVALUATION_TYPES.items() if e.get(k) is not None
                    and (not isinstance(e[k], kinds) or isinstance(e[k], bool))), None)
        if bad is not None:
            raise ValidationError(f"{path}: evaluation {e['name']!r} has a {bad} of the wrong kind; refused")
        cache = e.get("cache")
        if cache is not None and (cache not in files or not cache.startswith("caches/")
                                  or manifest["members"][cache]["sha256"] != e.get("cache_sha")):
            raise ValidationError(f"{path}: evaluation {e['name']!r} names cached predictions it does not carry "
                                  f"as declared; refused")
    return metrics, evaluations


def _check_code_zip(staged: Path, where: str) -> None:
    try:
        with zipfile.ZipFile(staged) as zf:
            for info in zf.infolist():
                problem = zip_entry_problem(info)
                if problem:
                    raise ValidationError(f"{where} (package code) {problem}; refused")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if isinstance(e, ValidationError):
            raise
        raise ValidationError(f"{where} is not the zip of a package's code ({e}); refused") from None


# -- import: landing it -------------------------------------------------------------------------------------
def import_bundle(catalog: Catalog, path: Path | str, *, project: str | None = None) -> BundleImport:
    """Check the bundle whole, then add its model (and what it needs) in one transaction; nothing is written
    when any check fails. `project`: id or name of the project to put it in (default: the bundle's project,
    found by id then name, made when the catalog has none of that name)."""
    path = Path(path)
    with _open(path) as zf:
        manifest, infos = _check_archive(zf, path)
        need = 2 * sum(d["size"] for d in manifest["members"].values())     # unpacked, then in the store
        free = shutil.disk_usage(catalog.home).free
        if need > free:
            raise UserError(f"{path} unpacks to {need // 2:,} bytes: importing it needs {need:,} bytes free on the "
                            f"catalog's disk, which has {free:,}; nothing imported")
        staging = Path(tempfile.mkdtemp(dir=catalog.work_dir, prefix="bundle-"))
        try:
            files = _extract(zf, infos, manifest, staging, path)
            metrics, evaluations = _check_content(manifest, files, path)
            return _land(catalog, manifest, files, metrics, evaluations, project, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _content(configuration: Any, labels: Any, artifacts: dict[str, str]) -> dict[str, Any]:
    return {"weights and files": artifacts, "configuration": configuration, "labels": labels}


def _existing(catalog: Catalog, manifest: dict, path: Path) -> BundleImport | None:
    m = manifest["model"]
    try:
        have = catalog.get_model(m["id"])
    except NotFoundError:
        return None
    ours = _content(have.configuration, have.labels, {a.filename: a.sha256 for a in catalog.list_artifacts(have.id)})
    theirs = _content(m.get("configuration", {}), m.get("labels", []),
                      {a["filename"]: a["sha256"] for a in manifest["artifacts"]})
    differ = [k for k in ours if ours[k] != theirs[k]]
    if differ:
        raise AlreadyExistsError(
            f"{path}: this catalog already has model {have.name!r} ({have.id}) with other {' and '.join(differ)} "
            f"than the bundle's {m['name']!r}; refused (nothing imported). Delete or clone that model first to "
            f"import this version of it")
    return BundleImport(have, False, f"model {have.name!r} ({have.id}) is already in this catalog; nothing imported")


def _target_project(catalog: Catalog, manifest: dict, project: str | None) -> tuple[str | None, str]:
    """(project id or None when it must be made, its name)."""
    if project is not None:
        rec = catalog.get_project(project)
        return rec.id, rec.name
    ref = manifest["project"]
    for key in (ref.get("id"), ref.get("name")):
        if isinstance(key, str) and key:
            try:
                rec = catalog.get_project(key)
                return rec.id, rec.name
            except NotFoundError:
                pass
    name = ref.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("the bundle names no project: give one to import into")
    return None, name


def _land(catalog: Catalog, manifest: dict, files: dict[str, Path], metrics: list[dict], evaluations: list[dict],
          project: str | None, path: Path) -> BundleImport:
    done = _existing(catalog, manifest, path)
    if done is not None:
        return done
    m, pkg_ref = manifest["model"], manifest["package"]
    project_id, project_name = _target_project(catalog, manifest, project)
    if project_id and catalog.find_models(name=m["name"], project_id=project_id):
        raise AlreadyExistsError(f"{path}: project {project_name!r} already has another model named {m['name']!r}; "
                                 f"refused (import into another project with --project / project_id=, or rename "
                                 f"that model)")
    notes: list[str] = []
    new_blobs: list[str] = []
    with catalog.store.writing():           # the files are unreferenced until the rows below commit
        try:
            shas = {}
            for member, staged in files.items():
                if member in (METRICS, EVALUATIONS):
                    continue
                sha, _size, new = catalog.store.put_file_new(staged)
                shas[member] = sha
                if new:
                    new_blobs.append(sha)
            with catalog.transaction():
                if project_id is None:
                    project_id = catalog.create_project(project_name).id
                    notes.append(f"project {project_name!r} created")
                code = pkg_ref.get("code")
                package_id, version = _package(catalog, pkg_ref, shas.get(code) if code else None, project_id,
                                               notes)
                needed = {e["dataset_id"] for e in evaluations}
                linked = {d["id"]: _dataset(catalog, d, project_id, d["id"] in needed, notes)
                          for d in manifest["datasets"]}
                rec = _insert_model(catalog, manifest, project_id, package_id, version, linked, path, notes)
                for a in manifest["artifacts"]:
                    catalog.add_artifact(rec.id, a["filename"], shas[a["member"]],
                                         manifest["members"][a["member"]]["size"])
                catalog.add_metric_samples(rec.id, [_point(s, linked) for s in metrics])
                for e in evaluations:
                    catalog._db.insert("evaluations", {
                        "created_at": now_iso(), **{k: e[k] for k in _EVALUATION_KEYS if e.get(k) is not None},
                        "model_id": rec.id, "dataset_id": e["dataset_id"], "execution_id": None})
        except sqlite3.IntegrityError as e:
            _take_back(catalog, new_blobs)
            raise ValidationError(f"{path}: its rows clash with this catalog's ({e}); refused, nothing "
                                  f"imported") from None
        except BaseException:
            _take_back(catalog, new_blobs)
            raise
    log.info("imported model %s (%s) from %s", rec.name, rec.id, path)
    where = f"project {project_name!r}"
    return BundleImport(catalog.get_model(rec.id), True, f"model {rec.name!r} ({rec.id}) imported into {where}",
                        notes)


def _take_back(catalog: Catalog, new_blobs: list[str]) -> None:
    """Delete the store files this import added that nothing references (its rows were rolled back)."""
    referenced = catalog.referenced_blobs()
    for sha in new_blobs:
        if sha not in referenced:
            catalog.store.delete(sha)


def _point(s: dict, linked: dict[str, bool]) -> dict[str, Any]:
    """A metric point as the catalog stores it: its dataset only where this catalog has it, no execution."""
    def number(v: Any) -> float | None:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return {"figure": s["figure"], "legend": s["legend"], "x": s["x"], "y": s["y"],
            "wall_time": number(s.get("wall_time")), "epoch": number(s.get("epoch")),
            "dataset_id": s.get("dataset_id") if linked.get(s.get("dataset_id")) else None}


def _package(catalog: Catalog, ref: dict, code_sha: str | None, project_id: str,
             notes: list[str]) -> tuple[str, str]:
    """(package id, version) for the model: a built-in by name; user code found by its sha256 among the
    package's versions, else added as a new version of the package of that name, else as a new package."""
    name, version = ref["name"], ref["version"]
    try:
        have: PackageRecord | None = catalog.get_package(name)
    except NotFoundError:
        have = None
    if have is not None and have.name != name:
        have = None                           # get_package matched an id, not the name
    if ref["kind"] == "builtin":
        if have is None or have.kind != "builtin":
            raise ValidationError(f"the bundle's model uses the built-in package {name!r}, which this Model Desk "
                                  f"does not have; refused")
        if version in catalog.package_versions(have.id):
            return have.id, version
        notes.append(f"built-in package {name!r} has no version {version} here: the model is on {have.version}")
        return have.id, have.version
    fields = {f: ref.get(f) for f in REVISION_FIELDS if f in ref}
    fields["codebase_sha"] = code_sha
    for f in ("default_configuration", "metadata"):
        if not isinstance(fields.get(f), dict):
            fields[f] = {}
    if not isinstance(fields.get("hyperparameters"), list):
        fields["hyperparameters"] = []
    if have is None:
        rec = catalog.create_package(name, project_id=project_id, kind="user", version=version, **fields)
        notes.append(f"package {name!r} {version} added with the bundle's code (it runs when the model trains, "
                     f"predicts or serves: import bundles from people you trust)")
        return rec.id, rec.version
    if have.kind == "builtin":
        raise ValidationError(f"the bundle carries code for package {name!r}, but {name!r} is a built-in package "
                              f"here; refused")
    for rev in catalog.list_package_revisions(have.id):
        if rev.codebase_sha == fields["codebase_sha"] and rev.entry_point == fields.get("entry_point") \
                and rev.class_name == fields.get("class_name"):
            return have.id, rev.version
    versions = catalog.package_versions(have.id)
    try:
        rec = catalog.add_package_revision(have.id, version=version, **fields)
    except ValidationError:                   # that version name is taken or older: the next one
        rec = catalog.add_package_revision(have.id, **fields)
    notes.append(f"package {name!r} had other code ({', '.join(versions)}): the bundle's code added as its version "
                 f"{rec.version} (import bundles from people you trust: it runs when the model is used)")
    return have.id, rec.version


def _dataset(catalog: Catalog, ref: dict, project_id: str, needed: bool, notes: list[str]) -> bool:
    """Whether the catalog has (now) the dataset the model or an evaluation refers to, by id. One an evaluation
    needs and the catalog lacks is made as an empty stand-in of the same id and name (the evaluation keeps its
    scores and cached predictions); one only the model names is left out (the model gets no dataset)."""
    if any(d.id == ref["id"] for d in catalog.list_datasets()):
        return True
    if not needed:
        notes.append(f"its dataset {ref['name']!r} ({ref['id']}) is not in this catalog: the model has none here "
                     f"(recorded in metadata['bundle']['dataset'])")
        return False
    name = ref["name"]
    taken = {d.name for d in catalog.list_datasets(project_id=project_id)}
    if name in taken:
        name = f"{name} (from bundle)"
        k = 2
        while name in taken:
            name, k = f"{ref['name']} (from bundle {k})", k + 1
    labels = ref.get("labels") if isinstance(ref.get("labels"), list) else []
    catalog.create_dataset(project_id, name, labels=[str(x) for x in labels], dataset_id=ref["id"],
                           description="stand-in for a dataset of the catalog a model bundle came from",
                           metadata={"bundle_reference": True})
    notes.append(f"dataset {ref['name']!r} ({ref['id']}) is not in this catalog: recorded as an empty stand-in "
                 f"{name!r} so the evaluations on it keep their scores")
    return True


def _parent(catalog: Catalog, parent_id: str | None, ref: dict | None, notes: list[str]) -> str | None:
    """The parent's id here: the same model, or this catalog's own built-in of the same package and name; None
    (noted) when the catalog has neither."""
    if not parent_id:
        return None
    try:
        return catalog.get_model(parent_id).id
    except NotFoundError:
        pass
    name = ref["name"] if ref else parent_id
    if ref and ref.get("builtin") and isinstance(ref.get("package"), str):
        try:
            package = catalog.get_package(ref["package"])
        except NotFoundError:
            package = None
        if package is not None and package.kind == "builtin":
            same = [r for r in catalog.find_models(name=name, package_id=package.id)
                    if (r.metadata or {}).get("builtin")]
            if same:
                notes.append(f"its parent, the built-in {name!r}, linked to this catalog's own")
                return same[0].id
    notes.append(f"its parent {name!r} is not in this catalog: recorded as a reference "
                 f"(metadata['bundle']['lineage'])")
    return None


def _insert_model(catalog: Catalog, manifest: dict, project_id: str, package_id: str, version: str,
                  linked: dict[str, bool], path: Path, notes: list[str]) -> ModelRecord:
    m = manifest["model"]
    lineage = manifest["lineage"]
    parent_id = _parent(catalog, m.get("parent_id"), lineage[0] if lineage else None, notes)
    metadata = dict(m.get("metadata") or {})
    metadata["bundle"] = {"imported_at": now_iso(), "file": path.name,
                          "from_project": manifest["project"], "lineage": lineage,
                          "dataset": next((d for d in manifest["datasets"] if d["id"] == m.get("dataset_id")), None)}
    data_version = _data_version(catalog, m, linked, metadata["bundle"], notes)
    now = now_iso()
    status = m["status"] if m["status"] != ModelStatus.DEPLOYED.value else ModelStatus.TRAINED.value
    rec = ModelRecord.from_row({k: m.get(k) for k in _MODEL_KEYS if m.get(k) is not None} | {
        "project_id": project_id, "package_id": package_id, "status": status,
        "dataset_id": m.get("dataset_id") if linked.get(m.get("dataset_id") or "") else None,
        "parent_id": parent_id, "metadata": metadata, "data_version": data_version,
        "created_at": m.get("created_at") or now, "updated_at": now})
    try:
        catalog._db.insert("models", {**rec.to_dict(), "package_version": version})
    except sqlite3.IntegrityError as e:      # another process imported it meanwhile
        raise AlreadyExistsError(f"{path}: model {m['name']!r} ({m['id']}) clashes with one in this catalog "
                                 f"({e}); refused") from None
    return rec


def _version_sha(catalog: Catalog, model: ModelRecord) -> str | None:
    """The content hash of the dataset version the model trains on (its data_version), when the version exists."""
    from .dataset_versions import DatasetVersions
    if not (model.data_version and model.dataset_id):
        return None
    try:
        return DatasetVersions(catalog).get(model.dataset_id, model.data_version).sha
    except NotFoundError:
        return None


def _data_version(catalog: Catalog, m: dict, linked: dict[str, bool], origin: dict, notes: list[str]) -> str | None:
    """The bundle's data version name, kept when this catalog's copy of the dataset has a version of that name with
    the same content; otherwise said in a note and kept in metadata.bundle (what the model trained on where it came
    from), the model training on the live data here."""
    from .dataset_versions import DatasetVersions
    name, sha = m.get("data_version"), m.get("data_version_sha")
    if not name:
        return None
    dataset_id = m.get("dataset_id")
    if dataset_id and linked.get(dataset_id):
        try:
            if DatasetVersions(catalog).get(dataset_id, name).sha == sha:
                return name
        except NotFoundError:
            pass
    origin["data_version"] = {"name": name, "sha": sha}
    notes.append(f"its data version {name!r} is not in this catalog's copy of its dataset with the same content: "
                 f"recorded in metadata.bundle; it trains on the live data here")
    return None

