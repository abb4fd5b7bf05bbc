"""The nightly aggregation: account scores, partner and channel scorecards and alerts for a day.

`aggregate(session_factory, day)` is a plain function the scheduler, the CLI and the tests
call alike. Exactly once per day is the database's guarantee: a run first claims the day in
`aggregation_days` (a primary key, so only one insert wins; a compare-and-set takes over a
failed or abandoned claim). The work is one transaction that deletes and rewrites the day's
snapshot, so a failed or killed run leaves the previous snapshot as it was.
"""
from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable
from typing import cast as type_cast

from sqlalchemy import String, and_, cast, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from portal.actions.services import items_from_alerts
from portal.reporting.cadence import cadence_rules, period_containing
from portal.core.clock import utcnow
from portal.scoring.figures import scorecard_select
from portal.scoring.health import current_model, score_select
from portal.models import (
    Account, AccountScore, AggregationDay, AggregationRun, Alert, AlertKind, Band, CheckIn, LifecycleStatus,
    PartnerScorecard,
)
from portal.core.sqlfunctions import days_between

log = logging.getLogger(__name__)

# A claim older than this with no result is a run that died (killed, machine lost): take it over.
ABANDONED_AFTER = timedelta(hours=2)
CATCH_UP_MAX_DAYS = 31
RENEWAL_ALERT_DAYS = 90


@dataclass
class RunResult:
    day: date
    status: str  # done | failed | skipped
    account_rows: int = 0
    alerts_raised: int = 0
    error: str | None = None


def claim(session: Session, day: date, *, force: bool = False) -> str | None:
    """Take the day for this run; None when another run has it or it is done (unless forced)."""
    token = uuid.uuid4().hex
    now = utcnow()
    try:
        session.add(AggregationDay(day=day, status="running", claimed_at=now, claim_token=token))
        session.commit()
        return token
    except IntegrityError:
        session.rollback()
    takeable = or_(
        AggregationDay.status == "failed",
        and_(AggregationDay.status == "done", literal(force)),
        and_(AggregationDay.status == "running", AggregationDay.claimed_at < now - ABANDONED_AFTER),
    )
    result = type_cast(CursorResult[Any], session.execute(
        update(AggregationDay).where(AggregationDay.day == day, takeable)
        .values(status="running", claimed_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    ))
    session.commit()
    return token if result.rowcount == 1 else None


def aggregate(session: Session, day: date, *, trigger: str = "cli", force: bool = False,
              fail_with: Callable[[], None] | None = None) -> RunResult:
    """Score every account and write the day's scorecards and alerts, once; see the module docstring.

    `fail_with` is called inside the work transaction (tests use it to make a run fail midway).
    """
    token = claim(session, day, force=force)
    if token is None:
        return RunResult(day, "skipped")
    # An earlier attempt still marked running was abandoned: say so in the history.
    session.execute(update(AggregationRun).where(AggregationRun.day == day, AggregationRun.status == "running")
                    .values(status="failed", error="abandoned: the run stopped before finishing", finished_at=utcnow()))
    run = AggregationRun(day=day, trigger=trigger, started_at=utcnow(), status="running")
    session.add(run)
    session.commit()
    try:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # reads, then writes: lock first
        rows, alerts = _write_snapshot(session, day)
        if fail_with:
            fail_with()
        run.status, run.account_rows, run.alerts_raised, run.finished_at = "done", rows, alerts, utcnow()
        session.execute(update(AggregationDay).where(AggregationDay.day == day, AggregationDay.claim_token == token)
                        .values(status="done"))
        session.commit()
        log.info("aggregation %s: %d accounts, %d alerts", day, rows, alerts)
        return RunResult(day, "done", rows, alerts)
    except Exception as error:  # the snapshot transaction is rolled back whole
        session.rollback()
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        log.exception("aggregation %s failed", day)
        session.execute(update(AggregationRun).where(AggregationRun.id == run.id)
                        .values(status="failed", error=message[:4000], finished_at=utcnow()))
        session.execute(update(AggregationDay).where(AggregationDay.day == day, AggregationDay.claim_token == token)
                        .values(status="failed"))
        session.commit()
        return RunResult(day, "failed", error=message)


def _write_snapshot(session: Session, day: date) -> tuple[int, int]:
    model = current_model(session)
    session.execute(delete(AccountScore).where(AccountScore.day == day))
    scores = score_select(session, day, model)
    session.execute(insert(AccountScore).from_select([c.name for c in scores.selected_columns], scores))
    # Counted, not taken from rowcount: drivers do not all report it for INSERT ... SELECT.
    rows = session.execute(select(func.count()).select_from(AccountScore).where(AccountScore.day == day)).scalar_one()
    session.execute(delete(PartnerScorecard).where(PartnerScorecard.day == day))
    for by_partner in (True, False):
        figures = scorecard_select(session, day, by_partner=by_partner)
        session.execute(insert(PartnerScorecard).from_select([c.name for c in figures.selected_columns], figures))
    alerts = raise_alerts(session, day)
    items_from_alerts(session, day)
    return rows, alerts


def raise_alerts(session: Session, day: date) -> int:
    """New alerts for the day; each occurrence once (the unique subject makes a rerun add nothing)."""
    today_score = aliased(AccountScore)
    # The account's previous snapshot, however long ago (days may have been skipped).
    previous = (
        select(AccountScore.account_id, AccountScore.band,
               func.row_number().over(partition_by=AccountScore.account_id, order_by=AccountScore.day.desc()).label("rn"))
        .where(AccountScore.day < day)
        .subquery("previous")
    )
    turned_red = (
        select(literal(AlertKind.TURNED_RED.value), today_score.account_id, today_score.partner_id,
               literal(day.isoformat()), literal(day))
        .outerjoin(previous, and_(previous.c.account_id == today_score.account_id, previous.c.rn == 1))
        .where(today_score.day == day, today_score.band == Band.RED,
               or_(previous.c.band.is_(None), previous.c.band != Band.RED))
    )
    # Subject: the renewal date, so one alert per renewal however many nights it stays at risk.
    renewal = (
        select(literal(AlertKind.RENEWAL_AT_RISK.value), today_score.account_id, today_score.partner_id,
               _iso(today_score.renewal_date), literal(day))
        .where(today_score.day == day, today_score.band.in_([Band.YELLOW, Band.RED]), today_score.renewal_date.is_not(None),
               days_between(today_score.renewal_date, literal(day)).between(0, RENEWAL_ALERT_DAYS))
    )
    before = session.execute(select(func.count()).select_from(Alert)).scalar_one()
    for stmt in (turned_red, renewal, *_overdue_selects(session, day)):
        _insert_new(session, stmt)
    return session.execute(select(func.count()).select_from(Alert)).scalar_one() - before


def _iso(column):
    """A date column as 'YYYY-MM-DD' text on both databases."""
    return cast(column, String)


def _overdue_selects(session: Session, day: date):
    """Accounts whose last closed period's check-in is past its due date, one statement per segment."""
    for segment, rule in cadence_rules(session).items():
        period = period_containing(day, rule.months).previous()
        if period.due_on(rule.grace_days) >= day:
            period = period.previous()
        reported = select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.period_start == period.start).exists()
        yield (
            select(literal(AlertKind.CHECK_IN_OVERDUE.value), Account.id, Account.partner_id,
                   literal(period.start.isoformat()), literal(day))
            .where(Account.segment == segment, Account.status != LifecycleStatus.CHURNED,
                   or_(Account.contract_start.is_(None), Account.contract_start <= period.end), ~reported)
        )


