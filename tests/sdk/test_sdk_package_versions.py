"""Package versions: pushing an existing name adds 1.0.1, models stay on their version until moved, and Dataloop's
push / clone keywords (package_type, modules, service_config, scope, annotation filters) work or are refused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError
from desktop_app.sdk import keywords

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"
EPOCHS = {"name": "epochs", "kind": "int", "default": 3}
ROUNDS = {"name": "rounds", "kind": "int", "default": 1}


def _version_two(tmp_path: Path, *, train_fails: bool = False) -> Path:
    """The centroid adapter with a mark of its own (and, if asked, a train that fails saying which code ran)."""
    d = tmp_path / "v2"
    shutil.copytree(PACKAGE_DIR, d)
    extra = "\nCentroidAdapter.CODE = 'two'\n"
    if train_fails:
        extra += ("\ndef _train(self, data_path, output_path, **kwargs):\n"
                  "    raise RuntimeError('version two of the code ran')\n\nCentroidAdapter.train = _train\n")
    (d / "adapter.py").write_text((d / "adapter.py").read_text() + extra)
    return d


@pytest.fixture
def centroid(dl):
    return dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            default_configuration={"epochs": 1}, description="first")


@pytest.fixture
def project(dl):
    return dl.projects.get("Sample project")


def _model(pkg, project, name):
    shapes = project.datasets.get("shapes")
    return pkg.models.create(model_name=name, project_id=project.id, dataset_id=shapes.id, labels=shapes.labels)


# -- versions of a package's code -------------------------------------------------------------------
def test_pushing_an_existing_name_makes_the_next_version_and_keeps_the_old_code(dl, centroid, tmp_path):
    assert centroid.version == "1.0.0" and [r.version for r in centroid.revisions] == ["1.0.0"]
    v2 = dl.packages.push(package_name="centroid", src_path=_version_two(tmp_path), entry_point="adapter.py")
    assert v2.id == centroid.id and v2.version == "1.0.1"
    assert v2.description == "first" and v2.default_configuration == {"epochs": 1}   # settings carried over
    v3 = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py")
    assert v3.version == "1.0.2" and dl.packages.get("centroid").version == "1.0.2"
    assert [r.version for r in dl.packages.get("centroid").revisions] == ["1.0.0", "1.0.1", "1.0.2"]
    assert [p.name for p in dl.packages.list()].count("centroid") == 1
    # every version's code stays in the store and loads on its own
    old, two = v3.revision("1.0.0"), v3.revision("1.0.1")
    assert not hasattr(type(old.build()), "CODE") and type(two.build()).CODE == "two"
    cat = dl.default_client().catalog
    assert {old._record.codebase_sha, two._record.codebase_sha} <= cat.referenced_blobs()
    cat.garbage_collect()
    assert cat.store.exists(old._record.codebase_sha) and cat.store.exists(two._record.codebase_sha)
    with pytest.raises(NotFoundError, match=r"no version '2.0.0'; its versions: 1.0.0, 1.0.1, 1.0.2"):
        v3.revision("2.0.0")
    assert v3.to_json()["versions"] == ["1.0.0", "1.0.1", "1.0.2"]
    assert [r.version for r in dl.packages.revisions(package_name="centroid")] == ["1.0.0", "1.0.1", "1.0.2"]
    assert v3.is_current and not old.is_current


def test_version_and_revision_increment_name_the_new_version(dl, centroid):
    assert dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            revision_increment="minor").version == "1.1.0"
    assert dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            revision_increment="major").version == "2.0.0"
    assert dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            version="2.5.0").version == "2.5.0"
    with pytest.raises(ValidationError, match="not newer"):
        dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py", version="2.1.0")
    with pytest.raises(ValidationError, match="already has version 2.5.0"):
        dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py", version="2.5.0")
    with pytest.raises(ValidationError, match="'X.Y.Z'"):
        dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py", version="v3")
    with pytest.raises(ValidationError, match="revision_increment 'huge'"):
        dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                         revision_increment="huge")
    assert [r.version for r in dl.packages.get("centroid").revisions] == ["1.0.0", "1.1.0", "2.0.0", "2.5.0"]
    first = dl.packages.push(package_name="fresh", src_path=PACKAGE_DIR, entry_point="adapter.py", version="0.3.0")
    assert first.version == "0.3.0"


def test_a_built_in_package_is_never_replaced(dl):
    with pytest.raises(AlreadyExistsError, match="built in"):
        dl.packages.push(package_name="resnet", src_path=PACKAGE_DIR, entry_point="adapter.py")
    assert [r.version for r in dl.packages.get("resnet").revisions] == ["1.0.0"]


def test_models_stay_on_their_version_new_ones_take_the_current_and_clones_their_parents(dl, centroid, project,
                                                                                        tmp_path):
    old = _model(centroid, project, "on-one")
    assert old.package_version == "1.0.0" and old.package.version == "1.0.0"
    dl.packages.push(package_name="centroid", src_path=_version_two(tmp_path), entry_point="adapter.py")
    assert old.refresh().package_version == "1.0.0"
    assert not hasattr(type(old.package.build()), "CODE")            # its package is the version it is on
    assert old.metadata["system"]["ml"]["packageVersion"] == "1.0.0"
    new = _model(dl.packages.get("centroid"), project, "on-two")
    assert new.package_version == "1.0.1" and type(new.package.build()).CODE == "two"
    assert old.clone("clone-of-one").package_version == "1.0.0"
    assert new.clone("clone-of-two").package_version == "1.0.1"


def test_moving_a_model_to_another_version_is_checked(dl, centroid, project, tmp_path):
    m = _model(centroid, project, "mover")
    dl.packages.push(package_name="centroid", src_path=_version_two(tmp_path), entry_point="adapter.py")
    m.package_version = "3.0.0"
    with pytest.raises(ValidationError, match=r"package_version '3.0.0'.*its versions: 1.0.0, 1.0.1"):
        m.update()
    assert m.refresh().package_version == "1.0.0"
    m.package_version = "1.0.1"
    m.description = "moved"
    assert m.update().package_version == "1.0.1" and m.refresh().package_version == "1.0.1"
    assert m.description == "moved" and type(m.package.build()).CODE == "two"
    m.package = m.package.revision("1.0.0")                  # Dataloop's style: assign the package
    assert m.update().package_version == "1.0.0"
    with pytest.raises(ValidationError, match="only between versions of its own package"):
        m.package = dl.packages.get("resnet")
    # a version predicting another output type is refused
    dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py", output_type="box")
    m.package_version = "1.0.2"
    with pytest.raises(ValidationError, match="predicts 'box'"):
        m.update()
    assert m.refresh().package_version == "1.0.0"


def test_configuration_is_checked_against_the_version_the_model_is_on(dl, project, tmp_path):
    from desktop_app.ml.adapter import validate_model_configuration
    pkg = dl.packages.push(package_name="knobs", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           hyperparameters=[EPOCHS], default_configuration={"epochs": 2})
    m = _model(pkg, project, "knobbed")
    dl.packages.push(package_name="knobs", src_path=PACKAGE_DIR, entry_point="adapter.py", hyperparameters=[ROUNDS],
                     default_configuration={"rounds": 1})
    cat = dl.default_client().catalog
    # a job of the old model still passes its configuration check; a misspelling still does not
    assert validate_model_configuration(cat, pkg.id, m.configuration)["epochs"] == 2
    with pytest.raises(ValidationError, match="epocs"):
        validate_model_configuration(cat, pkg.id, {"epocs": 2})
    m.package_version = "1.0.1"
    with pytest.raises(ValidationError, match="epochs"):     # 1.0.1 does not declare it
        m.update()
    m.configuration = {"rounds": 4}
    assert m.update().package_version == "1.0.1" and m.configuration == {"rounds": 4}


def test_package_update_saves_edits_in_place_or_as_a_new_version(dl, centroid, tmp_path):
    centroid.description = "second"
    centroid.default_configuration = {"epochs": 5}
    centroid.service_config = {"max_batch_size": 2}
    assert centroid.update().version == "1.0.0"
    again = dl.packages.get("centroid")
    assert (again.description, again.default_configuration, again.service_config) == (
        "second", {"epochs": 5}, {"max_batch_size": 2})
    again.description = "third"
    assert again.update(revision_increment="patch").version == "1.0.1"
    assert [r.description for r in again.revisions] == ["second", "third"]
    assert again.revision("1.0.0")._record.codebase_sha == again._record.codebase_sha   # the same code
    old = again.revision("1.0.0")
    old.description = "rewrite history"
    with pytest.raises(ValidationError, match="not its current version"):
        old.update()
    again.service_config = {"max_batch_sise": 2}
    with pytest.raises(ValidationError, match="service_config: unknown service_config key"):
        again.update()
    knobs = dl.packages.push(package_name="knobs", src_path=PACKAGE_DIR, entry_point="adapter.py",
                             hyperparameters=[EPOCHS])
    knobs.default_configuration = {"epoch": 3}
    with pytest.raises(ValidationError, match="epoch"):
        knobs.update()
    assert dl.packages.get("knobs").default_configuration == {}


# -- Dataloop's push keywords: work or are refused ------------------------------------------------
def test_package_type_ml_works_and_any_other_is_refused(dl):
    assert dl.packages.push(package_name="typed", src_path=PACKAGE_DIR, entry_point="adapter.py",
                            package_type="ml").package_type == "ml"
    with pytest.raises(ValidationError, match="package_type 'faas'.*'ml'"):
        dl.packages.push(package_name="faas", src_path=PACKAGE_DIR, entry_point="adapter.py", package_type="faas")
    assert "faas" not in {p.name for p in dl.packages.list()}


def test_modules_are_refused_naming_what_to_give(dl):
    with pytest.raises(ValidationError, match="does not take 'modules'.*entry_point=.*class_name="):
        dl.packages.push(package_name="mods", src_path=PACKAGE_DIR, modules=[{"entryPoint": "adapter.py"}])


def test_service_config_is_kept_checked_and_used_by_deploy(dl, centroid, project, monkeypatch, tmp_path):
    pkg = dl.packages.push(package_name="served", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           service_config={"max_batch_size": 4, "warmup": False})
    assert pkg.service_config == {"max_batch_size": 4, "warmup": False}
    for bad, why in (({"runtime": {"podType": "regular-xs"}}, "unknown service_config key.*runtime"),
                     ({"token": "secret"}, "does not keep a token"),
                     ({"max_batch_size": "many"}, "service_config: .*max_batch_size"),
                     ("fast", "must be a dict")):
        with pytest.raises(ValidationError, match=why):
            dl.packages.push(package_name="bad-config", src_path=PACKAGE_DIR, entry_point="adapter.py",
                             service_config=bad)
    assert "bad-config" not in {p.name for p in dl.packages.list()}
    # a new version keeps the settings unless given
    assert dl.packages.push(package_name="served", src_path=PACKAGE_DIR, entry_point="adapter.py").service_config \
        == {"max_batch_size": 4, "warmup": False}
    from desktop_app.serving import manager
    seen = []
    monkeypatch.setattr(manager, "start_service", lambda catalog, model_id, config: seen.append(config) or
                        catalog.create_service(model_id, "s", status="stopped", host="127.0.0.1", config={}))
    m = _model(pkg, project, "served-model")
    m.deploy()
    m.deploy(service_config={"max_batch_size": 8, "port": 8650})
    assert seen == [{"max_batch_size": 4, "warmup": False},
                    {"max_batch_size": 8, "warmup": False, "port": 8650}]


def test_the_keyword_lists_no_longer_drop_what_now_works():
    for name in ("package_type", "service_config", "version", "revision_increment"):
        assert name not in keywords.PUSH_IGNORED and name not in keywords.PUSH_REFUSED
    assert "modules" in keywords.PUSH_REFUSED and "scope" not in keywords.CLONE_IGNORED
    assert {"annotations_train_filter", "annotations_validation_filter"} <= set(keywords.CLONE_REFUSED)


# -- clone's Dataloop keywords ----------------------------------------------------------------------
def test_clone_scope_project_works_and_the_others_are_refused(dl, project):
    resnet = dl.models.get(model_name="pretrained-resnet")
    assert resnet.clone("scoped", scope="project").scope == "project"
    for scope in ("private", "org", "public"):
        with pytest.raises(ValidationError, match=rf"scope='{scope}'.*no private, organisation or public"):
            resnet.clone(f"scoped-{scope}", scope=scope)
        with pytest.raises(ValidationError, match="scope"):
            dl.models.clone(resnet, f"scoped-{scope}", scope=scope)
    assert {m.name for m in dl.models.list()} & {"scoped-private", "scoped-org", "scoped-public"} == set()
    for name in ("annotations_train_filter", "annotations_validation_filter"):
        with pytest.raises(ValidationError, match=f"does not take '{name}'.*annotation subsets"):
            resnet.clone("filtered", **{name: {"label": "circle"}})


# -- the catalog ------------------------------------------------------------------------------------
def test_an_older_catalog_gets_its_packages_first_version_and_its_models_on_it(tmp_path):
    from desktop_app.catalog import Catalog, schema
    path = tmp_path / "old"
    path.mkdir()
    conn = sqlite3.connect(path / "catalog.db", isolation_level=None)
    schema.migrate(conn, target=4)
    conn.execute("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('p1', 'proj', 'x', 'x')")
    conn.execute("INSERT INTO packages (id, name, kind, version, entry_point, class_name, created_at) "
                 "VALUES ('k1', 'mine', 'user', '1.0.0', 'adapter.py', 'A', 'x')")
    conn.execute("INSERT INTO models (id, name, project_id, package_id, created_at, updated_at) "
                 "VALUES ('m1', 'model', 'p1', 'k1', 'x', 'x')")
    conn.close()
    cat = Catalog(path)
    try:
        assert cat.package_versions("k1") == ["1.0.0"] and cat.model_package_version("m1") == "1.0.0"
        assert cat.model_package("m1").class_name == "A"
        assert cat.add_package_revision("k1", class_name="B").version == "1.0.1"
        assert cat.model_package("m1").class_name == "A" and cat.get_package("k1").class_name == "B"
        cat.delete_package("k1", with_models=True)
        assert cat.package_versions("k1") == []
    finally:
        cat.close()


def test_training_loads_the_code_of_the_version_the_model_is_on(dl, centroid, project, tmp_path):
    m = _model(centroid, project, "trained-on-one")
    dl.packages.push(package_name="centroid", src_path=_version_two(tmp_path, train_fails=True),
                     entry_point="adapter.py")
    ex = m.train()
    assert ex.status == "success", ex.logs()              # 1.0.0's code, not the failing 1.0.1
    m.package_version = "1.0.1"
    m.update()
    ex = m.train()
    assert ex.status == "failed" and "version two of the code ran" in ex.logs()


def test_the_window_s_deploy_gets_the_package_s_service_config_too(dl, project, monkeypatch):
    """The window deploys through serving.manager.start_service with its own settings ({}): the package's kept
    service_config is applied there, not only by the SDK's Model.deploy."""
    from desktop_app.serving import manager
    pkg = dl.packages.push(package_name="served-window", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           service_config={"max_batch_size": 4})
    m = _model(pkg, project, "served-window-model")
    seen = []

    class Stop(Exception):
        pass

    def capture(d):
        seen.append(dict(d))
        raise Stop

    monkeypatch.setattr(manager.ServiceConfig, "from_dict", staticmethod(capture))
    for given in ({}, {"max_batch_size": 8}):
        with pytest.raises(Stop):
            manager.start_service(dl.default_client().catalog, m.id, given)
    assert seen == [{"max_batch_size": 4}, {"max_batch_size": 8}]


def test_the_model_page_form_is_the_one_of_the_version_the_model_is_on(dl, project):
    from desktop_app.sdk.views import model_details
    pkg = dl.packages.push(package_name="knobs", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           hyperparameters=[EPOCHS], default_configuration={"epochs": 2})
    m = _model(pkg, project, "knobbed")
    dl.packages.push(package_name="knobs", src_path=PACKAGE_DIR, entry_point="adapter.py", hyperparameters=[ROUNDS],
                     default_configuration={"rounds": 1})
    d = model_details(dl.default_client().catalog, m.id)
    assert [f["name"] for f in d.fields] == ["epochs"] and d.package.version == "1.0.0"
