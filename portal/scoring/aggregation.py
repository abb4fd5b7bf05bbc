"""The nightly aggregation: account scores, partner and channel scorecards and alerts for a day.

`aggregate(session_factory, day)` is a plain function the scheduler, the CLI and the tests
call alike. Exactly once per day is the database's guarantee: a run first claims the day in
`aggregation_days` (a primary key, so only one insert wins; a compare-and-set takes over a
failed or abandoned claim). The work is one transaction that deletes and rewrites the day's
snapshot, so a failed or killed run leaves the previous snapshot as it was (and a recompute
that dies leaves the day "done" with it).

A running job touches its claim's `heartbeat_at` every few seconds from a thread; a claim
whose heartbeat is older than the stale limit (60 s by default) belongs to a dead run and the
next run takes it over, so `kill -9` blocks the day for a minute, not for hours. The scheduler
process looks for such days and for "Run now" requests from the web every few seconds
(`run_requested`): a web request never runs the aggregation itself.
"""
from __future__ import annotations

import logging
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable
from typing import cast as type_cast

from sqlalchemy import and_, case, delete, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from portal.accounts import lifecycle
from portal.actions.resolve import resolve_items
from portal.actions.services import items_from_alerts
from portal.reporting.cadence import cadence_rules, owes_period, period_containing, store_owed
from portal.core import wakeup
from portal.core.clock import utcnow
from portal.scoring.figures import scorecard_select, store_optimism
from portal.scoring.health import current_model, score_select
from portal.models import (
    Account, AccountScore, AggregationDay, AggregationRequest, AggregationRun, Alert, AlertKind, Band, CheckIn, LifecycleStatus,
    OwedCheckIn, PartnerScorecard,
)
from portal.core.db import analyze, insert_once
from portal.core.sqlfunctions import days_between, iso_day

log = logging.getLogger(__name__)

CATCH_UP_MAX_DAYS = 31
RENEWAL_ALERT_DAYS = 90
ABANDONED = "abandoned: the run stopped before finishing (no heartbeat)"


@dataclass(frozen=True)
class Timing:
    """How often a running job says it is alive, and how long a silent claim is trusted
    (PORTAL_JOB_HEARTBEAT_SECONDS, PORTAL_JOB_STALE_SECONDS)."""

    heartbeat_every: timedelta = timedelta(seconds=10)
    stale_after: timedelta = timedelta(seconds=60)

    @classmethod
    def of(cls, config) -> Timing:
        return cls(timedelta(seconds=config.job_heartbeat_seconds), timedelta(seconds=config.job_stale_seconds))


DEFAULT_TIMING = Timing()


@dataclass
class RunResult:
    day: date
    status: str  # done | failed | skipped
    account_rows: int = 0
    alerts_raised: int = 0
    error: str | None = None  # why it failed, or for a skipped run who holds the day
    run_id: int | None = None


def _last_sign_of_life():
    return func.coalesce(AggregationDay.heartbeat_at, AggregationDay.claimed_at)


def _has_snapshot():
    """The day's scorecards exist: done, or being recomputed (or a recompute died) over a snapshot."""
    return or_(AggregationDay.status == "done", AggregationDay.snapshot_at.is_not(None))


