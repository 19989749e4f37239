"""Decide what a file is from its bytes alone, and refuse files that could hurt whoever opens them.

The name a file was sent with and the type its sender declared are never trusted: a PNG called
``report.pdf`` is a PNG, and an HTML page called ``photo.jpg`` is refused. Images are measured from
their headers without decoding, so a decompression bomb is refused before anything renders it; a
PDF that carries scripts, launch actions or attached files is refused. This module never decodes
pixels and never executes anything.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from hrdshield.cases.evidence.enums import MediaType
from hrdshield.errors import N_, DomainError

MAX_PIXELS = 50_000_000  # width x height; a bigger image is a likely decompression bomb
PDF_INFLATE_BUDGET = 64 * 1024 * 1024  # bytes inflated from object streams while checking a PDF
# Names whose presence makes a PDF active content rather than a document.
PDF_FORBIDDEN_NAMES = frozenset(
    {
        b"JavaScript",
        b"JS",
        b"Launch",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"RichMedia",
        b"XFA",
        b"GoToE",
    }
)
_PDF_FLATE = frozenset({b"FlateDecode", b"Fl"})
_PDF_FILTERS = frozenset(
    {
        *_PDF_FLATE,
        b"ASCIIHexDecode",
        b"AHx",
        b"ASCII85Decode",
        b"A85",
        b"LZWDecode",
        b"LZW",
        b"RunLengthDecode",
        b"RL",
        b"CCITTFaxDecode",
        b"CCF",
        b"JBIG2Decode",
        b"DCTDecode",
        b"DCT",
        b"JPXDecode",
        b"Crypt",
    }
)
# A PDF name: a solidus, then anything up to white space or a delimiter (ISO 32000-1, 7.3.5).
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_PDF_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"(?<=[\s>])stream\r?\n")  # not "endstream"
_PDF_OBJ = re.compile(rb"\bobj\b")
_JPEG_MARKER = re.compile(rb"\xff+([\x00-\xfe])")
_JPEG_MAX_SEGMENTS = 10_000
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (SOF0-SOF15 less DHT, JPG and DAC), which carry the dimensions.
_JPEG_SOF = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
)


class UnsupportedFile(DomainError):
    """The file is not one of the kinds HRD Shield keeps as evidence."""

    status = 415
    title = "Unsupported media type"


class RefusedFile(DomainError):
    """The file is of a kept kind but unsafe or malformed."""

    status = 422
    title = "Invalid input"


@dataclass(frozen=True)
class Sniffed:
    """What the bytes turned out to be; images carry the dimensions their header declares."""

    media_type: MediaType
    width: int | None = None
    height: int | None = None


def sniff(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Sniffed:
    """Return what `data` is, or raise UnsupportedFile/RefusedFile saying why it is not kept."""
    if data.startswith(_PNG_SIGNATURE):
        found = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        found = _jpeg(data)
    elif data.startswith((b"GIF87a", b"GIF89a")):
        found = _gif(data, max_pixels)
    elif data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        found = _webp(data)
    elif data.startswith(b"%PDF-"):
        _check_pdf(data)
        return Sniffed(MediaType.PDF)
    else:
        _check_text(data)
        return Sniffed(MediaType.TEXT)
    _check_dimensions(found, max_pixels)
    return found


def _check_dimensions(found: Sniffed, max_pixels: int) -> None:
    width, height = found.width or 0, found.height or 0
    if width < 1 or height < 1:
        raise RefusedFile(N_("the image declares no size; it is damaged"))
    if width * height > max_pixels:
        raise RefusedFile(
            N_(
                "the image declares %(width)sx%(height)s pixels, more than %(most)s in all; "
                "it may be a decompression bomb"
            ),
            width=width,
            height=height,
            most=f"{max_pixels:,}",
        )


def _png(data: bytes) -> Sniffed:
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise RefusedFile(N_("the PNG image has no header chunk; it is damaged"))
    if zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
        raise RefusedFile(N_("the PNG image's header is corrupt"))
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return Sniffed(MediaType.PNG, width, height)


def _jpeg(data: bytes) -> Sniffed:
    position = 2
    for _ in range(_JPEG_MAX_SEGMENTS):  # real files reach the frame header in a few dozen
        found = _JPEG_MARKER.match(data, position)  # fill bytes (0xFF) may precede a marker
        if found is None:
            break
        marker, position = found[1][0], found.end()
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            break
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2:
            break
        if marker in _JPEG_SOF and position + 7 <= len(data):
            height = int.from_bytes(data[position + 3 : position + 5], "big")
            width = int.from_bytes(data[position + 5 : position + 7], "big")
            return Sniffed(MediaType.JPEG, width, height)
        position += length
    raise RefusedFile(N_("the JPEG image has no readable frame header; it is damaged"))


def _gif(data: bytes, max_pixels: int) -> Sniffed:
    if len(data) < 13:
        raise RefusedFile(N_("the GIF image is truncated"))
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    _check_gif_frames(data, max_pixels)
    return Sniffed(MediaType.GIF, width, height)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data) and data[position]:
        position += data[position] + 1
    return position + 1


def _check_gif_frames(data: bytes, max_pixels: int) -> None:
    """Refuse a GIF with one oversized frame, or frames adding up to far too many pixels."""
    position, total = 13, 0
    if data[10] & 0x80:  # global colour table
        position += 3 << ((data[10] & 0x07) + 1)
    while position < len(data):
        block = data[position]
        if block == 0x3B:  # trailer
            return
        if block == 0x21:  # extension: label, then sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 10 <= len(data):  # image descriptor
            frame = int.from_bytes(data[position + 5 : position + 7], "little") * int.from_bytes(
                data[position + 7 : position + 9], "little"
            )
            total += frame
            if frame > max_pixels or total > 20 * max_pixels:
                raise RefusedFile(
                    N_("the GIF animation is too large; it may be a decompression bomb")
                )
            packed = data[position + 9]
            position += 10
            if packed & 0x80:  # local colour table
                position += 3 << ((packed & 0x07) + 1)
            position = _skip_sub_blocks(data, position + 1)  # after the LZW minimum code size
        else:
            return  # truncated or trailing bytes: nothing more a decoder would draw


def _webp(data: bytes) -> Sniffed:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a" and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
    elif chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise RefusedFile(N_("the WebP image has no readable header; it is damaged"))
    return Sniffed(MediaType.WEBP, width, height)


def _pdf_names(chunk: bytes) -> set[bytes]:
    """Return every name in `chunk`, with #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    names = set()
    for raw in set(_PDF_NAME.findall(chunk)):
        names.add(_PDF_HEX_ESCAPE.sub(lambda match: bytes([int(match[1], 16)]), raw))
    return names


