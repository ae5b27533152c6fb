"""The detached scheduler a process starts is kept until it ends and then reaped: never collected while it runs
(Python's ResourceWarning "subprocess N is still running", an error under the suite's filterwarnings), never left
a zombie, and a process that exits while its scheduler runs on says nothing about it."""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings

from desktop_app.jobs import scheduler
from waiting import wait_for


def _mine(home):
    return [p for p in scheduler._started if p.args[-1] == str(home)]


def test_a_started_scheduler_is_kept_while_it_runs_and_reaped_once_it_ends(catalog):
    home = catalog.home
    with warnings.catch_warnings(record=True) as seen:   # whatever pyproject's filterwarnings ignore
        warnings.simplefilter("always", ResourceWarning)
        scheduler.ensure_scheduler(home)   # the old code dropped the Popen here, while the scheduler ran
        gc.collect()
    assert [str(w.message) for w in seen if "still running" in str(w.message)] == []
    [proc] = _mine(home)
    wait_for(lambda: proc.poll() is not None, timeout=60, what="the idle scheduler to exit")
    assert proc.returncode == 0
    scheduler._reap_started()
    assert _mine(home) == []


def test_a_process_that_exits_while_its_scheduler_runs_says_nothing_and_the_scheduler_goes_on(catalog):
    home = catalog.home
    code = "import sys; from desktop_app.jobs.scheduler import ensure_scheduler; ensure_scheduler(sys.argv[1])"
    r = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code, str(home)],
                       capture_output=True, text=True, env=scheduler.child_env(), timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    log = home / "logs" / "scheduler.log"
    wait_for(lambda: log.exists() and "started with slots" in log.read_text(), timeout=60,
             what="the scheduler, run on past its starter", details=lambda: log.read_text() if log.exists() else "")
    wait_for(lambda: not scheduler.scheduler_running(home), timeout=60, what="the idle scheduler to exit")
