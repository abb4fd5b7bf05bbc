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
    Float,
    ForeignKey,
    Integer,
    JSON,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql import false, true
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal import clock
from portal.clock import utcnow
from portal.db import Base


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
    # Set by the partner admin: may a file or API upload with an unknown reference create the account?
    imports_create_accounts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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


# --- Reporting: what resellers tell the vendor about their customers -----------------------


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

    segment: Mapped[Segment] = mapped_column(_enum(Segment, "cadence_segment"), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    # Days after the period ends before a missing check-in counts as overdue.
    grace_days: Mapped[int] = mapped_column(Integer, default=10)


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
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Milestone(Base):
    """An account's progress on one onboarding step; changes are kept in the change log."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("account_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("milestone_templates.id", ondelete="RESTRICT"))
    status: Mapped[MilestoneStatus] = mapped_column(_enum(MilestoneStatus, "milestone_status"), default=MilestoneStatus.PLANNED)
    planned_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
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
        CheckConstraint("nps IS NULL OR (nps BETWEEN 0 AND 10)", name="nps_range"),
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
    source: Mapped[ReportSource] = mapped_column(_enum(ReportSource, "report_source"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))

    active_users: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)
    ces: Mapped[int | None] = mapped_column(Integer)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    open_escalations: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[Sentiment] = mapped_column(_enum(Sentiment, "sentiment"))
    sentiment_reason: Mapped[str | None] = mapped_column(Text)
    outcome_progress: Mapped[int | None] = mapped_column(Integer)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    renewal_likelihood: Mapped[RenewalLikelihood | None] = mapped_column(_enum(RenewalLikelihood, "renewal_likelihood"))
    expansion_jpy: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    account: Mapped[Account] = relationship()
    submitted_by: Mapped[User | None] = relationship()
    features: Mapped[list[Feature]] = relationship(secondary="check_in_features", order_by="Feature.position")
    risks: Mapped[list["CheckInRisk"]] = relationship(cascade="all, delete-orphan", order_by="CheckInRisk.id")
    voc_items: Mapped[list["VocItem"]] = relationship(back_populates="check_in", cascade="all, delete-orphan", order_by="VocItem.id")


check_in_features = Table(
    "check_in_features",
    Base.metadata,
    Column("check_in_id", ForeignKey("check_ins.id", ondelete="CASCADE"), primary_key=True),
    Column("feature_id", ForeignKey("features.id", ondelete="RESTRICT"), primary_key=True),
)


class CheckInRisk(Base):
    __tablename__ = "check_in_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    type: Mapped[RiskType] = mapped_column(_enum(RiskType, "risk_type"))
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "risk_severity"))
    note: Mapped[str | None] = mapped_column(Text)


class VocItem(Base):
    """Voice of the customer: a request, complaint or praise, routed to the vendor's product team."""

    __tablename__ = "voc_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[VocKind] = mapped_column(_enum(VocKind, "voc_kind"))
    product_area: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)

    check_in: Mapped[CheckIn] = relationship(back_populates="voc_items")


