"""The dynamic batcher on its own (no HTTP): batch sizes, the wait counted from arrival, order, failures."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
from waiting import async_wait_for

from desktop_app.serving.batching import Batcher
from desktop_app.serving.errors import ModelFailed


def _image(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


class Recorder:
    """A predict that records each batch (the first pixel of each image) and when it ran."""

    def __init__(self, seconds: float = 0.0, fail_on: int | None = None):
        self.seconds = seconds
        self.fail_on = fail_on
        self.batches: list[list[int]] = []
        self.spans: list[tuple[float, float]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.busy = threading.Event()   # set when a batch reaches the model

    def __call__(self, images):
        t0 = time.perf_counter()
        self.busy.set()
        self.gate.wait(10)
        values = [int(im[0, 0, 0]) for im in images]
        if self.fail_on in values:
            raise ModelFailed(f"image {self.fail_on} is bad")
        time.sleep(self.seconds)  # the model's own time: the batching timings are the point
        self.batches.append(values)
        self.spans.append((t0, time.perf_counter()))
        return [[f"p{v}"] for v in values]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_a_batch_up_to_the_max_and_each_gets_its_own_answer():
    rec = Recorder()
    sizes = []

    async def main():
        b = Batcher(rec, max_batch_size=4, max_wait_ms=200, on_batch=lambda n, s: sizes.append(n))
        await b.start()
        try:
            return await asyncio.gather(*(b.submit([_image(i)]) for i in range(10)))
        finally:
            await b.stop()

    answers = run(main())
    assert answers == [[[f"p{i}"]] for i in range(10)]
    assert [len(x) for x in rec.batches] == [4, 4, 2] and sizes == [4, 4, 2]
    assert [v for batch in rec.batches for v in batch] == list(range(10))   # order kept


def test_a_request_larger_than_a_batch_is_split_and_never_mixed_over_the_max():
    rec = Recorder()

    async def main():
        b = Batcher(rec, max_batch_size=3, max_wait_ms=50)
        await b.start()
        try:
            big = b.submit([_image(i) for i in range(7)])
            small = b.submit([_image(100)])
            return await asyncio.gather(big, small)
        finally:
            await b.stop()

    big, small = run(main())
    assert big == [[f"p{i}"] for i in range(7)] and small == [["p100"]]
    assert all(len(x) <= 3 for x in rec.batches)
    assert rec.batches[-1] == [100]          # the 7-image request is not joined by the next one


def test_requests_that_queued_while_the_model_was_busy_do_not_wait_again():
    """The wait is counted from a request's arrival: after a long batch, what queued meanwhile goes at once,
    even though the batch is not full and the wait is long."""
    rec = Recorder(seconds=0.3)

    async def main():
        b = Batcher(rec, max_batch_size=16, max_wait_ms=1500)
        await b.start()
        try:
            first = asyncio.ensure_future(b.submit([_image(0)] * 16))   # a full batch: runs at once
            await async_wait_for(rec.busy.is_set, 10, what="the model busy with the first batch")
            rest = [asyncio.ensure_future(b.submit([_image(i)])) for i in range(1, 4)]
            await asyncio.sleep(1.0)  # time passing is the point: longer than the first batch, shorter than the wait
            # queued at ~0.05 s with a 1.5 s wait: still inside it, so no batch yet
            assert len(rec.batches) == 1
            await asyncio.gather(first, *rest)
        finally:
            await b.stop()

    t0 = time.perf_counter()
    run(main())
    assert [len(x) for x in rec.batches] == [16, 3]
    # the second batch started when the first requests' wait ran out (~1.55 s after they queued), not
    # max_wait after the model went idle (~1.85 s)
    start_second = rec.spans[1][0] - t0
    assert 1.3 < start_second < 1.75, start_second


def test_after_a_batch_longer_than_the_wait_the_queued_requests_go_immediately():
    rec = Recorder(seconds=0.4)

    async def main():
        b = Batcher(rec, max_batch_size=16, max_wait_ms=300)
        await b.start()
        try:
            first = asyncio.ensure_future(b.submit([_image(0)] * 16))
            await async_wait_for(rec.busy.is_set, 10, what="the model busy with the first batch")
            rest = [asyncio.ensure_future(b.submit([_image(i)])) for i in range(1, 4)]
            await asyncio.gather(first, *rest)
        finally:
            await b.stop()

    run(main())
    assert [len(x) for x in rec.batches] == [16, 3]
    idle = rec.spans[1][0] - rec.spans[0][1]
    assert idle < 0.15, f"the model idled {idle * 1e3:.0f} ms with requests waiting past their deadline"


def test_a_bad_request_fails_alone_and_its_neighbours_are_answered():
    rec = Recorder(fail_on=2)

    async def main():
        b = Batcher(rec, max_batch_size=8, max_wait_ms=100)
        await b.start()
        try:
            return await asyncio.gather(*(b.submit([_image(i)]) for i in range(4)), return_exceptions=True)
        finally:
            await b.stop()

    out = run(main())
    assert out[0] == [["p0"]] and out[1] == [["p1"]] and out[3] == [["p3"]]
    assert isinstance(out[2], ModelFailed) and "image 2 is bad" in str(out[2])


def test_submit_before_start_is_refused():
    b = Batcher(Recorder(), max_batch_size=2, max_wait_ms=1)
    with pytest.raises(RuntimeError, match="not started"):
        run(b.submit([_image(0)]))
