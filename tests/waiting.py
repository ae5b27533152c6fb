"""Waiting in tests on a condition, not for a fixed time: wait_for(predicate, timeout, what=...)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, *, poll: float = 0.02, what: str = "",
             details: Callable[[], object] | None = None) -> T:
    """Polls predicate until it returns something truthy, and returns that; after timeout seconds fails the test
    with what was awaited (what, or the predicate's source name) and details() (say, a job's log) if given."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", "condition")
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"waited {timeout:g} s for {name}; it never came (last value: {value!r}){extra}")
        time.sleep(poll)


async def async_wait_for(predicate: Callable[[], T], timeout: float = 30.0, *, poll: float = 0.01,
                         what: str = "") -> T:
    """wait_for inside a coroutine: polls without blocking the event loop (the server under test runs on it)."""
    import asyncio
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", "condition")
            raise AssertionError(f"waited {timeout:g} s for {name}; it never came (last value: {value!r})")
        await asyncio.sleep(poll)
