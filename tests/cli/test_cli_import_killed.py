"""`desktop-app import` killed with SIGKILL mid-copy leaves no dataset row, and `desktop-app gc` then takes
the store back to what it was (the copied files and store/tmp leftovers gone)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from waiting import wait_for

from desktop_app.cli.main import main

pytestmark = pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/<pid>/io")

N_IMAGES, SIDE = 24, 1024          # ~3 MB each, stored uncompressed: ~75 MB to copy


def store_files(home: Path) -> list[str]:
    store = home / "store"
    return sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()
                  and p.name != "writers.lock")


def datasets(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "catalog.db")
    try:
        return [r[0] for r in conn.execute("SELECT name FROM datasets ORDER BY name")]
    finally:
        conn.close()


def written_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


@pytest.fixture
def big_folder(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "big"
    for i in range(N_IMAGES):
        label = ("a", "b")[i % 2]
        (folder / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)).save(
            folder / label / f"{i}.png", compress_level=0)
    return folder


def test_an_import_killed_mid_copy_leaves_no_dataset_and_gc_cleans_the_store(home, big_folder, capsys):
    before = store_files(home)
    names = datasets(home)
    env = {**os.environ, "DESKTOP_APP_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app", "import", str(big_folder), "--format",
                             "imagefolder", "--dataset", "killed"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        # Kill once it has written ~8 MB: inside the copy into the store (reading and checking the images
        # writes next to nothing), long before the ~75 MB copy ends.
        def copying():
            assert proc.poll() is None, proc.communicate()
            return written_bytes(proc.pid) >= 8 << 20

        wait_for(copying, 120, poll=0.002, what="the import to write 8 MB (it never started copying)")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)   # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    assert datasets(home) == names                              # no empty (or partial) dataset row
    left = set(store_files(home)) - set(before)
    assert left                                                 # the killed copy's files: unreferenced
    assert main(["gc"]) == 0
    out = capsys.readouterr().out
    assert f"deleted {len(left)} file(s)" in out, out
    assert store_files(home) == before
    assert main(["import", str(big_folder), "--format", "imagefolder", "--dataset", "killed"]) == 0
    assert f"imported {N_IMAGES} items" in capsys.readouterr().out and "killed" in datasets(home)
