"""Domain errors raised by services; the web edge turns each into one HTTP status.

A message is written in English with `N_()` around it and its values as ``%(name)s`` keyword
arguments, so the message catalog can hold it: the API answers in English (`detail`), pages
answer in the reader's language (`translated`).
"""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:  # noqa: N802  (the conventional name extraction tools know)
    """Mark `message` for translation where it is written; it is translated where it is shown."""
    return message


class DomainError(Exception):
    """Base for errors a person can act on; the message is safe to show them."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **values: object) -> None:
        self.message, self.values = detail, values
        self.detail = detail % values if values else detail
        super().__init__(self.detail)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """Return the message in the language `gettext` translates into."""
        text = gettext(self.message)
        if not self.values:
            return text
        try:
            return text % self.values
        except (KeyError, ValueError, TypeError):  # a broken translation: English is better
            return self.detail


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

    def __init__(self, detail: str = N_("the request body is too large"), **values: object) -> None:
        super().__init__(detail, **values)
