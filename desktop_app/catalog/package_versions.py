"""Package version strings ('1.0.0', Dataloop's semantic versions): checked, ordered and bumped."""

from __future__ import annotations

import re
from typing import Any, Iterable

from desktop_app.errors import ValidationError

FIRST_VERSION = "1.0.0"
INCREMENTS = ("patch", "minor", "major")     # Dataloop's revision_increment words

_VERSION = re.compile(r"(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})")


def parse_version(version: Any, *, field: str = "version") -> tuple[int, int, int]:
    """(major, minor, patch) of 'X.Y.Z'; anything else is refused naming the field."""
    m = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if m is None:
        raise ValidationError(f"{field} {version!r} is not a version: give three numbers as 'X.Y.Z' (e.g. '1.0.1')")
    return int(m[1]), int(m[2]), int(m[3])


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Oldest first; a malformed stored version (a hand-edited catalog) sorts before the rest, by its text."""
    def key(v: str) -> tuple:
        try:
            return (1, parse_version(v))
        except ValidationError:
            return (0, (0, 0, 0), v)
    return sorted(versions, key=key)


def next_version(versions: Iterable[str], increment: str | None = None) -> str:
    """The version after the newest of `versions`: its patch number + 1 by default ('1.0.0' -> '1.0.1'), or
    its minor ('1.1.0') / major ('2.0.0') as Dataloop's ``revision_increment`` asks."""
    increment = increment or "patch"
    if increment not in INCREMENTS:
        raise ValidationError(f"revision_increment {increment!r}: give one of {', '.join(map(repr, INCREMENTS))}")
    known = [parse_version(v) for v in versions if _VERSION.fullmatch(v or "")]
    if not known:
        return FIRST_VERSION
    major, minor, patch = max(known)
    if increment == "major":
        return f"{major + 1}.0.0"
    if increment == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def check_new_version(version: str, versions: Iterable[str], *, package: str) -> str:
    """A version asked for by name: well formed, newer than every version the package has."""
    new = parse_version(version)
    have = sort_versions(versions)
    if version in have:
        raise ValidationError(f"package {package!r} already has version {version}; its versions: {', '.join(have)}")
    newest = max((parse_version(v) for v in have if _VERSION.fullmatch(v or "")), default=None)
    if newest is not None and new <= newest:
        raise ValidationError(f"version {version} is not newer than package {package!r}'s newest, "
                              f"{'.'.join(map(str, newest))}: a new version goes after the others")
    return version
