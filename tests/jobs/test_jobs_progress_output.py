"""The progress of a waited-for job: a bar redrawn in place on a terminal, plain lines into a log or pipe."""

from __future__ import annotations

import io
from dataclasses import dataclass

from desktop_app.jobs import runner


@dataclass
class _Ex:
    kind: str = "train"
    progress: float = 0.0
    status: str = "in-progress"
    message: str = ""


def test_into_a_pipe_one_line_per_ten_percent_or_status(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(runner.sys, "stderr", err)
    shown: dict = {}
    polls = [(0.0, "created"), (0.0, "in-progress"), (0.0, "in-progress"), (3.0, "in-progress"),
             (9.9, "in-progress"), (10.0, "in-progress"), (55.0, "in-progress"), (56.0, "in-progress"),
             (100.0, "success")]
    for progress, status in polls:
        runner._draw(_Ex(progress=progress, status=status, message=f"at {progress}"), 5.0, False, shown)
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert [ln.split("] ")[1].split()[1] for ln in lines] == ["created", "in-progress", "in-progress",
                                                                 "in-progress", "success"]
    assert [float(ln.split("] ")[1].split("%")[0]) for ln in lines] == [0.0, 0.0, 10.0, 55.0, 100.0]


def test_on_a_terminal_the_bar_is_redrawn_in_place(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(runner.sys, "stderr", err)
    for p in (10.0, 20.0):
        runner._draw(_Ex(progress=p), 5.0, True, {})
    out = err.getvalue()
    assert out.count("\r") == 2 and "\n" not in out and "ETA" in out
