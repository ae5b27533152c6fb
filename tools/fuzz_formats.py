"""Seeded mutation fuzzing of the COCO, YOLO, Pascal VOC and Dataloop importers.

Each case starts from a small valid dataset (written once per worker into a temp folder), applies 1-3 seeded
mutations (JSON values swapped for huge / NaN / negative / wrongly typed ones, keys dropped or added, text
lines and XML elements mangled, DOCTYPE / entity declarations, truncated files, garbage and non-UTF-8 bytes,
damaged, missing, resized or header-only huge images) and imports the result with the SDK into a temporary
catalog. Every case must end as a clean import or a refusal with the app's own error (FormatError / UserError)
that wrote nothing; any other exception is a traceback, a refusal that left rows or store files behind is a
half-import, and a case over its time limit is a hang.

    python tools/fuzz_formats.py [--cases 6000] [--seed 0] [--workers 2] [--show 10]

``run(cases, seed)`` returns the figures as a dict (the lead's combined fuzz report calls it). A case is
reproduced alone with ``--only INDEX`` (same seed): it prints the mutations and the outcome.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASE_SECONDS = 20          # a case that runs longer is counted as a hang
MEMORY_LIMIT = 3 << 30     # address space of a worker: a case that needs more fails with MemoryError (a traceback)
MAX_MUTATED_BYTES = 4 << 20  # a mutation that grows a file past this is undone (keeps the fuzzer itself bounded)
FORMATS = ("coco", "yolo", "voc", "dataloop")

# ---------------------------------------------------------------- the valid starting sets


def _png(w: int, h: int, color=(200, 40, 40, 255), mode: str = "RGB") -> bytes:
    from PIL import Image, ImageDraw
    im = Image.new(mode, (w, h), color[:len(mode)] if mode != "L" else 128)
    if w >= 4 and h >= 4:
        ImageDraw.Draw(im).rectangle([1, 1, w // 2, h // 2], fill=(10, 200, 10, 255)[:len(mode)] if mode != "L" else 20)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _jpeg(w: int, h: int) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 90, 160)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _mask_uri(w: int, h: int) -> str:
    from PIL import Image
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    for x in range(2, min(w, 9)):
        for y in range(2, min(h, 7)):
            im.putpixel((x, y), (255, 0, 0, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _rle(h: int, w: int) -> dict:
    import numpy as np
    from desktop_app.formats.images import rle_encode
    m = np.zeros((h, w), dtype=bool)
    m[3:9, 2:12] = True
    return rle_encode(m)


def make_coco(root: Path) -> None:
    (root / "images" / "sub").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(_png(24, 16))
    (root / "images" / "sub" / "b.jpg").write_bytes(_jpeg(20, 20))
    (root / "images" / "c.png").write_bytes(_png(16, 16, mode="RGBA"))
    doc = {
        "info": {"description": "fuzz base"},
        "images": [{"id": 1, "file_name": "a.png", "width": 24, "height": 16},
                   {"id": 2, "file_name": "sub/b.jpg", "width": 20, "height": 20},
                   {"id": "c", "file_name": "c.png", "width": 16, "height": 16}],
        "categories": [{"id": 1, "name": "cat", "supercategory": "animal"}, {"id": 7, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 8], "area": 80, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [2, 2, 6, 6], "iscrowd": 0,
             "segmentation": [[2, 2, 8, 2, 8, 8, 2, 8]], "attributes": {"occluded": True}},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [2, 3, 10, 6], "iscrowd": 1,
             "segmentation": _rle(20, 20)},
            {"id": 4, "image_id": "c", "category_id": 7, "bbox": [1, 1, 3, 3], "score": 0.5,
             "model": {"name": "m"}},
        ],
    }
    (root / "annotations.json").write_text(json.dumps(doc))


def make_dataloop(root: Path) -> None:
    (root / "items" / "sub").mkdir(parents=True)
    (root / "json" / "sub").mkdir(parents=True)
    (root / "items" / "a.png").write_bytes(_png(24, 16))
    (root / "items" / "sub" / "b.jpg").write_bytes(_jpeg(20, 20))
    a = {"filename": "/a.png", "id": "it-a", "metadata": {"system": {"width": 24, "height": 16,
                                                                       "tags": {"train": True}}},
         "annotations": [
             {"type": "box", "label": "cat", "coordinates": [{"x": 1, "y": 2, "z": 0}, {"x": 10, "y": 9, "z": 0}],
              "attributes": ["big"], "id": "an-1"},
             {"type": "segment", "label": "dog",
              "coordinates": [[{"x": 1, "y": 1}, {"x": 8, "y": 1}, {"x": 5, "y": 7}]]},
             {"type": "point", "label": "cat", "coordinates": {"x": 3, "y": 3}},
             {"type": "class", "label": "dog"},
             {"type": "binary", "label": "cat", "coordinates": _mask_uri(24, 16)},
             {"type": "box", "label": "dog", "coordinates": [{"x": 2, "y": 2}, {"x": 6, "y": 6}],
              "metadata": {"user": {"model": {"name": "m", "confidence": 0.7, "model_id": "abc"}}}},
         ]}
    b = {"filename": "/sub/b.jpg", "metadata": {"system": {"width": 20, "height": 20, "tags": {"test": True}}},
         "annotations": [{"type": "box", "label": "cat", "coordinates": [{"x": 0, "y": 0}, {"x": 19, "y": 19}]}]}
    (root / "json" / "a.png.json").write_text(json.dumps(a))
    (root / "json" / "sub" / "b.jpg.json").write_text(json.dumps(b))
    (root / "ontology.json").write_text(json.dumps({"roots": [{"tag": "cat"}, {"tag": "dog"}]}))


def make_yolo(root: Path) -> None:
    for d in ("images/train", "images/val", "labels/train", "labels/val"):
        (root / d).mkdir(parents=True)
    (root / "data.yaml").write_text("# fuzz base\npath: .\ntrain: images/train\nval: images/val\nnc: 2\n"
                                    "names: [cat, dog]\n")
    (root / "images" / "train" / "a.png").write_bytes(_png(24, 16))
    (root / "images" / "train" / "c.png").write_bytes(_png(16, 16))
    (root / "images" / "val" / "b.jpg").write_bytes(_jpeg(20, 20))
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.4 0.5\n1 0.1 0.1 0.5 0.1 0.3 0.6\n")
    (root / "labels" / "train" / "c.txt").write_text("")
    (root / "labels" / "val" / "b.txt").write_text("1 0.5 0.5 0.2 0.2 0.9\n0 0.3 0.3 0.1 0.1\n")


VOC_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <folder>JPEGImages</folder>
  {filename}
  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>cat</name><pose>Left</pose><truncated>0</truncated><difficult>1</difficult>
    <bndbox><xmin>2</xmin><ymin>3</ymin><xmax>12</xmax><ymax>10</ymax></bndbox>
    <attributes><attribute><name>color</name><value>red</value></attribute></attributes>
  </object>
  <object>
    <name>dog</name>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>{w}</xmax><ymax>{h}</ymax></bndbox>
    <score>0.25</score>
  </object>
</annotation>
"""


