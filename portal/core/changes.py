"""Whose data changed: the database notes every committed write to a table the pages read, by
partner (0: what every partner's pages show), with triggers (migration 0034), so no writer can
forget to. `stamp` is what a page kept rendered is kept under (portal.core.fragments.page):
the sum of the notes only grows, with each commit, so a page kept under one sum was rendered
after every write it could show.

`compact` folds the notes into one row per partner (the sums unchanged); the scheduler runs it
every few minutes, so reading a stamp stays a short index read.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base

EVERYONE = 0  # the notes of what every partner's pages show (settings, product areas, the snapshots)

# The tables without a trigger, and why: what they hold is on no kept page, and they are written
# on reads or by the minute (a login, an email sent, an API call, a run's heartbeat).
UNTRACKED = {
    "data_changes": "the notes themselves",
    "alembic_version": "the schema's revision",
    "login_throttles": "failed logins",
    "audit_events": "the audit log (written on every login)",
    "outbox_messages": "emails queued and sent",
    "api_tokens": "a token's last use, written by API calls",
    "idempotency_records": "API replays",
    "aggregation_runs": "a run's progress and heartbeat (aggregation_days says when a snapshot is in)",
    "model_fits": "a fit's progress (its proposal is saved as a health model)",
}


class DataChange(Base):
    """A note that a partner's data (or everyone's: partner 0) changed; n counts folded notes."""

    __tablename__ = "data_changes"
    __table_args__ = (Index("ix_data_changes_partner_id", "partner_id", "n"),)  # a stamp is read from the index alone

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(BigInteger, server_default="1")


def stamp(session: Session, partner_id: int | None) -> int:
    """The sum of the notes of `partner_id` and of everyone's (None: of every partner): it grows
    with each committed write that partner's pages could show, and never goes back."""
    total = select(func.coalesce(func.sum(DataChange.n), 0))
    if partner_id is not None:
        total = total.where(DataChange.partner_id.in_((EVERYONE, partner_id)))
    return int(session.scalar(total) or 0)


def compact(session: Session) -> int:
    """Fold each partner's notes into one row with their sum (the stamps do not change); commits.
    Notes of writes not yet committed are left for the next time. Returns the rows removed."""
    if session.get_bind().dialect.name == "postgresql":
        removed = session.execute(text(
            "WITH gone AS (DELETE FROM data_changes RETURNING partner_id, n),"
            " kept AS (INSERT INTO data_changes (partner_id, n) SELECT partner_id, sum(n) FROM gone GROUP BY partner_id"
            " RETURNING 1) SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)")).scalar_one()
    else:  # the rows up to the newest seen: a note written meanwhile is left for the next time
        last = session.scalar(select(func.max(DataChange.id)))
        if last is None:
            return 0
        folded = session.execute(text("INSERT INTO data_changes (partner_id, n) SELECT partner_id, sum(n) FROM data_changes"
                                      " WHERE id <= :last GROUP BY partner_id"), {"last": last})
        gone = session.execute(text("DELETE FROM data_changes WHERE id <= :last"), {"last": last})
        removed = gone.rowcount - folded.rowcount  # type: ignore[attr-defined]
    session.commit()
    return int(removed)
