"""People who log in: vendor staff and reseller staff, with their roles and email preferences."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.sql import true
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column
from portal.accounts.models import PartnerStatus, partner_managers

if TYPE_CHECKING:
    from portal.accounts.models import Partner


# A partner in these states has no working logins or API tokens.
LOCKED_OUT_PARTNER_STATUSES = (PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED)


class Role(str, enum.Enum):
    VENDOR_ADMIN = "vendor_admin"
    PARTNER_MANAGER = "partner_manager"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_USER = "partner_user"

    @property
    def is_vendor(self) -> bool:
        return self in (Role.VENDOR_ADMIN, Role.PARTNER_MANAGER)


VENDOR_ROLES = (Role.VENDOR_ADMIN, Role.PARTNER_MANAGER)


PARTNER_ROLES = (Role.PARTNER_ADMIN, Role.PARTNER_USER)


class User(Base):
    """A person who logs in: vendor staff (no partner) or reseller staff (exactly one partner)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('vendor_admin', 'partner_manager') AND partner_id IS NULL)"
            " OR (role IN ('partner_admin', 'partner_user') AND partner_id IS NOT NULL)",
            name="partner_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: follow the browser's language.
    language: Mapped[str | None] = mapped_column(String(8))
    # Flask-Login's id: rotated on logout, "log out everywhere" and password change, which ends
    # every session (and remember-me cookie) made with the old one, wherever the cookie went.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_urlsafe(32))
    # Two-factor sign-in (TOTP, RFC 6238): the base32 secret once enrolment is confirmed, and the
    # last time step a code was accepted for, so that one code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Email preferences: each kind on or off, and when the weekly emails arrive in the person's time zone.
    email_digest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    email_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    email_alerts: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 = Monday
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo", server_default="Asia/Tokyo")

    partner: Mapped[Partner | None] = relationship(back_populates="users", foreign_keys=[partner_id])
    managed_partners: Mapped[list[Partner]] = relationship(secondary=partner_managers, back_populates="managers")

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """A new session token: every cookie holding the old one no longer logs anyone in."""
        self.session_token = secrets.token_urlsafe(32)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        """Deactivated people, and the staff of a suspended or terminated partner, can neither log
        in nor keep using a session opened before."""
        return self.active and (self.partner is None or self.partner.status not in LOCKED_OUT_PARTNER_STATUSES)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_vendor(self) -> bool:
        return self.role.is_vendor

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class ThrottleScope(str, enum.Enum):
    ACCOUNT = "account"  # the email typed, known or not (so a lock says nothing about existence)
    ADDRESS = "address"  # the client's address


class LoginThrottle(Base):
    """Failed logins counted in the database, so every gunicorn worker and a restart see the same
    count: one row per typed email and per client address, removed when it no longer matters."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[ThrottleScope] = mapped_column(enum_column(ThrottleScope, "throttle_scope"))
    key: Mapped[str] = mapped_column(String(254))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No attempt is checked before this moment (the growing delay, then the lock).
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


def normalise_email(value: str) -> str:
    return value.strip().lower()
