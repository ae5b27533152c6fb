"""What an import may read and decode (the limits README's "Limits" states), and readers that keep to them.

Every reader here turns what can go wrong with a file (missing, unreadable, too big, not UTF-8, not JSON,
nested too deeply, a number too long, an XML DOCTYPE) into a FormatError naming the file.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from desktop_app.domain.images import MAX_PIXELS  # re-exported: read_size keeps to it
from desktop_app.errors import FormatError

__all__ = [
    "MAX_PIXELS", "MiB", "MAX_DECODE_PIXELS", "MAX_ANNOTATION_FILE_BYTES", "MAX_ITEM_FILE_BYTES", "MAX_XML_BYTES",
    "MAX_TEXT_FILE_BYTES", "JSON_PARSE_BUDGET", "read_bytes", "read_text", "json_parse_cost", "parse_json",
    "load_json", "parse_xml",
]

MiB = 1 << 20
# Images: any image up to MAX_PIXELS is imported; PNG and baseline JPEG are checked by streaming (memory does
# not grow with the image); other formats, progressive JPEGs and Dataloop mask PNGs are decoded in full, so
# they may hold at most MAX_DECODE_PIXELS.
MAX_DECODE_PIXELS = 40_000_000
# Files an importer reads: a COCO instances file (COCO 2017's train file is 448 MB), one Dataloop item JSON
# or ontology, one VOC XML, and the text files (YOLO label files, data.yaml, names / ImageSets lists).
MAX_ANNOTATION_FILE_BYTES = 1024 * MiB
MAX_ITEM_FILE_BYTES = 64 * MiB
MAX_XML_BYTES = 4 * MiB
MAX_TEXT_FILE_BYTES = 16 * MiB
# Parsed JSON costs Python objects: a typical COCO file 2-5 times its size, but 50 MB of "[{},{},...]" takes
# 1 GB. The cost is estimated from the raw bytes (json_parse_cost) before parsing, and a file whose estimate is
# over this budget is refused.
JSON_PARSE_BUDGET = 4096 * MiB


def _size_check(path: Path, limit: int) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise FormatError(f"cannot read ({e.strerror or e})", file=str(path)) from None
    if size > limit:
        raise FormatError(f"file is {size / MiB:.0f} MiB, over the {limit // MiB} MiB limit for this kind of file",
                          file=str(path))


def read_bytes(path: str | Path, *, limit: int | None = None) -> bytes:
    """The file's bytes; FormatError naming it when missing, unreadable or over ``limit`` (MAX_TEXT_FILE_BYTES)."""
    path = Path(path)
    limit = MAX_TEXT_FILE_BYTES if limit is None else limit
    _size_check(path, limit)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise FormatError(f"cannot read ({e.strerror or e})", file=str(path)) from None
    if len(data) > limit:  # it grew after the stat
        raise FormatError(f"file is over the {limit // MiB} MiB limit for this kind of file", file=str(path))
    return data


def read_text(path: str | Path, *, limit: int | None = None) -> str:
    """The file as UTF-8 text (a BOM is dropped); FormatError naming it and the byte where decoding failed."""
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FormatError(f"not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})", file=str(path),
                          entry=f"line {line}") from None


def json_parse_cost(data: bytes) -> int:
    """About what json.loads allocates for ``data``, from its containers, values, keys and strings counted in the
    raw bytes. Never under it for the shapes that multiply memory (empty containers, bare numbers: 50 MB of
    "[{},{},...]" takes 1.07 GB); for typical annotation files it is about 1.5x what the parse takes."""
    return (96 * (data.count(b"{") + data.count(b"[")) + 32 * data.count(b",") + 24 * data.count(b":")
            + 8 * data.count(b'"') + len(data))


def parse_json(data: bytes, file: str) -> Any:
    """Parse JSON bytes (UTF-8, a BOM allowed) whose estimated cost is within JSON_PARSE_BUDGET; every failure is
    a FormatError naming the file (and the line, where there is one)."""
    cost = json_parse_cost(data)
    if cost > JSON_PARSE_BUDGET:
        raise FormatError(f"would take about {cost / MiB:.0f} MiB of memory to parse ({len(data) / MiB:.0f} MiB of "
                          f"JSON), over the {JSON_PARSE_BUDGET // MiB} MiB budget", file=file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FormatError(f"not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})", file=file,
                          entry=f"line {line}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON ({e.msg})", file=file, entry=f"line {e.lineno}") from None
    except RecursionError:
        raise FormatError("invalid JSON (nested too deeply)", file=file) from None
    except ValueError as e:  # e.g. an integer with more digits than Python converts
        raise FormatError(f"invalid JSON ({e})", file=file) from None


def load_json(path: str | Path, *, limit: int | None = None) -> Any:
    """A JSON file within ``limit`` bytes (MAX_ITEM_FILE_BYTES), parsed; FormatError naming the file otherwise."""
    return parse_json(read_bytes(path, limit=MAX_ITEM_FILE_BYTES if limit is None else limit), str(path))


class _Declared(Exception):
    def __init__(self, what: str, line: int):
        super().__init__(what)
        self.what, self.line = what, line


def _refuse_declarations(data: bytes) -> None:
    # A pass of expat alone, whatever the document's encoding, stopping at the first declaration.
    from xml.parsers import expat

    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(*_a: Any) -> None:
        raise _Declared("a DOCTYPE", p.CurrentLineNumber)

    def entity(*_a: Any) -> None:
        raise _Declared("an ENTITY declaration", p.CurrentLineNumber)

    p.StartDoctypeDeclHandler = doctype
    p.EntityDeclHandler = entity
    p.UnparsedEntityDeclHandler = entity
    p.ExternalEntityRefHandler = lambda *_a: 0
    try:
        p.Parse(data, True)
    except expat.ExpatError:
        pass  # reported with its position by the real parse below


def parse_xml(path: str | Path, *, limit: int | None = None) -> ET.Element:
    """An XML file's root element. A DOCTYPE is refused, as defusedxml refuses it: internal entities expand
    without bound ("billion laughs") and external ones name other files. So is anything expat cannot parse."""
    path = Path(path)
    data = read_bytes(path, limit=MAX_XML_BYTES if limit is None else limit)
    try:
        _refuse_declarations(data)
    except _Declared as d:
        raise FormatError(f"XML with {d.what} is refused (entity expansion)", file=str(path),
                          entry=f"line {d.line}") from None
    except RecursionError:
        raise FormatError("invalid XML (nested too deeply)", file=str(path)) from None
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise FormatError(f"invalid XML ({e})", file=str(path), entry=f"line {e.position[0]}") from None
    except RecursionError:
        raise FormatError("invalid XML (nested too deeply)", file=str(path)) from None
