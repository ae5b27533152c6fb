"""Bench: a script's first SDK call on a fresh catalog, beside what it paid when that call generated the sample.

    python bench/first_call.py [--runs 5]

Each run is a fresh Python process on a fresh, empty DESKTOP_APP_HOME, timing inside the process from before
`import desktop_app.sdk as dl` to after `dl.projects.list()` returns:
  first call   : `import desktop_app.sdk as dl; dl.projects.list()` as a script runs it today (the client
                 registers the built-in packages and models; no sample images);
  with sample  : the same, with `dl.create_sample_project()` before the call: what the first call cost when
                 every client generated the 2,000-image sample project (the old default).
Also printed: opening a bare SQLite file and listing a table in the same kind of process (the floor).
The medians of --runs runs; the speed-up with-sample / first-call is printed, and the last line is the ratio
first call / bare SQLite open (aim: lower; the first call can never beat a bare file).
Budget: the first call under 2 s (issue 18).

Measured 2026-12-04 on the 2-core development machine, 3 runs: first call 0.213 s (0.202-0.230), with sample
10.9 s (10.1-14.9), bare SQLite 0.006 s; speed-up 51.3x; ratio first call / bare SQLite 33.2 (aim: lower).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 2.0

CHILD = {
    "first call": "import desktop_app.sdk as dl\nprojects = dl.projects.list()\n",
    "with sample": "import desktop_app.sdk as dl\ndl.create_sample_project()\nprojects = dl.projects.list()\n",
    "bare sqlite": ("import sqlite3, os\ncon = sqlite3.connect(os.path.join(os.environ['DESKTOP_APP_HOME'], 'x.db'))\n"
                    "con.execute('CREATE TABLE IF NOT EXISTS t (id)')\nprojects = con.execute('SELECT * FROM t')"
                    ".fetchall()\n"),
}
TIMED = ("import json, sys, time\nt0 = time.perf_counter()\n{body}"
         "print(json.dumps({{'seconds': time.perf_counter() - t0, 'projects': len(projects)}}))\n")


def run_once(kind: str) -> float:
    with tempfile.TemporaryDirectory(prefix="first-call-") as home:
        env = {**os.environ, "DESKTOP_APP_HOME": home, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", TIMED.format(body=CHILD[kind])], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"{kind}: the child failed\n{out.stderr}")
        return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    medians = {}
    for kind in CHILD:
        times = [run_once(kind) for _ in range(args.runs)]
        medians[kind] = statistics.median(times)
        print(f"{kind:12s}: median {medians[kind]:7.3f} s over {args.runs} runs "
              f"({', '.join(f'{t:.3f}' for t in times)})", flush=True)
    first = medians["first call"]
    verdict = "under" if first < BUDGET_S else "OVER"
    print(f"first call {first:.3f} s: {verdict} the {BUDGET_S:g} s budget")
    print(f"speed-up vs generating the sample on the first call (as before): {medians['with sample'] / first:.1f}x")
    # The headline the issue asks for: the first SDK call beside opening a bare SQLite file. Model Desk cannot be
    # ahead of a bare file (it imports the package and checks the catalog's schema), so the aim is stated: lower.
    print(f"ratio first SDK call / bare SQLite open (aim: lower; first call {first:.3f} s): "
          f"{first / medians['bare sqlite']:.1f}")


if __name__ == "__main__":
    main()
