"""Parse an inference request's JSON within a memory budget: its tensor data never becomes Python lists.

`json.loads` builds a Python object per value: a flat list of 17 million pixel values (a 61 MB body) takes
137 MB as a list and as much again as numpy's int64 copy, and hostile shapes cost more (`[{},{},...]` is
64 bytes of dict per 3 bytes of text). So the raw bytes are scanned first (one linear regex pass):

- a list of plain integers at least MIN_CUT bytes long (flat, or evenly nested like `img.tolist()`) is cut
  out and read by numpy straight into a uint16 array (`TensorData`: the values and the nesting's sizes);
- a string at least MIN_CUT bytes long in a list (base64 image data), printable ASCII without escapes, is
  cut out as a view of the body (`JsonString`): base64 is decoded from it without a copy of the text;
  other long strings stay in the text (json holds each as one str);
- everything else (names, shapes, parameters: "the structure") must stay under MAX_STRUCTURE bytes.

Then json parses what is left, and the cut-out lists take their places again. The result equals
`json.loads(body)` with those lists as TensorData (tests/serving/test_serving_jsonbody.py checks it on
random documents). Parsing takes at most about the body's size again, whatever the body holds."""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import RequestError, TooLarge

MIN_CUT = 4096              # lists of numbers and strings from this many bytes are handled apart from json
MAX_STRUCTURE = 1 << 20     # the bytes json turns into objects: the body less its long strings and tensors

# A string (to its closing quote, or to the end when it has none), or a run of the characters a list of
# numbers is made of. Possessive: each byte is looked at a bounded number of times, whatever the body.
_TOKENS = re.compile(rb'(?s)"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)|\[[\[\]0-9,.eE+\- \t\r\n]*+')
# What no unsigned integer has: . e E + - (all else in a run of list characters is digits, brackets, commas,
# whitespace).
_NOT_DIGITS_ALONE = b"[],.eE+- \t\r\n"
_STRUCTURE_ONLY = b"0123456789 \t\r\n"
_BRACKETS_TO_SPACES = bytes.maketrans(b"[]", b"  ")
_PIECE = 1 << 20            # a long list is read this many bytes at a time


@dataclass(frozen=True)
class TensorData:
    """A JSON list of integers 0..999 read by numpy: the values in row-major order and the list's nesting
    (dims: the length at each level, outermost first; a flat list has one)."""

    values: np.ndarray
    dims: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(self.values.size)

    def tolist(self) -> list:
        return self.values.reshape(self.dims).tolist()


@dataclass(frozen=True)
class JsonString:
    """A long string in a list (base64 image data), as a view of the body's bytes: printable ASCII without
    escapes, so its text is those bytes. Decoding base64 from it makes no copy of the text."""

    raw: memoryview

    def __len__(self) -> int:
        return len(self.raw)

    def text(self) -> str:
        return self.raw.tobytes().decode("ascii")


def parse_request_json(body: bytes | bytearray, *, min_cut: int = MIN_CUT, max_structure: int = MAX_STRUCTURE,
                       cut_above: int | None = None) -> Any:
    """The request document, its long lists of integers as TensorData and its long strings in lists as
    JsonString (when printable ASCII without escapes, as base64 is). RequestError when it is not JSON,
    TooLarge when its structure (everything but long strings and tensor data) is over max_structure.

    A body of at most cut_above bytes (default: max_structure) costs little whatever it holds: json alone
    reads it."""
    if not body:
        raise RequestError("the request body is empty; expected a JSON inference request")
    cuts: dict[str, TensorData | JsonString] = {}
    text: bytes | bytearray = body
    if len(body) > (max_structure if cut_above is None else cut_above):
        text, cuts = _cut_tensors(body, min_cut, max_structure)
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RequestError(f"the request body is not valid JSON ({e})") from None
    finally:
        del text
    return _restore(doc, cuts) if cuts else doc


def _cut_tensors(body: bytes | bytearray, min_cut: int, max_structure: int
                 ) -> tuple[bytes | bytearray, dict[str, TensorData | JsonString]]:
    pieces: list[bytes | bytearray] = []
    cuts: dict[str, TensorData | JsonString] = {}
    nonce = secrets.token_hex(6)
    last = 0
    set_aside = 0        # bytes of long strings and cut-out tensors: not structure
    why_not = ""         # why the first long list of numbers could not be read as tensor data

    def cut(start: int, end: int, value: TensorData | JsonString) -> None:
        nonlocal last
        key = f"\0cut:{nonce}:{len(cuts)}"
        cuts[key] = value
        pieces.extend((body[last:start], json.dumps(key).encode()))
        last = end

    for m in _TOKENS.finditer(body):
        s, e = m.span()
        if body[s] == 0x22:                                     # a string
            if e - s >= min_cut:
                set_aside += e - s
                if _list_element(body, s, e) and (value := _plain_string(body, s, e)) is not None:
                    cut(s, e, value)
        else:
            end = body.rfind(b"]", s, e) + 1
            if end - s >= min_cut:
                data, why = _read_numbers(body, s, end)
                if data is None:
                    why_not = why_not or why
                else:
                    cut(s, end, data)
                    set_aside += end - s
        if e - set_aside > max_structure:
            _too_much_structure(len(body), max_structure, why_not)
    if len(body) - set_aside > max_structure:
        _too_much_structure(len(body), max_structure, why_not)
    if not cuts:
        return body, cuts
    pieces.append(body[last:])
    return b"".join(pieces), cuts


