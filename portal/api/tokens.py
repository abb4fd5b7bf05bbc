"""API tokens: made by a partner admin, shown once, stored as a SHA-256 hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.clock import utcnow
from portal.core.scoping import visible_to
from portal.models import LOCKED_OUT_PARTNER_STATUSES, ApiToken, User

PREFIX = "csp_"
# "Last used" is shown to the minute: a token's use is written at most once a minute, so that an
# integration's every read is not also a write (and a commit that waits for the disk).
LAST_USED_PRECISION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user's partner; the secret is returned once and never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(partner_id=user.partner_id, name=name, prefix=secret[:12], token_hash=_hash(secret), created_by_id=user.id)
    session.add(token)
    session.flush()
    audit.record(session, AuditAction.TOKEN_CREATED, actor=user, partner_id=token.partner_id, target=token,
                 target_label=f"{token.name} ({token.prefix}…)")
    return token, secret


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token for this secret, if any; records when it was last used (to the minute). A token stops
    working while its partner is suspended or terminated, and when the person who made it is
    deactivated (a partner admin who leaves takes their integrations' access with them)."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(
        select(ApiToken).options(joinedload(ApiToken.partner), joinedload(ApiToken.created_by))
        .where(ApiToken.token_hash == _hash(secret), ApiToken.revoked_at.is_(None))
    )
    if token is None or token.partner.status in LOCKED_OUT_PARTNER_STATUSES:
        return None
    if token.created_by is not None and not token.created_by.active:
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_PRECISION:
        token.last_used_at = now
    return token


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The tokens of the user's partner, newest first (the partner admin's settings page)."""
    return list(session.scalars(visible_to(user, ApiToken).options(selectinload(ApiToken.created_by))
                                .order_by(ApiToken.created_at.desc())))


def revoke(session: Session, token: ApiToken, *, actor: User) -> bool:
    """Stop a token from working; False if it was already revoked. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record(session, AuditAction.TOKEN_REVOKED, actor=actor, partner_id=token.partner_id, target=token,
                 target_label=f"{token.name} ({token.prefix}…)")
    return True
