"""Housekeeping counts and frees the code of every version of a package, not only the current one (issue 18)."""

from __future__ import annotations

import shutil
from pathlib import Path

from desktop_app.catalog import housekeeping as hk

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jobs" / "centroid_package"


def _push_two_versions(dl, tmp_path):
    one = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py")
    two_dir = tmp_path / "v2"
    shutil.copytree(PACKAGE_DIR, two_dir)
    (two_dir / "adapter.py").write_text((two_dir / "adapter.py").read_text() + "\nCentroidAdapter.CODE = 'two'\n")
    two = dl.packages.push(package_name="centroid", src_path=two_dir, entry_point="adapter.py")
    assert (one.version, two.version) == ("1.0.0", "1.0.1")
    old, new = one._record.codebase_sha, two._record.codebase_sha
    assert old != new
    return two, old, new


def test_sizes_count_the_code_of_every_version(dl, tmp_path):
    cat = dl.default_client().catalog
    before = hk.sizes(cat)
    _, old, new = _push_two_versions(dl, tmp_path)
    after = hk.sizes(cat)
    code = cat.store.size_of(old) + cat.store.size_of(new)
    assert after["package code"] - before["package code"] == code
    assert after["other stored files"] == before["other stored files"]      # the old version is not "other"
    assert after["total"] == sum(v for k, v in after.items() if k != "total")


def test_deleting_a_package_frees_the_code_of_all_its_versions(dl, tmp_path):
    cat = dl.default_client().catalog
    pkg, old, new = _push_two_versions(dl, tmp_path)
    shapes = dl.datasets.get("shapes")
    pkg.models.create(model_name="on-two", dataset_id=shapes.id, project_id=shapes.project.id, labels=shapes.labels)
    code = cat.store.size_of(old) + cat.store.size_of(new)
    out = hk.delete_package(cat, pkg.id, with_models=True)
    assert out["models"] == ["on-two"]
    assert out["removed_files"] == 2 and out["freed_bytes"] == code
    assert not cat.store.exists(old) and not cat.store.exists(new)
    assert cat.garbage_collect(dry_run=True)["removed"] == 0              # nothing left behind for gc


def test_code_another_package_still_uses_stays(dl, tmp_path):
    cat = dl.default_client().catalog
    pkg, old, new = _push_two_versions(dl, tmp_path)
    # Another package pushed from the first version's folder stores the same zip (content-addressed).
    same = dl.packages.push(package_name="centroid-copy", src_path=PACKAGE_DIR, entry_point="adapter.py")
    assert same._record.codebase_sha == old
    new_size = cat.store.size_of(new)
    out = hk.delete_package(cat, pkg.id)
    assert out["removed_files"] == 1 and out["freed_bytes"] == new_size
    assert cat.store.exists(old) and not cat.store.exists(new)