def make_voc(root: Path) -> None:
    for d in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / d).mkdir(parents=True)
    (root / "JPEGImages" / "a.jpg").write_bytes(_jpeg(24, 16))
    (root / "JPEGImages" / "b.png").write_bytes(_png(20, 20))
    (root / "Annotations" / "a.xml").write_text(VOC_XML.format(filename="<filename>a.jpg</filename>", w=24, h=16))
    (root / "Annotations" / "b.xml").write_text(VOC_XML.format(filename="", w=20, h=20))
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("b\n")
    (root / "labels.txt").write_text("cat\ndog\n")


MAKERS = {"coco": make_coco, "yolo": make_yolo, "voc": make_voc, "dataloop": make_dataloop}

# ---------------------------------------------------------------- mutations

HUGE_INT = 10 ** 400
POOL: list[Any] = [
    HUGE_INT, -HUGE_INT, 2 ** 64, 2 ** 63 - 1, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
    -1, 0, 1, 2, 0.5, -0.0, 1e-320, 123456789, True, False, None, "", " ", "x", "0", "1", "1e400", "NaN", "cat",
    "../../escape.png", "a/../../b.png", "/etc/hostname", "C:\\x.png", "\x00", "\u00e9\u4e2d", "\ud800",
    "line\nbreak", "%_", [], {}, [1, 2, 3, 4], [0, 0, 0, 0], [[1, 2], [3, 4]], {"x": 1, "y": 2}, {"a": None},
    "A" * 5000, [[[[[]]]]], [0] * 300, {"size": [10, 10], "counts": "0"}, {"name": 5},
]
STR_POOL = [v for v in POOL if isinstance(v, str)] + ["cat\tdog", "\x7f", " cat ", "a" * 300 + ".png", "x/" * 600,
                                                    "\ud83d\ude00", "\udc00x", "COM1", ".hidden.png", "a//b.png"]
