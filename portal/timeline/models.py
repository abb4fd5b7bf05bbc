"""A note on an account's timeline: a call, a meeting or a remark either side logs."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column

if TYPE_CHECKING:
    from portal.auth.models import User


class NoteKind(str, enum.Enum):
    CALL = "call"
    MEETING = "meeting"
    NOTE = "note"


class AccountNote(Base):
    """Logged by a person on either side; scoped by the account's partner like everything else."""

    __tablename__ = "account_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[NoteKind] = mapped_column(enum_column(NoteKind, "note_kind"), default=NoteKind.NOTE)
    happened_on: Mapped[date] = mapped_column(Date)
    # Who took part, as typed ("Tanaka (customer IT), Sato").
    participants: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()
