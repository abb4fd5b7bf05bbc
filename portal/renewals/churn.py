"""The one place a churn becomes an outcome row. Every way an account enters (or leaves) the
churned state runs through here: recording a churn outcome (form, file, API), and the account's
own form, file columns and API setting its status to churned. So a churn is never in the
account's fields without its outcome, nor an outcome without the account churned.

Kept apart from portal.renewals.services (which calls the account service) so that the account
service can call it without an import cycle."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.history import change_entry, snapshot
from portal.models import Account, ApiToken, ChangeLog, ChurnReason, LifecycleStatus, OutcomeKind, RenewalOutcome, ReportSource, User

OTHER = "other"
# What the change log keeps of an outcome (and the account page's history shows).
OUTCOME_FIELDS = ("kind", "term_end", "decided_on", "new_renewal_date", "arr_before_jpy", "arr_after_jpy", "churn_reason", "note")


@dataclass(frozen=True)
class ChurnDetail:
    """What a recorded churn outcome says beyond the account's fields: the reason from the list,
    the free text, and the term it ends (default: the renewal date it had)."""

    reason_id: int | None
    note: str | None
    term_end: date | None = None


@dataclass(frozen=True)
class StatusChange:
    """An account as it was before a write that may have churned it (or taken a churn back)."""

    account: Account
    status_before: LifecycleStatus | None
    churned_on_before: date | None
    arr_before: int
    renewal_before: date | None


def reason_for_text(reasons: Sequence[ChurnReason], text: str | None) -> ChurnReason | None:
    """The listed reason a free text names (its code or a label, whole), else "other"."""
    folded = (text or "").strip().lower()
    for reason in reasons:
        if folded and folded in (reason.code, reason.label_en.lower(), reason.label_ja):
            return reason
    return next((r for r in reasons if r.code == OTHER), None)


def outcome_log(row: Any, reason_label: str | None) -> dict[str, Any]:
    values = snapshot(row, OUTCOME_FIELDS[:-2])
    values["churn_reason"], values["note"] = reason_label, row.note
    return values


def sync_churns(session: Session, changes: Sequence[StatusChange], *, source: ReportSource, user: User | None = None,
                token: ApiToken | None = None, details: Mapping[int, ChurnDetail] | None = None) -> None:
    """After accounts were written: a churn outcome for each that became churned, and the churn
    outcome taken back for each that stopped being churned (a correction: the change log keeps
    both). `details`: by account id, the recorded outcomes' reasons and texts. Set-based: the same
    statements for a file of 1,000 accounts as for one."""
    churned = [c for c in changes if c.account.status == LifecycleStatus.CHURNED and c.status_before != LifecycleStatus.CHURNED]
    revived = [c for c in changes if c.status_before == LifecycleStatus.CHURNED and c.account.status != LifecycleStatus.CHURNED]
    if revived:
        session.execute(delete(RenewalOutcome).where(
            tuple_(RenewalOutcome.account_id, RenewalOutcome.decided_on).in_([(c.account.id, c.churned_on_before) for c in revived]),
            RenewalOutcome.kind == OutcomeKind.CHURNED))
    if not churned:
        return
    reasons = list(session.scalars(select(ChurnReason).order_by(ChurnReason.position)))
    by_id = {r.id: r for r in reasons}
    # A term already decided (a renewal recorded for it) is not the one that churned: the churn ends the next.
    taken = {tuple(row) for row in session.execute(select(RenewalOutcome.account_id, RenewalOutcome.term_end).where(
        RenewalOutcome.account_id.in_([c.account.id for c in churned])))}
    rows: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    reason_labels: list[str | None] = []
    for change in churned:
        account = change.account
        detail = (details or {}).get(account.id)
        term_end = (detail.term_end if detail and detail.term_end else None) or change.renewal_before or account.churned_on
        if (account.id, term_end) in taken:
            term_end = account.churned_on
        reason = by_id.get(detail.reason_id) if detail and detail.reason_id else reason_for_text(reasons, account.churn_reason)
        note = detail.note if detail else account.churn_reason
        reason_labels.append(reason.label_en if reason else None)
        rows.append({"account_id": account.id, "term_end": term_end, "kind": OutcomeKind.CHURNED, "decided_on": account.churned_on,
                     "new_renewal_date": None, "arr_before_jpy": change.arr_before or 0, "arr_after_jpy": 0,
                     "churn_reason_id": reason.id if reason else None, "note": note, "inferred": False,
                     "recorded_by_id": user.id if user else None, "created_at": clock.utcnow()})
    ids = written_ids(session, rows)
    for change, row, outcome_id, reason_label in zip(churned, rows, ids, reason_labels, strict=True):
        entry = change_entry(entity="outcome", entity_id=outcome_id, partner_id=change.account.partner_id,
                             account_id=change.account.id, before=None,
                             after=outcome_log(OutcomeRow(row), reason_label), source=source,
                             user=user, token=token)
        if entry is not None:
            entries.append(entry)
    if entries:
        session.execute(insert(ChangeLog), entries)


def written_ids(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert outcome rows and return their ids in the rows' order: one executemany and one
    SELECT by the (account, term end) key. INSERT … RETURNING of many rows goes row by row on
    SQLite when the order must be kept."""
    session.execute(insert(RenewalOutcome), rows)
    ids = {(a, t): i for i, a, t in session.execute(select(RenewalOutcome.id, RenewalOutcome.account_id, RenewalOutcome.term_end).where(
        tuple_(RenewalOutcome.account_id, RenewalOutcome.term_end).in_([(r["account_id"], r["term_end"]) for r in rows])))}
    return [ids[(r["account_id"], r["term_end"])] for r in rows]


class OutcomeRow:
    """An outcome's column values read like the row (for the change log's snapshot)."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)
