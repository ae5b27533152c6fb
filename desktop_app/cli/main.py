"""The `desktop-app` command line: thin typed commands over the SDK (no Qt, no torch at start-up)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Sequence

from desktop_app import __version__
from desktop_app.errors import DesktopAppError

from .app import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    # Each command module registers its commands with app.command when imported.
    from . import (bundle, catalog_commands, commands, demo, jobs_commands,  # noqa: F401
                   package_commands, pipeline_commands, project_commands, sample_commands, serve_commands)
    from . import model_commands  # noqa: F401
    from . import sweep_commands  # noqa: F401
    from . import prediction_commands  # noqa: F401
    from . import embed_commands  # noqa: F401

    parser = argparse.ArgumentParser(
        prog="desktop-app",
        description="Model Desk: manage image AI models locally. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"Model Desk {__version__}")
    parser.add_argument("--home", help="catalog folder (default: $DESKTOP_APP_HOME or the user data folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (setup, help_) in sorted(COMMANDS.items()):
        p = sub.add_parser(name, help=help_, description=help_)
        setup(p)
    return parser


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one plain line, "warning: ...", for the person at the terminal: Python's own format adds the
    file, line and source code that issued it, which say nothing to them. Other categories than UserWarning
    keep their name ("warning: DeprecationWarning: ...") so a library's notice is not taken for ours."""
    stream = file if file is not None else sys.stderr
    if stream is None:      # pythonw: no console
        return
    kind = "" if category is UserWarning else f"{category.__name__}: "
    try:
        stream.write(f"warning: {kind}{message}\n")
    except OSError:         # the terminal is gone; as Python's own showwarning, say nothing
        pass


# Commands that do not need a sound catalog first: doctor examines a damaged one, evaluate-coco reads files only.
UNCHECKED = {"doctor", "evaluate-coco"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["DESKTOP_APP_HOME"] = args.home
    from desktop_app.catalog.queries_cli import damage_reported
    try:
        with damage_reported(), warnings.catch_warnings():
            warnings.showwarning = show_warning
            if not args.command:
                from .commands import open_gui
                return open_gui(args)     # the window checks the catalog as it opens it, and says so in a dialog
            if args.command not in UNCHECKED:
                from desktop_app.catalog import check_pages
                from desktop_app.catalog.paths import default_home
                check_pages(default_home() / "catalog.db")
            return int(args.func(args) or 0)
    except DesktopAppError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`desktop-app datasets list --json | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not raise a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
