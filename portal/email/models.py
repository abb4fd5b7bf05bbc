"""The outbox of emails and the notifications waiting to be told."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column

if TYPE_CHECKING:
    from portal.accounts.models import Account
    from portal.actions.models import ActionItem
    from portal.auth.models import User


class EmailKind(str, enum.Enum):
    MANAGER_DIGEST = "manager_digest"  # partner managers, weekly: the partners they own
    PARTNER_DIGEST = "partner_digest"  # partner admins, weekly: their shared scorecard in brief
    REMINDER = "reminder"  # partner users, weekly: check-ins due and overdue
    ALERT = "alert"  # anyone, at most hourly: accounts turned red, items assigned
    PASSWORD_RESET = "password_reset"  # anyone who asked: a link to set a new password (30 minutes)


class DeliveryStatus(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"  # a delivery failed; tried again after a backoff
    SENT = "sent"
    FAILED = "failed"  # refused permanently (5xx) or gave up after the last attempt; an admin can queue it again


class OutboxMessage(Base):
    """An email rendered once and kept: queued, sent or failed, with why.

    The unique (user, kind, period) is what makes a digest go out once per recipient per
    period, however often the job runs and however many processes run it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (UniqueConstraint("user_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[EmailKind] = mapped_column(enum_column(EmailKind, "email_kind"))
    period: Mapped[str] = mapped_column(String(40))  # "2026-W49" for weekly kinds, the minute for alerts
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class Notification(Base):
    """Something one person should hear about by alert email: an account of theirs turned red,
    an action item was assigned to them. Batched into at most one alert email an hour."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key"), CheckConstraint("kind IN ('turned_red', 'item_assigned')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # turned_red | item_assigned
    dedupe_key: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    action_item_id: Mapped[int | None] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an alert email takes it: the email that told the person.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True)

    account: Mapped[Account] = relationship()
    action_item: Mapped[ActionItem | None] = relationship()
