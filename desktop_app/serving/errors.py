"""Request errors: each becomes an HTTP status with a JSON body {"error": message}."""

from __future__ import annotations


class RequestError(Exception):
    """A request the service refuses; the service itself is fine."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self)


class TooLarge(RequestError):
    status = 413


class NotFound(RequestError):
    status = 404


class ModelFailed(Exception):
    """The model raised inside predict (HTTP 500 with its message); the service keeps serving."""