NUM_POOL = [v for v in POOL if isinstance(v, (int, float)) and not isinstance(v, bool)] + [
    1e15, -5.5, 65536, 2 ** 31, 0.999999, 1.0000001, 3e-5]
NUM_TOKENS = ["nan", "inf", "-inf", "1e400", "-1e400", "-5", "abc", "0x10", "1_000", "0.5", "2", "-0", "1e-400",
              "99999999999999999999999", "", "\u00e9", "1,5", "3.0"]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for k in path:
        node = node[k]
    return node


def _mutate_json_doc(doc: Any, rng: random.Random) -> tuple[Any, str]:
    paths = _paths(doc)
    path = rng.choice(paths[1:] or paths)
    if not path:
        return rng.choice(POOL), "whole document replaced"
    parent, key = _get(doc, path[:-1]), path[-1]
    value = parent[key]
    op = rng.random()
    where = ".".join(map(str, path))
    if op < 0.25:  # same type, hostile value: a string for a string, a number for a number
        same = (STR_POOL if isinstance(value, str) else NUM_POOL
                if isinstance(value, (int, float)) and not isinstance(value, bool) else POOL)
        parent[key] = copy.deepcopy(rng.choice(same))
        return doc, f"{where} = {str(parent[key])[:40]!r}"
    if op < 0.5:
        new = copy.deepcopy(rng.choice(POOL))
        parent[key] = new
        return doc, f"{where} = {str(new)[:40]!r}"
    if op < 0.62:
        del parent[key]
        return doc, f"del {where}"
    if op < 0.72:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            factor = rng.choice([1e300, -1, 1e-300, 1000, -1000, 0])
            try:
                parent[key] = value * factor
            except OverflowError:
                parent[key] = float("inf")
            return doc, f"{where} *= {factor}"
        if isinstance(value, list) and value:
            parent[key] = value + [copy.deepcopy(rng.choice(value))] * rng.choice([1, 2, 50])
            return doc, f"{where} duplicated elements"
        if isinstance(value, dict):
            value[rng.choice(["id", "extra", "bbox", "name", "x", "size", "counts", "model", "tags"])] = \
                copy.deepcopy(rng.choice(POOL))
            return doc, f"{where} gained a key"
    if op < 0.82:
        # change container type / wrap
        parent[key] = rng.choice([[value], {"v": value}, str(value)[:50], json.dumps(value)[:50]])
        return doc, f"{where} wrapped"
    if op < 0.9 and isinstance(parent, dict):
        parent[str(key) + rng.choice(["_", "s", ""]) if rng.random() < 0.5 else str(key).upper()] = parent.pop(key)
        return doc, f"{where} renamed"
    if isinstance(parent, list):
        rng.shuffle(parent)
        return doc, f"{'.'.join(map(str, path[:-1]))} shuffled"
    parent[key] = copy.deepcopy(rng.choice(POOL))
    return doc, f"{where} = pool value"


