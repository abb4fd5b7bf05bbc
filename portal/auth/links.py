"""Signed links that act for a person without a login: the password reset link, and (through
portal.email.outbox) the preference links in emails. Each carries a fingerprint of the person's
current password hash, so it dies when the password changes: a reset link works once, and a
password change ends every link sent before."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from portal.core import clock
from portal.models import User

RESET_MAX_AGE = timedelta(minutes=30)


def password_fingerprint(config, user: User) -> str:
    """A short keyed digest of the password hash: changes with the password, reveals nothing of it."""
    digest = hmac.new(config.secret_key.encode(), (user.password_hash or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


class _ClockSigner(TimestampSigner):
    """Stamps and ages links by the portal's clock (which tests move), not the system's."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def timed_serializer(config, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_key, salt=salt, signer=_ClockSigner)


def person_token(config, salt: str, user: User) -> str:
    """A signed, timed token naming a person and their current password's fingerprint."""
    return timed_serializer(config, salt).dumps([user.id, password_fingerprint(config, user)])


def person_from_token(config, session: Session, salt: str, token: str, max_age: timedelta) -> User | None:
    """The person a token names, if it is at most `max_age` old and their password is still the
    one it was made for; else None."""
    try:
        value = timed_serializer(config, salt).loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        return None
    user = session.get(User, value[0])
    if user is None or not hmac.compare_digest(password_fingerprint(config, user), value[1]):
        return None
    return user


def reset_token(config, user: User) -> str:
    return person_token(config, "password-reset", user)


def user_for_reset(config, session: Session, token: str) -> User | None:
    """The person a reset link is for, if the link is at most 30 minutes old, unused (the
    password is the one it was made for) and the login still active; else None."""
    user = person_from_token(config, session, "password-reset", token, RESET_MAX_AGE)
    return user if user is not None and user.is_active else None
