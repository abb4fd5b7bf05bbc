"""Action items: the proactive loop between the vendor and the reseller."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column

if TYPE_CHECKING:
    from portal.accounts.models import Account
    from portal.auth.models import User


class ActionStatus(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionKind(str, enum.Enum):
    """What raised the item: an alert kind (the aggregation owns these) or a person's request."""

    TURNED_RED = "turned_red"
    RENEWAL_AT_RISK = "renewal_at_risk"
    CHECK_IN_OVERDUE = "check_in_overdue"
    REQUEST = "request"


class AutoResolution(str, enum.Enum):
    """Why the aggregation closed an item by itself; shown in the reader's language with
    `resolution_params` (e.g. the period and the day its check-in arrived)."""

    CHECK_IN_RECEIVED = "check_in_received"
    RECOVERED = "recovered"
    RENEWED = "renewed"
    CHURNED = "churned"


class ActionItem(Base):
    """Something to do about an account: from an alert or from a partner manager; both sides comment."""

    __tablename__ = "action_items"
    __table_args__ = (
        CheckConstraint("(status IN ('done', 'cancelled')) = (resolution IS NOT NULL)", name="closed_iff_resolution"),
        CheckConstraint("raised_count >= 1", name="raised_count_positive"),
        # At most one open item per account and alert kind: a rule that fires again updates it.
        Index("uq_action_items_open_alert_kind", "account_id", "kind", unique=True,
              sqlite_where=text("status IN ('open', 'in_progress') AND kind != 'request'"),
              postgresql_where=text("status IN ('open', 'in_progress') AND kind != 'request'")),
        Index("ix_action_items_status_due_on", "status", "due_on"),
        # A partner's open items in the lists' order (listing._first, open_only): the scorecard and the
        # home read their first 20 and count them from this index alone, however many there are.
        Index("ix_action_items_open_partner_due", "partner_id", "due_on", "id", "owner_id",
              sqlite_where=text("status IN ('open', 'in_progress')"), postgresql_where=text("status IN ('open', 'in_progress')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    # Raised from this alert (at most one item per alert).
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[ActionKind] = mapped_column(enum_column(ActionKind, "action_kind"), default=ActionKind.REQUEST,
                                             server_default=ActionKind.REQUEST.value)
    # The occurrence the item is about now (the latest alert's subject: the red day, renewal date, period).
    subject: Mapped[str | None] = mapped_column(String(40))
    # How often its rule has fired while the item was open (1: once), and when it last did.
    raised_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_raised_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, "action_status"), default=ActionStatus.OPEN)
    resolution: Mapped[str | None] = mapped_column(Text)
    # Set when the aggregation closed it (None: a person did, see closed_by_id).
    auto_resolution: Mapped[AutoResolution | None] = mapped_column(enum_column(AutoResolution, "auto_resolution"))
    resolution_params: Mapped[dict | None] = mapped_column(JSON)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    steps: Mapped[list["ActionStep"]] = relationship(back_populates="item", order_by="ActionStep.position",
                                                     cascade="all, delete-orphan")
    comments: Mapped[list["ActionComment"]] = relationship(back_populates="item", order_by="ActionComment.id",
                                                           cascade="all, delete-orphan")


class ActionComment(Base):
    __tablename__ = "action_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[ActionItem] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class ActionStep(Base):
    """One playbook step copied onto an item when it was opened, ticked off by either side."""

    __tablename__ = "action_steps"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    title_ja: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    note_ja: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    item: Mapped[ActionItem] = relationship(back_populates="steps")
    done_by: Mapped[User | None] = relationship()


class Playbook(Base):
    """The vendor's steps for one kind of item; a new item copies the steps current at the time."""

    __tablename__ = "playbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ActionKind] = mapped_column(enum_column(ActionKind, "playbook_kind"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    steps: Mapped[list["PlaybookStep"]] = relationship(back_populates="playbook", order_by="PlaybookStep.position",
                                                       cascade="all, delete-orphan")


class PlaybookStep(Base):
    __tablename__ = "playbook_steps"
    __table_args__ = (UniqueConstraint("playbook_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    title_ja: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    note_ja: Mapped[str | None] = mapped_column(Text)

    playbook: Mapped[Playbook] = relationship(back_populates="steps")


class ActionEventKind(str, enum.Enum):
    """What happened to an item, for its history and the account's timeline."""

    OPENED = "opened"
    ASSIGNED = "assigned"          # data: {"from": user id or None, "to": user id or None}; a "take" is to oneself
    DUE_CHANGED = "due_changed"    # data: {"from": iso date or None, "to": ...}
    STATUS_CHANGED = "status_changed"  # data: {"from": status, "to": status}
    STEP_DONE = "step_done"        # data: {"step_id": id, "position": n}
    STEP_UNDONE = "step_undone"
    RAISED_AGAIN = "raised_again"  # data: {"subject": ..., "count": n}
    RESOLVED = "resolved"          # closed by the aggregation; data: {"auto_resolution": ..., **params}
    REOPENED = "reopened"          # by the aggregation, the condition returned within the window


class ActionEvent(Base):
    """One recorded change to an item: who (None: the portal's aggregation), what, when."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event: Mapped[ActionEventKind] = mapped_column(enum_column(ActionEventKind, "action_event_kind"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[ActionItem] = relationship()
    actor: Mapped[User | None] = relationship()
