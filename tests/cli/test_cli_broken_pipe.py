"""A command whose output is piped into a reader that stops early (`| head`) ends quietly, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def test_json_output_into_a_closed_pipe_prints_no_traceback(tmp_path):
    env = {**os.environ, "DESKTOP_APP_HOME": str(tmp_path / "home")}
    # Enough projects that the JSON listing is larger than a pipe's buffer, so the write meets the closed end.
    setup = subprocess.run([sys.executable, "-c",
                            "import desktop_app.sdk as dl\n"
                            "for i in range(400):\n"
                            "    dl.projects.create(project_name=f'p{i:03d}-' + 'x' * 150, description='y' * 150)\n"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stderr
    cmd = f"{sys.executable} -m desktop_app projects list --json | head -c 10 > /dev/null"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True, text=True,
                         timeout=300)
    assert "Traceback" not in out.stderr, out.stderr
    assert "BrokenPipeError" not in out.stderr, out.stderr
    assert out.returncode == 141
