"""Read scalars from TensorBoard event files (TFRecord + protobuf, parsed here: no TensorFlow needed)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

from desktop_app.errors import FormatError


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of one protobuf message; bytes for length-delimited fields."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            val = buf[pos:pos + ln]
            pos += ln
        elif wt == 5:
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield num, wt, val


def _tensor_scalar(buf: bytes) -> float | None:
    """A scalar TensorProto (TF2 summaries): float_val / double_val / tensor_content."""
    dtype = None
    for num, wt, val in _fields(buf):
        if num == 1 and wt == 0:
            dtype = val
        elif num == 5:  # float_val (packed or not)
            return struct.unpack("<f", val[:4])[0]
        elif num == 6:  # double_val
            return struct.unpack("<d", val[:8])[0]
        elif num == 4 and val:  # tensor_content
            if dtype == 2 and len(val) >= 8:  # DT_DOUBLE
                return struct.unpack("<d", val[:8])[0]
            if len(val) >= 4:
                return struct.unpack("<f", val[:4])[0]
    return None


def read_scalars(path: Path) -> Iterator[tuple[str, int, float, float]]:
    """(tag, step, wall_time, value) for every scalar in one event file."""
    data = Path(path).read_bytes()
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        start = pos + 12
        end = start + length
        if end + 4 > len(data):
            raise FormatError("truncated record", file=str(path), entry=f"byte {pos}")
        event = data[start:end]
        pos = end + 4
        wall, step, summary = 0.0, 0, None
        for num, wt, val in _fields(event):
            if num == 1 and wt == 1:
                wall = struct.unpack("<d", val)[0]
            elif num == 2 and wt == 0:
                step = val
            elif num == 5 and wt == 2:
                summary = val
        if summary is None:
            continue
        for num, wt, val in _fields(summary):
            if num != 1 or wt != 2:
                continue
            tag, value = None, None
            for vn, vwt, vv in _fields(val):
                if vn == 1:
                    tag = vv.decode("utf-8", "replace")
                elif vn == 2 and vwt == 5:
                    value = struct.unpack("<f", vv)[0]
                elif vn == 8 and vwt == 2:
                    value = _tensor_scalar(vv)
            if tag is not None and value is not None:
                yield tag, int(step), wall, float(value)


def import_tensorboard(catalog, model_id: str, logdir: str | Path) -> int:
    """Every scalar of every event file under logdir becomes a metric sample; 'train/loss' -> figure 'loss',
    legend 'train' (with sub-runs as legend prefixes)."""
    root = Path(logdir)
    files = sorted(root.rglob("events.out.tfevents.*")) if root.is_dir() else [root]
    if not files:
        raise FormatError("no TensorBoard event files (events.out.tfevents.*) found", file=str(root))
    rows = []
    for f in files:
        run = f.parent.relative_to(root).as_posix() if root.is_dir() and f.parent != root else ""
        try:
            for tag, step, wall, value in read_scalars(f):
                legend, _, figure = tag.rpartition("/")
                legend = "/".join(p for p in (run, legend) if p) or "value"
                rows.append({"figure": figure, "legend": legend, "x": step, "y": value, "wall_time": wall})
        except (ValueError, IndexError, struct.error) as e:
            raise FormatError(f"not a readable event file ({e})", file=str(f)) from None
    return catalog.add_metric_samples(model_id, rows)
