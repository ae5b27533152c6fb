"""The `desktop-app` command line: thin typed commands over the SDK (no Qt, no torch at start-up)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from typing import Any, Callable, Sequence

from desktop_app import __version__
from desktop_app.errors import DesktopAppError

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str):
    def register(fn):
        COMMANDS[name] = (fn, help)  # type: ignore[assignment]
        return fn
    return register


def build_parser() -> argparse.ArgumentParser:
    from . import commands  # noqa: F401  (registers the sub-commands)

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["DESKTOP_APP_HOME"] = args.home
    try:
        if not args.command:
            from .commands import open_gui
            return open_gui(args)
        return int(args.func(args) or 0)
    except DesktopAppError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as e:
        # Damage found while reading rows (past the statement that the catalog's connection words itself).
        from desktop_app.catalog.db import damaged, is_damage
        from desktop_app.catalog.paths import default_home
        if not is_damage(e):
            raise
        print(f"error: {damaged(default_home() / 'catalog.db', str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
