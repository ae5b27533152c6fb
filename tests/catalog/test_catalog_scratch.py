"""Scratch folders finished jobs leave: housekeeping's report shows them, gc frees them, a resumable job's stay."""

from __future__ import annotations

import os

from desktop_app.catalog import ExecutionStatus
from desktop_app.catalog import housekeeping as hk
from desktop_app.catalog import scratch


def _job(catalog, status, model_id=None, size=1000):
    ex = catalog.create_execution("train", model_id=model_id)
    if status != ExecutionStatus.CREATED:
        catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
        if status != ExecutionStatus.IN_PROGRESS:
            catalog.set_execution_status(ex.id, status)
    folder = scratch.execution_dir(catalog, ex.id) / "output" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(os.urandom(size))
    return ex.id


def test_gc_frees_the_folders_of_jobs_that_succeeded_or_are_gone_and_keeps_the_rest(catalog):
    done = _job(catalog, ExecutionStatus.SUCCESS, size=3000)
    keep = {s: _job(catalog, s) for s in (ExecutionStatus.CREATED, ExecutionStatus.IN_PROGRESS, ExecutionStatus.FAILED,
                                           ExecutionStatus.CANCELED, ExecutionStatus.INTERRUPTED)}
    gone = scratch.execution_dir(catalog, "f" * 24)         # a job whose record went with its model
    gone.mkdir(parents=True)
    (gone / "weights.pt").write_bytes(b"w" * 500)
    sizes = hk.sizes(catalog)
    assert sizes["finished jobs' scratch"] == 3500 and sizes["job scratch"] == 5 * 1000
    assert sizes["total"] == sum(v for k, v in sizes.items() if k != "total")
    res = catalog.garbage_collect(dry_run=True)
    assert (res["scratch_folders"], res["scratch_bytes"], res["freed_bytes"]) == (2, 3500, 3500)
    assert scratch.execution_dir(catalog, done).is_dir() and gone.is_dir()      # a dry run deletes nothing
    res = catalog.garbage_collect()
    assert (res["scratch_folders"], res["scratch_bytes"], res["removed"]) == (2, 3500, 0)
    assert not scratch.execution_dir(catalog, done).exists() and not gone.exists()
    assert all(scratch.execution_dir(catalog, eid).is_dir() for eid in keep.values())   # resumable or running
    assert hk.sizes(catalog)["finished jobs' scratch"] == 0
    assert catalog.garbage_collect()["scratch_folders"] == 0


def test_gc_frees_job_folders_even_while_an_import_writes_into_the_store(catalog):
    done = _job(catalog, ExecutionStatus.SUCCESS)
    with catalog.store.writing():
        res = catalog.garbage_collect()
    assert res["busy"] == 1 and res["scratch_folders"] == 1 and not scratch.execution_dir(catalog, done).exists()


def test_deleting_a_model_frees_its_scratch_and_its_jobs_folders(catalog):
    p = catalog.create_project("p")
    pkg = catalog.create_package("pkg")
    m = catalog.create_model("m", project_id=p.id, package_id=pkg.id)
    canceled = _job(catalog, ExecutionStatus.CANCELED, model_id=m.id, size=2000)
    for folder in scratch.model_dirs(catalog, m.id):
        folder.mkdir(parents=True)
        (folder / "x.bin").write_bytes(b"x" * 100)
    res = hk.delete_model(catalog, m.id)
    assert res == {"removed_files": 0, "freed_bytes": 2200}
    assert not scratch.execution_dir(catalog, canceled).exists()
    assert not any(f.exists() for f in scratch.model_dirs(catalog, m.id))