class Stakeholder(Base):
    """A person at the customer; success is personal."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[StakeholderRole] = mapped_column(_enum(StakeholderRole, "stakeholder_role"))
    # What success means for this person, in a line ("wants to show the board the saved hours").
    success_note: Mapped[str | None] = mapped_column(String(300))
    last_contact_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ChangeLog(Base):
    """Who changed what and when, for records edited in place (milestones, stakeholders, accounts)."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    # {"field": [old, new], ...} with dates as ISO strings.
    changes: Mapped[dict] = mapped_column(JSON)
    source: Mapped[ReportSource] = mapped_column(_enum(ReportSource, "change_source"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class ApiToken(Base):
    """A partner's API credential: shown once, stored as a SHA-256 hash, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters, so people can tell their tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    partner: Mapped[Partner] = relationship()
    created_by: Mapped[User | None] = relationship()


class IdempotencyRecord(Base):
    """The stored answer to an API request sent with an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("partner_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ImportBatch(Base):
    """An uploaded check-in file: previewed first, then committed whole or not at all."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="previewed")  # previewed | committed
    summary: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User | None] = relationship()


# --- health scoring and scorecards (computed by the aggregation job) ------------------------


class Band(str, enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class HealthModel(Base):
    """Weights and band thresholds; every change is a new version, used from the next aggregation."""

    __tablename__ = "health_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    # {"onboarding": {component: weight}, "adoption": {component: weight}}
    weights: Mapped[dict] = mapped_column(JSON)
    green_min: Mapped[int] = mapped_column(Integer)
    yellow_min: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class AccountArr(Base):
    """ARR from a date on: the history behind gross and net revenue retention."""

    __tablename__ = "account_arr_history"
    __table_args__ = (UniqueConstraint("account_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    effective_on: Mapped[date] = mapped_column(Date)
    arr_jpy: Mapped[int] = mapped_column(BigInteger)

    account: Mapped["Account"] = relationship()


class AccountScore(Base):
    """One account's health on one day: score, band, components and the inputs behind the reasons."""

    __tablename__ = "account_scores"
    __table_args__ = (UniqueConstraint("day", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    model_version: Mapped[int] = mapped_column(Integer)
    onboarding_phase: Mapped[bool] = mapped_column(Boolean)
    arr_jpy: Mapped[int] = mapped_column(BigInteger)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    score: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[Band | None] = mapped_column(_enum(Band, "score_band"))
    # The band the objective components alone give (no reseller sentiment): the optimism check.
    objective_band: Mapped[Band | None] = mapped_column(_enum(Band, "objective_band"))
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
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)
    ces: Mapped[int | None] = mapped_column(Integer)
    open_escalations: Mapped[int | None] = mapped_column(Integer)
    open_tickets: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[Sentiment | None] = mapped_column(_enum(Sentiment, "score_sentiment"))
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


class AggregationDay(Base):
    """The claim: one row per day, taken before any work, so concurrent runs make one."""

    __tablename__ = "aggregation_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    claim_token: Mapped[str] = mapped_column(String(40))


class AggregationRun(Base):
    """Job history: every attempt, with what it did or why it failed."""

    __tablename__ = "aggregation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | cli | web
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
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
    __table_args__ = (UniqueConstraint("kind", "account_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # Which occurrence: the day the account turned red, the renewal date, the overdue period.
    subject: Mapped[str] = mapped_column(String(40))
    raised_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    account: Mapped[Account] = relationship()


@event.listens_for(Session, "before_flush")
def _record_arr_changes(session: Session, _context, _instances) -> None:
    """Every ARR an account has had, from when: revenue retention needs the past, not just today."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Account):
            continue
        if obj in session.new:
            effective_on = obj.contract_start or clock.today()
        elif inspect(obj).attrs.arr_jpy.history.has_changes():
            effective_on = clock.today()
        else:
            continue
        with session.no_autoflush:
            row = None
            if obj.id is not None:
                row = session.scalar(select(AccountArr).where(AccountArr.account_id == obj.id, AccountArr.effective_on == effective_on))
            if row is None:
                row = AccountArr(account=obj, effective_on=effective_on)
                session.add(row)
            row.arr_jpy = obj.arr_jpy or 0


# --- action items: the proactive loop between the vendor and the reseller -------------------


class ActionStatus(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionItem(Base):
    """Something to do about an account: from an alert or from a partner manager; both sides comment."""

    __tablename__ = "action_items"
    __table_args__ = (
        CheckConstraint("(status IN ('done', 'cancelled')) = (resolution IS NOT NULL)", name="closed_iff_resolution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # Raised from this alert (at most one item per alert).
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus, "action_status"), default=ActionStatus.OPEN)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    comments: Mapped[list["ActionComment"]] = relationship(back_populates="item", order_by="ActionComment.id",
                                                           cascade="all, delete-orphan")


class ActionComment(Base):
    __tablename__ = "action_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    item: Mapped[ActionItem] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class TierRule(Base):
    """A partner tier's threshold on one scorecard figure: the tier needs figure >= minimum."""

    __tablename__ = "tier_rules"
    __table_args__ = (UniqueConstraint("tier", "figure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[PartnerTier] = mapped_column(_enum(PartnerTier, "rule_tier"))
    figure: Mapped[str] = mapped_column(String(40))
    minimum: Mapped[float] = mapped_column(Float)


class EmailKind(str, enum.Enum):
    MANAGER_DIGEST = "manager_digest"  # partner managers, weekly: the partners they own
    PARTNER_DIGEST = "partner_digest"  # partner admins, weekly: their shared scorecard in brief
    REMINDER = "reminder"  # partner users, weekly: check-ins due and overdue
    ALERT = "alert"  # anyone, at most hourly: accounts turned red, items assigned


class DeliveryStatus(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"  # a delivery failed; tried again after a backoff
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; an admin can queue it again


class OutboxMessage(Base):
    """An email rendered once and kept: queued, sent or failed, with why.

    The unique (user, kind, period) is what makes a digest go out once per recipient per
    period, however often the job runs and however many processes run it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (UniqueConstraint("user_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[EmailKind] = mapped_column(_enum(EmailKind, "email_kind"))
    period: Mapped[str] = mapped_column(String(40))  # "2026-W49" for weekly kinds, the minute for alerts
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User | None] = relationship()


class Notification(Base):
    """Something one person should hear about by alert email: an account of theirs turned red,
    an action item was assigned to them. Batched into at most one alert email an hour."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # turned_red | item_assigned
    dedupe_key: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    action_item_id: Mapped[int | None] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when an alert email takes it: the email that told the person.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True)

    account: Mapped[Account] = relationship()
    action_item: Mapped[ActionItem | None] = relationship()
