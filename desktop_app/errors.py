"""Errors shared by every layer; the GUI shows `UserError`s as messages and everything else as bugs."""

from __future__ import annotations


class DesktopAppError(Exception):
    """Base class of every error Model Desk raises on purpose."""


class UserError(DesktopAppError):
    """Something the user can fix (bad input, missing entity, locked or full disk)."""


class NotFoundError(UserError, LookupError):
    """An entity asked for by name or id does not exist."""


class AlreadyExistsError(UserError):
    """An entity with this name already exists where names must be unique."""


class ValidationError(UserError, ValueError):
    """A value (hyper-parameter, field, request) is of the wrong type or out of range."""


class FormatError(UserError, ValueError):
    """A dataset / annotation file is malformed. Names the file and the entry at fault."""

    def __init__(self, message: str, *, file: str | None = None, entry: str | None = None):
        self.file = file
        self.entry = entry
        where = ", ".join(p for p in (f"file {file}" if file else "", f"entry {entry}" if entry else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class CatalogVersionError(UserError):
    """The catalog was written by a newer Model Desk than this one."""


class CatalogDamagedError(UserError):
    """The catalog database is not a readable SQLite file (damaged, truncated, empty, overwritten)."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(message)


class CatalogBusyError(UserError):
    """The catalog is locked by another writer for longer than we are willing to wait."""


class Cancelled(DesktopAppError):
    """The user asked a job to stop; not a failure."""
