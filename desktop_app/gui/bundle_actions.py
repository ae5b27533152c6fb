"""The window's calls to model bundles (Export bundle…, Import model bundle…), run off the GUI thread.

No dialog here: the window asks for the file (QFileDialog) and passes the path; these run the SDK's
model.export_bundle / models.import_bundle on the Actions' TaskRunner and hand back one line to show.
A refused bundle (hostile, damaged, a clash) goes to on_error, or to the window's ErrorHub when none is given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from .actions import Actions

SUFFIX = ".mdbundle"
FILTER = f"Model bundles (*{SUFFIX})"
Message = Callable[[str], None]
Failed = Callable[[BaseException], None]


def bundle_filename(model_name: str) -> str:
    """A file name for the model's bundle: its name with anything a file system dislikes replaced."""
    return (re.sub(r"[^\w.-]+", "_", model_name).strip("._") or "model") + SUFFIX


def export_bundle(actions: Actions, model_id: str, path: str | Path, on_done: Message,
                  on_error: Failed | None = None) -> None:
    """Write the model's bundle to `path` (SUFFIX added when missing); on_done gets the line to show."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)

    def work() -> str:
        model = actions.client.models.get(model_id=model_id)
        out = model.export_bundle(path)
        return f"Exported {model.name} to {out} ({out.stat().st_size / 1e6:.1f} MB)"

    actions._submit(work, on_done, on_error or _shown(actions, "Could not export the model"), None)


def import_bundle(actions: Actions, path: str | Path, project_id: str | None, on_done: Message,
                  on_error: Failed | None = None) -> None:
    """Bring the bundle's model into the catalog (into `project_id`, or the bundle's own project); on_done gets
    the line to show, and the navigator is rebuilt when something was added."""
    def work() -> Any:
        return actions.client.models.import_bundle(path, project_id=project_id).bundle_report

    def done(report: Any) -> None:
        if report.created:
            actions.catalog_changed.emit()
        on_done(import_message(report))

    actions._submit(work, done, on_error or _shown(actions, "Could not import the bundle"), None)


def import_message(report: Any) -> str:
    """One line for the status bar: what was imported, then what was made beside it."""
    return "; ".join([report.message, *report.notes])


def _shown(actions: Actions, title: str) -> Failed:
    return lambda e: actions.hub.exception(title, e)