def _list_element(body: bytes | bytearray, start: int, end: int) -> bool:
    """Whether the string at body[start:end] is an element of a list (BYTES data): after '[' or ',' and
    not before ':' (a key)."""
    i = start - 1
    while i >= 0 and body[i] in b" \t\r\n":
        i -= 1
    j = end
    while j < len(body) and body[j] in b" \t\r\n":
        j += 1
    return i >= 0 and body[i] in b"[," and (j >= len(body) or body[j] != 0x3A)


def _plain_string(body: bytes | bytearray, start: int, end: int) -> JsonString | None:
    """A view of the string's text when it is printable ASCII without escapes (base64 is), else None."""
    if end - start < 2 or body[end - 1] != 0x22 or body.find(b"\\", start + 1, end - 1) >= 0:
        return None
    chars = np.frombuffer(body, np.uint8, count=end - start - 2, offset=start + 1)
    if chars.size and (chars.min() < 0x20 or chars.max() >= 0x80):
        return None
    return JsonString(memoryview(body)[start + 1:end - 1].toreadonly())


def _too_much_structure(size: int, limit: int, why_not: str) -> None:
    because = f" ({why_not})" if why_not else ""
    raise TooLarge(f"the JSON request ({size:,} bytes) holds over {limit:,} bytes besides its tensor data{because}; "
                   f"send image data as one list of integers 0..255 (UINT8, flat or evenly nested) or as base64 "
                   f"strings (BYTES)")


def _read_numbers(body: bytes | bytearray, start: int, end: int) -> tuple[TensorData | None, str]:
    """TensorData for body[start:end], the text of one JSON list of non-negative integers (evenly nested),
    or (None, why). Bytes methods and numpy only (a regex over 60 MB takes a second per pattern), a piece
    at a time (no copy of the whole text): numpy reads the values, the count of digits checks how they are
    spelt, the brackets and commas give the nesting."""
    where = f"the list of numbers at byte {start:,}"
    for c in b".eE+-":
        if (i := body.find(c, start, end)) >= 0:
            return None, f"{where} holds {bytes(body[max(start, i - 8):i + 8]).decode(errors='replace')!r}: " \
                         f"not an integer 0..255"
    view = memoryview(body)
    if body.find(b"[", start + 1, end) < 0 and body.find(b"]", start, end - 1) < 0:
        dims: tuple[int, ...] | None = (body.count(b",", start, end) + 1,)      # flat: the usual case
    else:
        dims = _nesting(b"".join(bytes(view[p:min(p + _PIECE, end)]).translate(None, _STRUCTURE_ONLY)
                                 for p in range(start, end, _PIECE)))
    if dims is None:
        return None, f"{where} is not evenly nested (ragged)"
    # uint16: a value of 5 or more digits wraps, and is then caught below by its value or its digits
    values = np.empty(math.prod(dims), np.uint16)
    n = digits = 0
    pos = start
    while pos < end:
        stop = min(pos + _PIECE, end)
        if stop < end:                         # end the piece after a comma: no number is cut in two
            comma = body.find(b",", stop - 1, end)
            stop = end if comma < 0 else comma + 1
        piece = bytes(view[pos:stop])
        digits += len(piece) - len(piece.translate(None, b"0123456789"))
        try:
            got = np.fromstring(piece.translate(_BRACKETS_TO_SPACES), dtype=np.uint16,  # type: ignore[call-overload]
                                sep=",")
        except ValueError:                     # two numbers without a comma between them
            return None, f"{where} is not a valid JSON list"
        if n + got.size > values.size:
            return None, f"{where} is not a valid JSON list"
        values[n:n + got.size] = got
        n += got.size
        pos = stop
    if n != values.size:
        return None, f"{where} is not a valid JSON list"
    if values.size and values.max() > 999:
        return None, f"{where} holds a value over 999: not an integer 0..255"
    # numpy reads '' as 0 and '007' as 7: each value spelt without leading zeros has exactly this many digits
    if digits != values.size + np.count_nonzero(values >= 10) + np.count_nonzero(values >= 100):
        return None, f"{where} is not a valid JSON list (an empty place or a leading zero)"
    return TensorData(values, dims), ""


def _nesting(structure: bytes) -> tuple[int, ...] | None:
    """The sizes of an evenly nested list from its brackets and commas, or None when it is not one."""
    depth = len(structure) - len(structure.lstrip(b"["))
    if depth == 0:
        return None
    first_close = structure.find(b"]")
    if first_close <= depth - 1:     # an empty innermost list
        return None
    dims = [first_close - depth + 1]
    canonical = b"[" + b"," * (dims[0] - 1) + b"]"
    for level in range(depth - 1, 0, -1):       # outward: how many copies of the inner list each one holds
        inner = len(canonical)
        pos, n = level, 0
        while True:
            pos += inner
            n += 1
            if pos >= len(structure):
                return None
            if structure[pos] == 0x2C:      # ','
                pos += 1
                continue
            if structure[pos] == 0x5D:      # ']'
                break
            return None
        dims.insert(0, n)
        canonical = b"[" + (canonical + b",") * (n - 1) + canonical + b"]"
    return tuple(dims) if canonical == structure else None


def _restore(doc: Any, cuts: dict[str, TensorData | JsonString]) -> Any:
    """Put each cut-out value where its placeholder string is (iteratively: the document may be deep)."""
    if isinstance(doc, str):
        return cuts.get(doc, doc)
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            if isinstance(v, str):
                if v in cuts:
                    node[k] = cuts[v]
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return doc
