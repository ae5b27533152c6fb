"""The Qt binding itself: a build that mismanages references to None / True / False aborts a long session."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.parametrize("what", ["None", "bool"])
def test_qt_calls_keep_reference_counts(qapp, what):
    """PySide6 6.12.0 under Python 3.11 (non-immortal None) loses one reference per call returning None or a
    bool; the window then dies with 'none_dealloc' after a few thousand calls. pyproject pins it out."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QTreeWidget

    class Emitter(QObject):
        ping = Signal()

    tree, emitter = QTreeWidget(), Emitter()
    call, obj = (tree.currentItem, None) if what == "None" else (emitter.ping.emit, True)
    before = sys.getrefcount(obj)
    for _ in range(200):
        call()
    assert abs(sys.getrefcount(obj) - before) < 20, f"this PySide6 build mismanages references to {what}"
