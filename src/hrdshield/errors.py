"""Domain errors raised by services; the web edge turns each into one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a person can act on; the message is safe to show them."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationProblem(DomainError):
    """The input is well-formed but not acceptable."""

    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not know it exists."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The change collides with existing state."""

    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    """The caller is signed in but may not do this."""

    status = 403
    title = "Forbidden"


class RequestTooLarge(DomainError):
    """The request body is larger than the configured limit."""

    status = 413
    title = "Request too large"

    def __init__(self, detail: str = "the request body is too large") -> None:
        super().__init__(detail)
