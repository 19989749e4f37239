"""Fixed vocabularies of evidence, stored by value."""

from __future__ import annotations

import enum


class MediaType(enum.Enum):
    """The kind of file, decided by sniffing its bytes (never by its name or declared type)."""

    PNG = "image/png"
    JPEG = "image/jpeg"
    GIF = "image/gif"
    WEBP = "image/webp"
    PDF = "application/pdf"
    TEXT = "text/plain"

    @property
    def is_image(self) -> bool:
        """Return whether reviewers see this kind hidden until they choose to reveal it."""
        return self in (MediaType.PNG, MediaType.JPEG, MediaType.GIF, MediaType.WEBP)

    @property
    def extension(self) -> str:
        """Return the file-name extension used in downloads and export packages."""
        return _EXTENSIONS[self]

    @property
    def header_value(self) -> str:
        """Return the Content-Type header value for this kind."""
        return "text/plain; charset=utf-8" if self is MediaType.TEXT else self.value


_EXTENSIONS = {
    MediaType.PNG: "png",
    MediaType.JPEG: "jpg",
    MediaType.GIF: "gif",
    MediaType.WEBP: "webp",
    MediaType.PDF: "pdf",
    MediaType.TEXT: "txt",
}


class CustodyAction(enum.Enum):
    """What happened to an item of evidence; each access adds one row to its chain of custody."""

    RECEIVED = "received"
    VIEWED = "viewed"
    REVEALED = "revealed"
    DOWNLOADED = "downloaded"
    EXPORTED = "exported"
    DELETED = "deleted"
