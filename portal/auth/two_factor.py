"""Two-factor sign-in with time-based one-time codes (TOTP, RFC 6238, via pyotp): any
authenticator app. Optional for everyone, required for vendor admins when
PORTAL_REQUIRE_ADMIN_2FA is on. Codes are checked against the portal's clock, one step either
side (clock drift of the phone), and a code is accepted once only (totp_last_step)."""
from __future__ import annotations

import pyotp
import segno
from markupsafe import Markup

from portal.core import clock
from portal.models import Role, User

ISSUER = "Channel Success Portal"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User) -> str:
    """The otpauth:// address an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(uri: str, title: str) -> Markup:
    """The otpauth address as an inline SVG QR code for the phone's camera (made here, nothing
    sent anywhere; an SVG of paths, no script or style)."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=4, border=4, title=title, light="#fff"))


def matching_step(secret: str, code: str) -> int | None:
    """The time step this code belongs to (now, or one step before or after), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    moment = clock.now()
    step = totp.timecode(moment)
    for offset in (0, -1, 1):
        if pyotp.utils.strings_equal(totp.at(moment, counter_offset=offset), code):
            return step + offset
    return None


def verify(user: User, code: str) -> bool:
    """Check a sign-in code for an enrolled person; a code already used (or an older one) is
    refused. Records the step; the caller commits."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def enrol(user: User, secret: str, code: str) -> bool:
    """Turn two-factor on with the secret the person's app now holds, proven by a code from it."""
    step = matching_step(secret, code)
    if step is None:
        return False
    user.totp_secret, user.totp_last_step = secret, step
    return True


def remove(user: User) -> None:
    """Two-factor off (by the person, or reset by a vendor admin after a lost phone): every
    session ends, so the next sign-in is a fresh one."""
    user.totp_secret = user.totp_last_step = None
    user.end_sessions()


def required_for(user: User, config) -> bool:
    return config.require_admin_2fa and user.role == Role.VENDOR_ADMIN
