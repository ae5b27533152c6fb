"""The import-time image check agrees with Pillow's decoder (what passes decodes, what fails does not) without
holding the decoded image: a 572 KB PNG of 14000 x 14000 zeros is checked in a few MB."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop_app.formats import imagecheck, limits
from desktop_app.formats.imagecheck import Damaged, TooLarge, check_decodes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def craft_png(path: Path, arr: np.ndarray, *, interlace: bool = False, filter_byte: int = 0,
              cut: int = 0) -> Path:
    """An 8-bit grey or RGB PNG written by hand (Pillow cannot write Adam7), every CRC right; ``filter_byte``
    on every row, ``cut`` bytes dropped from the end of the image data."""
    h, w = arr.shape[:2]
    colour = 0 if arr.ndim == 2 else 2
    rows = []
    passes = imagecheck._ADAM7 if interlace else ((0, 0, 1, 1),)
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            for r in sub:
                rows.append(bytes([filter_byte]) + r.tobytes())
    raw = b"".join(rows)
    raw = raw[:len(raw) - cut] if cut else raw
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, int(interlace))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
                     + _chunk(b"IEND", b""))
    return path


def pillow_decodes(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.load()
        return True
    except (OSError, ValueError, SyntaxError):
        return False


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (9, 17), (33, 8)])
@pytest.mark.parametrize("interlace", [False, True])
def test_hand_made_pngs_pass_as_pillow_reads_them(tmp_path, shape, interlace):
    rng = np.random.default_rng(0)
    for arr in (rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape + (3,), dtype=np.uint8)):
        p = craft_png(tmp_path / "ok.png", arr, interlace=interlace)
        assert pillow_decodes(p)
        check_decodes(p, shape[1], shape[0])


@pytest.mark.parametrize("spoil, words", [
    ({"filter_byte": 9}, "unknown filter type"),
    ({"cut": 5}, "ends early"),
])
@pytest.mark.parametrize("interlace", [False, True])
def test_damaged_data_with_good_crcs_is_found_as_pillow_finds_it(tmp_path, spoil, words, interlace):
    arr = np.arange(12 * 10 * 3, dtype=np.uint8).reshape(12, 10, 3)
    p = craft_png(tmp_path / "bad.png", arr, interlace=interlace, **spoil)
    assert not pillow_decodes(p)
    with pytest.raises(Damaged, match=words):
        check_decodes(p, 10, 12)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_pillow_written_pngs_of_every_mode_pass(tmp_path, mode):
    p = tmp_path / f"{mode.replace(';', '')}.png"
    Image.new(mode, (37, 21)).save(p)
    check_decodes(p, 37, 21)


def test_formats_without_a_streaming_check_are_decoded_only_under_the_limit(tmp_path, monkeypatch):
    p = tmp_path / "a.tif"
    Image.new("RGB", (40, 30), (9, 9, 9)).save(p)
    check_decodes(p, 40, 30)
    monkeypatch.setattr(imagecheck, "MAX_DECODE_PIXELS", 1000)
    with pytest.raises(TooLarge, match="TIFF image of 0 megapixels, over the 0 MP"):
        check_decodes(p, 40, 30)
    jpg = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30)).save(jpg, progressive=True)
    with pytest.raises(TooLarge, match="progressive JPEG"):
        check_decodes(jpg, 40, 30)
    base = tmp_path / "b.jpg"
    Image.new("RGB", (40, 30)).save(base)                       # baseline JPEGs decode at 1/8: any size
    check_decodes(base, 40, 30)


CHILD = """
import json, sys
from pathlib import Path
from desktop_app.formats.images import verify_image
def hwm():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) // 1024
before = hwm()
verify_image(Path(sys.argv[1]), full=True)
print(json.dumps({"before": before, "after": hwm()}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_the_bomb_like_png_is_checked_without_decoding_it(tmp_path):
    comp = zlib.compressobj(9)
    row = bytes(1 + 3 * 14000)
    body = b"".join(comp.compress(row) for _ in range(14000)) + comp.flush()
    p = tmp_path / "zeros.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 14000, 14000, 8, 2, 0, 0, 0))
                  + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    assert p.stat().st_size < 700_000
    out = subprocess.run([sys.executable, "-c", CHILD, str(p)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["after"] - r["before"] < 64, r          # Pillow's load() took 588 MB for the pixels alone


def test_limits_are_the_stated_ones():
    # README's "Limits" paragraph states these figures; change both together.
    assert limits.MAX_PIXELS == 200_000_000 and limits.MAX_DECODE_PIXELS == 40_000_000
    assert limits.MAX_ANNOTATION_FILE_BYTES == 1 << 30 and limits.JSON_PARSE_BUDGET == 4 << 30
    assert (limits.MAX_ITEM_FILE_BYTES, limits.MAX_XML_BYTES, limits.MAX_TEXT_FILE_BYTES) == (64 << 20, 4 << 20,
                                                                                             16 << 20)
