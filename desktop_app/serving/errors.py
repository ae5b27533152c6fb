"""Request errors: each becomes an HTTP status with a JSON body {"error": message, "field": where}."""

from __future__ import annotations


class RequestError(Exception):
    """A request the service refuses; the service itself is fine.

    field: the part of the request at fault, when one is (a header such as 'Content-Length', or a place in
    the JSON such as 'inputs[0].shape'); clients find it in the error body's "field"."""

    status = 400

    def __init__(self, message: str, status: int | None = None, *, field: str | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.field = field

    @property
    def message(self) -> str:
        return str(self)

    def body(self) -> dict[str, str]:
        return {"error": self.message, **({"field": self.field} if self.field else {})}


class TooLarge(RequestError):
    status = 413


class NotFound(RequestError):
    status = 404


class ModelFailed(Exception):
    """The model raised inside predict (HTTP 500 with its message); the service keeps serving."""