def _refuse_active_pdf(names: set[bytes]) -> None:
    found = sorted(name.decode("latin-1") for name in names & PDF_FORBIDDEN_NAMES)
    if found:
        raise RefusedFile(
            N_(
                "the PDF contains active content or attached files (%(names)s); print it to a "
                "new PDF or take screenshots instead"
            ),
            names="/" + ", /".join(found),
        )


def _check_pdf(data: bytes) -> None:
    names = _pdf_names(data)
    _refuse_active_pdf(names)
    if b"Encrypt" in names:
        raise RefusedFile(
            N_("the PDF is encrypted and cannot be checked; remove its password first")
        )
    if b"ObjStm" not in names:
        return  # every object is in the clear and was checked above
    budget = PDF_INFLATE_BUDGET
    for match in _PDF_STREAM.finditer(data):
        dictionary = _stream_dictionary(data, match.start())
        if b"ObjStm" not in dictionary:
            continue
        filters = dictionary & _PDF_FILTERS
        if not filters:
            continue  # uncompressed: already checked with the rest of the file
        if not filters <= _PDF_FLATE:
            raise RefusedFile(N_("the PDF packs objects in a way that cannot be checked"))
        inflated = _inflate(data, match.end(), budget)
        budget -= len(inflated)
        _refuse_active_pdf(_pdf_names(inflated))


def _stream_dictionary(data: bytes, stream_at: int) -> set[bytes]:
    """Return the names of the dictionary in front of the stream keyword at `stream_at`."""
    window = data[max(0, stream_at - 65536) : stream_at]
    starts = [match.end() for match in _PDF_OBJ.finditer(window)]
    return _pdf_names(window[starts[-1] :] if starts else window)


def _inflate(data: bytes, start: int, budget: int) -> bytes:
    inflater = zlib.decompressobj()
    output = bytearray()
    position = start
    try:
        while not inflater.eof and position < len(data):
            output += inflater.decompress(data[position : position + 65536], budget + 1)
            position += 65536 - len(inflater.unconsumed_tail)
            if len(output) > budget:
                raise RefusedFile(N_("the PDF is too complex to check for active content"))
    except zlib.error as error:
        raise RefusedFile(N_("the PDF has a damaged compressed object stream")) from error
    return bytes(output)


def _check_text(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\x00" in data[:8192]:
            raise _unsupported() from error
        raise RefusedFile(
            N_("text files must be in UTF-8; save it as UTF-8 and try again")
        ) from error
    if _TEXT_CONTROL.search(text):
        raise _unsupported()


def _unsupported() -> UnsupportedFile:
    return UnsupportedFile(
        N_(
            "HRD Shield keeps images (PNG, JPEG, GIF, WebP), PDF documents and plain UTF-8 text; "
            "this file is none of them"
        )
    )
