"""Catalog operations on projects, packages, models, artifacts and aliases."""

from __future__ import annotations

import re
from typing import Any

from desktop_app.domain.status import coerce
from desktop_app.errors import AlreadyExistsError, NotFoundError, UserError, ValidationError

from .db import Database, new_id, now_iso
from .names import check_name
from .package_versions import check_new_version, next_version, parse_version, sort_versions
from .records import (AliasRecord, ArtifactRecord, ModelRecord, ModelStatus, PackageRecord,
                      ProjectRecord)
from .store import BlobStore

MODEL_FIELDS = {
    "name", "description", "tags", "status", "configuration", "labels", "input_type", "output_type",
    "dataset_id", "train_filter", "validation_filter", "scope", "metadata", "parent_id", "notes",
}
_ALIAS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# What each version of a package keeps (package_revisions); the packages row holds the current version's.
REVISION_FIELDS = ("description", "entry_point", "class_name", "codebase_sha", "default_configuration",
                   "hyperparameters", "input_type", "output_type", "metadata")


class EntitiesMixin:
    db: Database
    store: BlobStore

    # -- projects -------------------------------------------------------------------------
    def create_project(self, name: str, description: str = "", metadata: dict | None = None) -> ProjectRecord:
        _check_name(name, "project")
        if self._db.scalar("SELECT 1 FROM projects WHERE name = ?", (name,)):
            raise AlreadyExistsError(f"a project named {name!r} already exists")
        now = now_iso()
        rec = ProjectRecord(id=new_id(), name=name, description=description, created_at=now,
                            updated_at=now, metadata=metadata or {})
        self._db.insert("projects", rec.to_dict())
        return rec

    def get_project(self, id_or_name: str) -> ProjectRecord:
        row = self._db.query_one("SELECT * FROM projects WHERE id = ? OR name = ? ORDER BY id = ? DESC",
                                (id_or_name, id_or_name, id_or_name))
        if row is None:
            raise NotFoundError(f"no project with id or name {id_or_name!r}")
        return ProjectRecord.from_row(row)

    def list_projects(self) -> list[ProjectRecord]:
        return [ProjectRecord.from_row(r) for r in self._db.query("SELECT * FROM projects ORDER BY created_at")]

    def update_project(self, project_id: str, **values: Any) -> ProjectRecord:
        values["updated_at"] = now_iso()
        self._db.update("projects", {"id": project_id}, values)
        return self.get_project(project_id)

    def delete_project(self, project_id: str) -> None:
        with self._db.transaction() as conn:
            # Models reference packages of other projects; drop this project's models first.
            conn.execute("DELETE FROM models WHERE project_id = ?", (project_id,))
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    # -- packages -------------------------------------------------------------------------
    def create_package(self, name: str, *, project_id: str | None = None, kind: str = "builtin",
                       description: str = "", entry_point: str | None = None,
                       class_name: str | None = None, codebase_sha: str | None = None,
                       default_configuration: dict | None = None, hyperparameters: list | None = None,
                       input_type: str = "image", output_type: str = "class", version: str = "1.0.0",
                       metadata: dict | None = None) -> PackageRecord:
        _check_name(name, "package")
        if self._db.scalar("SELECT 1 FROM packages WHERE name = ?", (name,)):
            raise AlreadyExistsError(f"a package named {name!r} already exists")
        rec = PackageRecord(
            id=new_id(), name=name, project_id=project_id, kind=kind, version=version,
            description=description, entry_point=entry_point, class_name=class_name,
            codebase_sha=codebase_sha, default_configuration=default_configuration or {},
            hyperparameters=hyperparameters or [], input_type=input_type, output_type=output_type,
            created_at=now_iso(), metadata=metadata or {})
        parse_version(version)
        with self._db.transaction():
            self._db.insert("packages", rec.to_dict())
            self._insert_revision(rec)
        return rec

    def _insert_revision(self, rec: PackageRecord) -> None:
        values = {f: getattr(rec, f) for f in REVISION_FIELDS}
        self._db.insert("package_revisions", {"package_id": rec.id, "version": rec.version,
                                              "created_at": rec.created_at, **values})

    def get_package(self, id_or_name: str) -> PackageRecord:
        row = self._db.query_one("SELECT * FROM packages WHERE id = ? OR name = ? ORDER BY id = ? DESC",
                                (id_or_name, id_or_name, id_or_name))
        if row is None:
            raise NotFoundError(f"no package with id or name {id_or_name!r}")
        return PackageRecord.from_row(row)

    def list_packages(self, project_id: str | None = None) -> list[PackageRecord]:
        if project_id is None:
            rows = self._db.query("SELECT * FROM packages ORDER BY created_at")
        else:
            rows = self._db.query("SELECT * FROM packages WHERE project_id IS NULL OR project_id = ? "
                                 "ORDER BY created_at", (project_id,))
        return [PackageRecord.from_row(r) for r in rows]

    def update_package(self, package_id: str, **values: Any) -> PackageRecord:
        """Change the package's current version in place (its description, default configuration, metadata...);
        the version string itself changes only by add_package_revision."""
        if "version" in values:
            raise ValidationError("a package's version changes only by adding one (add_package_revision)")
        current = self.get_package(package_id)
        with self._db.transaction():
            self._db.update("packages", {"id": package_id}, values)
            self._db.update("package_revisions", {"package_id": package_id, "version": current.version},
                            {k: v for k, v in values.items() if k in REVISION_FIELDS})
        return self.get_package(package_id)

    # -- package versions -----------------------------------------------------------------
    def add_package_revision(self, package_id: str, *, version: str | None = None,
                             increment: str | None = None, **values: Any) -> PackageRecord:
        """A new version of the package (its code and settings: REVISION_FIELDS, those not given copied from
        the current one), made current. ``version``: its name ('1.0.1'), newer than every other; else the
        newest's patch number + 1, or its minor / major as ``increment`` says. Models stay on their version."""
        unknown = set(values) - set(REVISION_FIELDS)
        if unknown:
            raise ValidationError(f"a package version has no field(s) {', '.join(sorted(unknown))}")
        with self._db.transaction():
            current = self.get_package(package_id)
            have = self.package_versions(package_id)
            if version is not None:
                new = check_new_version(version, have, package=current.name)
            else:
                new = next_version(have, increment)
            fields = {f: getattr(current, f) for f in REVISION_FIELDS} | values
            rec = PackageRecord(**{**current.to_dict(), **fields, "version": new, "created_at": now_iso()})
            self._insert_revision(rec)
            self._db.update("packages", {"id": package_id}, {"version": new, **fields})
        return self.get_package(package_id)

    def package_versions(self, package_id: str) -> list[str]:
        """The package's versions, oldest first."""
        rows = self._db.query("SELECT version FROM package_revisions WHERE package_id = ?", (package_id,))
        return sort_versions(r["version"] for r in rows)

    def package_code_shas(self, package_id: str) -> set[str]:
        """The store files holding the code of every version of the package (not only the current one)."""
        rows = self._db.query("SELECT codebase_sha FROM package_revisions WHERE package_id = ? AND codebase_sha "
                              "IS NOT NULL UNION SELECT codebase_sha FROM packages WHERE id = ? AND codebase_sha "
                              "IS NOT NULL", (package_id, package_id))
        return {r["codebase_sha"] for r in rows}

    def list_package_revisions(self, package_id: str) -> list[PackageRecord]:
        """Every version of the package as a record (the package's id and name, that version's fields), oldest
        first; the last is the current one."""
        pkg = self.get_package(package_id)
        rows = {r["version"]: r for r in self._db.query("SELECT * FROM package_revisions WHERE package_id = ?",
                                                        (package_id,))}
        return [_revision_record(pkg, rows[v]) for v in sort_versions(rows)]

    def get_package_revision(self, package_id: str, version: str | None = None) -> PackageRecord:
        """One version of the package (None: the current one); NotFoundError naming the versions it has."""
        pkg = self.get_package(package_id)
        if version is None or version == pkg.version:
            return pkg
        row = self._db.query_one("SELECT * FROM package_revisions WHERE package_id = ? AND version = ?",
                                 (package_id, version))
        if row is None:
            raise NotFoundError(f"package {pkg.name!r} has no version {version!r}; its versions: "
                                f"{', '.join(self.package_versions(package_id))}")
        return _revision_record(pkg, row)

    def model_package_version(self, model_id: str) -> str:
        """The version of its package's code the model is on (it trains, predicts and serves with that code)."""
        row = self._db.query_one("SELECT m.package_version, p.version FROM models m JOIN packages p "
                                 "ON p.id = m.package_id WHERE m.id = ?", (model_id,))
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return row["package_version"] or row["version"]    # NULL: a row written without one, the current

    def model_package(self, model_id: str) -> PackageRecord:
        """The package as the model sees it: the version it is on (its code, entry point, class, settings)."""
        return self.get_package_revision(self.get_model(model_id).package_id, self.model_package_version(model_id))

    def set_model_package_version(self, model_id: str, version: str) -> ModelRecord:
        """Move the model to another version of its package's code. A version the package does not have is
        refused naming those it has; so is one whose output type differs from the model's."""
        model = self.get_model(model_id)
        pkg = self.get_package(model.package_id)
        have = self.package_versions(pkg.id)
        if version not in have:
            raise ValidationError(f"package {pkg.name!r} has no version {version!r}; its versions: {', '.join(have)}")
        target = self.get_package_revision(pkg.id, version)
        if target.output_type != model.output_type:
            raise ValidationError(f"package {pkg.name!r} {version} predicts {target.output_type!r} but model "
                                  f"{model.name!r} is a {model.output_type!r} model: it cannot move to that version")
        with self._db.transaction():
            self._db.update("models", {"id": model_id}, {"package_version": version, "updated_at": now_iso()})
        return self.get_model(model_id)

    def delete_package(self, package_id: str, *, with_models: bool = False) -> None:
        """Delete a package; its models go with it (the schema cascades) only when asked, else UserError.
        housekeeping.delete_package also frees their files and says what went."""
        with self._db.transaction() as conn:
            n = conn.execute("SELECT COUNT(*) FROM models WHERE package_id = ?", (package_id,)).fetchone()[0]
            if n and not with_models:
                raise models_remain(self.get_package(package_id).name, n)
            conn.execute("DELETE FROM packages WHERE id = ?", (package_id,))

    # -- models ---------------------------------------------------------------------------
    def create_model(self, name: str, *, project_id: str, package_id: str, description: str = "",
                     tags: list | None = None, status: ModelStatus | str = ModelStatus.CREATED,
                     configuration: dict | None = None, labels: list | None = None,
                     input_type: str = "image", output_type: str = "class",
                     dataset_id: str | None = None, train_filter: dict | None = None,
                     validation_filter: dict | None = None, parent_id: str | None = None,
                     scope: str = "project", metadata: dict | None = None) -> ModelRecord:
        _check_name(name, "model")
        status = coerce(ModelStatus, status).value   # where a model starts is no transition: any status
        if self._db.scalar("SELECT 1 FROM models WHERE project_id = ? AND name = ?", (project_id, name)):
            raise AlreadyExistsError(f"a model named {name!r} already exists in this project")
        # a clone stays on its parent's version of the code (its weights were made by it); a new model takes
        # the package's current one
        version = self.get_package(package_id).version
        if parent_id:
            try:
                version = self.model_package_version(parent_id)
            except NotFoundError:
                pass                # the parent is gone: the current version
        now = now_iso()
        rec = ModelRecord(
            id=new_id(), name=name, project_id=project_id, package_id=package_id,
            description=description or "", tags=list(tags or []), status=status,
            configuration=dict(configuration or {}), labels=list(labels or []), input_type=input_type,
            output_type=output_type, dataset_id=dataset_id, train_filter=train_filter,
            validation_filter=validation_filter, parent_id=parent_id, scope=scope,
            created_at=now, updated_at=now, metadata=metadata or {})
        self._db.insert("models", {**rec.to_dict(), "package_version": version})
        return rec

    def get_model(self, model_id: str) -> ModelRecord:
        row = self._db.query_one("SELECT * FROM models WHERE id = ?", (model_id,))
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return ModelRecord.from_row(row)

    def find_models(self, *, name: str | None = None, project_id: str | None = None,
                    package_id: str | None = None, dataset_id: str | None = None,
                    status: str | None = None, parent_id: str | None = None) -> list[ModelRecord]:
        where, params = [], []
        for col, val in (("name", name), ("project_id", project_id), ("package_id", package_id),
                         ("dataset_id", dataset_id), ("status", status), ("parent_id", parent_id)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = "SELECT * FROM models" + (" WHERE " + " AND ".join(where) if where else "")
        return [ModelRecord.from_row(r) for r in self._db.query(sql + " ORDER BY created_at", params)]

    def update_model(self, model_id: str, **values: Any) -> ModelRecord:
        unknown = set(values) - MODEL_FIELDS
        if unknown:
            raise ValidationError(f"models have no field(s) {', '.join(sorted(unknown))}")
        if "status" in values:
            raise ValidationError(f"update_model does not change a status (asked: {values['status']!r}): "
                                  f"catalog.set_model_status(model_id, status) does, checking the change against "
                                  f"catalog.lifecycle's table")
        if "name" in values:
            _check_name(values["name"], "model")
            current = self.get_model(model_id)
            if self._db.scalar("SELECT 1 FROM models WHERE project_id = ? AND name = ? AND id != ?",
                              (current.project_id, values["name"], model_id)):
                raise AlreadyExistsError(f"a model named {values['name']!r} already exists in this project")
        values["updated_at"] = now_iso()
        if self._db.update("models", {"id": model_id}, values) == 0:
            raise NotFoundError(f"no model with id {model_id!r}")
        return self.get_model(model_id)

    def delete_model(self, model_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM annotations WHERE model_id = ?", (model_id,))
            conn.execute("DELETE FROM models WHERE id = ?", (model_id,))

    # -- artifacts ------------------------------------------------------------------------
    def add_artifact(self, model_id: str, filename: str, sha256: str, size: int) -> ArtifactRecord:
        check_name(filename, "artifact name")
        rec = ArtifactRecord(id=new_id(), model_id=model_id, filename=filename, sha256=sha256,
                             size=size, created_at=now_iso())
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM artifacts WHERE model_id = ? AND filename = ?", (model_id, filename))
            conn.execute("INSERT INTO artifacts (id, model_id, filename, sha256, size, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (rec.id, model_id, filename, sha256, size, rec.created_at))
        return rec

    def list_artifacts(self, model_id: str) -> list[ArtifactRecord]:
        rows = self._db.query("SELECT * FROM artifacts WHERE model_id = ? ORDER BY filename", (model_id,))
        return [ArtifactRecord.from_row(r) for r in rows]

    def delete_artifact(self, model_id: str, filename: str) -> bool:
        with self._db.transaction() as conn:
            cur = conn.execute("DELETE FROM artifacts WHERE model_id = ? AND filename = ?", (model_id, filename))
            return cur.rowcount > 0

    # -- aliases --------------------------------------------------------------------------
    # An alias ('production', 'champion', ...) names one model of a package; alias_history keeps every move. A
    # removal is kept there too, with model_id '' (the column is NOT NULL) and the model it pointed at as
    # previous_model_id; alias_history() gives such a row model_id None.
    def set_alias(self, package_id: str, alias: str, model_id: str, *, who: str = "",
                  reason: str = "") -> AliasRecord:
        check_alias_name(alias)
        now = now_iso()
        with self._db.transaction() as conn:
            prev = conn.execute("SELECT model_id FROM model_aliases WHERE package_id = ? AND alias = ?",
                                (package_id, alias)).fetchone()
            conn.execute("INSERT OR REPLACE INTO model_aliases (package_id, alias, model_id, set_at, set_by) "
                         "VALUES (?, ?, ?, ?, ?)", (package_id, alias, model_id, now, who))
            conn.execute("INSERT INTO alias_history (package_id, alias, model_id, previous_model_id, set_at, "
                         "set_by, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (package_id, alias, model_id, prev[0] if prev else None, now, who, reason))
        return AliasRecord(package_id=package_id, alias=alias, model_id=model_id, set_at=now, set_by=who)

    def remove_alias(self, package_id: str, alias: str, *, model_id: str | None = None, who: str = "",
                     reason: str = "") -> AliasRecord:
        """Drop the package's alias (only when it points at ``model_id``, given one); its history records the
        removal (reason 'removed' unless one is given). Returns what the alias was; NotFoundError when the package
        has no such alias, or it points at another model."""
        now = now_iso()
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM model_aliases WHERE package_id = ? AND alias = ?",
                               (package_id, alias)).fetchone()
            if row is None:
                raise NotFoundError(f"the package has no alias {alias!r}")
            if model_id is not None and row["model_id"] != model_id:
                raise NotFoundError(f"alias {alias!r} points at another model ({row['model_id']}), not {model_id}")
            conn.execute("DELETE FROM model_aliases WHERE package_id = ? AND alias = ?", (package_id, alias))
            conn.execute("INSERT INTO alias_history (package_id, alias, model_id, previous_model_id, set_at, "
                         "set_by, reason) VALUES (?, ?, '', ?, ?, ?, ?)",
                         (package_id, alias, row["model_id"], now, who, reason or "removed"))
        return AliasRecord.from_row(dict(row))

    def get_alias(self, package_id: str, alias: str) -> AliasRecord | None:
        row = self._db.query_one("SELECT * FROM model_aliases WHERE package_id = ? AND alias = ?",
                                (package_id, alias))
        return AliasRecord.from_row(row) if row else None

    def package_aliases(self, package_id: str) -> list[AliasRecord]:
        """The package's aliases now, by name."""
        rows = self._db.query("SELECT * FROM model_aliases WHERE package_id = ? ORDER BY alias", (package_id,))
        return [AliasRecord.from_row(r) for r in rows]

    def alias_history(self, package_id: str, alias: str | None = None) -> list[dict]:
        """Every move of the alias (of every alias of the package, without one), oldest first: alias, model_id
        (None for a removal), previous_model_id, set_at, set_by, reason."""
        if alias is None:
            rows = self._db.query("SELECT * FROM alias_history WHERE package_id = ? ORDER BY id", (package_id,))
        else:
            rows = self._db.query("SELECT * FROM alias_history WHERE package_id = ? AND alias = ? ORDER BY id",
                                  (package_id, alias))
        for r in rows:
            r["model_id"] = r["model_id"] or None
        return rows


def check_alias_name(alias: Any) -> str:
    """1-64 letters, digits, '.', '_' or '-' (as a pipeline's champion alias): 'production', 'v2-candidate'."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise ValidationError(f"an alias is 1-64 letters, digits, '.', '_' or '-', got {alias!r}")
    return alias


def _revision_record(pkg: PackageRecord, row: dict[str, Any]) -> PackageRecord:
    """One stored version of a package as a package record (same id, name, project and kind)."""
    version = PackageRecord.from_row({k: v for k, v in row.items() if k in REVISION_FIELDS or k in (
        "version", "created_at")} | {"id": pkg.id, "name": pkg.name})
    version.project_id, version.kind = pkg.project_id, pkg.kind
    return version


def models_remain(package: str, n: int) -> UserError:
    """The refusal to delete a package that still has models."""
    them, their = ("them", "their") if n != 1 else ("it", "its")
    return UserError(f"package {package!r} has {n} model{'s' if n != 1 else ''}; deleting it would delete {them} "
                     f"with {their} weights and evaluations: pass with_models=True to delete {them} too")


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"a {what} needs a non-empty name")
    if len(name) > 200:
        raise ValidationError(f"{what} name is longer than 200 characters")