def _raw_mutation(data: bytes, rng: random.Random, json_like: bool = False) -> tuple[bytes, str]:
    op = rng.randrange(9)
    if op == 0 or not data:
        return data[: rng.randrange(len(data) + 1)], "truncated"
    if op == 1:
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b), "bytes flipped"
    if op == 2:
        i = rng.randrange(len(data) + 1)
        return data[:i] + os.urandom(rng.randint(1, 64)) + data[i:], "garbage inserted"
    if op == 3:
        return os.urandom(rng.randint(0, 2048)), "replaced by random bytes"
    if op == 4:
        return b"", "emptied"
    if op == 5:
        return b"\xef\xbb\xbf" + data, "BOM prepended"
    if op == 6:
        i = rng.randrange(len(data) + 1)
        return data[:i] + b"\xff\xfe\xc3\x28" + data[i:], "invalid UTF-8 inserted"
    if op == 7 and json_like:
        return b"[" * rng.choice([1000, 100000]) + b"]" * rng.choice([0, 1000, 100000]), "deeply nested"
    return data.decode("utf-8", "replace").encode("latin-1", "replace"), "re-encoded as latin-1"


def _mutate_json_file(p: Path, rng: random.Random) -> str:
    if rng.random() < 0.7:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            doc = None
        if doc is not None:
            doc, what = _mutate_json_doc(doc, rng)
            try:
                text = json.dumps(doc)
            except (ValueError, RecursionError):
                text = "{}"
            p.write_bytes(text.encode("utf-8", "surrogatepass"))
            return f"{p.name}: {what}"
    data, what = _raw_mutation(p.read_bytes(), rng, json_like=True)
    p.write_bytes(data)
    return f"{p.name}: {what}"


def _mutate_text_lines(p: Path, rng: random.Random) -> str:
    if rng.random() < 0.25:
        data, what = _raw_mutation(p.read_bytes(), rng)
        p.write_bytes(data)
        return f"{p.name}: {what}"
    lines = p.read_text(encoding="utf-8", errors="replace").splitlines() or [""]
    i = rng.randrange(len(lines))
    toks = lines[i].split()
    op = rng.randrange(6)
    if op == 0 and toks:
        toks[rng.randrange(len(toks))] = rng.choice(NUM_TOKENS)
        what = "token replaced"
    elif op == 1 and toks:
        del toks[rng.randrange(len(toks))]
        what = "token removed"
    elif op == 2:
        toks.insert(rng.randrange(len(toks) + 1), rng.choice(NUM_TOKENS))
        what = "token added"
    elif op == 3:
        n = rng.choice([4, 5, 6, 7, 9])
        toks = [rng.choice(["0", "1", "2", "-1", "0.5", "7"])] + [rng.choice(NUM_TOKENS) for _ in range(n)]
        what = "line rewritten"
    elif op == 4:
        lines.append(" ".join(str(rng.random()) for _ in range(rng.choice([1, 3, 5, 6, 8, 101]))))
        what = "line appended"
    else:
        toks = [rng.choice(["names:", "nc:", "- x", "names: {0: a, 1: a}", "names: [", "nc: 5", "\tnames:",
                            "names: ['a', \"b\"]", "x: [1, 2", "path: /", "names:\n  0: cat\n  zero: dog"])]
        what = "YAML-ish line"
    lines[i] = " ".join(toks)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return f"{p.name} line {i + 1}: {what}"


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10))
                  + ']>\n<annotation><filename>&lol9;</filename></annotation>\n')
EXTERNAL = ('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n'
            '<annotation><filename>&x;</filename></annotation>\n')


