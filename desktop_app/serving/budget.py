"""The service's memory budget: how many bytes the requests being parsed and decoded may use at once.

A request asks for its estimate before it parses (its body's size) and again before it decodes its
images (from their headers: 8 bytes a pixel); it waits, in arrival order, until the budget has room. One
estimate larger than the whole budget runs alone. A request never holds one grant while waiting for
another, so two requests cannot wait on each other."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import AsyncIterator

from .errors import RequestError


class MemoryBudget:
    def __init__(self, total_bytes: int, *, wait_s: float = 60.0):
        self.total = total_bytes
        self.wait_s = wait_s
        self.used = 0
        self.peak = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future]] = collections.deque()

    def _fits(self, n: int) -> bool:
        return self.used == 0 or self.used + n <= self.total

    def _grant(self) -> None:
        while self._waiters:
            n, fut = self._waiters[0]
            if fut.done():                         # given up (timed out or the request went away)
                self._waiters.popleft()
                continue
            if not self._fits(n):
                return
            self._waiters.popleft()
            self._take(n)
            fut.set_result(None)

    def _take(self, n: int) -> None:
        self.used += n
        self.peak = max(self.peak, self.used)

    def _give(self, n: int) -> None:
        self.used -= n
        self._grant()

    @contextlib.asynccontextmanager
    async def reserve(self, n: int, what: str = "the request") -> AsyncIterator[None]:
        """Hold n bytes of the budget (at most all of it) for the block; a JSON 503 when none came in wait_s."""
        n = max(0, min(int(n), self.total))
        if not self._waiters and self._fits(n):
            self._take(n)
        else:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append((n, fut))
            try:
                await asyncio.wait_for(asyncio.shield(fut), self.wait_s)
            except (TimeoutError, asyncio.TimeoutError):
                if not fut.done():
                    fut.cancel()
                    self._grant()
                    raise RequestError(f"the service is busy: {what} waited {self.wait_s:g} s for memory to parse "
                                       f"and decode it (memory_budget_mb is {self.total >> 20}); retry shortly",
                                       status=503) from None
            except BaseException:
                if fut.done() and not fut.cancelled():
                    self._give(n)                  # granted just as we were cancelled
                else:
                    fut.cancel()
                    self._grant()
                raise
        try:
            yield
        finally:
            self._give(n)
