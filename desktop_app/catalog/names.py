"""The one rule for names that become paths (item names, artifact names) and the containment check at writes.

A stored name is a relative POSIX path: '/'-separated parts, none empty, '.' or '..', no backslash, no drive
letter, no NUL or other control character, at most MAX_NAME characters and MAX_PART bytes (UTF-8) a part.
Every way in checks it (`check_name`), and every write of a stored name into a folder checks again that the
destination, symlinks resolved, is inside that folder (`contained`): a catalog restored from someone
else's backup, or written by an older Model Desk, may hold names no way in lets through today.

No Qt, no torch: every room uses this module.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from pathlib import Path
from typing import Any

from desktop_app.errors import ValidationError

MAX_NAME = 1024          # characters in a whole name
MAX_PART = 255           # bytes (UTF-8) in one part: what ext4, APFS and NTFS allow in a file name
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a stored name, or None when it can."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if not name:
        return "is empty"
    m = _CONTROL.search(name)
    if m:
        return f"holds the control character {m.group()!r}"
    m = _SURROGATE.search(name)
    if m:
        # A lone surrogate cannot be written as UTF-8: no file system takes it as a file name.
        return f"holds the lone surrogate {m.group()!r}, which is not a character"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long, over the limit of {MAX_NAME}"
    if "\\" in name:
        return "holds a backslash; separate folders with '/'"
    if name.startswith("/"):
        return "is an absolute path; names are relative to their folder"
    if _DRIVE.match(name):
        return "starts with a drive letter; names are relative to their folder"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            what = {"": "an empty part ('//' or a trailing '/')", ".": "a '.' part", "..": "a '..' part"}[part]
            return f"holds {what}; names must stay inside their folder"
        if len(part.encode("utf-8")) > MAX_PART:
            return f"has a part over {MAX_PART} bytes ({part[:20]}...)"
    return None


def check_name(name: Any, what: str = "name") -> str:
    """``name`` if it is a valid stored name, else ValidationError naming it and what is wrong."""
    problem = name_problem(name)
    if problem:
        raise ValidationError(f"{what} {_show(name)} {problem}")
    return name


def contained(root: str | Path, name: Any, what: str = "name") -> Path:
    """``root / name``, after checking the name and that the destination (symlinks resolved) stays inside
    ``root``; ValidationError naming the name and the folder otherwise. Call it before every write."""
    check_name(name, what)
    # The name has no '..' and is relative, so only a symlink among the parts that exist can lead out: look
    # at those (one lstat each, none past the first missing part) and resolve the whole path only then.
    cur = str(root)
    for part in name.split("/"):
        cur = os.path.join(cur, part)
        try:
            if not stat.S_ISLNK(os.lstat(cur).st_mode):
                continue
        except (FileNotFoundError, NotADirectoryError):
            break
        base = os.path.realpath(root)
        dest = os.path.realpath(os.path.join(base, name))
        if os.path.commonpath([base, dest]) != base:
            raise ValidationError(f"{what} {_show(name)} would be written outside {root} (to {dest}); refused")
        break
    return Path(root) / name


# Columns of a catalog database that hold names of this kind.
STORED_NAMES = {"items.name": "SELECT id, name FROM items ORDER BY id",
                "artifacts.filename": "SELECT id, filename FROM artifacts ORDER BY id"}


def stored_name_problem(conn: sqlite3.Connection) -> str | None:
    """The first item or artifact name in a catalog database that breaks the rule, described; None if none."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for ref, sql in STORED_NAMES.items():
        if ref.split(".")[0] not in tables:
            continue
        for row_id, name in conn.execute(sql):
            problem = name_problem(name)
            if problem:
                return f"{ref} of row {row_id} ({_show(name)}) {problem}"
    return None


def check_stored_names(db_path: str | Path, where: str) -> None:
    """ValidationError naming the row when the catalog database at ``db_path`` holds a name no way in lets
    through (restore checks a backup's database so before anything reaches the target folder)."""
    conn = sqlite3.connect(str(db_path))
    try:
        problem = stored_name_problem(conn)
    except sqlite3.DatabaseError as e:
        raise ValidationError(f"{where} cannot be read ({e}); refused") from None
    finally:
        conn.close()
    if problem:
        raise ValidationError(f"{where}: {problem}; refused")


def _show(name: Any) -> str:
    s = repr(name)
    return s if len(s) <= 120 else s[:100] + "...'"
