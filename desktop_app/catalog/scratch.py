"""Scratch folders under the catalog's work/: whose each one is, and which a finished job left behind.

work/executions/<id>/ is one job's (a training's output: best weights and the resumable checkpoint, about
170 MB for a resnet18). Once the job has succeeded its results are in the store, so the folder is freed; a failed,
canceled or interrupted job keeps it, since resuming continues from its checkpoint. work/models/<id>/ (weights
loaded for a job) and work/data/<id>/ (subsets laid out for training) are one model's, made again by every job.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.domain.status import ExecutionStatus

if TYPE_CHECKING:
    from .catalog import Catalog

EXECUTIONS = "executions"


def _work(catalog: Catalog) -> Path:
    return catalog.home / "work"        # not catalog.work_dir, which creates it: a read-only look creates nothing


def execution_dir(catalog: Catalog, execution_id: str) -> Path:
    """The job's own scratch folder (not created here)."""
    return _work(catalog) / EXECUTIONS / execution_id


def model_dirs(catalog: Catalog, model_id: str) -> list[Path]:
    """The model's scratch folders: its weights as a job loaded them, its subsets as training laid them out."""
    return [_work(catalog) / "models" / model_id, _work(catalog) / "data" / model_id]


def folder_size(p: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(p):
        for name in files:
            f = Path(root, name)
            if not f.is_symlink():
                try:
                    total += f.stat().st_size
                except FileNotFoundError:        # removed meanwhile (its job ending)
                    pass
    return total


def remove(p: Path) -> int:
    """Delete a scratch folder; the bytes it held (0 when there was none)."""
    if not p.is_dir():
        return 0
    size = folder_size(p)
    shutil.rmtree(p, ignore_errors=True)
    return size


def leftover_dirs(catalog: Catalog) -> list[Path]:
    """Job folders nothing needs any more: of jobs that succeeded, and of jobs whose record is gone (their model
    deleted). A queued, running, failed, canceled or interrupted job's folder stays."""
    root = _work(catalog) / EXECUTIONS
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    statuses = catalog.execution_statuses([p.name for p in folders])
    return [p for p in folders if statuses.get(p.name, ExecutionStatus.SUCCESS) == ExecutionStatus.SUCCESS]
