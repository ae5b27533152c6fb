"""Python's full (generation 2) garbage collections, moved to quiet moments.

With pages of a 100,000-item gallery in memory (~200,000 tracked objects) an automatic full pass takes
80-180 ms on a 2-core machine, and CPython starts one whenever enough objects have survived: while
scrolling it did, about once a second, each a visible stall. Here the automatic full passes are off;
generations 0 and 1 stay automatic (a few ms each), and a full pass runs from a timer once one is due
(as many generation-1 passes as CPython would wait for) and nothing has scrolled for `quiet_s`, or at the
latest `max_defer_s` after it fell due. What start-up made (modules, classes, Qt wrappers) is frozen out
of every pass (gc.freeze). Memory without reference cycles is freed by reference counting as always."""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

_last_activity = 0.0


def note_activity(*_: object) -> None:
    """Something the user watches is moving (a gallery scrolls): no full collection for a while."""
    global _last_activity
    _last_activity = time.monotonic()


class IdleCollector(QObject):
    def __init__(self, parent: QObject | None = None, *, quiet_s: float = 1.0, check_ms: int = 500,
                 max_defer_s: float = 30.0, freeze: bool = True):
        super().__init__(parent)
        self.quiet_s = quiet_s
        self.max_defer_s = max_defer_s
        self.saved = gc.get_threshold()
        self.due_after = max(1, self.saved[2])      # generation-1 passes between full ones, as CPython has it
        self.collections = 0
        self._due_since: float | None = None
        if freeze:
            gc.freeze()
        gc.set_threshold(self.saved[0], self.saved[1], 2**31 - 1)
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> bool:
        """Run a full collection if one is due and the moment is quiet (or it has waited long enough)."""
        if gc.get_count()[2] < self.due_after:
            return False
        now = time.monotonic()
        if self._due_since is None:
            self._due_since = now
        if now - _last_activity < self.quiet_s and now - self._due_since < self.max_defer_s:
            return False
        gc.collect()
        self.collections += 1
        self._due_since = None
        return True

    def uninstall(self) -> None:
        self.timer.stop()
        gc.set_threshold(*self.saved)
        gc.unfreeze()
