"""Dynamic batching: concurrent requests are gathered (up to max_batch_size images or max_wait_ms after the
first of them arrived) into one model call on a single model thread, so the event loop keeps accepting and
decoding meanwhile.

A short wait is what keeps the model busy under a closed loop of clients: with 16 clients and a 20 ms wait
every batch waits for all 16 answers to go out and come back (the model idles ~15% of the time); with the
default 5 ms the clients fall into two groups of ~8, one decoding and sending while the other's batch runs
(bench/serve.py prints the batches formed and how busy the model was).

A request may name the predict function it is bound to (the model it was accepted for): batches never mix
two, so during a hot model swap requests already accepted finish on the old model."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ModelFailed


@dataclass
class _Job:
    images: list[np.ndarray]
    future: asyncio.Future
    predict: Callable[[Sequence[np.ndarray]], list] | None = None
    queued_at: float = field(default_factory=time.perf_counter)


class Batcher:
    def __init__(self, predict: Callable[[Sequence[np.ndarray]], list], *, max_batch_size: int,
                 max_wait_ms: float, on_batch: Callable[[int, float], None] | None = None):
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.on_batch = on_batch
        # One thread owns the model: no two batches run at once, and torch's own threads do the rest.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._carry: _Job | None = None

    @property
    def depth(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def submit(self, images: list[np.ndarray],
                     predict: Callable[[Sequence[np.ndarray]], list] | None = None) -> list:
        """Predictions for these images (one list per image); ModelFailed if the model raised on them.

        predict: the model this request is bound to (default: the batcher's)."""
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(images, fut, predict or self.predict))
        return await fut

    def run_sync(self, fn: Callable[[], Any]) -> asyncio.Future:
        """Run something on the model thread (the warm-up), in order with the batches."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _next(self) -> _Job:
        if self._carry is not None:
            job, self._carry = self._carry, None
            return job
        assert self._queue is not None
        return await self._queue.get()

    async def _gather(self) -> list[_Job]:
        assert self._queue is not None
        job = await self._next()
        jobs, n = [job], len(job.images)
        # The wait counts from the first request's arrival (Triton's max_queue_delay): requests that queued
        # while the model was busy have waited already, so they go at once with whatever is there.
        deadline = job.queued_at + self.max_wait
        while n < self.max_batch_size:
            try:
                nxt = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), left)
                except (asyncio.TimeoutError, TimeoutError):
                    break
            if n + len(nxt.images) > self.max_batch_size or nxt.predict != job.predict:
                self._carry = nxt  # it leads the next batch, so order is kept (and models never mix)
                break
            jobs.append(nxt)
            n += len(nxt.images)
        return [j for j in jobs if not j.future.done()]  # a client that went away needs no prediction

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._gather()
            if not jobs:
                continue
            images = [im for j in jobs for im in j.images]
            t0 = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._call, images, jobs[0].predict)
            except ModelFailed as e:
                if len(jobs) > 1:
                    # One request's bad image must not fail its neighbours: run each request alone.
                    for j in jobs:
                        await self._run_alone(loop, j)
                    continue
                _fail(jobs[0], e)
                continue
            except Exception as e:  # noqa: BLE001 - never let the batch loop die
                for j in jobs:
                    _fail(j, ModelFailed(f"{type(e).__name__}: {e}"))
                continue
            if self.on_batch:
                self.on_batch(len(images), time.perf_counter() - t0)
            k = 0
            for j in jobs:
                part = results[k:k + len(j.images)]
                k += len(j.images)
                if not j.future.done():
                    j.future.set_result(part)

    async def _run_alone(self, loop: asyncio.AbstractEventLoop, job: _Job) -> None:
        t0 = time.perf_counter()
        try:
            res = await loop.run_in_executor(self._executor, self._call, job.images, job.predict)
        except Exception as e:  # noqa: BLE001
            _fail(job, e if isinstance(e, ModelFailed) else ModelFailed(f"{type(e).__name__}: {e}"))
            return
        if self.on_batch:
            self.on_batch(len(job.images), time.perf_counter() - t0)
        if not job.future.done():
            job.future.set_result(res)

    def _call(self, images: list[np.ndarray], predict: Callable[[Sequence[np.ndarray]], list] | None = None) -> list:
        predict = predict or self.predict
        out: list = []
        # A single request may hold more images than a batch: split it.
        for i in range(0, len(images), self.max_batch_size):
            out.extend(predict(images[i:i + self.max_batch_size]))
        return out


def _fail(job: _Job, exc: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
