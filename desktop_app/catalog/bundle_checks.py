"""What a model bundle's files must be before any reaches the catalog: safe zip entries, no pickles beyond weights.

A bundle arrives from someone else's catalog, so each file is read as hostile input, as a restored backup is:
- weights saved by torch.save (a zip holding `<root>/data.pkl`) are scanned opcode by opcode, never unpickled:
  every class or function the pickle names must be one of those torch's `weights_only=True` loader rebuilds
  (tensors, storages, OrderedDict, ...), which is how Model Desk reads weights (ml.models.read_state_dict);
- a bare pickle (torch's legacy format, joblib, pickle.dump) is refused outright: it could run anything;
- .safetensors files must hold a well-formed header whose tensors lie inside the file;
- .npy arrays (alone or in an .npz, as evaluation caches are) must not be object arrays (a pickle).
No torch, no numpy: the catalog reads these with the standard library only.
"""

from __future__ import annotations

import ast
import json
import pickletools
import stat
import struct
import zipfile
from pathlib import Path
from typing import IO

from desktop_app.errors import ValidationError

from .names import name_problem

# What torch's weights-only unpickler rebuilds (torch/_weights_only_unpickler.py), as (module, name) rules.
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                 "complex64", "complex128", "float8_e4m3fn", "float8_e5m2", "qint8", "quint8", "qint32", "float",
                 "double", "half", "long", "int", "short", "cfloat", "cdouble"}
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "Counter"), ("_codecs", "encode"),
    ("torch", "Size"), ("torch", "device"), ("torch", "dtype"), ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.serialization", "_get_layout"), ("torch", "strided"), ("torch", "sparse_coo"),
    *((b, n) for b in ("builtins", "__builtin__") for n in ("set", "frozenset", "bytearray", "slice", "complex")),
}
_PICKLE_PROTOCOL = {b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"}
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING",
               "STRING"}
_NPY_MAGIC = b"\x93NUMPY"
MAX_PICKLE_BYTES = 64 << 20      # a state dict's pickle holds names and shapes; the tensors are beside it
MAX_HEADER_BYTES = 100 << 20     # safetensors' own limit on its JSON header


def _global_allowed(module: str, name: str) -> bool:
    if (module, name) in _ALLOWED_GLOBALS:
        return True
    if module == "torch._utils":
        return name.startswith("_rebuild_")
    if module == "torch":
        return name.endswith("Storage") or name in _TORCH_DTYPES
    return False


def pickle_globals_problem(data: bytes) -> str | None:
    """Why this pickle could run code when loaded weights-only (the first class or function it names that
    torch's weights-only loader would not rebuild, or a pickle too damaged to read); None when it is safe."""
    strings: list[object] = []
    memo: dict[int, object] = {}
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in _STRING_OPS:
                strings.append(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = strings[-1] if strings else None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = strings[-1] if strings else None
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                strings.append(memo.get(int(arg)))
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                if not _global_allowed(module, attr):
                    return f"names {module}.{attr}, which loading weights must never call"
            elif name == "STACK_GLOBAL":
                module, attr = (strings[-2], strings[-1]) if len(strings) >= 2 else (None, None)
                if not (isinstance(module, str) and isinstance(attr, str)):
                    return "names a class or function it hides from a reader; refused"
                if not _global_allowed(module, attr):
                    return f"names {module}.{attr}, which loading weights must never call"
            elif name in ("OBJ", "EXT1", "EXT2", "EXT4"):
                return f"uses the {name} opcode, which weights never need"
    except (ValueError, EOFError, UnicodeDecodeError, IndexError) as e:
        return f"is not a readable pickle ({e})"
    return None


def _read_limited(f: IO[bytes], limit: int, what: str) -> bytes:
    data = f.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"{what} is over {limit} bytes; refused")
    return data


def zip_entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why one entry of a zip cannot be unpacked safely (a path leaving its folder, a link); None when it can."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"holds a symbolic link {info.filename!r}"
    name = info.filename[:-1] if info.is_dir() else info.filename
    problem = name_problem(name)
    if problem:
        return f"holds the path {info.filename!r}, which {problem}"
    return None


def check_weights_file(path: Path, where: str, name: str | None = None) -> None:
    """ValidationError naming `where` when the file is a pickle, or weights whose pickle names anything but
    tensors, or a broken .safetensors / .npy / .npz file; any other file (json, onnx, text) is opaque data.
    `name`: the file's name where it came from (its suffix says .safetensors), when `path` is a staged copy."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:2] in _PICKLE_PROTOCOL:
        raise ValidationError(f"{where} is a pickle (it could run any code when loaded): Model Desk carries "
                              f"weights saved by torch.save (a zip) or as .safetensors only; refused")
    if head.startswith(_NPY_MAGIC):
        with open(path, "rb") as f:
            _check_npy(f, where)
        return
    if (name or path.name).endswith(".safetensors"):
        _check_safetensors(path, where)
        return
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        _check_inner_zip(path, where)


def _check_inner_zip(path: Path, where: str) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ValidationError(f"{where} is a damaged zip ({e}); refused") from None
    with zf:
        for info in zf.infolist():
            problem = zip_entry_problem(info)
            if problem:
                raise ValidationError(f"{where} {problem}; refused")
            inner = f"{where} (entry {info.filename})"
            try:
                if info.filename.endswith(".pkl"):
                    with zf.open(info) as f:
                        problem = pickle_globals_problem(_read_limited(f, MAX_PICKLE_BYTES, inner))
                    if problem:
                        raise ValidationError(f"{inner} is a pickle that {problem}; refused")
                elif info.filename.endswith(".npy"):
                    with zf.open(info) as f:
                        _check_npy(f, inner)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                if isinstance(e, ValidationError):
                    raise
                raise ValidationError(f"{inner} cannot be read ({e}); refused") from None


def _check_npy(f: IO[bytes], where: str) -> None:
    """An .npy header: a dict of descr, fortran_order and shape; an object dtype means a pickle follows."""
    magic = f.read(8)
    if not magic.startswith(_NPY_MAGIC) or len(magic) < 8:
        raise ValidationError(f"{where} is not an .npy array; refused")
    size_bytes = 2 if magic[6] == 1 else 4
    raw = f.read(size_bytes)
    if len(raw) != size_bytes:
        raise ValidationError(f"{where} is truncated; refused")
    n = struct.unpack("<H" if size_bytes == 2 else "<I", raw)[0]
    if n > 1 << 20:
        raise ValidationError(f"{where} declares a {n}-byte header; refused")
    try:
        header = ast.literal_eval(f.read(n).decode("latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise ValidationError(f"{where} has an unreadable .npy header; refused") from None
    descr = header.get("descr") if isinstance(header, dict) else None
    if "O" in str(descr) or isinstance(descr, list) and "O" in json.dumps(descr):
        raise ValidationError(f"{where} is an object array (a pickle inside); refused")


def _check_safetensors(path: Path, where: str) -> None:
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValidationError(f"{where} is truncated (no safetensors header); refused")
        n = struct.unpack("<Q", raw)[0]
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise ValidationError(f"{where} declares a {n}-byte header in a {size}-byte file; refused")
        try:
            header = json.loads(f.read(n))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"{where} has an unreadable safetensors header; refused") from None
    if not isinstance(header, dict):
        raise ValidationError(f"{where} has a safetensors header that is not an object; refused")
    room = size - 8 - n
    for key, t in header.items():
        if key == "__metadata__":
            continue
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= room):
            raise ValidationError(f"{where}: tensor {key!r} lies outside the file; refused")
