"""System metrics while a model trains: CPU, memory and GPU use sampled by a background thread, logged as metrics.

Every `interval` seconds (10 by default; 0 turns it off) the sampler logs, under the legend "system" (keys
"system/<figure>", as the jobs panel and the search grammar name metrics), at x = seconds since the training
started:

    cpu_percent       the machine's CPU use (all cores, 0-100)
    memory_percent    the machine's memory in use (0-100)
    rss_mb            resident memory of the training process and its children (data loader workers), MiB
    gpu<N>_utilization, gpu<N>_memory_mb   per GPU the job may use (NVML, nvidia-ml-py), where there is one

psutil reads the CPU and memory; without it Linux's /proc does. The first sample comes one interval after the
start, so a training shorter than that logs none. Reading or writing a sample never fails the training: the first
failure of each kind is logged as a warning, later ones at debug level, and sampling goes on.

The interval: the model's configuration key ``system_metrics_interval``, else $DESKTOP_APP_SYSTEM_METRICS_INTERVAL,
else the application setting of that name (Settings; default 10).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

LEGEND = "system"
KEY = "system_metrics_interval"
ENV = "DESKTOP_APP_SYSTEM_METRICS_INTERVAL"
DEFAULT_INTERVAL_S = 10.0
MIB = 1024 * 1024


def interval_for(configuration: dict | None = None) -> float:
    """Seconds between two samples (0: off), from the model's configuration, the environment, the settings."""
    candidates: list[Any] = []
    if configuration and configuration.get(KEY) is not None:
        candidates.append(configuration[KEY])
    if os.environ.get(ENV):
        candidates.append(os.environ[ENV])
    try:
        from desktop_app import settings
        if KEY in settings.BY_KEY:
            candidates.append(settings.Settings().get(KEY))
    except Exception as exc:   # an unreadable settings file must not stop a training: the default applies
        log.debug("settings not read for %s: %s", KEY, exc)
    for value in candidates:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            log.warning("%s=%r is not a number of seconds; ignored", KEY, value)
            continue
        return max(seconds, 0.0)
    return DEFAULT_INTERVAL_S


# -- readings ---------------------------------------------------------------------------------------------
class _ProcReader:
    """CPU and memory from Linux's /proc, for where psutil is not installed."""

    def __init__(self) -> None:
        self._last = self._cpu_times()

    @staticmethod
    def _cpu_times() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                parts = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = parts[3] + (parts[4] if len(parts) > 4 else 0)   # idle + iowait
        return sum(parts), idle

    def cpu_percent(self) -> float | None:
        now = self._cpu_times()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        total, idle = now[0] - last[0], now[1] - last[1]
        return 100.0 * (total - idle) / total

    @staticmethod
    def memory_percent() -> float | None:
        info: dict[str, int] = {}
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    info[key] = int(rest.split()[0])
        except (OSError, ValueError, IndexError):
            return None
        total, avail = info.get("MemTotal"), info.get("MemAvailable")
        return None if not total or avail is None else 100.0 * (total - avail) / total

    @staticmethod
    def rss_mb() -> float | None:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024 / MIB
        except (OSError, ValueError, IndexError):
            return None
        return None


class _PsutilReader:
    def __init__(self, psutil: Any) -> None:
        self.psutil = psutil
        self.process = psutil.Process()
        psutil.cpu_percent(None)   # the first call only sets the baseline the next one measures from

    def cpu_percent(self) -> float | None:
        return float(self.psutil.cpu_percent(None))

    def memory_percent(self) -> float | None:
        return float(self.psutil.virtual_memory().percent)

    def rss_mb(self) -> float | None:
        rss = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                rss += child.memory_info().rss
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                pass   # a data loader worker that just ended, or not ours to read
        return rss / MIB


def _host_reader() -> _PsutilReader | _ProcReader:
    try:
        import psutil
    except ImportError:
        return _ProcReader()
    return _PsutilReader(psutil)


