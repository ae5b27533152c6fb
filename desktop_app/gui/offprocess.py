"""SDK calls that run user code, done in a child process so the window never imports it (nor torch).

`python -m desktop_app.gui.offprocess push '<json>'` pushes a package and prints one JSON line; the GUI
calls `push_package()` from a worker thread. No Qt here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from desktop_app.errors import DesktopAppError, UserError


class ChildError(DesktopAppError):
    """The child process failed; `details` holds its traceback."""

    def __init__(self, message: str, details: str = "", user_error: bool = False):
        super().__init__(message)
        self.details = details
        self.user_error = user_error


class ChildUserError(ChildError, UserError):
    pass


def push_package(home: Path | str, *, timeout: float = 300.0, **kwargs: Any) -> dict:
    """`client.packages.push(**kwargs)` in a child process; returns {'id', 'name'} or raises ChildError."""
    from desktop_app.jobs.scheduler import child_env
    proc = subprocess.run([sys.executable, "-m", "desktop_app.gui.offprocess", "push", str(home),
                           json.dumps(kwargs)], capture_output=True, text=True, timeout=timeout,
                          env=child_env(), stdin=subprocess.DEVNULL)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise ChildError(f"the package check process exited with code {proc.returncode}",
                         (proc.stdout + proc.stderr)[-8000:])
    out = json.loads(lines[-1])
    if "error" in out:
        cls = ChildUserError if out.get("user_error") else ChildError
        raise cls(out["error"], out.get("traceback", ""), bool(out.get("user_error")))
    return out


def _push(home: str, kwargs: dict) -> dict:
    from desktop_app.sdk import Client
    client = Client(home=home, bootstrap=False)
    try:
        pkg = client.packages.push(**kwargs)
        return {"id": pkg.id, "name": pkg.name}
    finally:
        client.catalog.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, home, payload = argv[0], argv[1], json.loads(argv[2])
    try:
        if command != "push":
            raise ValueError(f"unknown command {command!r}")
        print(json.dumps(_push(home, payload)), flush=True)
        return 0
    except Exception as e:  # noqa: BLE001 - reported to the parent as data
        print(json.dumps({"error": str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}",
                          "user_error": isinstance(e, UserError), "traceback": traceback.format_exc()}),
              flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
