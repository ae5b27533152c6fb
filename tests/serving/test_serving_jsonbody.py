"""A request's JSON read within a memory budget (serving/jsonbody.py): the same document as json.loads, with
long lists of integers read by numpy and long strings left as views of the body, at a fraction of the
memory; and the memory budget that admits parses and decodes (serving/budget.py)."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from waiting import async_wait_for

from desktop_app.serving.budget import MemoryBudget
from desktop_app.serving.errors import RequestError, TooLarge
from desktop_app.serving.jsonbody import JsonString, TensorData, parse_request_json


def plain(x):
    """The document json.loads gives, from one with TensorData / JsonString in it."""
    if isinstance(x, TensorData):
        return x.tolist()
    if isinstance(x, JsonString):
        return x.text()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


leaves = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                   st.text(max_size=12), st.integers(0, 999))
int_lists = st.lists(st.integers(0, 999), min_size=1, max_size=12)
even = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)).flatmap(
    lambda s: st.lists(st.integers(0, 2000), min_size=s[0] * s[1] * s[2], max_size=s[0] * s[1] * s[2]).map(
        lambda v: np.asarray(v).reshape(s).tolist()))
documents = st.recursive(
    st.one_of(leaves, int_lists, even, st.lists(st.text(alphabet="AZaz09+/= é\n\"\\", max_size=20))),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents, indent=st.sampled_from([None, 1, "\t"]), ascii_only=st.booleans())
def test_the_document_is_what_json_loads_gives(doc, indent, ascii_only):
    body = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()
    got = parse_request_json(body, min_cut=4, cut_above=0)
    assert plain(got) == json.loads(body)


@pytest.mark.parametrize("bad", [b"[1,,2]", b"[01,2]", b"[1 2]", b'{"a": [1,2,]}', b"[[1,2],[3]", b'"abc',
                                 b"[\x0b1]", b"[1,2] x", b'["\x01abc"]', b"[00]", b"[1e]",
                                 b"[-]", b"[1,2,3]]"])
def test_what_json_refuses_is_refused(bad):
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad)
    with pytest.raises(RequestError, match="not valid JSON"):
        parse_request_json(bad, min_cut=3, cut_above=0)


@pytest.mark.parametrize("edge", [b"[ ]", b"[[1],[ ]]", b"[[],[]]", b"[]", b"[0,0,10,100,999]", b"[ 1 ,\n2\t]",
                                  b'["", "a", []]', b"[[[0]]]"])
def test_edges_json_reads_are_read_alike(edge):
    assert plain(parse_request_json(edge, min_cut=1, cut_above=0)) == json.loads(edge)


def test_long_lists_become_numpy_values_and_ragged_or_float_ones_do_not():
    doc = {"flat": list(range(200)) * 3, "nested": np.arange(60).reshape(2, 5, 6).tolist(),
           "ragged": [[1, 2, 3], [4, 5]] * 30, "floats": [0.5] * 100, "big": [1000] * 100}
    out = parse_request_json(json.dumps(doc).encode(), min_cut=64, cut_above=0)
    assert isinstance(out["flat"], TensorData) and out["flat"].dims == (600,)
    assert isinstance(out["nested"], TensorData) and out["nested"].dims == (2, 5, 6)
    assert out["nested"].values.dtype == np.uint16
    for name in ("ragged", "floats", "big"):
        assert isinstance(out[name], list)              # json read them (the body is small)
    assert plain(out) == doc


def test_over_a_megabyte_what_json_would_read_is_bounded():
    body = b"[" + b"{}," * 400_000 + b"{}]"               # 64 bytes of dict per 3 bytes of text
    with pytest.raises(TooLarge, match="holds over 1,048,576 bytes besides its tensor data"):
        parse_request_json(body)
    ragged = b'{"data": [' + b"[1,2],[3]," * 200_000 + b"[1]]}"
    with pytest.raises(TooLarge, match=r"at byte 9 is not evenly nested \(ragged\)"):
        parse_request_json(ragged)
    for hostile in (b"[" * 3_000_000, b'"' + b'\\"' * 2_000_000, b"[" + b"9" * 3_000_000):
        with pytest.raises(RequestError):                 # linear time: each well under a second
            parse_request_json(hostile)


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_uint8_tensor_costs_less_than_its_body_to_parse():
    values = np.random.default_rng(0).integers(0, 256, 3_000_000, dtype=np.uint8)
    body = bytearray(b'{"inputs": [{"name": "i", "datatype": "UINT8", "shape": [1, 1000, 1000, 3], "data": ['
                     + ",".join(map(str, values.tolist())).encode() + b"]}]}")
    doc, peak = _peak(lambda: parse_request_json(body))
    data = doc["inputs"][0]["data"]
    assert isinstance(data, TensorData) and np.array_equal(data.values, values)
    assert peak < len(body), f"{peak / 1e6:.1f} MB to parse a {len(body) / 1e6:.1f} MB body"   # json: 8x


def test_a_large_base64_image_is_not_copied_as_text():
    payload = np.random.default_rng(1).integers(0, 256, 6_000_000, dtype=np.uint8).tobytes()
    import base64
    body = bytearray(json.dumps({"inputs": [{"name": "i", "datatype": "BYTES", "shape": [1],
                                             "data": [base64.b64encode(payload).decode()]}]}).encode())
    doc, peak = _peak(lambda: parse_request_json(body))
    data = doc["inputs"][0]["data"][0]
    assert isinstance(data, JsonString) and len(data) == 8_000_000
    assert peak < len(body) / 10                                     # a view; json.loads: twice the body


# -- the memory budget --------------------------------------------------------------------------------------
def test_the_budget_admits_in_arrival_order_and_a_large_request_runs_alone():
    async def main():
        budget = MemoryBudget(100, wait_s=5)
        order = []

        async def job(name, n, hold):
            async with budget.reserve(n):
                order.append((name, "in", budget.used))
                await asyncio.sleep(hold)  # a request's work, holding its memory
            order.append((name, "out"))

        await asyncio.gather(job("a", 60, 0.05), job("b", 60, 0.01), job("c", 30, 0.01), job("big", 500, 0.01),
                             job("d", 10, 0.01))
        return order, budget
    order, budget = asyncio.run(main())
    ins = [o for o in order if o[1] == "in"]
    assert [o[0] for o in ins] == ["a", "b", "c", "big", "d"]       # c waits behind b, d behind big
    assert ("big", "in", 100) in ins                                  # alone, counted as the whole budget
    assert max(o[2] for o in ins) <= 100 and budget.used == 0 and budget.peak == 100


def test_a_request_that_cannot_get_memory_in_time_is_a_503_and_leaves_the_budget_whole():
    async def main():
        budget = MemoryBudget(100, wait_s=0.1)
        async with budget.reserve(100):
            with pytest.raises(RequestError) as e:
                async with budget.reserve(1, "a JSON request"):
                    pass
            task = asyncio.create_task(_reserve(budget, 50))
            await async_wait_for(lambda: budget._waiters, 5, what="the second request waiting for memory")
            task.cancel()                                   # a request that goes away while it waits
            with pytest.raises(asyncio.CancelledError):
                await task
        async with budget.reserve(100):
            pass
        return e.value, budget
    err, budget = asyncio.run(main())
    assert err.status == 503 and "a JSON request waited 0.1 s for memory" in err.message
    assert budget.used == 0 and not budget._waiters


async def _reserve(budget, n):
    async with budget.reserve(n):
        await asyncio.sleep(10)  # never reached: the test cancels it while it waits for memory