def _mutate_xml(p: Path, rng: random.Random) -> str:
    op = rng.random()
    if op < 0.1:
        p.write_text(rng.choice([BILLION_LAUGHS, EXTERNAL]))
        return f"{p.name}: entity declarations"
    if op < 0.3:
        data, what = _raw_mutation(p.read_bytes(), rng)
        p.write_bytes(data)
        return f"{p.name}: {what}"
    try:
        root = ET.fromstring(p.read_bytes())
    except ET.ParseError:
        return f"{p.name}: unparsable, left"
    els = list(root.iter())
    el = rng.choice(els)
    k = rng.randrange(5)
    if k == 0:
        el.text = str(rng.choice(NUM_TOKENS + ["", "-3", "1e308", "99999999999", "../x.jpg", "\u00e9"]))
        what = f"<{el.tag}> text replaced"
    elif k == 1 and el is not root:
        parent = next(e for e in els if el in list(e))
        parent.remove(el)
        what = f"<{el.tag}> removed"
    elif k == 2:
        ET.SubElement(el, rng.choice(["object", "bndbox", "name", "size", "xmin", "difficult", "score"])).text = \
            rng.choice(["1", "x", "", "nan"])
        what = f"<{el.tag}> got a child"
    elif k == 3:
        root.tag = rng.choice(["annotations", "x", "annotation"])
        what = "root renamed"
    else:
        picked = rng.choice([e for e in els if e is not root] or els)
        for _ in range(rng.choice([1, 2, 200])):
            root.append(copy.deepcopy(picked))
        what = "elements duplicated"
    p.write_bytes(ET.tostring(root, encoding="utf-8"))
    return f"{p.name}: {what}"


