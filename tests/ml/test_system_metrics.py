"""System metrics during training: the sampler thread logs CPU / memory (and GPU where NVML is) under the legend
"system", stops with the training (a failure or a cancel too), and a failing reading never breaks a training."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from desktop_app.errors import Cancelled
from desktop_app.ml import system_metrics as sm
from desktop_app.ml.adapter import BaseModelAdapter


def _wait(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        threading.Event().wait(0.02)


def _samplers_alive() -> bool:
    return any(t.name == "system-metrics" and t.is_alive() for t in threading.enumerate())


@pytest.fixture
def model(dl):
    ds = dl.datasets.list()[0]
    return dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="sys", dataset=ds)


def test_the_sampler_logs_system_points_into_the_catalog(model):
    cat = model._client.catalog
    with sm.training_sampler(cat, model.id, execution_id="ex1", configuration={sm.KEY: 0.1}) as sampler:
        _wait(lambda: sampler.samples >= 4)
    assert not _samplers_alive()
    recs = cat.list_metrics(model.id)
    figures = {r.figure for r in recs}
    assert {"cpu_percent", "memory_percent", "rss_mb"} <= figures
    assert {r.legend for r in recs} == {"system"} and {r.execution_id for r in recs} == {"ex1"}
    xs, ys = cat.metric_series(model.id, "cpu_percent", "system")
    assert len(xs) >= 4 and all(b > a for a, b in zip(xs, xs[1:])) and xs[0] >= 0.09
    assert all(0 <= y <= 100 for y in ys)
    _, rss = cat.metric_series(model.id, "rss_mb", "system")
    assert rss.min() > 10                                   # this Python process holds more than 10 MiB
    n = len(recs)
    threading.Event().wait(0.3)
    assert len(cat.list_metrics(model.id)) == n             # nothing after stop()
    # a resumed training's clock goes on after the earlier attempt's last point
    resumed = sm.training_sampler(cat, model.id, configuration={sm.KEY: 0.1}, resume=True)
    assert resumed.start_x == pytest.approx(float(xs.max()))


def test_interval_zero_is_off_and_the_interval_comes_from_config_then_environment(monkeypatch):
    monkeypatch.delenv(sm.ENV, raising=False)
    assert sm.interval_for({}) == sm.DEFAULT_INTERVAL_S == 10
    monkeypatch.setenv(sm.ENV, "2.5")
    assert sm.interval_for(None) == 2.5
    assert sm.interval_for({sm.KEY: 0}) == 0
    assert sm.interval_for({sm.KEY: "soon"}) == 2.5          # not a number: the next source
    off = sm.SystemMetricsSampler(lambda rows: None, 0).start()
    assert off._thread is None
    off.stop()


def test_a_failing_write_or_reading_never_stops_the_sampler(caplog):
    calls = []

    def write(rows):
        calls.append(rows)
        raise OSError("disk full")

    with caplog.at_level(logging.DEBUG, logger=sm.__name__):
        with sm.SystemMetricsSampler(write, 0.05, gpus=False):
            _wait(lambda: len(calls) >= 3)
    assert not _samplers_alive()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disk full" in warnings[0].getMessage()


def test_proc_fallback_reads_cpu_and_memory():
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc here")
    r = sm._ProcReader()
    r._last = (0, 0)
    assert 0 <= r.cpu_percent() <= 100
    assert 0 < r.memory_percent() < 100
    assert r.rss_mb() > 10


class Waits(BaseModelAdapter):
    """Trains until the sampler has logged two points (or raises `error` then)."""

    error: BaseException | None = None

    def load(self, local_path, **kwargs):
        self.model = "loaded"

    def save(self, local_path, **kwargs):
        (Path(local_path) / "weights.bin").write_bytes(b"w")

    def convert_from_dtlpy(self, data_path, **kwargs):
        pass

    def train(self, data_path, output_path, **kwargs):
        cat = self.model_entity._client.catalog
        _wait(lambda: len(cat.metric_series(self.model_entity.id, "memory_percent", "system")[0]) >= 2)
        if self.error is not None:
            raise self.error

    def predict(self, batch, **kwargs):
        return [[] for _ in batch]


@pytest.mark.parametrize("error", [None, Cancelled("canceled by the user")])
def test_a_training_logs_system_metrics_and_its_end_stops_them(model, monkeypatch, error):
    monkeypatch.setenv(sm.ENV, "0.05")
    adapter = Waits()
    adapter.error = error
    if error is None:
        adapter.train_model(model)
    else:
        with pytest.raises(Cancelled):
            adapter.train_model(model)
    assert not _samplers_alive()
    keys = {(r.figure, r.legend) for r in model._client.catalog.list_metrics(model.id)}
    assert ("cpu_percent", "system") in keys and ("rss_mb", "system") in keys


class _FakeNvml:
    """pynvml's calls the sampler makes, for two GPUs (no GPU on the test machine)."""

    class _Rates:
        gpu = 37

    class _Memory:
        used = 3 * 1024 ** 3

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"handle{i}"

    def nvmlDeviceGetUtilizationRates(self, handle):
        return self._Rates()

    def nvmlDeviceGetMemoryInfo(self, handle):
        return self._Memory()


def test_gpu_readings_of_the_visible_gpus_through_nvml(monkeypatch):
    import sys
    fake = _FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    gpus = sm._Gpus()
    assert gpus.read() == {"gpu1_utilization": 37.0, "gpu1_memory_mb": 3072.0}
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert set(sm._Gpus().read()) == {"gpu0_utilization", "gpu0_memory_mb", "gpu1_utilization", "gpu1_memory_mb"}
    rows = []
    with sm.SystemMetricsSampler(rows.extend, 0.05):
        _wait(lambda: {"gpu0_utilization", "cpu_percent"} <= {r["figure"] for r in rows})
    assert getattr(fake, "shut", False)
