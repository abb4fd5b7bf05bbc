"""Reporting periods and what is due or overdue.

Periods are calendar-aligned to the Japanese fiscal year (April) by default: monthly periods
are months, quarterly ones start in April, July, October and January, half-years in April and
October. Because periods depend only on the segment's cadence and the day, the boundaries
are computed here once per segment, and SQL does the per-account work.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, union, update
from sqlalchemy.orm import Session

from portal.core import clock, fragments
from portal.core.db import UTCDateTime
from portal.models import (
    Account, CheckIn, LifecycleStatus, OwedCheckIn, OwedStamp, ReportingCadence, ReportingSettings, Segment,
)

DEFAULT_CADENCES = {Segment.HIGH_TOUCH: 1, Segment.LOW_TOUCH: 3, Segment.TECH_TOUCH: 6}
DEFAULT_GRACE_DAYS = 10
DEFAULT_ADOPTION_AFTER_DAYS = 120
# A current period's check-in is listed as due once its due date is this close.
DUE_SOON_DAYS = 31
FISCAL_YEAR_START_MONTH = 4
# Beyond this many accounts of a partner changed since the nightly list of what is owed (an
# import, say), the partner's list is worked out live rather than patched.
MAX_CHANGED = 500


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    months: int

    @functools.cached_property  # periods are shared (period_containing): a file's rows format each once
    def key(self) -> str:
        """How people write the period: 2026-10 for a month, 2026-10/3 for a quarter from October."""
        return f"{self.start:%Y-%m}" if self.months == 1 else f"{self.start:%Y-%m}/{self.months}"

    @functools.cached_property
    def label(self) -> str:
        """How pages show it: 2026-10 for a month, 2026-10 – 2026-12 for a quarter."""
        return self.key if self.months == 1 else f"{self.start:%Y-%m} – {self.end:%Y-%m}"

    def due_on(self, grace_days: int) -> date:
        return self.end + timedelta(days=grace_days)

    def previous(self) -> "Period":
        return period_containing(self.start - timedelta(days=1), self.months)

    def next(self) -> "Period":
        return period_containing(self.end + timedelta(days=1), self.months)


@functools.lru_cache(maxsize=4096)  # a file's 10,000 rows name a few periods; each stored plan reads them back
def period_containing(day: date, months: int, fiscal_start: int = FISCAL_YEAR_START_MONTH) -> Period:
    offset = (day.month - fiscal_start) % 12
    start_offset = offset - offset % months
    month_index = fiscal_start - 1 + start_offset
    year = day.year - (1 if day.month < fiscal_start and fiscal_start != 1 else 0)
    start = date(year + month_index // 12, month_index % 12 + 1, 1)
    end_index = month_index + months
    end = date(year + end_index // 12, end_index % 12 + 1, 1) - timedelta(days=1)
    return Period(start=start, end=end, months=months)


@dataclass(frozen=True)
class SegmentRule:
    segment: Segment
    months: int
    grace_days: int


def cadence_rules(session: Session) -> dict[Segment, SegmentRule]:
    """The vendor's cadences, with the defaults for segments it has not set."""
    rules = {s: SegmentRule(s, DEFAULT_CADENCES[s], DEFAULT_GRACE_DAYS) for s in Segment}
    for row in session.scalars(select(ReportingCadence)):
        rules[row.segment] = SegmentRule(row.segment, row.months, row.grace_days)
    return rules


def reporting_settings(session: Session) -> ReportingSettings:
    """The vendor's lifecycle and overdue settings; the defaults (not saved) until it sets them."""
    return session.get(ReportingSettings, 1) or ReportingSettings(
        id=1, adoption_after_days=DEFAULT_ADOPTION_AFTER_DAYS, recovered_after_days=14, reopen_within_days=30)


def owes_period(session: Session, period_ends: dict[Segment, date]):
    """An account owes a check-in for its segment's period ending on `period_ends[segment]` only
    once its contract had started by then and it was in the portal by then: the account was
    created, or had sent a check-in, by the end of that day (the vendor's day). Accounts a first
    import brings in with contracts from years back owe nothing for the years before. The vendor
    may also set a day (the portal's launch, say) before which no period is owed."""
    return _owes(period_ends, reporting_settings(session).overdue_from)


