"""What resellers tell the vendor about their customers: check-ins, milestones, stakeholders,
the voice of the customer, imports, the change log, and the vendor's reporting rules."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, Column, Date, Float, ForeignKey, Index, Integer, LargeBinary,
    String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import false, true

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column
from portal.accounts.models import Segment

if TYPE_CHECKING:
    from portal.accounts.models import Account
    from portal.auth.models import User


class Sentiment(str, enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class RenewalLikelihood(str, enum.Enum):
    LIKELY = "likely"
    UNSURE = "unsure"
    UNLIKELY = "unlikely"


class RiskType(str, enum.Enum):
    BUDGET_CUT = "budget_cut"
    CHAMPION_LEFT = "champion_left"
    COMPETITOR = "competitor"
    LOW_USAGE = "low_usage"
    PRODUCT_GAP = "product_gap"
    OTHER = "other"


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class VocKind(str, enum.Enum):
    REQUEST = "request"
    COMPLAINT = "complaint"
    PRAISE = "praise"


class VocStatus(str, enum.Enum):
    """Where the vendor stands on what a customer said; the reseller sees it, with the answer."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    SHIPPED = "shipped"
    DECLINED = "declined"


class StakeholderRole(str, enum.Enum):
    DECISION_MAKER = "decision_maker"
    ADMINISTRATOR = "administrator"
    END_USER = "end_user"
    OTHER = "other"


