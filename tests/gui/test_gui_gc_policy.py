"""The GUI's garbage-collection policy: no automatic full pass; one runs when due and nothing scrolls (or
after waiting long enough); generations 0 and 1 untouched; everything restored on uninstall."""

from __future__ import annotations

import gc

import pytest

pytest.importorskip("PySide6")

from desktop_app.gui import gc_policy  # noqa: E402
from desktop_app.gui.gc_policy import IdleCollector, note_activity  # noqa: E402


class Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_full_collections_wait_for_a_quiet_moment(qapp, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(gc_policy, "time", clock)
    monkeypatch.setattr(gc_policy, "_last_activity", 0.0)
    counts = [0, 0, 0]
    monkeypatch.setattr(gc_policy.gc, "get_count", lambda: tuple(counts))
    ran: list[tuple] = []
    monkeypatch.setattr(gc_policy.gc, "collect", lambda *a: ran.append(a) or 0)
    saved = gc.get_threshold()
    c = IdleCollector(check_ms=60_000, quiet_s=1.0, max_defer_s=5.0, freeze=False)
    try:
        assert gc.get_threshold() == (saved[0], saved[1], 2**31 - 1)    # no automatic full pass
        assert not c.check() and ran == []                              # none due yet
        counts[2] = c.due_after                                         # as CPython would start one now
        note_activity()                                                 # ... but a gallery is scrolling
        clock.now += 0.5
        assert not c.check() and ran == []
        clock.now += 0.6                                                # 1.1 s without a scroll
        assert c.check() and ran == [()] and c.collections == 1
        counts[2] = c.due_after
        for _ in range(5):                                              # scrolling on and on ...
            clock.now += 1.0
            note_activity()
            c.check()
        assert len(ran) == 1                                            # due since the first of those
        clock.now += 1.0
        note_activity()
        assert c.check() and len(ran) == 2                              # ... not for ever: max_defer_s
    finally:
        c.uninstall()
    assert gc.get_threshold() == saved


def test_a_scrolling_gallery_counts_as_activity(qtbot, monkeypatch):
    from desktop_app.gui.widgets.gallery import GalleryView
    monkeypatch.setattr(gc_policy, "_last_activity", 0.0)
    view = GalleryView()
    qtbot.addWidget(view)
    view.verticalScrollBar().setRange(0, 1000)
    view.verticalScrollBar().setValue(300)
    assert gc_policy._last_activity > 0.0
