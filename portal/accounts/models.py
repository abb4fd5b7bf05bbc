"""Partners (resellers) and their end-customer accounts, with the ARR history retention needs."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, inspect, insert, select, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates
from sqlalchemy.sql import false

from portal.core import clock
from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, among, enum_column

if TYPE_CHECKING:
    from portal.auth.models import User


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
    ACTIVE = "active"  # the adoption phase: the health model's adoption weights apply
    CHURNED = "churned"


class PhaseReason(str, enum.Enum):
    """Why an account last changed between onboarding and adoption (shown on its health card)."""

    GO_LIVE = "go_live"              # its go-live milestone was recorded done
    DAYS_AFTER_START = "days_after_start"  # the vendor's number of days after contract start passed
    SET_BY_RESELLER = "set_by_reseller"    # the reseller set the phase (form, file or API)


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
    tier: Mapped[PartnerTier] = mapped_column(enum_column(PartnerTier, "partner_tier"), default=PartnerTier.REGISTERED)
    status: Mapped[PartnerStatus] = mapped_column(enum_column(PartnerStatus, "partner_status"), default=PartnerStatus.ACTIVE)
    # Set by the partner admin: may a file or API upload with an unknown reference create the account?
    imports_create_accounts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    managers: Mapped[list["User"]] = relationship(secondary=partner_managers, back_populates="managed_partners")
    users: Mapped[list["User"]] = relationship(back_populates="partner", foreign_keys="User.partner_id")
    accounts: Mapped[list["Account"]] = relationship(back_populates="partner")

    @validates("code")
    def _normalise_code(self, _key: str, value: str) -> str:
        return value.strip().upper()

    def __repr__(self) -> str:
        return f"<Partner {self.code}>"


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
        # The accounts list's name order (listing.SORT_NAME, then id): its pages read from here by
        # keyset. PostgreSQL only: SQLite cannot reflect an index on an expression (nor needs one at its sizes).
        Index("ix_accounts_sort_name", text("lower(coalesce(name_kana, name))"), "id").ddl_if(dialect="postgresql"),
        # A partner's accounts edited since the nightly list of what is owed (cadence.owed_first).
        Index("ix_accounts_partner_id_updated_at", "partner_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # The reseller's own reference for the customer (its CRM id), unique per partner.
    reference: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # フリガナ: the reading of a Japanese name, which lists sort by (kanji order means nothing).
    name_kana: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[Segment] = mapped_column(enum_column(Segment, "account_segment"), index=True)
    plan: Mapped[str | None] = mapped_column(String(100))
    seats: Mapped[int] = mapped_column(Integer, default=0)
    arr_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    contract_start: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date, index=True)
    desired_outcome: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LifecycleStatus] = mapped_column(
        enum_column(LifecycleStatus, "account_status"), default=LifecycleStatus.ONBOARDING
    )
    churned_on: Mapped[date | None] = mapped_column(Date)
    # When and why the account last moved between onboarding and adoption (None: never moved).
    phase_changed_on: Mapped[date | None] = mapped_column(Date)
    phase_reason: Mapped[PhaseReason | None] = mapped_column(enum_column(PhaseReason, "phase_reason"))
    churn_reason: Mapped[str | None] = mapped_column(Text)
    # The reseller's person responsible for the customer (a user of the same partner).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="accounts")
    owner: Mapped["User | None"] = relationship(foreign_keys=[owner_id])

    @validates("reference")
    def _strip_reference(self, _key: str, value: str) -> str:
        return value.strip()

    def __repr__(self) -> str:
        return f"<Account {self.reference} of partner {self.partner_id}>"


class AccountArr(Base):
    """ARR from a date on: the history behind gross and net revenue retention."""

    __tablename__ = "account_arr_history"
    __table_args__ = (UniqueConstraint("account_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    effective_on: Mapped[date] = mapped_column(Date)
    arr_jpy: Mapped[int] = mapped_column(BigInteger)

    account: Mapped["Account"] = relationship()


def record_arr_changes(session: Session, _context, _instances) -> None:
    """Every ARR an account has had, from when: revenue retention needs the past, not just today.
    A before_flush event of the portal's sessions (portal.models.make_session_factory). Set-wise
    for the accounts already stored (a file changes many): their rows of the day in one query,
    the new ones in one INSERT."""
    changed: list[tuple[Account, date]] = []
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Account):
            continue
        if obj in session.new:
            changed.append((obj, obj.contract_start or clock.today()))
        elif inspect(obj).attrs.arr_jpy.history.has_changes():
            changed.append((obj, clock.today()))
    record_arr(session, changed)


def record_arr(session: Session, changed: list[tuple[Account, date]]) -> None:
    """Each account's ARR as of its day: the day's row updated, or added (new accounts by the ORM)."""
    stored = [(obj, day) for obj, day in changed if obj.id is not None]
    with session.no_autoflush:
        found = {(row.account_id, row.effective_on): row for row in session.scalars(select(AccountArr).where(
            among(session, AccountArr.account_id, sorted({obj.id for obj, _ in stored})), AccountArr.effective_on.in_({day for _, day in stored})))
        } if stored else {}
        added: dict[tuple[int, date], int] = {}
        for obj, day in changed:
            row = found.get((obj.id, day))
            if row is not None:
                row.arr_jpy = obj.arr_jpy or 0
            elif obj.id is not None:
                added[(obj.id, day)] = obj.arr_jpy or 0
            else:
                session.add(AccountArr(account=obj, effective_on=day, arr_jpy=obj.arr_jpy or 0))
        if added:
            session.execute(insert(AccountArr), [{"account_id": account_id, "effective_on": day, "arr_jpy": arr}
                                                 for (account_id, day), arr in added.items()])