class MilestoneStatus(str, enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


class ReportSource(str, enum.Enum):
    FORM = "form"
    FILE = "file"
    API = "api"


class ReportingCadence(Base):
    """How often a reseller must report on an account of a segment (set by the vendor admin)."""

    __tablename__ = "reporting_cadences"
    __table_args__ = (
        CheckConstraint("months IN (1, 2, 3, 4, 6, 12)", name="months_divides_year"),
        CheckConstraint("grace_days >= 0 AND grace_days <= 60", name="grace_days_range"),
    )

    segment: Mapped[Segment] = mapped_column(enum_column(Segment, "cadence_segment"), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    # Days after the period ends before a missing check-in counts as overdue.
    grace_days: Mapped[int] = mapped_column(Integer, default=10)


class ReportingSettings(Base):
    """The vendor's lifecycle and overdue settings: one row (id 1); defaults when there is none."""

    __tablename__ = "reporting_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("adoption_after_days IS NULL OR adoption_after_days BETWEEN 1 AND 3650", name="adoption_after_days_range"),
        CheckConstraint("recovered_after_days BETWEEN 1 AND 365", name="recovered_after_days_range"),
        CheckConstraint("reopen_within_days BETWEEN 0 AND 365", name="reopen_within_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    # An onboarding account moves to adoption this many days after contract start (None: only by go-live).
    adoption_after_days: Mapped[int | None] = mapped_column(Integer, default=120)
    # No check-in counts as overdue for a period that ended before this day (e.g. the portal's launch).
    overdue_from: Mapped[date | None] = mapped_column(Date)
    # An item about a red account closes once the account has been out of red this many days.
    recovered_after_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    # A closed alert item reopens (instead of a new one) if its condition returns within this many days.
    reopen_within_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


class OwedCheckIn(Base):
    """A check-in an account owed when the nightly run last listed them (cadence.store_owed): the
    pages read a partner's first ones from here, in due-date order, instead of every account's
    history. Good only for the periods its stamp names; accounts changed since are read live."""

    __tablename__ = "owed_check_ins"
    __table_args__ = (Index("ix_owed_check_ins_partner_id_due_on", "partner_id", "due_on", "account_name", "account_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    partner_id: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    account_name: Mapped[str] = mapped_column(String(200))  # the lists' second sort key, in the index


class OwedStamp(Base):
    """For which periods owed_check_ins were listed, and the last check-in and account they saw:
    one row (id 1). Later check-ins and accounts, and accounts edited since, are read live."""

    __tablename__ = "owed_stamps"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    periods: Mapped[str] = mapped_column(Text)
    last_check_in_id: Mapped[int] = mapped_column(Integer)
    last_account_id: Mapped[int] = mapped_column(Integer)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Raised when rows leave the list between two nightly runs (an account moved to another
    # partner): the counts kept per process for the list are stale from then on.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Feature(Base):
    """A key product feature whose adoption resellers report (vendor-defined)."""

    __tablename__ = "features"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MilestoneTemplate(Base):
    """One step of the onboarding project every account goes through (vendor-defined)."""

    __tablename__ = "milestone_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Planned date = contract start + this many days, unless the reseller plans otherwise.
    due_after_days: Mapped[int] = mapped_column(Integer, default=0)
    # Completing this milestone is the customer's first value (time to first value ends here).
    marks_first_value: Mapped[bool] = mapped_column(Boolean, default=False)
    # Completing this milestone moves the account from onboarding to adoption.
    marks_go_live: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Milestone(Base):
    """An account's progress on one onboarding step; changes are kept in the change log."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("account_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("milestone_templates.id", ondelete="RESTRICT"))
    status: Mapped[MilestoneStatus] = mapped_column(enum_column(MilestoneStatus, "milestone_status"), default=MilestoneStatus.PLANNED)
    planned_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    template: Mapped[MilestoneTemplate] = relationship()


class CheckIn(Base):
    """A health check-in for one account and reporting period.

    Reports are history: a correction is a new row with the next version number; the highest
    version of an (account, period) is the one in force, and the older ones stay.
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        UniqueConstraint("account_id", "period_start", "version"),
        # The VoC inbox joins its items to their check-ins (the submission time it sorts by) from
        # this index alone; without it PostgreSQL scans every check-in to join a few thousand items.
        Index("ix_check_ins_id_version", "id", "account_id", "period_start", "version", "submitted_at"),
        # The VoC inbox's newest-first order: its first page walks this and stops after a page.
        Index("ix_check_ins_submitted_at_id", "submitted_at", "id"),
        CheckConstraint("nps IS NULL OR (nps BETWEEN 0 AND 10)", name="nps_range"),
        CheckConstraint("nps_score IS NULL OR (nps_score BETWEEN -100 AND 100)", name="nps_score_range"),
        CheckConstraint("nps IS NULL OR nps_score IS NULL", name="nps_answer_or_score"),
        CheckConstraint("csat IS NULL OR (csat BETWEEN 1 AND 5)", name="csat_range"),
        CheckConstraint("ces IS NULL OR (ces BETWEEN 1 AND 7)", name="ces_range"),
        CheckConstraint("outcome_progress IS NULL OR (outcome_progress BETWEEN 0 AND 100)", name="progress_range"),
        CheckConstraint("active_users IS NULL OR active_users >= 0", name="active_users_not_negative"),
        CheckConstraint("open_tickets >= 0 AND open_escalations >= 0", name="tickets_not_negative"),
        CheckConstraint("expansion_jpy >= 0", name="expansion_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Denormalised from the account so that scoping and aggregation need no join.
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[ReportSource] = mapped_column(enum_column(ReportSource, "report_source"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))

    active_users: Mapped[int | None] = mapped_column(Integer)
    # NPS as resellers have it: one customer's 0-10 answer (nps) or a survey's score -100..100 (nps_score).
    nps: Mapped[int | None] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    # A survey average, 1.0-5.0 with one decimal (4.2), not only a single answer.
    csat: Mapped[float | None] = mapped_column(Float)
    ces: Mapped[int | None] = mapped_column(Integer)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    open_escalations: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[Sentiment] = mapped_column(enum_column(Sentiment, "sentiment"))
    sentiment_reason: Mapped[str | None] = mapped_column(Text)
    outcome_progress: Mapped[int | None] = mapped_column(Integer)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    renewal_likelihood: Mapped[RenewalLikelihood | None] = mapped_column(enum_column(RenewalLikelihood, "renewal_likelihood"))
    expansion_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    account: Mapped[Account] = relationship()
    submitted_by: Mapped[User | None] = relationship()
    # Read-only list of the features reported; feature_adoptions says how far each is adopted.
    features: Mapped[list[Feature]] = relationship(secondary="check_in_features", order_by="Feature.position", viewonly=True)
    feature_adoptions: Mapped[list["CheckInFeature"]] = relationship(cascade="all, delete-orphan", order_by="CheckInFeature.feature_id")
    risks: Mapped[list["CheckInRisk"]] = relationship(cascade="all, delete-orphan", order_by="CheckInRisk.id")
    voc_items: Mapped[list["VocItem"]] = relationship(back_populates="check_in", cascade="all, delete-orphan", order_by="VocItem.id")


check_in_features = Table(
    "check_in_features",
    Base.metadata,
    Column("check_in_id", ForeignKey("check_ins.id", ondelete="CASCADE"), primary_key=True),
    Column("feature_id", ForeignKey("features.id", ondelete="RESTRICT"), primary_key=True),
    # How far the feature is adopted: 0 not used, 25 trial, 50 partly, 100 fully, or a reported percentage.
    Column("adoption_pct", Integer, nullable=False, server_default="100"),
    CheckConstraint("adoption_pct BETWEEN 0 AND 100", name="adoption_pct_range"),
)


class CheckInFeature(Base):
    """One feature's adoption in one check-in."""

    __table__ = check_in_features

    check_in_id: Mapped[int]
    feature_id: Mapped[int]
    adoption_pct: Mapped[int]

    feature: Mapped[Feature] = relationship()


class CheckInRisk(Base):
    __tablename__ = "check_in_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    type: Mapped[RiskType] = mapped_column(enum_column(RiskType, "risk_type"))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "risk_severity"))
    note: Mapped[str | None] = mapped_column(Text)


class ProductArea(Base):
    """A part of the product the vendor's team owns (vendor-kept), named in English and Japanese
    with the other words resellers use for it, so that レポート and Reports land in one area."""

    __tablename__ = "product_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    # Other words resellers write for the area ("dashboards", "帳票"); matched like the names.
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class VocItem(Base):
    """Voice of the customer: a request, complaint or praise, routed to the vendor's product team.

    `product_area` is the area as the reseller wrote it, kept as written; `product_area_id` the
    vendor's area it matched (None: unassigned, for the vendor to map). The status and answer
    are the vendor's, and the reseller reads them."""

    __tablename__ = "voc_items"
    # The inbox's search (ILIKE '%word%') reads this trigram index on PostgreSQL (migration 0019,
    # which skips it when pg_trgm cannot be created); on SQLite it is a plain index LIKE does not use.
    __table_args__ = (Index("ix_voc_items_text_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[VocKind] = mapped_column(enum_column(VocKind, "voc_kind"))
    product_area: Mapped[str | None] = mapped_column(String(100))
    product_area_id: Mapped[int | None] = mapped_column(ForeignKey("product_areas.id", ondelete="RESTRICT"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[VocStatus] = mapped_column(enum_column(VocStatus, "voc_status"), default=VocStatus.NEW,
                                              server_default=VocStatus.NEW.value, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # False once a correction of its check-in is written (the correction repeats the items it
    # keeps): the inbox counts and lists in-force items by this column instead of asking, per item,
    # whether a newer version exists (an anti-join that was most of the inbox's time at 100k).
    in_force: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    check_in: Mapped[CheckIn] = relationship(back_populates="voc_items")
    area: Mapped[ProductArea | None] = relationship(lazy="joined")  # shown wherever an item is
    answered_by: Mapped[User | None] = relationship()


class Stakeholder(Base):
    """A person at the customer; success is personal."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[StakeholderRole] = mapped_column(enum_column(StakeholderRole, "stakeholder_role"))
    # What success means for this person, in a line ("wants to show the board the saved hours").
    success_note: Mapped[str | None] = mapped_column(String(300))
    last_contact_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChangeLog(Base):
    """Who changed what and when, for records edited in place (milestones, stakeholders, accounts)."""

    __tablename__ = "change_log"
    __table_args__ = (CheckConstraint("action IN ('create', 'update')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    # {"field": [old, new], ...} with dates as ISO strings.
    changes: Mapped[dict] = mapped_column(JSON)
    # None: the portal made the change by a vendor rule (e.g. an account moved to adoption by days).
    source: Mapped[ReportSource | None] = mapped_column(enum_column(ReportSource, "change_source"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


IMPORT_STATUSES = ("queued", "planning", "previewed", "commit_queued", "committing", "committed", "failed")
# The statuses of a batch the scheduler process is working on (or will): the page polls.
IMPORT_JOB_STATUSES = ("queued", "planning", "commit_queued", "committing")


class ImportBatch(Base):
    """An uploaded check-in file: planned once (in the request, or as a job for a big file),
    previewed from the stored plan, then committed whole or not at all.

    A job's way: queued -> planning -> previewed -> commit_queued -> committing -> committed; a
    job that fails ends "failed" with its error and writes nothing."""

    __tablename__ = "import_batches"
    __table_args__ = (CheckConstraint(f"status IN {IMPORT_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The rows as read at upload (portal.reporting.imports.Sheet.to_json): the plan and a re-plan
    # read these instead of parsing the file again. None for batches from before revision 0011.
    sheet: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    # What each row does (portal.reporting.imports.ImportPlan.to_json): made once, read by the
    # preview and the commit. None until planned (and for batches from before revision 0019).
    plan: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    summary: Mapped[dict | None] = mapped_column(JSON)
    row_count: Mapped[int | None] = mapped_column(Integer)
    rows_planned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # a job's progress
    error: Mapped[str | None] = mapped_column(Text)  # why a job failed, for the page
    # When the scheduler process claimed the job or last reported progress: a job silent for
    # imports.STALLED_AFTER is stalled (its process died) and is taken up again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()