def claim(session: Session, day: date, *, force: bool = False, timing: Timing = DEFAULT_TIMING) -> str | None:
    """Take the day for this run; None when a live run has it or it is done (unless forced).
    A claim whose heartbeat is older than `timing.stale_after` is a dead run's: taken over."""
    token = uuid.uuid4().hex
    now = utcnow()
    try:
        session.execute(insert(AggregationDay).values(day=day, status="running", claimed_at=now, heartbeat_at=now, claim_token=token))
        session.commit()
        return token
    except IntegrityError:
        session.rollback()
    takeable = or_(
        AggregationDay.status == "failed",
        and_(AggregationDay.status == "done", literal(force)),
        and_(AggregationDay.status == "running", _last_sign_of_life() < now - timing.stale_after),
    )
    result = type_cast(CursorResult[Any], session.execute(
        update(AggregationDay).where(AggregationDay.day == day, takeable)
        .values(status="running", claimed_at=now, heartbeat_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    ))
    session.commit()
    return token if result.rowcount == 1 else None


def holder(session: Session, day: date) -> str:
    """Who holds the day, for a skipped run's message."""
    row = session.execute(select(AggregationDay.status, _last_sign_of_life().label("alive_at"))
                          .where(AggregationDay.day == day)).one_or_none()
    session.commit()
    if row is None or row.status != "running":
        return f"the day is {row.status if row else 'not claimed'}"
    seconds = max(0, int((utcnow() - row.alive_at).total_seconds()))
    return f"another run is working on this day (its last heartbeat {seconds} s ago)"


class Heartbeat:
    """Touches the claim's heartbeat_at every `every` from a thread with its own connection, so
    a run that is alive is never taken for dead however long it takes.

    Not on SQLite: the run's transaction holds the database's only write lock, so the heartbeat
    could not be written anyway; there the lock itself keeps a second run out while the run
    lives, and a killed process releases it at once."""

    def __init__(self, session: Session, day: date, token: str, every: timedelta):
        self.engine = type_cast(Engine, session.get_bind())
        self.day, self.token, self.every = day, token, every.total_seconds()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.engine.dialect.name != "sqlite":
            self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.day}", daemon=True)
            self.thread.start()
        return self

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            try:
                with self.engine.begin() as connection:
                    connection.execute(update(AggregationDay).where(AggregationDay.day == self.day,
                                                                    AggregationDay.claim_token == self.token)
                                       .values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a missed beat is retried; the run itself decides its outcome
                log.warning("aggregation %s: heartbeat not written", self.day, exc_info=True)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def aggregate(session: Session, day: date, *, trigger: str = "cli", force: bool = False,
              fail_with: Callable[[], None] | None = None, timing: Timing = DEFAULT_TIMING) -> RunResult:
    """Score every account and write the day's scorecards and alerts, once; see the module docstring.

    `fail_with` is called inside the work transaction (tests use it to make a run fail midway).
    """
    token = claim(session, day, force=force, timing=timing)
    if token is None:
        return RunResult(day, "skipped", error=holder(session, day))
    # An earlier attempt still marked running was abandoned: say so in the history.
    session.execute(update(AggregationRun).where(AggregationRun.day == day, AggregationRun.status == "running")
                    .values(status="failed", error=ABANDONED, finished_at=utcnow()))
    run = AggregationRun(day=day, trigger=trigger, started_at=utcnow(), status="running")
    session.add(run)
    session.commit()
    run_id = run.id
    try:
        with Heartbeat(session, day, token, timing.heartbeat_every):
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # reads, then writes: lock first
            rows, alerts = _write_snapshot(session, day)
            if fail_with:
                fail_with()
        run.status, run.account_rows, run.alerts_raised, run.finished_at = "done", rows, alerts, utcnow()
        kept = type_cast(CursorResult[Any], session.execute(
            update(AggregationDay).where(AggregationDay.day == day, AggregationDay.claim_token == token)
            .values(status="done", snapshot_at=utcnow()).execution_options(synchronize_session=False))).rowcount
        if kept != 1:  # silent too long and taken over: the other run's snapshot wins
            raise RuntimeError("another run took the day over (this run's heartbeat had stopped)")
        session.commit()
        log.info("aggregation %s: %d accounts, %d alerts", day, rows, alerts)
        return RunResult(day, "done", rows, alerts, run_id=run_id)
    except Exception as error:  # the snapshot transaction is rolled back whole
        session.rollback()
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        log.exception("aggregation %s failed", day)
        session.execute(update(AggregationRun).where(AggregationRun.id == run_id)
                        .values(status="failed", error=message[:4000], finished_at=utcnow()))
        # A recompute that failed leaves the day done with its previous snapshot.
        session.execute(update(AggregationDay).where(AggregationDay.day == day, AggregationDay.claim_token == token)
                        .values(status=case((AggregationDay.snapshot_at.is_not(None), "done"), else_="failed")))
        session.commit()
        return RunResult(day, "failed", error=message, run_id=run_id)


def abandoned_days(session: Session, timing: Timing = DEFAULT_TIMING) -> list[date]:
    """Days claimed by a run that stopped beating (killed, machine lost)."""
    return list(session.scalars(select(AggregationDay.day).where(
        AggregationDay.status == "running", _last_sign_of_life() < utcnow() - timing.stale_after).order_by(AggregationDay.day)))


def abandoned_run_ids(session: Session, timing: Timing = DEFAULT_TIMING) -> set[int]:
    """Runs still marked running whose day no live run holds: shown as abandoned in the history
    until the next run takes the day over and records it."""
    live = select(AggregationDay.day).where(AggregationDay.status == "running",
                                            _last_sign_of_life() >= utcnow() - timing.stale_after)
    return set(session.scalars(select(AggregationRun.id).where(AggregationRun.status == "running",
                                                               AggregationRun.day.not_in(live))))


# ---- "Run now" from the web: queued, run by the scheduler process -------------------------

def request_run(session: Session, day: date, user_id: int | None) -> tuple[AggregationRequest, bool]:
    """Queue a run of `day` for the scheduler process, unless one is already waiting or running.
    Returns the request and whether it is new. The caller commits."""
    waiting = session.scalar(select(AggregationRequest).where(AggregationRequest.day == day,
                                                              AggregationRequest.status.in_(["queued", "running"]))
                             .order_by(AggregationRequest.id).limit(1))
    if waiting is not None:
        return waiting, False
    request = AggregationRequest(day=day, status="queued", requested_by_id=user_id, requested_at=utcnow())
    session.add(request)
    session.flush()
    wakeup.wake(session, "requested-runs")
    return request, True


def recent_requests(session: Session, limit: int = 5) -> list[AggregationRequest]:
    return list(session.scalars(select(AggregationRequest).order_by(AggregationRequest.id.desc()).limit(limit)))


def _request_takeable(now: datetime, timing: Timing):
    """Queued, or marked running by a scheduler that died before finishing it."""
    live = select(AggregationDay.day).where(AggregationDay.status == "running",
                                            _last_sign_of_life() >= now - timing.stale_after)
    return or_(AggregationRequest.status == "queued",
               and_(AggregationRequest.status == "running", AggregationRequest.started_at < now - timing.stale_after,
                    AggregationRequest.day.not_in(live)))


def run_requests(session: Session, timing: Timing = DEFAULT_TIMING) -> list[AggregationRequest]:
    """Run the queued "Run now" requests, oldest first (the scheduler's job every few seconds).
    A request whose day a live run holds stays queued and is tried at the next look."""
    done = []
    while True:
        now = utcnow()
        request_id = session.scalar(select(AggregationRequest.id).where(_request_takeable(now, timing))
                                    .order_by(AggregationRequest.id).limit(1))
        if request_id is None:
            break
        taken = type_cast(CursorResult[Any], session.execute(
            update(AggregationRequest).where(AggregationRequest.id == request_id, _request_takeable(now, timing))
            .values(status="running", started_at=now).execution_options(synchronize_session=False))).rowcount
        session.commit()
        if taken != 1:
            continue  # another scheduler took it
        request = session.get(AggregationRequest, request_id, populate_existing=True)
        assert request is not None
        result = aggregate(session, request.day, trigger="web", force=True, timing=timing)
        if result.status == "skipped":
            request.status, request.started_at, request.message = "queued", None, result.error
            session.commit()
            break
        request.status, request.finished_at, request.run_id = result.status, utcnow(), result.run_id
        request.message = result.error
        session.commit()
        done.append(request)
    return done


def _write_snapshot(session: Session, day: date) -> tuple[int, int]:
    model = current_model(session)
    _no_jit(session)
    lifecycle.move_by_rules(session, day)  # before scoring: the phase picks the weights
    session.execute(delete(AccountScore).where(AccountScore.day == day))
    scores = score_select(session, day, model)
    session.execute(insert(AccountScore).from_select([c.name for c in scores.selected_columns], scores))
    # Counted, not taken from rowcount: drivers do not all report it for INSERT ... SELECT.
    rows = session.execute(select(func.count()).select_from(AccountScore).where(AccountScore.day == day)).scalar_one()
    analyze(session, AccountScore)
    session.execute(delete(PartnerScorecard).where(PartnerScorecard.day == day))
    figures = scorecard_select(session, day)
    session.execute(insert(PartnerScorecard).from_select([c.name for c in figures.selected_columns], figures))
    store_optimism(session, day)
    alerts = raise_alerts(session, day)
    analyze(session, Alert)
    resolve_items(session, day)  # first: an item closed today whose condition returns today reopens
    items_from_alerts(session, day)
    store_owed(session, day)  # after the lifecycle moves: churned accounts owe nothing
    analyze(session, OwedCheckIn)  # the pages read a partner's first rows: an index walk, once it is known how many
    return rows, alerts


def _no_jit(session: Session) -> None:
    """No JIT compilation for this run's statements (PostgreSQL, until the transaction ends): the
    score statement's many CASE expressions cost the compiler 6 s at 100k accounts, more than
    the whole statement takes to run without it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def raise_alerts(session: Session, day: date) -> int:
    """New alerts for the day; each occurrence once (the unique subject makes a rerun add nothing)."""
    today_score = aliased(AccountScore)
    # The account's previous snapshot, however long ago (days may have been skipped): one probe of
    # its (account_id, day) index per red account, whatever the history kept.
    previous_band = (
        select(AccountScore.band)
        .where(AccountScore.account_id == today_score.account_id, AccountScore.day < day)
        .order_by(AccountScore.day.desc()).limit(1)
        .scalar_subquery()
    )
    turned_red = (
        select(literal(AlertKind.TURNED_RED.value), today_score.account_id, today_score.partner_id,
               literal(day.isoformat()), literal(day))
        .where(today_score.day == day, today_score.band == Band.RED,
               previous_band.is_distinct_from(Band.RED))
    )
    # Subject: the renewal date, so one alert per renewal however many nights it stays at risk.
    renewal = (
        select(literal(AlertKind.RENEWAL_AT_RISK.value), today_score.account_id, today_score.partner_id,
               iso_day(today_score.renewal_date), literal(day))
        .where(today_score.day == day, today_score.band.in_([Band.YELLOW, Band.RED]), today_score.renewal_date.is_not(None),
               days_between(today_score.renewal_date, literal(day)).between(0, RENEWAL_ALERT_DAYS))
    )
    return sum(_insert_new(session, stmt) for stmt in (turned_red, renewal, *_overdue_selects(session, day)))


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
                   owes_period(session, {segment: period.end}), ~reported)
        )


def _insert_new(session: Session, stmt) -> int:
    """Insert the candidate alerts whose (kind, account, subject) is not taken; how many were new.
    ON CONFLICT rather than NOT EXISTS: no plan that probes the alerts once per candidate, and
    two runs at once cannot both insert one."""
    result = session.execute(insert_once(session, Alert, ["kind", "account_id", "subject"])
                             .from_select(["kind", "account_id", "partner_id", "subject", "raised_on"], stmt),
                             execution_options={"preserve_rowcount": True})
    return type_cast(CursorResult[Any], result).rowcount


def days_to_catch_up(session: Session, today: date, max_days: int = CATCH_UP_MAX_DAYS) -> list[date]:
    """The days since the last finished run (at most `max_days` back), oldest first, today included."""
    done = set(session.scalars(select(AggregationDay.day).where(AggregationDay.day > today - timedelta(days=max_days),
                                                                  _has_snapshot())))
    last_done = max(done, default=None)
    start = last_done + timedelta(days=1) if last_done else today
    start = max(start, today - timedelta(days=max_days - 1))
    return [start + timedelta(days=n) for n in range((today - start).days + 1) if start + timedelta(days=n) not in done]


def catch_up(session: Session, today: date, *, trigger: str = "schedule", timing: Timing = DEFAULT_TIMING) -> list[RunResult]:
    """Run every missed day in order, then today; stops at the first failure (retried next time)."""
    results = []
    for day in days_to_catch_up(session, today):
        result = aggregate(session, day, trigger=trigger, timing=timing)
        results.append(result)
        if result.status == "failed":
            break
    return results


def latest_day(session: Session) -> date | None:
    return session.scalar(select(AggregationDay.day).where(_has_snapshot()).order_by(AggregationDay.day.desc()).limit(1))


def scorecards_ready(session: Session, day: date) -> bool:
    """The day's scorecards exist (weekly emails wait for them); a dead recompute does not hide them."""
    return session.scalar(select(exists().where(AggregationDay.day == day, _has_snapshot()))) or False


def snapshot_rewritten(session: Session) -> None:
    """Rows of the latest snapshot were rewritten outside a run (an account moved to another
    partner, its scores with it): the snapshot's stamp moves, so that no part or count kept
    under it (portal.core.fragments) outlives the change."""
    latest = select(func.max(AggregationDay.day)).where(_has_snapshot()).scalar_subquery()
    session.execute(update(AggregationDay).where(AggregationDay.day == latest).values(snapshot_at=utcnow())
                    .execution_options(synchronize_session=False))


def snapshot_version(session: Session) -> tuple[date | None, tuple | None]:
    """The latest snapshot day and a stamp that changes with every snapshot committed (the
    newest commit time of any day, a recompute of an older day's trend included, and the latest
    day's run token), in one query: what a part rendered from snapshots is kept under
    (portal.core.fragments) until the next run."""
    newest = select(func.max(AggregationDay.snapshot_at)).scalar_subquery()
    row = session.execute(select(AggregationDay.day, newest, AggregationDay.claim_token).where(_has_snapshot())
                          .order_by(AggregationDay.day.desc()).limit(1)).first()
    return (row[0], (row[1], row[2])) if row else (None, None)
