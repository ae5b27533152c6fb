"""Exiting while a pipeline run one started goes on (detached) prints no ResourceWarning (issue 18 terminal noise)."""

import subprocess
import sys

from desktop_app.jobs.scheduler import child_env

CODE = """
import subprocess, sys
from desktop_app.pipelines import launch
launch._children["run"] = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
print(launch._children["run"][0].pid)
"""


def test_exiting_while_a_started_run_goes_on_is_quiet():
    r = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", CODE],
                       capture_output=True, text=True, env=child_env(), timeout=120)
    pid = int(r.stdout.split()[0])
    subprocess.run(["kill", str(pid)], check=False)
    assert r.returncode == 0 and "still running" not in r.stderr, r.stderr
