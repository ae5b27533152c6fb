"""The storage error a room above the catalog may name (to narrow an `except`) without importing sqlite3."""

from __future__ import annotations

import sqlite3

# Any SQLite failure the catalog lets through: locked past its busy timeout, disk I/O, rows of a damaged file.
# Errors the user can fix arrive as desktop_app.errors.UserError subclasses instead (CatalogBusyError, ...).
StorageError = sqlite3.Error

__all__ = ["StorageError"]
