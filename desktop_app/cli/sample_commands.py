"""`desktop-app sample`: the generated sample project, made when asked for (no client makes it by itself)."""

from __future__ import annotations

from typing import Any

from .app import client, command


def ensure_sample(c: Any):
    """The sample project of client ``c``, generated first (and said so on the terminal) when it is missing."""
    from desktop_app.sdk.bootstrap import has_sample_data
    if not has_sample_data(c.catalog):
        print("generating the sample project: 2 x 1,000 shape images drawn on this machine (seconds)", flush=True)
    return c.create_sample_project()


def make_sample() -> int:
    c = client()
    already = c.sample_project.datasets.list()
    project = ensure_sample(c)
    datasets = ", ".join(f"{d.name} ({d.items_count:,} items)" for d in project.datasets.list())
    print(f"{project.name}{' (already there)' if already else ''}: {datasets}; the built-in models train on "
          f"these unless given another dataset")
    return 0


@command("sample", "Generate the sample project (shapes for classification and detection); idempotent.")
def _sample(p):
    p.set_defaults(func=lambda a: make_sample())
