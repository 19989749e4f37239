"""Time-based one-time passwords (RFC 6238) with replay protection."""

from __future__ import annotations

import pyotp
import segno

from hrdshield import clock

ISSUER = "HRD Shield"
STEP_SECONDS = 30


def new_secret() -> str:
    """Return a fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account_label: str) -> str:
    """Return the otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_label, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """Render `uri` as an inline SVG QR code (no script, no external image)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def verify(secret: str, code: str, last_used_step: int | None) -> int | None:
    """Return the matched time step if `code` is valid and not replayed, else None.

    One step of clock drift either way is accepted; a step already used is refused so an observed
    code cannot be replayed.
    """
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(clock.now().timestamp()) // STEP_SECONDS
    for step in (current, current - 1, current + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, step: int | None = None) -> str:
    """Return the code for `step` (default: now); used by tests and the demo."""
    if step is None:
        step = int(clock.now().timestamp()) // STEP_SECONDS
    return pyotp.TOTP(secret).generate_otp(step)