def _owes(period_ends: dict[Segment, date], overdue_from: date | None):
    """`owes_period` with the vendor's start day already read (one read for many periods)."""
    def per_segment(value_of):
        return case(*[(Account.segment == s, value_of(end)) for s, end in period_ends.items()])

    end_moment = per_segment(lambda end: literal(clock.end_of_day(end), UTCDateTime()))
    reported_by_then = select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.submitted_at < end_moment).exists()
    condition = and_(or_(Account.contract_start.is_(None), Account.contract_start <= per_segment(literal)),
                     or_(Account.created_at < end_moment, reported_by_then))
    if overdue_from is not None:
        condition = and_(condition, per_segment(lambda end: literal(end >= overdue_from)))
    return condition


def default_period(rule: SegmentRule, today: date) -> Period:
    """The period a report sent today is for, unless it says: the last one while still in grace, else the current one."""
    current = period_containing(today, rule.months)
    previous = current.previous()
    return previous if today <= previous.due_on(rule.grace_days) else current


@dataclass(frozen=True)
class Obligation:
    """One check-in an account owes: for which period, due when, and how late it is."""

    account_id: int
    account_name: str
    reference: str
    partner_id: int
    segment: Segment
    period: Period
    due_on: date
    days_overdue: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def periods_owed(rule: SegmentRule, today: date) -> list[Period]:
    """The periods a check-in may still be owed for today: the current one, and back from it to
    the latest one past its due date (so at most three: current, one in grace, one overdue).

    On 2 December with monthly reports and 10 grace days, November is in grace and October is
    overdue: an account that reported neither owes both."""
    period = period_containing(today, rule.months)
    found = [period]
    while period.due_on(rule.grace_days) >= today:
        period = period.previous()
        found.append(period)
    return found


def _owed_periods(session: Session, today: date) -> list[dict[Segment, tuple[Period, SegmentRule]]]:
    """Per step back through `periods_owed`: the periods (with their rules) by segment. Due dates
    are known per segment and step, so a segment whose current period is not due soon is left out."""
    rules = cadence_rules(session)
    owed = {segment: periods_owed(rule, today) for segment, rule in rules.items()}
    steps = []
    for step in range(max(len(periods) for periods in owed.values())):
        periods = {segment: (owed[segment][step], rules[segment]) for segment in owed if step < len(owed[segment])
                   and (step > 0 or (owed[segment][0].due_on(rules[segment].grace_days) - today).days <= DUE_SOON_DAYS)}
        if periods:
            steps.append(periods)
    return steps


def _owing(periods: dict[Segment, tuple[Period, SegmentRule]], overdue_from: date | None):
    """The statement of the live accounts that owe one step's periods and have not reported them."""
    period_start = case(*[(Account.segment == s, literal(p.start)) for s, (p, _) in periods.items()])
    reported = select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.period_start == period_start).exists()
    return select(Account.id, Account.name, Account.reference, Account.partner_id, Account.segment).where(
        Account.segment.in_(list(periods)),
        Account.status != LifecycleStatus.CHURNED,
        _owes({s: p.end for s, (p, _) in periods.items()}, overdue_from),
        ~reported,
    )


def _due_on(periods: dict[Segment, tuple[Period, SegmentRule]]):
    return case(*[(Account.segment == s, literal(p.due_on(r.grace_days))) for s, (p, r) in periods.items()])


def _owed_steps(session: Session, today: date, *, partner_id: int | None = None, account_id: int | None = None):
    """Per step back through `periods_owed` (`_owed_periods`): its periods, and the statement of
    the live accounts that owe them."""
    overdue_from = reporting_settings(session).overdue_from
    for periods in _owed_periods(session, today):
        stmt = _owing(periods, overdue_from)
        if partner_id is not None:
            stmt = stmt.where(Account.partner_id == partner_id)
        if account_id is not None:
            stmt = stmt.where(Account.id == account_id)
        yield periods, stmt


def _obligation(row, periods, today: date) -> Obligation:
    period, rule = periods[row.segment]
    due = period.due_on(rule.grace_days)
    return Obligation(row.id, row.name, row.reference, row.partner_id, row.segment, period, due, max(0, (today - due).days))


def _urgency(o: Obligation):
    return (-o.days_overdue, o.due_on, o.account_name)


def obligations(session: Session, today: date, *, partner_id: int | None = None, account_id: int | None = None) -> list[Obligation]:
    """Check-ins owed by live accounts, most urgent first (overdue by days late, then due soonest).

    Per segment, the periods of `periods_owed`: the current one is listed once its due date is
    near, earlier ones always (overdue once their grace days have passed). An account owes a
    period only if its contract had started by the period's end. One query per step back.
    """
    found = [_obligation(row, periods, today)
             for periods, stmt in _owed_steps(session, today, partner_id=partner_id, account_id=account_id)
             for row in session.execute(stmt)]
    return sorted(found, key=_urgency)


