"""Health scores and scorecards (computed by the aggregation job), its runs, alerts and tier rules."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint, JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column
from portal.accounts.models import PartnerTier
from portal.reporting.models import Sentiment

if TYPE_CHECKING:
    from portal.accounts.models import Account
    from portal.auth.models import User


class Band(str, enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class HealthModel(Base):
    """Weights, band thresholds and the coverage a score needs; every change is a new version,
    used from the next aggregation."""

    __tablename__ = "health_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    # {"onboarding": {component: weight}, "adoption": {component: weight}}
    weights: Mapped[dict] = mapped_column(JSON)
    green_min: Mapped[int] = mapped_column(Integer)
    yellow_min: Mapped[int] = mapped_column(Integer)
    # The share (%) of the phase's total weight the components present must carry for a score.
    min_coverage_pct: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # Support load per 100 seats: full marks at or below "ok", none at or above "bad", linear between.
    tickets_per_100_ok: Mapped[float] = mapped_column(Float, default=5.0, server_default="5")
    tickets_per_100_bad: Mapped[float] = mapped_column(Float, default=20.0, server_default="20")
    escalations_per_100_ok: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    escalations_per_100_bad: Mapped[float] = mapped_column(Float, default=2.5, server_default="2.5")
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class AccountScore(Base):
    """One account's health on one day: score, band, components and the inputs behind the reasons."""

    __tablename__ = "account_scores"
    __table_args__ = (
        UniqueConstraint("day", "account_id"),
        # An account's history, newest first: its previous band is one probe however many days are kept.
        Index("ix_account_scores_account_id_day", "account_id", "day"),
        # A partner's renewals of the day in date order (the scorecard's first ones, and their count).
        Index("ix_account_scores_day_partner_id_renewal_date", "day", "partner_id", "renewal_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # found by the unique (day, account_id) index
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    model_version: Mapped[int] = mapped_column(Integer)
    onboarding_phase: Mapped[bool] = mapped_column(Boolean)
    arr_jpy: Mapped[int] = mapped_column(BigInteger)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    score: Mapped[int | None] = mapped_column(Integer)
    # The share (%, rounded down) of the phase's weight carried by the components present;
    # below the model's min_coverage_pct there is no score and no band ("Not enough data").
    coverage_pct: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[Band | None] = mapped_column(enum_column(Band, "score_band"))
    # The band the objective components alone give (no reseller sentiment): the optimism check.
    objective_band: Mapped[Band | None] = mapped_column(enum_column(Band, "objective_band"))
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # Components, 0-100, NULL when there is no data for them.
    usage: Mapped[int | None] = mapped_column(Integer)
    onboarding: Mapped[int | None] = mapped_column(Integer)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    effort: Mapped[int | None] = mapped_column(Integer)
    sentiment_score: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[int | None] = mapped_column(Integer)
    freshness: Mapped[int | None] = mapped_column(Integer)
    # Inputs, kept so every score can say why.
    check_in_id: Mapped[int | None] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer, default=0)
    active_users: Mapped[int | None] = mapped_column(Integer)
    features_used: Mapped[int | None] = mapped_column(Integer)
    features_total: Mapped[int | None] = mapped_column(Integer)
    # Average adoption of the active features, 0-100 (levels and percentages), NULL when not reported.
    feature_adoption_pct: Mapped[float | None] = mapped_column(Float)
    nps: Mapped[int | None] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[float | None] = mapped_column(Float)
    ces: Mapped[int | None] = mapped_column(Integer)
    open_escalations: Mapped[int | None] = mapped_column(Integer)
    open_tickets: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[Sentiment | None] = mapped_column(enum_column(Sentiment, "score_sentiment"))
    outcome_progress: Mapped[int | None] = mapped_column(Integer)
    days_since_report: Mapped[int | None] = mapped_column(Integer)
    milestones_due: Mapped[int] = mapped_column(Integer, default=0)
    milestones_on_time: Mapped[int] = mapped_column(Integer, default=0)
    days_late_max: Mapped[int | None] = mapped_column(Integer)
    ttfv_days: Mapped[int | None] = mapped_column(Integer)

    account: Mapped[Account] = relationship()


class PartnerScorecard(Base):
    """A partner's figures on one day; partner_id NULL is the whole channel. See portal/figures.py."""

    __tablename__ = "partner_scorecards"
    __table_args__ = (UniqueConstraint("day", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    accounts: Mapped[int] = mapped_column(Integer)
    arr_jpy: Mapped[int] = mapped_column(BigInteger)
    green_accounts: Mapped[int] = mapped_column(Integer)
    yellow_accounts: Mapped[int] = mapped_column(Integer)
    red_accounts: Mapped[int] = mapped_column(Integer)
    unscored_accounts: Mapped[int] = mapped_column(Integer)
    green_arr_jpy: Mapped[int] = mapped_column(BigInteger)
    yellow_arr_jpy: Mapped[int] = mapped_column(BigInteger)
    red_arr_jpy: Mapped[int] = mapped_column(BigInteger)
    # "Not enough data": kept apart from the bands in every figure, never added to green.
    unscored_arr_jpy: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    average_health: Mapped[float | None] = mapped_column(Float)
    median_health: Mapped[float | None] = mapped_column(Float)
    onboarding_on_time_pct: Mapped[float | None] = mapped_column(Float)
    median_ttfv_days: Mapped[float | None] = mapped_column(Float)
    reporting_compliance_pct: Mapped[float | None] = mapped_column(Float)
    nps: Mapped[float | None] = mapped_column(Float)
    renewal_rate_pct: Mapped[float | None] = mapped_column(Float)
    grr_pct: Mapped[float | None] = mapped_column(Float)
    nrr_pct: Mapped[float | None] = mapped_column(Float)
    churned_arr_jpy: Mapped[int] = mapped_column(BigInteger)
    at_risk_arr_jpy: Mapped[int] = mapped_column(BigInteger)
    renewals_90_green: Mapped[int] = mapped_column(Integer)
    renewals_90_yellow: Mapped[int] = mapped_column(Integer)
    renewals_90_red: Mapped[int] = mapped_column(Integer)
    renewals_90_unscored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The optimism check's counts (figures.optimism_parts), written by the nightly run after the
    # figures above; NULL on a snapshot written before they were stored (then counted when read).
    optimism_green_reports: Mapped[int | None] = mapped_column(Integer)
    optimism_green_but_red: Mapped[int | None] = mapped_column(Integer)
    optimism_green_but_not_green: Mapped[int | None] = mapped_column(Integer)
    optimism_churned: Mapped[int | None] = mapped_column(Integer)
    optimism_churned_while_green: Mapped[int | None] = mapped_column(Integer)


class AggregationDay(Base):
    """The claim: one row per day, taken before any work, so concurrent runs make one."""

    __tablename__ = "aggregation_days"
    __table_args__ = (CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_token: Mapped[str] = mapped_column(String(40))
    # The running job touches this every few seconds: a claim whose heartbeat is older than
    # PORTAL_JOB_STALE_SECONDS belongs to a dead run (kill -9, machine lost) and is taken over.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the day's current snapshot was committed; set while a recompute of it runs or dies,
    # so the day's scorecards stay usable (and weekly digests go out) meanwhile.
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AggregationRequest(Base):
    """"Run now" from a web page: queued here and run by the scheduler process within seconds,
    never inside the request (a run takes the database's write lock and can take minutes)."""

    __tablename__ = "aggregation_requests"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)  # queued | running | done | failed
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("aggregation_runs.id", ondelete="SET NULL"))
    message: Mapped[str | None] = mapped_column(Text)


class AggregationRun(Base):
    """Job history: every attempt, with what it did or why it failed."""

    __tablename__ = "aggregation_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'failed', 'skipped')", name="status"),
        CheckConstraint("\"trigger\" IN ('schedule', 'cli', 'web')", name="trigger"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | cli | web
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed | skipped
    account_rows: Mapped[int | None] = mapped_column(Integer)
    alerts_raised: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class AlertKind(str, enum.Enum):
    TURNED_RED = "turned_red"
    RENEWAL_AT_RISK = "renewal_at_risk"
    CHECK_IN_OVERDUE = "check_in_overdue"


class Alert(Base):
    """Raised by the aggregation, once per occurrence: the subject says which occurrence."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("kind", "account_id", "subject"),
        # A partner's latest alerts (the scorecard's first ones): read newest first, joined only for those.
        Index("ix_alerts_partner_id_raised_on", "partner_id", "raised_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, "alert_kind"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # Which occurrence: the day the account turned red, the renewal date, the overdue period.
    subject: Mapped[str] = mapped_column(String(40))
    raised_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()


class TierRule(Base):
    """A partner tier's threshold on one scorecard figure: the tier needs figure >= minimum."""

    __tablename__ = "tier_rules"
    __table_args__ = (UniqueConstraint("tier", "figure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[PartnerTier] = mapped_column(enum_column(PartnerTier, "rule_tier"))
    figure: Mapped[str] = mapped_column(String(40))
    minimum: Mapped[float] = mapped_column(Float)


class ModelFit(Base):
    """Job history of "Propose weights from outcomes": every fit, queued from the Health model page
    (run by the scheduler process) or run by `portal model fit`, with its proposal and backtests
    (portal/scoring/fit.py) or the reason it refused. A proposal is a draft: nothing is saved from it."""

    __tablename__ = "model_fits"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')", name="status"),
        CheckConstraint("\"trigger\" IN ('cli', 'web')", name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # queued | running | done | refused | failed
    trigger: Mapped[str] = mapped_column(String(20))  # cli | web
    phase: Mapped[str | None] = mapped_column(String(20))  # one phase only; NULL: both
    model_version: Mapped[int] = mapped_column(Integer)  # the model the proposal was compared with
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcomes: Mapped[int | None] = mapped_column(Integer)  # outcomes with a snapshot in the lead window
    result: Mapped[dict | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)  # why it refused or failed

    requested_by: Mapped[User | None] = relationship()
