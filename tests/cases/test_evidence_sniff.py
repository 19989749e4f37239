"""Content sniffing: types come from the bytes, bombs and active PDFs are refused.

The sample builders here make tiny, synthetic files from raw bytes (no downloaded data); the
other evidence tests import them.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from hrdshield.cases.evidence.enums import MediaType
from hrdshield.cases.evidence.sniff import MAX_PIXELS, RefusedFile, UnsupportedFile, sniff

# --- sample builders ----------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 4, height: int = 3, *, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """Return a real, decodable RGB PNG of one colour."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """Return a PNG whose header declares a huge canvas (the pixels never follow)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )


def jpeg(width: int = 16, height: int = 8) -> bytes:
    """Return a JPEG skeleton: SOI, a JFIF APP0, a comment, a baseline frame header, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 5) + b"hello"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + comment + b"\xff\xff" + sof + b"\xff\xd9"


GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def gif_frame_bomb() -> bytes:
    """Return a 1x1 GIF canvas holding a 20000x20000 frame."""
    frame = b",\x00\x00\x00\x00" + struct.pack("<HH", 20_000, 20_000) + b"\x00\x02\x02D\x01\x00"
    return GIF_1X1[:-1] + frame + b";"


def webp_lossless(width: int = 10, height: int = 20) -> bytes:
    """Return a WebP (VP8L) header declaring `width` x `height`."""
    bits = (width - 1) | ((height - 1) << 14)
    body = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def pdf(extra: bytes = b"") -> bytes:
    """Return a minimal one-page PDF; `extra` is added as one more object."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    if extra:
        objects.append(extra)
    body = b"%PDF-1.7\n"
    for number, content in enumerate(objects, start=1):
        body += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def pdf_with_hidden_script() -> bytes:
    """Return a PDF whose JavaScript action hides in a compressed object stream."""
    packed = zlib.compress(b"4 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>")
    stream = (
        (
            f"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {len(packed)} >>\n"
            "stream\n"
        ).encode()
        + packed
        + b"\nendstream"
    )
    return pdf(stream)


# --- sniffing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type", "size"),
    [
        (png(4, 3), MediaType.PNG, (4, 3)),
        (jpeg(16, 8), MediaType.JPEG, (16, 8)),
        (GIF_1X1, MediaType.GIF, (1, 1)),
        (webp_lossless(10, 20), MediaType.WEBP, (10, 20)),
        (pdf(), MediaType.PDF, (None, None)),
        ("Threat received on 2026-11-20: «on sait où tu vis»\n".encode(), MediaType.TEXT, None),
        ("تهديد\n".encode(), MediaType.TEXT, None),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf", "text", "arabic-text"],
)
def test_types_are_recognised_from_their_bytes(
    data: bytes, media_type: MediaType, size: tuple[int | None, int | None] | None
) -> None:
    found = sniff(data)
    assert found.media_type is media_type
    if size is not None:
        assert (found.width, found.height) == size


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",  # a Windows program
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20,  # a zip (or an office file)
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16,  # a video
        b"plain words\x00with a NUL",
        b"text with a terminal escape \x1b[31m",
    ],
    ids=["exe", "zip", "mp4", "nul", "escape"],
)
def test_other_kinds_are_refused_as_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedFile) as refused:
        sniff(data)
    assert refused.value.status == 415


def test_text_that_is_not_utf8_is_refused_with_a_hint() -> None:
    with pytest.raises(RefusedFile, match="UTF-8"):
        sniff("Menace reçue à 10h".encode("latin-1"))


def test_html_is_kept_only_as_inert_text() -> None:
    assert sniff(b"<html><script>alert(1)</script></html>").media_type is MediaType.TEXT


@pytest.mark.parametrize(
    "data",
    [
        png_bomb(),
        png_bomb(50_001, 1000),
        jpeg(65_535, 65_535),
        gif_frame_bomb(),
        b"GIF89a" + struct.pack("<HH", 65_535, 65_535) + b"\x00\x00\x00;",
    ],
    ids=["png", "png-just-over", "jpeg", "gif-frame", "gif-canvas"],
)
def test_decompression_bombs_are_refused_from_their_headers(data: bytes) -> None:
    with pytest.raises(RefusedFile, match="bomb"):
        sniff(data)


def test_the_pixel_limit_is_inclusive() -> None:
    assert sniff(png_bomb(10_000, MAX_PIXELS // 10_000)).media_type is MediaType.PNG


@pytest.mark.parametrize(
    "data",
    [
        png(4, 3)[:20],
        png(4, 3)[:29] + b"\x00\x00\x00\x00" + png(4, 3)[33:],  # IHDR checksum broken
        png_bomb(0, 10),
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # no frame header
        b"RIFF\x10\x00\x00\x00WEBPXXXX" + b"\x00" * 20,
    ],
    ids=["png-truncated", "png-crc", "png-zero", "jpeg-no-frame", "webp-unknown"],
)
def test_damaged_images_are_refused(data: bytes) -> None:
    with pytest.raises(RefusedFile):
        sniff(data)


@pytest.mark.parametrize(
    "extra",
    [
        b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",
        b"<< /OpenAction << /S /Launch /F (cmd.exe) >> >>",
        b"<< /Type /Filespec /EF << /F 5 0 R >> /Type /EmbeddedFile >>",
        b"<< /S /J#61vaScript /J#53 (x) >>",  # names spelled with #xx escapes
        b"<< /AcroForm << /XFA 6 0 R >> >>",
    ],
    ids=["javascript", "launch", "embedded-file", "escaped-names", "xfa"],
)
def test_active_pdfs_are_refused(extra: bytes) -> None:
    with pytest.raises(RefusedFile, match="active content"):
        sniff(pdf(extra))


def test_scripts_hidden_in_compressed_object_streams_are_found() -> None:
    with pytest.raises(RefusedFile, match="active content"):
        sniff(pdf_with_hidden_script())


def test_encrypted_pdfs_are_refused_because_they_cannot_be_checked() -> None:
    with pytest.raises(RefusedFile, match="encrypted"):
        sniff(pdf(b"<< /Encrypt 9 0 R >>"))


def test_names_that_merely_start_like_forbidden_ones_are_fine() -> None:
    assert sniff(pdf(b"<< /JSONData (x) /Launcher 1 >>")).media_type is MediaType.PDF


def test_the_declared_name_or_type_plays_no_part() -> None:
    # sniff() is given bytes only: there is no way to pass a name or a declared type.
    assert sniff(png()).media_type is MediaType.PNG
    assert sniff(b"%PDF-1.4 fake").media_type is MediaType.PDF