def _stamp_periods(steps: list[dict[Segment, tuple[Period, SegmentRule]]], overdue_from: date | None) -> str:
    """What the owed check-ins depend on besides the accounts and their check-ins: the periods of
    each step (with their due dates) and the vendor's start day. Equal stamps, equal lists."""
    return " ".join("|".join(f"{s.value}:{p.key}:{p.due_on(r.grace_days)}" for s, (p, r) in sorted(periods.items()))
                    for periods in steps) + f" from:{overdue_from}"


def store_owed(session: Session, today: date) -> None:
    """List every check-in owed on `today` in owed_check_ins (one INSERT ... SELECT per step back,
    the same statements as `obligations`), stamped with the periods and with the last check-in and
    account seen (read before the list, so whatever comes during it counts as changed)."""
    overdue_from = reporting_settings(session).overdue_from
    steps = _owed_periods(session, today)
    stamp = OwedStamp(id=1, periods=_stamp_periods(steps, overdue_from), listed_at=clock.utcnow(),
                      last_check_in_id=session.scalar(select(func.coalesce(func.max(CheckIn.id), 0))),
                      last_account_id=session.scalar(select(func.coalesce(func.max(Account.id), 0))))
    session.execute(delete(OwedStamp))  # first: a run for another day at the same time waits here until this one ends
    session.execute(delete(OwedCheckIn))
    for periods in steps:
        period_start = case(*[(Account.segment == s, literal(p.start)) for s, (p, _) in periods.items()])
        rows = _owing(periods, overdue_from).with_only_columns(
            Account.id, period_start, Account.partner_id, _due_on(periods), Account.name)
        session.execute(insert(OwedCheckIn).from_select(
            ["account_id", "period_start", "partner_id", "due_on", "account_name"], rows))
    session.add(stamp)


def forget_owed(session: Session, account_ids: list[int]) -> None:
    """Accounts that moved to another partner leave the nightly list at once: their rows go (the
    new partner works them out live: they were edited after the list) and the list's revision
    rises, so that no count kept for the old partner's list outlives them."""
    if not account_ids:
        return
    left = session.execute(delete(OwedCheckIn).where(OwedCheckIn.account_id.in_(account_ids)))
    if left.rowcount:  # type: ignore[attr-defined]
        session.execute(update(OwedStamp).values(revision=OwedStamp.revision + 1))


@dataclass
class OwedFirst:
    """The first overdue and due check-ins of a partner, with how many there are of each."""

    overdue: list[Obligation]
    overdue_total: int
    due: list[Obligation]
    due_total: int