class _Gpus:
    """The GPUs this process may use (CUDA_VISIBLE_DEVICES, else all NVML sees), read through NVML."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[tuple[int, Any]] = []
        try:
            import pynvml  # from nvidia-ml-py

            pynvml.nvmlInit()
        except Exception as exc:   # ImportError, or NVMLError (no driver / library): no GPU readings here
            log.debug("NVML is not available: %s", exc)
            return
        self.nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            indices = range(count)
            if visible is not None:
                wanted = [v.strip() for v in visible.split(",") if v.strip()]
                indices = [int(v) for v in wanted if v.isdigit() and int(v) < count] if all(
                    v.isdigit() for v in wanted) else range(count)
            self.handles = [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in indices]
        except Exception as exc:   # NVMLError: a GPU lost or not readable
            log.warning("NVML found no GPU to read: %s", exc)
            self.handles = []

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for index, handle in self.handles:
            util = self.nvml.nvmlDeviceGetUtilizationRates(handle)
            mem = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            out[f"gpu{index}_utilization"] = float(util.gpu)
            out[f"gpu{index}_memory_mb"] = float(mem.used) / MIB
        return out

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception as exc:   # NVMLError on shutdown changes nothing for the training
                log.debug("nvmlShutdown: %s", exc)


# -- the sampler ------------------------------------------------------------------------------------------
class SystemMetricsSampler:
    """A daemon thread logging system readings every `interval` seconds through `write(rows)` (rows as
    catalog.add_metric_samples takes them) until stop(); a context manager around the training."""

    def __init__(self, write: Callable[[list[dict]], Any], interval: float = DEFAULT_INTERVAL_S, *,
                 start_x: float = 0.0, gpus: bool = True):
        self.write = write
        self.interval = float(interval)
        self.start_x = float(start_x)
        self.samples = 0
        self._gpus_wanted = gpus
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: set[str] = set()

    def start(self) -> SystemMetricsSampler:
        if self.interval <= 0 or self._thread is not None:
            return self
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="system-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> SystemMetricsSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        host = self._guarded("open", _host_reader)
        gpus = self._guarded("open NVML", _Gpus) if self._gpus_wanted else None
        try:
            while not self._stop.wait(self.interval):
                x = round(self.start_x + time.monotonic() - self._t0, 3)
                values = self._guarded("read", lambda: read_values(host, gpus)) or {}
                rows = [{"figure": k, "legend": LEGEND, "x": x, "y": v} for k, v in values.items() if v is not None]
                if rows and self._guarded("write", lambda: self.write(rows)) is not _FAILED:
                    self.samples += 1
        finally:
            if gpus is not None:
                gpus.close()

    def _guarded(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:   # a reading or a write that fails never stops the training it watches
            first = what not in self._failed
            self._failed.add(what)
            log.log(logging.WARNING if first else logging.DEBUG, "system metrics: could not %s: %s", what, exc)
            return _FAILED


_FAILED = object()


def read_values(host: Any, gpus: _Gpus | None) -> dict[str, float | None]:
    """One sample: figure -> value (None where a reading is not there)."""
    values: dict[str, float | None] = {}
    if host is not None and host is not _FAILED:
        values["cpu_percent"] = host.cpu_percent()
        values["memory_percent"] = host.memory_percent()
        values["rss_mb"] = host.rss_mb()
    if gpus is not None and gpus is not _FAILED:
        values.update(gpus.read())
    return values


def training_sampler(catalog: Any, model_id: str, *, execution_id: str | None = None,
                     configuration: dict | None = None, resume: bool = False) -> SystemMetricsSampler:
    """The sampler of one training: points written straight into the catalog (not through the job's metric sink,
    whose first point marks where a resumed job restarted), a resumed job's seconds going on from the last
    point its earlier attempt logged."""
    interval = interval_for(configuration)
    start_x = 0.0
    if resume and interval > 0:
        try:
            xs, _ = catalog.metric_series(model_id, "cpu_percent", LEGEND)
            start_x = float(xs.max()) if xs.size else 0.0
        except Exception as exc:   # the catalog read failing only restarts the clock at 0
            log.debug("system metrics: earlier attempt not read: %s", exc)

    def write(rows: list[dict]) -> None:
        catalog.add_metric_samples(model_id, rows, execution_id=execution_id)

    return SystemMetricsSampler(write, interval, start_x=start_x)
