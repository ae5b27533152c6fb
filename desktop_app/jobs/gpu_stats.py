"""GPU use and memory read through NVML (the `nvidia-ml-py` package), never by parsing nvidia-smi's text.

`read(index)` gives one GPU's utilisation (percent of the last sample period with a kernel running), its memory
in use and in all, or None where NVML is not there (no NVIDIA driver, the package not installed, no such GPU).
NVML is initialised once per process and its absence is remembered, so the jobs panel can ask every second.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, object] = {"nvml": None, "tried": False}


@dataclass(frozen=True)
class GpuReading:
    index: int
    name: str
    utilization: float        # percent, 0-100
    memory_used: int          # bytes
    memory_total: int         # bytes

    @property
    def memory_fraction(self) -> float:
        return self.memory_used / self.memory_total if self.memory_total else 0.0

    def describe(self) -> str:
        gib = 1024 ** 3
        return (f"GPU {self.index}: {self.utilization:.0f}% busy, "
                f"{self.memory_used / gib:.1f} of {self.memory_total / gib:.0f} GiB")


def _nvml():
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            try:
                import pynvml  # from nvidia-ml-py

                pynvml.nvmlInit()
                _state["nvml"] = pynvml
            except Exception as exc:   # ImportError, or NVMLError (no driver / library): no readings here
                log.debug("NVML is not available: %s", exc)
        return _state["nvml"]


def available() -> bool:
    return _nvml() is not None


def read(index: int) -> GpuReading | None:
    nv = _nvml()
    if nv is None:
        return None
    try:
        handle = nv.nvmlDeviceGetHandleByIndex(int(index))
        util = nv.nvmlDeviceGetUtilizationRates(handle)
        mem = nv.nvmlDeviceGetMemoryInfo(handle)
        name = nv.nvmlDeviceGetName(handle)
    except Exception as exc:   # NVMLError: no such GPU, GPU lost
        log.debug("NVML could not read GPU %s: %s", index, exc)
        return None
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return GpuReading(int(index), str(name), float(util.gpu), int(mem.used), int(mem.total))


def read_all() -> list[GpuReading]:
    nv = _nvml()
    if nv is None:
        return []
    try:
        count = nv.nvmlDeviceGetCount()
    except Exception:
        return []
    return [r for r in (read(i) for i in range(count)) if r is not None]


def _reset_for_tests() -> None:
    with _lock:
        _state["nvml"], _state["tried"] = None, False
