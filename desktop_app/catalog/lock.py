"""Advisory file locks: one scheduler per catalog, one window writing a catalog at a time."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Iterator

if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    fcntl = None
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """Held while the process lives (the OS drops it when the process dies, so no stale locks)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def holder_pid(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None


def instance_lock(home: Path) -> FileLock:
    """The lock a window takes on its catalog; a second window finding it held opens read-only."""
    return FileLock(Path(home) / "instance.lock")


class SharedLock:
    """A lock writers share and a cleaner takes alone: the store's writers hold it while a file they wrote
    is not yet referenced (an import holds it from its first copied file to its commit); garbage collection
    deletes unreferenced and temporary files only when it can take it alone. Re-entrant within a process;
    the OS drops it when a process dies, so a killed import leaves no lock behind. Where the platform has no
    shared file locks (Windows), writers take nothing and `try_alone` says it cannot tell (None)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._count = 0
        self._mutex = threading.Lock()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with self._mutex:
            if self._count == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH)    # waits while a garbage collection deletes files
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
            self._count += 1
        try:
            yield
        finally:
            with self._mutex:
                self._count -= 1
                if self._count == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None

    @contextlib.contextmanager
    def try_alone(self) -> Iterator[bool | None]:
        """True while held alone (no writer anywhere), False when a writer holds it, None when unknown."""
        if fcntl is None:  # pragma: no cover
            yield None
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:                 # a read-only store: nobody can be writing into it through us
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
