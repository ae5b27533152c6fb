"""Content-addressed file store (sha256) under the catalog folder, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from desktop_app.errors import ValidationError

from .lock import SharedLock

_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: object) -> bool:
    """64 lowercase hex digits: the only name a store file may have (so a reference can never be a path)."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)

    @property
    def writers(self) -> SharedLock:
        """Held (shared) by whoever writes a file not yet referenced; see SharedLock."""
        lock = self.__dict__.get("_writers")
        if lock is None:
            lock = self.__dict__["_writers"] = SharedLock(self.root / "writers.lock")
        return lock

    def writing(self):
        """Hold while files written into the store are not referenced yet (until the rows are committed)."""
        return self.writers.shared()

    def path(self, sha: str) -> Path:
        if not is_sha256(sha):
            raise ValidationError(f"{sha!r} is not a store reference (64 lowercase hex digits of a sha256)")
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with self.writing():
            if not self.exists(sha):
                self._commit_tmp(sha, lambda f: f.write(data))
        return sha

    def put_file(self, src: Path | str) -> tuple[str, int]:
        """Copy a file in, hashing while copying; returns (sha256, size)."""
        sha, size, _ = self.put_file_new(src)
        return sha, size

    def put_file_new(self, src: Path | str) -> tuple[str, int, bool]:
        """Like put_file, and says whether the blob was new (so a failed import can take it back)."""
        with self.writing():
            return self._put_file_new(Path(src))

    def _put_file_new(self, src: Path) -> tuple[str, int, bool]:
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                while chunk := inp.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = h.hexdigest()
            dest = self.path(sha)
            if dest.exists():
                os.unlink(tmp)
                return sha, size, False
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            return sha, size, True
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        with self.writing():
            return self._put_stream(stream)

    def _put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = h.hexdigest()
            dest = self.path(sha)
            if dest.exists():
                os.unlink(tmp)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _commit_tmp(self, sha: str, write) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            dest = self.path(sha)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def export(self, sha: str, dest: Path | str) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(sha), dest)
        return dest

    def delete(self, sha: str) -> bool:
        p = self.path(sha)
        if p.exists():
            p.unlink()
            return True
        return False

    def iter_shas(self) -> Iterator[str]:
        for p in self.root.glob("??/??/*"):
            if is_sha256(p.name) and p.is_file():
                yield p.name

    def iter_tmp(self) -> Iterator[Path]:
        """Files in store/tmp: a write in progress, or one a killed process never finished."""
        if self.tmp.is_dir():
            for p in self.tmp.iterdir():
                if p.is_file() and not p.is_symlink():
                    yield p

    def size_of(self, sha: str) -> int:
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            return 0