def owed_first(session: Session, today: date, partner_id: int, limit: int, *, due_rows: bool = True) -> OwedFirst:
    """`obligations` for a page that lists the first `limit` of each kind and counts the rest
    (due_rows=False: a page that lists only the overdue ones, and counts both).

    While the nightly list (`store_owed`) is for today's periods, its rows are read for the
    partner's accounts unchanged since (a short read of its due-date index, however many accounts
    owe), and the accounts added, edited or reported on since are worked out live (by id, so the
    statement is as small as they are few): a check-in just sent leaves the list at once.
    Otherwise (no list yet, the rules changed, a new period, many changes) all live."""
    overdue_from = reporting_settings(session).overdue_from
    steps = _owed_periods(session, today)
    stamp = session.get(OwedStamp, 1)
    changed = [] if stamp is None else list(session.scalars(union(  # each part a short index read
        select(Account.id).where(Account.partner_id == partner_id, Account.id > stamp.last_account_id),
        select(Account.id).where(Account.partner_id == partner_id, Account.updated_at >= stamp.listed_at),
        select(CheckIn.account_id).join(Account, Account.id == CheckIn.account_id)
        .where(Account.partner_id == partner_id, CheckIn.id > stamp.last_check_in_id),
    ).limit(MAX_CHANGED + 1)))
    if stamp is None or stamp.periods != _stamp_periods(steps, overdue_from) or len(changed) > MAX_CHANGED:
        return _owed_first_live(session, today, steps, overdue_from, Account.partner_id == partner_id, limit)
    # Nothing changed since the list (most requests): no live statement to build and run.
    result = _owed_first_live(session, today, steps, overdue_from, Account.id.in_(changed), limit) if changed else OwedFirst([], 0, [], 0)
    listed = and_(OwedCheckIn.partner_id == partner_id, OwedCheckIn.account_id.not_in(changed))
    late = OwedCheckIn.due_on < today

    def count() -> tuple[int, int]:  # a large reseller's list holds thousands of rows: read them once per list
        found = dict(session.execute(select(late, func.count()).where(listed).group_by(late)).all())
        return found.get(True, 0), found.get(False, 0)

    # The list changes only when store_owed writes it again (with a new stamp); what changed since is in the key.
    overdue_listed, due_listed = fragments.kept("owed_counts", (
        partner_id, today, stamp.listed_at, stamp.periods, stamp.last_check_in_id, stamp.last_account_id, stamp.revision,
        tuple(sorted(changed))), count)
    result.overdue_total += overdue_listed
    result.due_total += due_listed
    periods = {(s, p.start): (p, r) for step in steps for s, (p, r) in step.items()}
    for kind, into in ((late, result.overdue), (~late, result.due)) if due_rows else ((late, result.overdue),):
        rows = session.execute(
            select(Account.id, Account.name, Account.reference, Account.partner_id, Account.segment, OwedCheckIn.period_start)
            .join(OwedCheckIn, OwedCheckIn.account_id == Account.id).where(listed, kind)
            .order_by(OwedCheckIn.due_on, OwedCheckIn.account_name, OwedCheckIn.account_id).limit(limit))
        into += [_obligation(row, {row.segment: periods[row.segment, row.period_start]}, today) for row in rows]
    result.overdue = sorted(result.overdue, key=_urgency)[:limit]
    result.due = sorted(result.due, key=_urgency)[:limit]
    return result


def _owed_first_live(session: Session, today: date, steps, overdue_from: date | None, accounts, limit: int) -> OwedFirst:
    """`owed_first` worked out from the accounts' check-ins: one statement per step back reads each
    of the `accounts` once and returns, per kind, its first `limit` rows with the kind's count
    beside them (window functions)."""
    result = OwedFirst([], 0, [], 0)
    for periods in steps:
        late = [s for s, (p, r) in periods.items() if p.due_on(r.grace_days) < today]
        is_late = Account.segment.in_(late) if late else literal(False)
        ranked = _owing(periods, overdue_from).where(accounts).add_columns(
            func.count().over(partition_by=is_late).label("total"),
            func.row_number().over(partition_by=is_late, order_by=(_due_on(periods), Account.name, Account.id)).label("place"),
        ).subquery()
        totals: dict[bool, int] = {}
        for row in session.execute(select(ranked).where(ranked.c.place <= limit)):
            totals[row.segment in late] = row.total
            (result.overdue if row.segment in late else result.due).append(_obligation(row, periods, today))
        result.overdue_total += totals.get(True, 0)
        result.due_total += totals.get(False, 0)
    result.overdue = sorted(result.overdue, key=_urgency)[:limit]
    result.due = sorted(result.due, key=_urgency)[:limit]
    return result


def next_due(session: Session, rules: dict[Segment, SegmentRule], today: date):
    """The due date of the check-in an account owes next, as one SQL expression (lists sort and
    filter by it; "overdue" is a next due date before today): the oldest of `periods_owed` that
    it owes (`owes_period`, as `obligations` and the overdue alerts decide) and has not reported,
    else the next period's. NULL for churned accounts."""
    return _next_due(tuple(rules.items()), today, reporting_settings(session).overdue_from, clock.vendor_time_zone())


@functools.lru_cache(maxsize=32)
def _next_due(rules: tuple[tuple[Segment, SegmentRule], ...], today: date, overdue_from: date | None, _zone: str):
    """next_due built once per process for its inputs (the rules, the day, the vendor's start day
    and zone: everything the expression holds), not on each request: building it cost a list
    about 2 ms. A built expression is never changed, so requests share it."""
    whens = []
    for segment, rule in rules:
        periods = periods_owed(rule, today)
        owed = [(and_(_owes({segment: p.end}, overdue_from),
                      ~select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.period_start == p.start).exists()),
                 literal(p.due_on(rule.grace_days)))
                for p in reversed(periods)]  # oldest first
        whens.append((and_(Account.segment == segment, Account.status != LifecycleStatus.CHURNED),
                      case(*owed, else_=literal(periods[0].next().due_on(rule.grace_days)))))
    return case(*whens, else_=None)
