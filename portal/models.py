"""The tenant-scoped data model: partners (resellers), their users and their end-customer accounts."""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal.db import Base, utcnow


def _enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enums are stored as their value in a VARCHAR with a CHECK, portable across SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


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


class PartnerTier(str, enum.Enum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    REGISTERED = "registered"


class PartnerStatus(str, enum.Enum):
    ACTIVE = "active"
    PROSPECT = "prospect"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Segment(str, enum.Enum):
    HIGH_TOUCH = "high_touch"
    LOW_TOUCH = "low_touch"
    TECH_TOUCH = "tech_touch"


class LifecycleStatus(str, enum.Enum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    CHURNED = "churned"


partner_managers = Table(
    "partner_managers",
    Base.metadata,
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Partner(Base):
    """A reseller (代理店): it signs, onboards and keeps the end customers."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    tier: Mapped[PartnerTier] = mapped_column(_enum(PartnerTier, "partner_tier"), default=PartnerTier.REGISTERED)
    status: Mapped[PartnerStatus] = mapped_column(_enum(PartnerStatus, "partner_status"), default=PartnerStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    managers: Mapped[list["User"]] = relationship(secondary=partner_managers, back_populates="managed_partners")
    users: Mapped[list["User"]] = relationship(back_populates="partner", foreign_keys="User.partner_id")
    accounts: Mapped[list["Account"]] = relationship(back_populates="partner")

    @validates("code")
    def _normalise_code(self, _key: str, value: str) -> str:
        return value.strip().upper()

    def __repr__(self) -> str:
        return f"<Partner {self.code}>"


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
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: follow the browser's language.
    language: Mapped[str | None] = mapped_column(String(8))
    # Flask-Login's id: rotated on password change, which logs out every other session.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_urlsafe(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    partner: Mapped[Partner | None] = relationship(back_populates="users", foreign_keys=[partner_id])
    managed_partners: Mapped[list[Partner]] = relationship(secondary=partner_managers, back_populates="managers")

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = secrets.token_urlsafe(32)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active and (self.partner is None or self.partner.status != PartnerStatus.TERMINATED)

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

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


def normalise_email(value: str) -> str:
    return value.strip().lower()


class Account(Base):
    """An end customer of the vendor, served by exactly one reseller."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("partner_id", "reference"),
        CheckConstraint("seats >= 0", name="seats_not_negative"),
        CheckConstraint("arr_jpy >= 0", name="arr_not_negative"),
        CheckConstraint(
            "(status = 'churned') = (churned_on IS NOT NULL)", name="churned_on_iff_churned"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # The reseller's own reference for the customer (its CRM id), unique per partner.
    reference: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[Segment] = mapped_column(_enum(Segment, "account_segment"), index=True)
    plan: Mapped[str | None] = mapped_column(String(100))
    seats: Mapped[int] = mapped_column(Integer, default=0)
    arr_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    contract_start: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date, index=True)
    desired_outcome: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LifecycleStatus] = mapped_column(
        _enum(LifecycleStatus, "account_status"), default=LifecycleStatus.ONBOARDING
    )
    churned_on: Mapped[date | None] = mapped_column(Date)
    churn_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="accounts")

    @validates("reference")
    def _strip_reference(self, _key: str, value: str) -> str:
        return value.strip()

    def __repr__(self) -> str:
        return f"<Account {self.reference} of partner {self.partner_id}>"
