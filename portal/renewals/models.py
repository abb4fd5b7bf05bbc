"""Renewal outcomes as events. A renewal is recorded, not inferred from a renewal date less a
year: the backtests and the fitted health model learn from these rows, and retention reads them."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column


class OutcomeKind(str, enum.Enum):
    RENEWED = "renewed"
    CHURNED = "churned"


class ChurnReason(Base):
    """The vendor-kept list a churn outcome picks its reason from (its free text says the rest)."""

    __tablename__ = "churn_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_en: Mapped[str] = mapped_column(String(120))
    label_ja: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RenewalOutcome(Base):
    """What happened at the end of one contract term of an account: one row per (account, term end).

    `term_end` is the renewal date the term had; `decided_on` is when it was decided (the churn
    date, or the day the renewal took effect). A renewal carries the new renewal date and ARR, so
    flat, expanded or contracted is `arr_after_jpy` against `arr_before_jpy`; a churn has ARR 0
    after. `inferred` marks rows the migration derived from data kept before outcomes were
    recorded (a renewal date less a year): shown as inferred, never mistaken for a recorded one.
    """

    __tablename__ = "renewal_outcomes"
    __table_args__ = (
        UniqueConstraint("account_id", "term_end"),
        CheckConstraint("kind = 'churned' OR new_renewal_date IS NOT NULL OR inferred", name="renewal_has_next_date"),
        CheckConstraint("kind = 'renewed' OR arr_after_jpy = 0", name="churn_leaves_no_arr"),
        CheckConstraint("arr_before_jpy >= 0 AND arr_after_jpy >= 0", name="outcome_arr_not_negative"),
        Index("ix_renewal_outcomes_decided_on", "decided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    term_end: Mapped[date] = mapped_column(Date)
    kind: Mapped[OutcomeKind] = mapped_column(enum_column(OutcomeKind, "outcome_kind"))
    decided_on: Mapped[date] = mapped_column(Date)
    new_renewal_date: Mapped[date | None] = mapped_column(Date)
    arr_before_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    arr_after_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    churn_reason_id: Mapped[int | None] = mapped_column(ForeignKey("churn_reasons.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()
    churn_reason: Mapped[ChurnReason | None] = relationship()

    @property
    def churned(self) -> bool:
        return self.kind == OutcomeKind.CHURNED
