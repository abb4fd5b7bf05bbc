"""Lifecycle that moves: an account goes from onboarding to adoption (LifecycleStatus.ACTIVE, where
the health model's adoption weights apply) when its go-live milestone is done, or the vendor's
number of days after its contract start have passed; a reseller may also set the phase itself.

Every move sets `phase_changed_on` and `phase_reason` (what the health card shows) and is kept
in the account's change log. Rules the portal applies never override a reseller's choice: an
account the reseller set back to onboarding stays there until it is set on again or its go-live
milestone is recorded done again.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import JSON, and_, func, insert, literal, select, update
from sqlalchemy.orm import Session

from portal.core.clock import utcnow
from portal.core.sqlfunctions import add_days
from portal.models import (
    Account, ApiToken, ChangeLog, LifecycleStatus, Milestone, MilestoneStatus, MilestoneTemplate, PhaseReason, ReportSource, User,
)
from portal.reporting.cadence import reporting_settings

PHASES = (LifecycleStatus.ONBOARDING, LifecycleStatus.ACTIVE)
# The change-log fields of an account that tell its phase's story (portal.core.history reads them).
PHASE_FIELDS = ("status", "phase_changed_on", "phase_reason")


def note_phase_set(account: Account, before: LifecycleStatus | None, today: date) -> None:
    """A person set the phase (form, file or API): from `before` to the account's status now.
    Going back to onboarding is allowed (a re-implementation, a move made too early): the rule
    by days then leaves the account alone, as it does every phase a reseller has set."""
    if account.status in PHASES and account.status != before and (before in PHASES or account.status == LifecycleStatus.ACTIVE):
        account.phase_changed_on, account.phase_reason = today, PhaseReason.SET_BY_RESELLER


def move_on_go_live(session: Session, milestone: Milestone, was_done: bool, *, source: ReportSource,
                    user: User | None = None, token: ApiToken | None = None) -> bool:
    """The go-live milestone has just been recorded done: an onboarding account moves to adoption
    on the milestone's date, with an entry in its change log. True when it moved."""
    if was_done or milestone.status != MilestoneStatus.DONE or not milestone.template.marks_go_live:
        return False
    account = session.get(Account, milestone.account_id)
    if account is None or account.status != LifecycleStatus.ONBOARDING:
        return False
    from portal.core.history import record_change, snapshot  # history reads the models' labels

    before = snapshot(account, PHASE_FIELDS)
    account.status = LifecycleStatus.ACTIVE
    account.phase_changed_on, account.phase_reason = milestone.completed_on, PhaseReason.GO_LIVE
    session.flush()
    record_change(session, entity="account", entity_id=account.id, partner_id=account.partner_id, account_id=account.id,
                  before=before, after=snapshot(account, PHASE_FIELDS), source=source, user=user, token=token)
    return True


def move_by_rules(session: Session, day: date) -> int:
    """The nightly moves to adoption, set-based: accounts whose go-live milestone was done by `day`
    without moving them (recorded before this rule existed), then those past the vendor's days
    after contract start. Accounts whose phase someone set, and churned ones, stay as they are.
    Returns how many moved."""
    go_live_on = (
        select(func.min(Milestone.completed_on))
        .join(MilestoneTemplate, MilestoneTemplate.id == Milestone.template_id)
        .where(Milestone.account_id == Account.id, MilestoneTemplate.marks_go_live.is_(True),
               Milestone.status == MilestoneStatus.DONE, Milestone.completed_on <= day)
        .scalar_subquery()
    )
    waiting = and_(Account.status == LifecycleStatus.ONBOARDING, Account.phase_reason.is_(None))
    moved = _move(session, and_(waiting, go_live_on.is_not(None)), PhaseReason.GO_LIVE, go_live_on)
    days = reporting_settings(session).adoption_after_days
    if days:
        passed = and_(waiting, Account.contract_start.is_not(None), Account.contract_start <= day - timedelta(days=days))
        moved += _move(session, passed, PhaseReason.DAYS_AFTER_START, add_days(Account.contract_start, days))
    return moved


def _move(session: Session, due, reason: PhaseReason, moved_on) -> int:
    """One INSERT of the change-log entries (source None: a rule of the portal) and one UPDATE."""
    changes = {"status": [LifecycleStatus.ONBOARDING.value, LifecycleStatus.ACTIVE.value], "phase_reason": [None, reason.value]}
    entries = select(
        literal("account"), Account.id, Account.partner_id, Account.id, literal("update"),
        literal(changes, JSON), literal(utcnow(), ChangeLog.changed_at.type),
    ).where(due)
    session.execute(insert(ChangeLog).from_select(
        ["entity", "entity_id", "partner_id", "account_id", "action", "changes", "changed_at"], entries))
    result = session.execute(
        update(Account).where(due).values(status=LifecycleStatus.ACTIVE, phase_reason=reason, phase_changed_on=moved_on,
                                          updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
