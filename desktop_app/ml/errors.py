"""Errors of the training engine (torch-free, so the CLI and the jobs runner can catch them cheaply)."""

from __future__ import annotations

from desktop_app.errors import UserError


class TrainingError(UserError):
    """A run that cannot go on for a reason the user can act on: NaN loss, an empty subset, a bad device."""
