"""Loops over many entries that report progress and stop when cancelled: imports, exports, catalog writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def tracked(items: Sequence[T], progress: Callable[[int, int], None] | None = None,
            cancelled: Callable[[], bool] | None = None, *, every: int = 32,
            cancel_message: str = "export cancelled") -> Iterator[T]:
    """Yield ``items``, reporting (done, total) every ``every`` items and after the last; InterruptedError
    (with ``cancel_message``) before the next item once ``cancelled()``. Imports and exports both loop so."""
    total = len(items)
    for i, it in enumerate(items):
        if cancelled is not None and cancelled():
            raise InterruptedError(cancel_message)
        yield it
        if progress is not None and (i % every == 0 or i == total - 1):
            progress(i + 1, total)
