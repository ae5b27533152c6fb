"""Which local devices jobs can run on: one slot per GPU, a few CPU slots; no torch import."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    name: str                    # "cuda:0" ... or "cpu:0"
    cuda_index: int | None       # the value of CUDA_VISIBLE_DEVICES for the worker

    @property
    def is_gpu(self) -> bool:
        return self.cuda_index is not None


def gpu_count() -> int:
    """GPUs on this machine; DESKTOP_APP_GPUS overrides (tests simulate GPU slots on a CPU machine)."""
    env = os.environ.get("DESKTOP_APP_GPUS")
    if env is not None:
        return max(0, int(env))
    exe = shutil.which("nvidia-smi")
    if not exe:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def cpu_job_slots() -> int:
    env = os.environ.get("DESKTOP_APP_CPU_JOBS")
    if env is not None:
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // 8)


def cpu_slots(count: int) -> list[Slot]:
    return [Slot(f"cpu:{i}", None) for i in range(max(1, int(count)))]


def all_slots() -> list[Slot]:
    return [Slot(f"cuda:{i}", i) for i in range(gpu_count())] + cpu_slots(cpu_job_slots())


def pick_slots(requested: str, free: list[Slot], all_: list[Slot]) -> list[Slot] | None:
    """Slots for a job asking for `requested` ('auto', 'cpu', 'cuda', 'cuda:N', 'all'); None: wait."""
    gpus_free = [s for s in free if s.is_gpu]
    cpus_free = [s for s in free if not s.is_gpu]
    has_gpu = any(s.is_gpu for s in all_)
    if requested in ("auto", "", None):
        if has_gpu:
            return gpus_free[:1] or None
        return cpus_free[:1] or None
    if requested == "cpu":
        return cpus_free[:1] or None
    if requested == "cuda":
        if not has_gpu:
            raise RuntimeError("this job asks for a GPU (device=cuda) but this machine has none")
        return gpus_free[:1] or None
    if requested == "all":  # data-parallel over every GPU: wait until all are free
        gpus = [s for s in all_ if s.is_gpu]
        if not gpus:
            return cpus_free[:1] or None
        return gpus if len(gpus_free) == len(gpus) else None
    if requested.startswith("cuda:"):
        idx = int(requested.split(":", 1)[1])
        if not any(s.cuda_index == idx for s in all_):
            raise RuntimeError(f"this job asks for {requested} but this machine has no such GPU")
        match = [s for s in gpus_free if s.cuda_index == idx]
        return match or None
    raise RuntimeError(f"unknown device {requested!r}")
