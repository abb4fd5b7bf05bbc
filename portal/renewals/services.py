"""Recording what happened at the end of a contract term: one validation and one write for the
account page's form, the file import, the API and the CLI alike.

A renewal moves the account's renewal date and ARR (the account service writes its change log,
audit event and ARR history); a churn puts the account into the churned state through the
account service too, whose churn writer (portal.renewals.churn) adds the outcome row: the
account's own churn fields and a recorded churn are one path, not two."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

from flask_babel import get_locale, lazy_gettext as _l
from sqlalchemy import and_, exists, func, insert, select, tuple_
from sqlalchemy.orm import Session, joinedload

from portal.audit import services as audit
from portal.accounts.services import update_accounts
from portal.core import clock
from portal.core.history import change_entry
from portal.core.validation import Checks, blank, normalised
from portal.models import (
    Account, ApiToken, AuditAction, ChangeLog, ChurnReason, LifecycleStatus, OutcomeKind, RenewalOutcome, ReportSource, User,
)
from portal.renewals.churn import ChurnDetail, OutcomeRow, outcome_log, written_ids

# The fields an outcome is recorded with (the form's, the file's columns, the API's properties).
OUTCOME_INPUT = ("kind", "term_end", "decided_on", "new_renewal_date", "arr_jpy", "reason", "note")
MAX_ARR = 10**13



def active_reasons(session: Session) -> list[ChurnReason]:
    return list(session.scalars(select(ChurnReason).where(ChurnReason.active.is_(True)).order_by(ChurnReason.position, ChurnReason.id)))


REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def keep_reason(session: Session, code: str, label_en: str | None = None, label_ja: str | None = None,
                position: int | None = None, active: bool | None = None, *, actor: User | None = None,
                new: bool = False) -> ChurnReason:
    """Add a churn reason to the vendor's list or change one (its labels, its place, whether it is
    offered), for the Reporting rules page and the CLI alike, with its audit event. A reason is
    retired, never deleted: the outcomes that name it keep their reason. `new`: the code must not
    be taken (the page's "Add" form, so it cannot change a reason by mistake). Raises
    ValidationError naming the field; never commits."""
    c = Checks()
    code = normalised(code).lower()
    if not REASON_CODE.match(code):
        c.fail("code", _l("must be 2-40 lower-case letters, digits or underscores, starting with a letter"), code)
    if position is not None and not 0 <= position <= 9999:
        c.fail("position", _l("must be a whole number from 0 to 9999"), position)
    c.done()
    reason = session.scalar(select(ChurnReason).where(ChurnReason.code == code))
    if reason is not None and new:
        c.fail("code", _l("is already used by the reason “%(label)s”", label=reason_label(reason)), code)
        c.done()
    before = None if reason is None else _reason_fields(reason)
    if reason is None:
        for name, value in (("label_en", label_en), ("label_ja", label_ja)):
            if blank(value):
                c.fail(name, _l("is required for a new reason"))
        c.done()
        last = session.scalar(select(func.max(ChurnReason.position))) or 0
        reason = ChurnReason(code=code, position=last + 10, active=True)
        session.add(reason)
    for name, value in (("label_en", label_en), ("label_ja", label_ja)):
        if value is not None and not blank(value):
            setattr(reason, name, normalised(value)[:120])
    if position is not None:
        reason.position = position
    if active is not None:
        reason.active = active
    session.flush()
    detail = audit.changes(before, _reason_fields(reason))
    if before is None or detail:
        audit.record(session, AuditAction.CHURN_REASON_SAVED, actor=actor, target=reason, target_label=reason.code, detail=detail)
    return reason


def _reason_fields(reason: ChurnReason) -> dict[str, Any]:
    return {"label_en": reason.label_en, "label_ja": reason.label_ja, "position": reason.position, "offered": reason.active}


def all_reasons(session: Session) -> list[ChurnReason]:
    return list(session.scalars(select(ChurnReason).order_by(ChurnReason.position, ChurnReason.id)))


def reason_label(reason: ChurnReason | None) -> str:
    if reason is None:
        return "—"
    return reason.label_ja if str(get_locale() or "en").startswith("ja") else reason.label_en


def _reason(c: Checks, values: Mapping[str, Any], reasons: Sequence[ChurnReason]) -> ChurnReason | None:
    """The listed reason `values["reason"]` names: its code, its id, or its English or Japanese label."""
    raw = values.get("reason")
    if blank(raw):
        c.fail("reason", _l("is required for a churn: choose a reason from the list"))
        return None
    text = normalised(raw)
    for reason in reasons:
        if text.lower() in (reason.code, str(reason.id), reason.label_en.lower()) or text == reason.label_ja:
            return reason
    c.fail("reason", _l("must be one of: %(options)s", options=", ".join(r.code for r in reasons)), raw)
    return None


@dataclass(frozen=True)
class CheckedOutcome:
    kind: OutcomeKind
    term_end: date
    decided_on: date
    new_renewal_date: date | None
    arr_after_jpy: int
    reason: ChurnReason | None
    note: str | None


def check_outcome(values: Mapping[str, Any], account: Account, reasons: Sequence[ChurnReason], today: date,
                  decided: set[date] | None = None, checks: Checks | None = None) -> CheckedOutcome:
    """The outcome's fields, checked against the account. `decided`: the term ends that already
    have an outcome (one outcome per term). Raises ValidationError with every bad field."""
    c = checks or Checks()
    kind = c.choice(values, "kind", OutcomeKind, required=True)
    term_end = c.date(values, "term_end") or (None if c.failed("term_end") else account.renewal_date)
    decided_on = c.date(values, "decided_on")
    note = c.text(values, "note")
    new_renewal_date = arr_after = reason = None
    if account.status == LifecycleStatus.CHURNED:
        c.fail("kind", _l("This customer has churned; record a renewal only by taking the churn back on the account first."),
               values.get("kind"))
    if kind == OutcomeKind.RENEWED:
        if term_end is None and not c.failed("term_end"):
            c.fail("term_end", _l("is required: the account has no renewal date"))
        new_renewal_date = c.date(values, "new_renewal_date", required=True)
        arr_after = c.integer(values, "arr_jpy", 0, MAX_ARR, default=account.arr_jpy or 0)
        if new_renewal_date and term_end and new_renewal_date <= term_end:
            c.fail("new_renewal_date", _l("must be after the term end (%(day)s)", day=term_end.isoformat()), values.get("new_renewal_date"))
        if decided_on is None and term_end is not None:
            decided_on = min(term_end, today)
    elif kind == OutcomeKind.CHURNED:
        churned_on = c.date(values, "decided_on", required=True)
        decided_on = churned_on
        reason = _reason(c, values, reasons)
        term_end = term_end or churned_on
        if "new_renewal_date" in values and not blank(values.get("new_renewal_date")):
            c.fail("new_renewal_date", _l("must be empty for a churn"), values.get("new_renewal_date"))
        arr_after = 0
    if decided_on and decided_on > today:
        c.fail("decided_on", _l("must not be in the future"), values.get("decided_on"))
    if account.contract_start and decided_on and decided_on < account.contract_start:
        c.fail("decided_on", _l("must not be before the contract start"), values.get("decided_on"))
    if term_end and decided and term_end in decided:
        c.fail("term_end", _l("An outcome is already recorded for the term ending %(day)s.", day=term_end.isoformat()),
               values.get("term_end") or term_end.isoformat())
    c.done()
    assert kind is not None and term_end is not None and decided_on is not None and arr_after is not None
    return CheckedOutcome(kind, term_end, decided_on, new_renewal_date, arr_after, reason, note)


def decided_terms(session: Session, account_ids: Sequence[int]) -> dict[int, set[date]]:
    """Per account, the term ends that have an outcome (recorded or inferred), in one query."""
    found: dict[int, set[date]] = {}
    for account_id, term_end in session.execute(select(RenewalOutcome.account_id, RenewalOutcome.term_end)
                                                .where(RenewalOutcome.account_id.in_(account_ids))):
        found.setdefault(account_id, set()).add(term_end)
    return found


def record_outcome(session: Session, account: Account, values: Mapping[str, Any], *, source: ReportSource,
                   user: User | None = None, token: ApiToken | None = None, reasons: Sequence[ChurnReason] | None = None,
                   decided: set[date] | None = None) -> RenewalOutcome:
    """Check and write one outcome for `account` (scoped by the caller): record_outcomes for one."""
    return record_outcomes(session, account.partner_id, [(account, values)], source=source, user=user, token=token,
                           reasons=reasons, decided=None if decided is None else {account.id: decided})[0]


def record_outcomes(session: Session, partner_id: int, planned: Sequence[tuple[Account, Mapping[str, Any]]], *,
                    source: ReportSource, user: User | None = None, token: ApiToken | None = None,
                    reasons: Sequence[ChurnReason] | None = None, decided: dict[int, set[date]] | None = None) -> list[RenewalOutcome]:
    """Check and write outcomes for one partner's accounts (scoped by the caller; one per account),
    in as many statements for a file of 1,000 as for the form's one. A renewal moves the account to
    its next term (renewal date and ARR; an earlier term recorded late leaves the account as it
    is); a churn puts it in the churned state; both through accounts.update_accounts, with its
    change log, audit events and ARR history, and the churn outcome written by its churn writer
    (portal.renewals.churn). `reasons`, `decided`: read once by a caller that has them. Raises
    ValidationError; never commits."""
    if not planned:
        return []
    if len({account.id for account, _ in planned}) != len(planned):
        raise ValueError("record_outcomes takes one outcome per account")  # a caller's bug: files refuse a second row
    reasons = active_reasons(session) if reasons is None else reasons
    decided = decided_terms(session, [a.id for a, _ in planned]) if decided is None else decided
    today = clock.today()
    checks = []
    for account, values in planned:
        terms = decided.setdefault(account.id, set())
        checked = check_outcome(values, account, reasons, today, terms)
        terms.add(checked.term_end)
        checks.append((account, checked))
    changes: list[tuple[Account, dict[str, Any]]] = []
    churns: dict[int, ChurnDetail] = {}
    renewals: list[dict[str, Any]] = []
    renewed_accounts: list[Account] = []
    for account, checked in checks:
        if checked.kind == OutcomeKind.CHURNED:
            text = checked.note or (checked.reason.label_en if checked.reason else None)
            changes.append((account, {"status": LifecycleStatus.CHURNED.value, "churned_on": checked.decided_on, "churn_reason": text}))
            churns[account.id] = ChurnDetail(checked.reason.id if checked.reason else None, checked.note, checked.term_end)
            continue
        assert checked.new_renewal_date is not None
        renewals.append({"account_id": account.id, "term_end": checked.term_end, "kind": OutcomeKind.RENEWED,
                         "decided_on": checked.decided_on, "new_renewal_date": checked.new_renewal_date,
                         "arr_before_jpy": account.arr_jpy or 0, "arr_after_jpy": checked.arr_after_jpy,
                         "churn_reason_id": None, "note": checked.note, "inferred": False,
                         "recorded_by_id": user.id if user else None, "created_at": clock.utcnow()})
        renewed_accounts.append(account)
        if account.renewal_date is None or checked.new_renewal_date > account.renewal_date:
            changes.append((account, {"renewal_date": checked.new_renewal_date, "arr_jpy": checked.arr_after_jpy}))
    renewal_ids: list[int] = []
    if renewals:
        renewal_ids = written_ids(session, renewals)
        entries = [change_entry(entity="outcome", entity_id=outcome_id, partner_id=partner_id, account_id=row["account_id"],
                                before=None, after=outcome_log(OutcomeRow(row), None), source=source, user=user, token=token)
                   for outcome_id, row in zip(renewal_ids, renewals, strict=True)]
        session.execute(insert(ChangeLog), [e for e in entries if e is not None])
    update_accounts(session, partner_id, changes, source=source, user=user, token=token, churns=churns)
    churned_ids = list(session.scalars(select(RenewalOutcome.id).where(
        tuple_(RenewalOutcome.account_id, RenewalOutcome.decided_on).in_(
            [(account.id, checked.decided_on) for account, checked in checks if checked.kind == OutcomeKind.CHURNED]),
        RenewalOutcome.kind == OutcomeKind.CHURNED))) if churns else []
    written = {o.id: o for o in session.scalars(select(RenewalOutcome).where(RenewalOutcome.id.in_(renewal_ids + churned_ids)))}
    by_account = {o.account_id: o for o in written.values() if o.kind == OutcomeKind.CHURNED}
    renewed = iter(renewal_ids)
    return [by_account[account.id] if checked.kind == OutcomeKind.CHURNED else written[next(renewed)] for account, checked in checks]


def change_label(outcome: RenewalOutcome) -> str:
    """Flat, expanded or contracted: the new ARR against the ARR before (churned for a churn)."""
    if outcome.kind == OutcomeKind.CHURNED:
        return "churned"
    if outcome.arr_after_jpy > outcome.arr_before_jpy:
        return "expanded"
    if outcome.arr_after_jpy < outcome.arr_before_jpy:
        return "contracted"
    return "flat"


CHANGE_LABELS = {"churned": _l("Churned"), "expanded": _l("Expanded"), "contracted": _l("Contracted"), "flat": _l("Flat")}


def shown_change(change: str) -> str:
    return str(CHANGE_LABELS[change])


def history(session: Session, account_id: int) -> list[RenewalOutcome]:
    """An account's outcomes, newest term first (recorded and inferred alike; the page marks which)."""
    return list(session.scalars(select(RenewalOutcome).where(RenewalOutcome.account_id == account_id)
                                .options(joinedload(RenewalOutcome.churn_reason)).order_by(RenewalOutcome.term_end.desc())))


def missing_condition(today: date):
    """An open renewal past its date without an outcome: a live account whose renewal date has
    passed, with nothing recorded for the term that ended then (recording moves the date on)."""
    return and_(Account.status != LifecycleStatus.CHURNED, Account.renewal_date.is_not(None), Account.renewal_date < today,
                ~exists().where(RenewalOutcome.account_id == Account.id, RenewalOutcome.term_end == Account.renewal_date))


def outcomes_missing(session: Session, today: date, partner_id: int, limit: int) -> tuple[list[Account], int]:
    """The partner's first `limit` accounts with an outcome missing (oldest renewal date first),
    and how many there are: one query (the count a window over the same rows), whatever the
    partner's size."""
    where = and_(Account.partner_id == partner_id, missing_condition(today))
    rows = session.execute(select(Account, func.count().over().label("total")).where(where)
                           .order_by(Account.renewal_date, Account.id).limit(limit)).all()
    return [row.Account for row in rows], int(rows[0].total) if rows else 0
