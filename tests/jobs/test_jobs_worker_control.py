"""The worker's heartbeat and cancel check: a failure is logged (the first of a run of them), not swallowed."""

from __future__ import annotations

import logging
import threading

from desktop_app.errors import CatalogBusyError
from desktop_app.jobs.worker import Control


class _BusyCatalog:
    """Answers like a catalog another process holds locked, then recovers once `busy` is cleared."""

    def __init__(self):
        self.busy = True
        self.calls = 0
        self.beats = threading.Event()

    def get_execution(self, execution_id):
        self.calls += 1
        if self.busy:
            raise CatalogBusyError("the catalog database stayed locked by another process: database is locked")
        return type("Ex", (), {"cancel_requested": 1})()

    def update_execution(self, execution_id, **values):
        if self.busy:
            raise CatalogBusyError("database is locked")
        self.beats.set()


def _wait(condition, timeout=10.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False


def test_heartbeat_and_cancel_check_failures_are_logged_once_and_the_beat_goes_on(caplog):
    caplog.set_level(logging.INFO, logger="desktop_app.worker")
    cat = _BusyCatalog()
    control = Control(cat, "ex1", interval=0.01)
    try:
        assert _wait(lambda: cat.calls >= 5)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert sorted(r.getMessage().split(": ", 1)[1].split(" failed")[0] for r in warnings) == \
            ["cancel check", "heartbeat"]                       # the first failure of each, not one per beat
        assert all("CatalogBusyError" in r.getMessage() and "ex1" in r.getMessage() for r in warnings)
        cat.busy = False
        assert _wait(cat.beats.is_set) and _wait(control.cancelled.is_set)
        assert _wait(lambda: sum("works again" in r.getMessage() for r in caplog.records) == 2)
    finally:
        control.close()