def _header_only_png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def _mutate_image(p: Path, rng: random.Random) -> str:
    from PIL import Image
    op = rng.randrange(10)
    data = p.read_bytes()
    if op == 0:
        p.write_bytes(data[: len(data) // rng.choice([2, 3, 10])])
        return f"{p.name}: truncated"
    if op == 1:
        p.write_bytes(_header_only_png(*rng.choice([(50_000, 50_000), (15_000, 15_000), (70_000, 1), (0, 5)])))
        return f"{p.name}: header-only PNG"
    if op == 2:
        p.unlink()
        return f"{p.name}: deleted"
    if op == 3:
        w, h = rng.choice([(1, 1), (31, 7), (300, 200)])
        p.write_bytes(_png(w, h))
        return f"{p.name}: resized to {w}x{h}"
    if op == 4:
        b = bytearray(data)
        i = rng.randrange(len(b) // 2, len(b))
        b[i] ^= 0xFF
        p.write_bytes(bytes(b))
        return f"{p.name}: byte {i} flipped"
    if op == 5:
        p.write_bytes(os.urandom(rng.randint(0, 500)))
        return f"{p.name}: random bytes"
    if op == 6:
        im = Image.open(io.BytesIO(data))
        im.load()
        buf = io.BytesIO()
        fmt = rng.choice(["GIF", "BMP", "TIFF", "WEBP"])
        im.convert("RGB").save(buf, fmt)
        p.write_bytes(buf.getvalue())
        return f"{p.name}: re-saved as {fmt}"
    if op == 7:
        p.write_bytes(_jpeg(24, 16) if p.suffix == ".png" else _png(24, 16))
        return f"{p.name}: other format, same name"
    if op == 8:
        w, h = rng.choice([(4000, 3000), (2500, 2500)])
        im = Image.new("L", (w, h))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        p.write_bytes(buf.getvalue())
        return f"{p.name}: large flat PNG {w}x{h}"
    p.write_bytes(data[:40] + data[40:].replace(b"IDAT", b"IDAX", 1))
    return f"{p.name}: chunk renamed"


def _mutate_dataloop_mask(p: Path, rng: random.Random) -> str:
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        anns = doc["annotations"]
        ann = next(a for a in anns if isinstance(a, dict) and a.get("type") == "binary")
    except (ValueError, KeyError, TypeError, StopIteration, UnicodeDecodeError, RecursionError):
        return f"{p.name}: no mask to mutate"
    choice = rng.randrange(5)
    if choice == 0:
        payload = base64.b64encode(_header_only_png(20_000, 10_000)).decode()
        what = "200 MP header-only mask"
    elif choice == 1:
        payload = base64.b64encode(_png(7, 9, mode="RGBA")).decode()
        what = "mask of another size"
    elif choice == 2:
        payload = base64.b64encode(os.urandom(100)).decode()
        what = "random mask bytes"
    elif choice == 3:
        payload = "!!not base64!!"
        what = "not base64"
    else:
        payload = base64.b64encode(_jpeg(24, 16)).decode()
        what = "JPEG mask"
    ann["coordinates"] = "data:image/png;base64," + payload
    p.write_text(json.dumps(doc))
    return f"{p.name}: {what}"


def mutate(fmt: str, root: Path, rng: random.Random) -> list[str]:
    done: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        try:
            _mutate_once(fmt, root, rng, done)
        except Exception as e:  # noqa: BLE001 - a mutation of an already mangled file may not apply; go on
            done.append(f"(mutation skipped: {type(e).__name__})")
    return done


def _mutate_once(fmt: str, root: Path, rng: random.Random, done: list[str]) -> None:
    before = {f: f.read_bytes() for f in root.rglob("*") if f.is_file()}
    _apply_one(fmt, root, rng, done)
    for f, data in before.items():
        if f.is_file() and f.stat().st_size > max(MAX_MUTATED_BYTES, len(data)):
            f.write_bytes(data)
            done.append(f"({f.name}: grew past {MAX_MUTATED_BYTES} bytes, undone)")


def _apply_one(fmt: str, root: Path, rng: random.Random, done: list[str]) -> None:
    if True:
        files = sorted(f for f in root.rglob("*") if f.is_file())
        images = [f for f in files if f.suffix.lower() in (".png", ".jpg")]
        notes = [f for f in files if f not in images]
        r = rng.random()
        if r < 0.15 and images:
            done.append(_mutate_image(rng.choice(images), rng))
        elif r < 0.2:
            extra = root / rng.choice(["labels/train/orphan.txt", "Annotations/zz.xml", "json/zz.json", "zz.json",
                                       "images/zz.png", "ImageSets/Main/test.txt"])
            extra.parent.mkdir(parents=True, exist_ok=True)
            extra.write_bytes(rng.choice([b"", b"{}", b"0 0.5 0.5 0.1 0.1\n", b"<annotation/>", b"a\nzz\n",
                                          _png(5, 5)]))
            done.append(f"added {extra.relative_to(root)}")
        elif notes:
            f = rng.choice(notes)
            if fmt == "dataloop" and f.suffix == ".json" and rng.random() < 0.15:
                done.append(_mutate_dataloop_mask(f, rng))
            elif f.suffix == ".json":
                done.append(_mutate_json_file(f, rng))
            elif f.suffix == ".xml":
                done.append(_mutate_xml(f, rng))
            else:
                done.append(_mutate_text_lines(f, rng))

# ---------------------------------------------------------------- running cases


class _Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Hang()


class Worker:
    def __init__(self, tmp: Path):
        from desktop_app.sdk.client import Client
        self.tmp = tmp
        self.bases = {}
        for fmt in FORMATS:
            self.bases[fmt] = tmp / "base" / fmt
            MAKERS[fmt](self.bases[fmt])
        self.client = Client(home=tmp / "catalog", bootstrap=False)
        cat = self.client.catalog
        self.project = self.client.projects.get(cat.create_project("fuzz").id)
        self.n = 0

    def _snapshot(self) -> tuple:
        cat = self.client.catalog
        rows = (cat._db.scalar("SELECT COUNT(*) FROM items"), cat._db.scalar("SELECT COUNT(*) FROM annotations"))
        store = cat.home / "store"
        return rows, sum(1 for p in store.rglob("*") if p.is_file())

    def case(self, index: int, seed: int) -> dict:
        from desktop_app.errors import UserError
        rng = random.Random(f"{seed}:{index}")
        fmt = FORMATS[index % len(FORMATS)]
        root = self.tmp / "case"
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(self.bases[fmt], root)
        notes = mutate(fmt, root, rng)
        self.n += 1
        ds = self.project.datasets.create(f"case-{index}")
        before = self._snapshot()
        outcome, detail = "clean", ""
        signal.alarm(CASE_SECONDS)
        try:
            ds.import_from(root, fmt)
        except _Hang:
            outcome, detail = "hang", f"over {CASE_SECONDS} s"
        except UserError as e:   # FormatError, ValidationError, ... : the app's own refusals
            outcome, detail = "refused", f"{type(e).__name__}: {e}"[:300]
        except Exception as e:  # noqa: BLE001 - anything else is what this script looks for
            outcome = "traceback"
            tb = traceback.extract_tb(e.__traceback__)[-1]
            detail = f"{type(e).__name__}: {str(e)[:200]} at {Path(tb.filename).name}:{tb.lineno}"
        finally:
            signal.alarm(0)
        if outcome in ("refused", "traceback", "hang") and self._snapshot() != before:
            outcome, detail = "half-import", f"{detail} (rows / store files changed)"
        return {"index": index, "format": fmt, "outcome": outcome, "detail": detail, "mutations": notes}


def _limit_memory() -> None:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > MEMORY_LIMIT:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))


def _work(args: tuple[list[int], int, str]) -> list[dict]:
    indices, seed, tmp = args
    _limit_memory()
    signal.signal(signal.SIGALRM, _alarm)
    logging_off()
    w = Worker(Path(tmp))
    return [w.case(i, seed) for i in indices]


def logging_off() -> None:
    import logging
    logging.disable(logging.WARNING)


def run(cases: int = 6000, seed: int = 0, workers: int | None = None, *, show: int = 10) -> dict:
    """Run ``cases`` seeded cases (spread over ``workers`` processes); returns the counts and the first
    ``show`` tracebacks / half-imports / hangs as examples."""
    workers = workers or min(2, os.cpu_count() or 1)
    t0 = time.perf_counter()
    # On a RAM disk where there is one: every clean import fsyncs its images and commit, which is the disk's time.
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="fuzz-formats-", dir=scratch) as tmp:
        jobs = [(list(range(k, cases, workers)), seed, str(Path(tmp) / f"w{k}")) for k in range(workers)]
        if workers == 1:
            results = _work(jobs[0])
        else:
            # A worker that dies (killed, out of memory) raises BrokenProcessPool here instead of hanging.
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                results = [r for chunk in pool.map(_work, jobs) for r in chunk]
    results.sort(key=lambda r: r["index"])
    counts = {k: sum(1 for r in results if r["outcome"] == k)
              for k in ("clean", "refused", "traceback", "half-import", "hang")}
    by_format = {fmt: {k: sum(1 for r in results if r["format"] == fmt and r["outcome"] == k) for k in counts}
                 for fmt in FORMATS}
    bad = [r for r in results if r["outcome"] in ("traceback", "half-import", "hang")]
    distinct: dict[str, dict] = {}
    for r in bad:
        distinct.setdefault(r["detail"].split(" at ")[-1] + r["detail"][:40], r)
    return {"cases": len(results), "seed": seed, "workers": workers, "seconds": round(time.perf_counter() - t0, 1),
            **counts, "by_format": by_format, "examples": list(distinct.values())[:show]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--show", type=int, default=10, help="distinct failures to print")
    ap.add_argument("--only", type=int, help="run this one case index (with --seed) and print it")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.only is not None:
        _limit_memory()
        signal.signal(signal.SIGALRM, _alarm)
        with tempfile.TemporaryDirectory(prefix="fuzz-formats-") as tmp:
            r = Worker(Path(tmp)).case(a.only, a.seed)
        print(json.dumps(r, indent=1))
        return 0 if r["outcome"] in ("clean", "refused") else 1
    res = run(a.cases, a.seed, a.workers, show=a.show)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"formats fuzz: {res['cases']} cases (seed {res['seed']}, {res['workers']} workers, {res['seconds']} s): "
              f"{res['clean']} clean imports, {res['refused']} refusals (FormatError / UserError), "
              f"{res['traceback']} tracebacks, {res['half-import']} half-imports, {res['hang']} hangs")
        for fmt, c in res["by_format"].items():
            print(f"  {fmt:9} " + ", ".join(f"{k} {v}" for k, v in c.items()))
        for r in res["examples"]:
            print(f"  case {r['index']} ({r['format']}) {r['outcome']}: {r['detail']}\n    mutations: {r['mutations']}")
    return 0 if res["traceback"] == res["half-import"] == res["hang"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