def _insert_new(session: Session, stmt) -> None:
    candidates = stmt.subquery("candidates")
    kind, account_id, partner_id, subject, raised_on = candidates.c
    already = exists().where(Alert.kind == kind, Alert.account_id == account_id, Alert.subject == subject)
    new = select(kind, account_id, partner_id, subject, raised_on).where(~already)
    session.execute(insert(Alert).from_select(["kind", "account_id", "partner_id", "subject", "raised_on"], new))


def days_to_catch_up(session: Session, today: date, max_days: int = CATCH_UP_MAX_DAYS) -> list[date]:
    """The days since the last finished run (at most `max_days` back), oldest first, today included."""
    done = set(session.scalars(select(AggregationDay.day).where(AggregationDay.day > today - timedelta(days=max_days),
                                                                  AggregationDay.status == "done")))
    last_done = max(done, default=None)
    start = last_done + timedelta(days=1) if last_done else today
    start = max(start, today - timedelta(days=max_days - 1))
    return [start + timedelta(days=n) for n in range((today - start).days + 1) if start + timedelta(days=n) not in done]


def catch_up(session: Session, today: date, *, trigger: str = "schedule") -> list[RunResult]:
    """Run every missed day in order, then today; stops at the first failure (retried next time)."""
    results = []
    for day in days_to_catch_up(session, today):
        result = aggregate(session, day, trigger=trigger)
        results.append(result)
        if result.status == "failed":
            break
    return results


def latest_day(session: Session) -> date | None:
    return session.scalar(select(AggregationDay.day).where(AggregationDay.status == "done").order_by(AggregationDay.day.desc()).limit(1))
