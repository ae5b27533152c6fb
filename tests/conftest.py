"""Every test runs against a temporary catalog (DESKTOP_APP_HOME), never the user's."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

# An ERROR log record a test did not declare with @pytest.mark.expect_log fails it (tests/logfail.py).
from logfail import pytest_configure, pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown  # noqa: F401
from logfail import pytest_unconfigure  # noqa: F401

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Each test copies the template catalog: its store is ~2,200 shard folders and 2,000 hard links. On a disk file
# system that is 0.1-0.5 ms a folder (1-2 s a test under load, most of the suite's system time); on a RAM file
# system, 20 times less. Where a roomy /dev/shm exists, the test folders go there (pytest reads this at its first
# tmp_path; passed tests' folders are removed at once: tmp_path_retention_policy = "failed").
def _ram_temp_root() -> str | None:
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize >= 4 << 30 else None


if not os.environ.get("PYTEST_DEBUG_TEMPROOT") and _ram_temp_root():
    os.environ["PYTEST_DEBUG_TEMPROOT"] = _ram_temp_root()
# Under pytest-xdist each worker process shares the cores with the others: torch's own threads (and the job
# workers a test spawns, which inherit this) take their share only, or two workers' training tests oversubscribe
# the cores and crawl (a 50 s learning test passed 600 s).
_xdist_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
if _xdist_workers > 1:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores // _xdist_workers)))
# Workers and schedulers spawned by tests must not see a GPU they would then wait for.
os.environ.setdefault("DESKTOP_APP_CPU_JOBS", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DESKTOP_APP_HOME", str(home))
    from desktop_app.sdk import client as sdk_client
    sdk_client.reset_default()
    yield home
    sdk_client.reset_default()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory) -> Path:
    """A catalog made once per session: the built-in packages and the generated sample project (asked for
    explicitly, as the window's first run does; a plain client never makes it)."""
    from desktop_app.catalog import Catalog
    from desktop_app.sdk.bootstrap import create_sample_project

    home = tmp_path_factory.mktemp("template")
    cat = Catalog(home)
    create_sample_project(cat)
    cat.close()
    # Fold the WAL into the main file so a plain folder copy is a consistent catalog.
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    fingerprint = _store_fingerprint(home)
    yield home
    # Store files are shared with every copy by hard links (see `home`): a test that wrote into one in place
    # would have changed the template under every later test. Say so, naming the files.
    changed = sorted(name for name, stamp in _store_fingerprint(home).items() if fingerprint.get(name) != stamp)
    assert not changed, (f"a test wrote into the template's store files in place (replace a store file with a "
                         f"new one: unlink it first): {changed[:5]}")


def _store_fingerprint(home: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in (home / "store").rglob("*")
            if _is_blob(p.name) and p.is_file()}


def _is_blob(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _link_store_files(src: str, dst: str) -> None:
    """copytree's copy for a test's catalog: the store's content-addressed files are never written in place (the
    store writes a new file and renames it over), so a hard link is a copy at no cost; everything else is copied."""
    if f"{os.sep}store{os.sep}" in src and _is_blob(os.path.basename(src)):
        try:
            os.link(src, dst)
            return
        except OSError:
            pass            # another file system, no links: a plain copy
    shutil.copy2(src, dst)


@pytest.fixture
def home(template_home, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the bootstrapped catalog, also set as DESKTOP_APP_HOME (store files hard-linked)."""
    dest = tmp_path / "catalog"
    shutil.copytree(template_home, dest, copy_function=_link_store_files)
    monkeypatch.setenv("DESKTOP_APP_HOME", str(dest))
    return dest


@pytest.fixture
def client(home):
    from desktop_app.sdk import use_catalog
    c = use_catalog(home)
    yield c
    c.catalog.close()


@pytest.fixture
def catalog(tmp_path):
    """An empty catalog: schema only, nothing bootstrapped."""
    from desktop_app.catalog import Catalog
    cat = Catalog(tmp_path / "empty")
    yield cat
    cat.close()


@pytest.fixture
def dl(client):
    """The SDK module, its default client pointing at a fresh bootstrapped catalog."""
    import desktop_app.sdk as dl
    return dl
