"""Blurred previews of image evidence: the shape of an image, before anyone chooses to see it.

Reviewer wellbeing asks that a violent or sexual image never meets the eye unannounced, yet a
reviewer needs some idea of what a file is to sort it. A preview is the verified original decoded
by Pillow in memory, shrunk to a few dozen pixels and blurred, then encoded as PNG in memory: it
is made on every request and never written to disk or cached. Pillow's decompression-bomb limit
is set to the intake limit (`sniff.MAX_PIXELS`) and its warning treated as a refusal, so an image
that would take too much memory to decode is refused with a clear error instead.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from hrdshield.cases.evidence.models import Evidence
from hrdshield.cases.evidence.sniff import MAX_PIXELS
from hrdshield.errors import N_, DomainError

EDGE = 32  # pixels on the longest side of a preview: enough for a shape, too few for a face
BLUR_RADIUS = 2.5  # on top of the shrinking, so even a drawing's lines run together
SHOWN_EDGE = 160  # CSS pixels the preview is drawn at on the list (the browser blurs it further)

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # above this Pillow warns, above twice this it refuses


class PreviewRefused(DomainError):
    """The image cannot safely be decoded for a preview; it can still be downloaded."""

    status = 422
    title = "Invalid input"


def previewable(evidence: Evidence) -> bool:
    """Return whether an item is an image small enough, by its header, to decode for a preview."""
    if not evidence.content_type.is_image or evidence.deleted_at is not None:
        return False
    pixels = (evidence.width or 0) * (evidence.height or 0)
    return 0 < pixels <= (Image.MAX_IMAGE_PIXELS or MAX_PIXELS)


def shown_size(evidence: Evidence) -> tuple[int, int]:
    """Return the width and height a preview is drawn at, keeping the image's proportions."""
    width, height = evidence.width or 1, evidence.height or 1
    scale = SHOWN_EDGE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def blurred(data: bytes) -> bytes:
    """Return a small, strongly blurred PNG of an image's first frame, made in memory."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (EDGE * 4, EDGE * 4))  # JPEG: decode at a fraction of its size
                frame = ImageOps.exif_transpose(image).convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PreviewRefused(
            N_("the image has too many pixels to decode safely; download it to examine it")
        ) from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise PreviewRefused(
            N_("the image cannot be decoded for a preview; download it to examine it")
        ) from error
    frame.thumbnail((EDGE, EDGE), Image.Resampling.BOX)
    softened = frame.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    output = io.BytesIO()
    softened.save(output, format="PNG")
    return output.getvalue()
