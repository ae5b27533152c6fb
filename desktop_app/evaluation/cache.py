"""Evaluation caches: an .npz of plain arrays (numbers, fixed-width unicode), read without ever unpickling.

A cache arrives from the store, where a shared backup may have put it, so it is read as hostile input:
object arrays are refused, every declared array size is checked against the bytes that hold it, and
the keys, kinds and shapes the reader expects are checked before any figure is computed from it.

Caches written before this module stored their label list as an object array (a pickle). Those are
still read, by a pickle reader that knows no class or function at all: it rebuilds a list of strings
from numpy's pickle of an object array and refuses anything else (so a crafted pickle runs nothing).
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from desktop_app.errors import ValidationError

# Declared (uncompressed) bytes one cache may hold in all: far above a 100k-image evaluation's few hundred MB.
MAX_CACHE_BYTES = 2 << 30

# The kinds a reader may ask for: numpy dtype kinds.
INT, FLOAT, BOOL, TEXT = "iu", "f", "b", "U"


def encode_cache(**arrays: Any) -> bytes:
    """An .npz of the arrays; lists of strings become fixed-width unicode, never object arrays."""
    out = {}
    for key, value in arrays.items():
        a = np.asarray(value)
        if a.dtype == object:
            if not all(isinstance(x, str) for x in a.ravel()):
                raise TypeError(f"evaluation cache array {key!r} holds objects other than strings")
            a = a.astype(str) if a.size else np.zeros(a.shape, dtype="<U1")
        out[key] = a
    buf = io.BytesIO()
    np.savez_compressed(buf, **out)
    return buf.getvalue()


def decode_cache(data: bytes, spec: dict[str, str], *, where: str) -> dict[str, np.ndarray]:
    """The arrays `spec` names (key -> dtype kinds) from an .npz, each checked; `where` names the cache in
    every refusal (the evaluation and its file)."""
    def bad(why: str) -> ValidationError:
        return invalid(where, why)

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise bad(f"not an .npz archive ({e})") from None
    out: dict[str, np.ndarray] = {}
    with zf:
        infos = {i.filename.removesuffix(".npy"): i for i in zf.infolist()}
        missing = [k for k in spec if k not in infos]
        if missing:
            raise bad(f"missing array(s) {', '.join(missing)}")
        if sum(infos[k].file_size for k in spec) > MAX_CACHE_BYTES:
            raise bad(f"its arrays declare more than {MAX_CACHE_BYTES >> 20} MB")
        for key, kinds in spec.items():
            try:
                arr = _read_member(zf, infos[key])
            except _Refused as e:
                raise bad(f"array {key!r} {e}") from None
            except Exception as e:  # noqa: BLE001 - hostile bytes: any way parsing fails is a malformed cache
                raise bad(f"array {key!r} cannot be read ({type(e).__name__}: {e})") from None
            if arr.dtype.kind not in kinds:
                raise bad(f"array {key!r} holds {arr.dtype} values, not {_kind_name(kinds)}")
            out[key] = arr
    return out


def invalid(where: str, why: str) -> ValidationError:
    return ValidationError(f"{where} is not a valid evaluation cache: {why}. Evaluate the model again to rebuild it")


def check_same_length(arrays: dict[str, np.ndarray], keys: list[str], *, where: str, rows_of: str = "") -> int:
    """The arrays `keys` have one row each for the same n things (a box array: n x 4); returns n."""
    n = len(arrays[keys[0]]) if arrays[keys[0]].ndim else -1
    for k in keys:
        a = arrays[k]
        want = (n, 4) if k.endswith("_box") else (n,)
        if a.shape != want:
            raise invalid(where, f"array {k!r} has shape {a.shape}, not {want}{rows_of}")
    return n


def check_range(arrays: dict[str, np.ndarray], key: str, low: int, high: int, *, where: str) -> None:
    """Every value of an index array within [low, high)."""
    a = arrays[key]
    if a.size and (int(a.min()) < low or int(a.max()) >= high):
        raise invalid(where, f"array {key!r} holds indexes outside [{low}, {high})")


class _Refused(Exception):
    pass


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with zf.open(info) as f:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(f)
        else:
            raise _Refused(f"has an unknown .npy version {version}")
        if dtype.hasobject:
            if dtype != np.dtype(object) or len(shape) != 1:
                raise _Refused("holds Python objects")
            return _legacy_strings(f, shape[0])
        count = math.prod(shape)
        if count * dtype.itemsize > info.file_size:
            raise _Refused(f"declares {count} values but holds {info.file_size} bytes")
    with zf.open(info) as f:
        return npy_format.read_array(f, allow_pickle=False)


def _legacy_strings(f, n: int) -> np.ndarray:
    """A list of strings from the pickle older caches wrote for their labels; anything else is refused."""
    try:
        obj = _StringsUnpickler(f).load()
    except _Refused:
        raise
    except Exception as e:  # noqa: BLE001 - hostile bytes: any way unpickling fails is a refusal
        raise _Refused(f"holds an unreadable pickle ({type(e).__name__})") from None
    values = obj.values if isinstance(obj, _Reconstructed) else None
    if values is None or len(values) != n or not all(isinstance(v, str) for v in values):
        raise _Refused("holds Python objects other than a list of strings")
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="<U1")


class _NDArrayTag:
    """Stands for numpy.ndarray inside a legacy pickle; nothing of numpy is called."""


class _Reconstructed:
    values: list | None = None

    def __setstate__(self, state) -> None:
        # numpy's object-array state: (version, shape, dtype, is_fortran, list of the values)
        if isinstance(state, tuple) and len(state) == 5 and isinstance(state[4], list):
            self.values = state[4]


class _DTypeStub:
    def __setstate__(self, state) -> None:
        pass


def _reconstruct(cls, shape, typecode):
    if cls is not _NDArrayTag:
        raise pickle.UnpicklingError("unexpected class in an evaluation cache")
    return _Reconstructed()


def _dtype(*args):
    if args[:1] != ("O8",):
        raise pickle.UnpicklingError("unexpected dtype in an evaluation cache")
    return _DTypeStub()


class _StringsUnpickler(pickle.Unpickler):
    _ALLOWED = {("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy", "ndarray"): _NDArrayTag,
                ("numpy", "dtype"): _dtype}

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"holds a pickle that asks for {module}.{name}") from None


def _kind_name(kinds: str) -> str:
    return {INT: "integers", FLOAT: "numbers", BOOL: "booleans", TEXT: "text"}.get(kinds, kinds)
